/**
 * Calendar arithmetic on plain dates (YYYY-MM-DD, no time zone: pure calendar maths in UTC) and the
 * link to instants in the home's time zone.
 */
import { TIME_ZONE } from './config.js';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isIsoDate(s: string | null | undefined): s is string {
  if (!s || !ISO_DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function parts(date: string): [number, number, number] {
  const m = ISO_DATE.exec(date);
  if (!m) throw new Error(`not a date: ${date}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function fromUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Today's date in the home's time zone. */
export function today(now: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = parts(date);
  return fromUtc(Date.UTC(y, m - 1, d + days));
}

export function addMonths(date: string, months: number): string {
  const [y, m] = parts(date);
  return fromUtc(Date.UTC(y, m - 1 + months, 1));
}

/** Monday of the ISO week holding `date`. */
export function startOfWeek(date: string): string {
  const [y, m, d] = parts(date);
  const dow = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // 0 = Monday
  return addDays(date, -dow);
}

export function startOfMonth(date: string): string {
  return `${date.slice(0, 7)}-01`;
}

export function startOfYear(date: string): string {
  return `${date.slice(0, 4)}-01-01`;
}

/** Whole days between two dates (b − a). */
export function daysBetween(a: string, b: string): number {
  const [ya, ma, da] = parts(a);
  const [yb, mb, db] = parts(b);
  return Math.round((Date.UTC(yb, mb - 1, db) - Date.UTC(ya, ma - 1, da)) / 86_400_000);
}

/** A plain date as a Date at noon UTC: safe to format with timeZone UTC as that calendar day. */
export function calendarDate(date: string): Date {
  const [y, m, d] = parts(date);
  return new Date(Date.UTC(y, m - 1, d, 12));
}

export type HistoryPeriod = 'week' | 'month' | 'year';

export interface PeriodRange {
  start: string;
  /** Exclusive. */
  end: string;
}

/** The week, month or year holding `date`, and the one before it. */
export function periodRanges(period: HistoryPeriod, date: string): { current: PeriodRange; previous: PeriodRange } {
  if (period === 'week') {
    const start = startOfWeek(date);
    return { current: { start, end: addDays(start, 7) }, previous: { start: addDays(start, -7), end: start } };
  }
  if (period === 'month') {
    const start = startOfMonth(date);
    return { current: { start, end: addMonths(start, 1) }, previous: { start: addMonths(start, -1), end: start } };
  }
  const start = startOfYear(date);
  const y = Number(start.slice(0, 4));
  return {
    current: { start, end: `${y + 1}-01-01` },
    previous: { start: `${y - 1}-01-01`, end: start },
  };
}

/** Moves `date` one period back (−1) or forward (+1). */
export function shiftPeriod(period: HistoryPeriod, date: string, dir: -1 | 1): string {
  if (period === 'week') return addDays(startOfWeek(date), 7 * dir);
  if (period === 'month') return addMonths(date, dir);
  return `${Number(date.slice(0, 4)) + dir}-01-01`;
}

/** The calendar date in the home's time zone of an instant. */
export function localDateOf(instant: string | number | Date): string {
  return today(new Date(instant));
}
