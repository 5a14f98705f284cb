/**
 * Languages, messages and number/date formats. Every label comes from a catalog; every number and
 * date goes through Intl with the language's locale (nl-BE writes 1.234,5 kWh).
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { STORAGE, TIME_ZONE } from '../config.js';
import { calendarDate } from '../dates.js';
import { en, type MessageKey } from './en.js';
import { fr } from './fr.js';
import { nl } from './nl.js';

export type { MessageKey };
export type Lang = 'nl' | 'fr' | 'en';
export const LANGS: readonly Lang[] = ['nl', 'fr', 'en'];

/** Name of each language in itself (shown in the switcher whatever the current language). */
export const LANG_NAMES: Record<Lang, string> = { nl: 'Nederlands', fr: 'Français', en: 'English' };
/** The html lang attribute. */
export const LANG_TAGS: Record<Lang, string> = { nl: 'nl-BE', fr: 'fr-BE', en: 'en' };
/** The locale of numbers and dates (English with day-month order and a 24-hour clock). */
const FORMAT_LOCALES: Record<Lang, string> = { nl: 'nl-BE', fr: 'fr-BE', en: 'en-GB' };
const CATALOGS: Record<Lang, Record<MessageKey, string>> = { nl, fr, en };

function isLang(s: string | null): s is Lang {
  return s === 'nl' || s === 'fr' || s === 'en';
}

/** The stored choice, else the browser's first language we speak, else English. */
export function initialLang(): Lang {
  try {
    const stored = localStorage.getItem(STORAGE.lang);
    if (isLang(stored)) return stored;
  } catch {
    // storage unavailable (private mode): fall through to the browser's languages
  }
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0] ?? '';
    if (isLang(base)) return base;
  }
  return 'en';
}

export function storeLang(lang: Lang): void {
  try {
    localStorage.setItem(STORAGE.lang, lang);
  } catch {
    // not persisted; the choice holds for this page
  }
}

export type Vars = Record<string, string | number>;

export interface I18n {
  lang: Lang;
  locale: string;
  t(key: MessageKey, vars?: Vars): string;
  /** Power: "850 W", "3,25 kW". */
  power(w: number | null | undefined): string;
  /** Energy: "0,85 kWh", "1.234,5 kWh". */
  energy(kwh: number | null | undefined): string;
  volume(m3: number | null | undefined): string;
  pct(p: number | null | undefined): string;
  eur(v: number | null | undefined, digits?: number): string;
  num(v: number | null | undefined, digits?: number): string;
  /** An age in seconds, relative: "2 seconds ago". */
  ago(seconds: number): string;
  /** A duration in seconds: "1 min 5 s". */
  duration(seconds: number): string;
  /** A plain date (YYYY-MM-DD), long form: "Monday 3 June 2024". */
  longDate(date: string): string;
  shortDate(date: string): string;
  weekday(date: string): string;
  /** The short weekday alone: "ma", "lun.", "Mon". */
  weekdayShort(date: string): string;
  monthName(date: string, withYear?: boolean): string;
  /** An instant's local time of day in the home's time zone: "14:05". */
  time(instant: string | number | Date): string;
  dateTime(instant: string | number | Date): string;
}

const cache = new Map<string, I18n>();

export function createI18n(lang: Lang): I18n {
  // Per language and time zone (the server's zone can arrive after the first render).
  const key = `${lang} ${TIME_ZONE}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const locale = FORMAT_LOCALES[lang];
  const catalog = CATALOGS[lang];
  const nf = (min: number, max: number) =>
    new Intl.NumberFormat(locale, { minimumFractionDigits: min, maximumFractionDigits: max });
  const n0 = nf(0, 0);
  const n1 = nf(1, 1);
  const n2 = nf(2, 2);
  const n3 = nf(3, 3);
  const pctF = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 });
  const eur2 = new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: 'EUR',
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  const eur4 = new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: 'EUR',
    minimumFractionDigits: 4,
    maximumFractionDigits: 4,
  });
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'always', style: 'long' });
  const unitF = (unit: 'second' | 'minute' | 'hour') =>
    new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'short' });
  const secF = unitF('second');
  const minF = unitF('minute');
  const hourF = unitF('hour');
  const longDateF = new Intl.DateTimeFormat(locale, {
    timeZone: 'UTC',
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  });
  const shortDateF = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', day: 'numeric', month: 'short' });
  const weekdayF = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', weekday: 'short', day: 'numeric' });
  const weekdayOnlyF = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', weekday: 'short' });
  const monthF = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', month: 'short' });
  const monthYearF = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', month: 'long', year: 'numeric' });
  const timeF = new Intl.DateTimeFormat(locale, {
    timeZone: TIME_ZONE,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const dateTimeF = new Intl.DateTimeFormat(locale, {
    timeZone: TIME_ZONE,
    dateStyle: 'medium',
    timeStyle: 'short',
    hourCycle: 'h23',
  });
  const none = catalog['common.none'];
  const ok = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

  const i18n: I18n = {
    lang,
    locale,
    t(key, vars) {
      const msg = catalog[key] ?? en[key] ?? key;
      if (!vars) return msg;
      return msg.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
    },
    power(w) {
      if (!ok(w)) return none;
      if (Math.abs(w) < 1000) return `${n0.format(w)}\u00a0W`;
      return `${(Math.abs(w) < 10_000 ? n2 : n1).format(w / 1000)}\u00a0kW`;
    },
    energy(kwh) {
      if (!ok(kwh)) return none;
      return `${(Math.abs(kwh) < 10 ? n2 : n1).format(kwh)}\u00a0kWh`;
    },
    volume(m3) {
      return ok(m3) ? `${n3.format(m3)}\u00a0m³` : none;
    },
    pct(p) {
      return ok(p) ? pctF.format(p / 100) : none;
    },
    eur(v, digits = 2) {
      if (!ok(v)) return none;
      return (digits > 2 ? eur4 : eur2).format(v);
    },
    num(v, digits = 0) {
      if (!ok(v)) return none;
      return (
        digits === 0 ? n0 : digits === 1 ? n1 : digits === 2 ? n2 : digits === 3 ? n3 : nf(digits, digits)
      ).format(v);
    },
    ago(seconds) {
      const s = Math.max(0, Math.round(seconds));
      if (s < 90) return rtf.format(-s, 'second');
      if (s < 5400) return rtf.format(-Math.round(s / 60), 'minute');
      if (s < 172_800) return rtf.format(-Math.round(s / 3600), 'hour');
      return rtf.format(-Math.round(s / 86_400), 'day');
    },
    duration(seconds) {
      const s = Math.max(0, Math.round(seconds));
      if (s < 60) return secF.format(s);
      if (s < 3600) {
        const rest = s % 60;
        return rest ? `${minF.format(Math.floor(s / 60))} ${secF.format(rest)}` : minF.format(s / 60);
      }
      const rest = Math.floor((s % 3600) / 60);
      return rest ? `${hourF.format(Math.floor(s / 3600))} ${minF.format(rest)}` : hourF.format(s / 3600);
    },
    longDate: (date) => longDateF.format(calendarDate(date)),
    shortDate: (date) => shortDateF.format(calendarDate(date)),
    weekday: (date) => weekdayF.format(calendarDate(date)),
    weekdayShort: (date) => weekdayOnlyF.format(calendarDate(date)),
    monthName: (date, withYear = false) => (withYear ? monthYearF : monthF).format(calendarDate(date)),
    time: (instant) => timeF.format(new Date(instant)),
    dateTime: (instant) => dateTimeF.format(new Date(instant)),
  };
  cache.set(key, i18n);
  return i18n;
}

export const I18nContext = createContext<I18n>(createI18n('en'));

export function useI18n(): I18n {
  return useContext(I18nContext);
}
