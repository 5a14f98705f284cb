/**
 * Calendar helpers for tariffs and the capacity tariff (pure; luxon does the calendar arithmetic):
 * months, ISO strings, parsing. Clock quarters and local days are ../time (one definition for the
 * whole project).
 *
 * Instants are epoch milliseconds (UTC). Local days, months and clock hours are taken in an IANA
 * time zone, so a local day lasts 23, 24 or 25 hours and a month across a DST change is an hour
 * shorter or longer. Times leave the core as ISO 8601 with the local offset:
 * `2026-03-29T01:45:00+01:00`.
 */
import { DateTime } from 'luxon';
import { ConfigError, KwartierError } from '../errors.js';
import { isValidZone } from '../time/zone.js';

/** Throws ConfigError unless `tz` is an IANA zone luxon knows. */
export function assertZone(tz: string, key = 'timezone'): void {
  if (!isValidZone(tz)) throw new ConfigError(`${key}: unknown time zone ${JSON.stringify(tz)}`);
}

export function local(ms: number, tz: string): DateTime {
  return DateTime.fromMillis(ms, { zone: tz });
}

/** ISO 8601 with the local offset, seconds precision, `+00:00` rather than `Z`. */
export function isoLocal(ms: number, tz: string): string {
  const s = local(ms, tz).toISO({ suppressMilliseconds: true, includeOffset: true });
  if (s === null) throw new KwartierError('invalid_time', `cannot format ${ms} in ${tz}`);
  return s.endsWith('Z') ? `${s.slice(0, -1)}+00:00` : s;
}

/** 'YYYY-MM' of the local month holding the instant. */
export function monthOf(ms: number, tz: string): string {
  return local(ms, tz).toFormat('yyyy-MM');
}

/** 'YYYY-MM-DD' of the local day holding the instant. */
export function dayOf(ms: number, tz: string): string {
  return local(ms, tz).toFormat('yyyy-MM-dd');
}

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isMonthKey(s: string): boolean {
  return MONTH_RE.test(s);
}

/** [start, end) of a local month, e.g. '2026-03' in Europe/Brussels → 743 hours. */
export function monthRange(month: string, tz: string): { start: number; end: number } {
  const m = MONTH_RE.exec(month);
  if (!m) throw new KwartierError('invalid_month', `month must be YYYY-MM, got ${JSON.stringify(month)}`);
  const start = DateTime.fromObject({ year: Number(m[1]), month: Number(m[2]), day: 1 }, { zone: tz });
  return { start: start.toMillis(), end: start.plus({ months: 1 }).toMillis() };
}

/** The month `n` months after `month` (n may be negative). */
export function addMonths(month: string, n: number): string {
  const m = MONTH_RE.exec(month);
  if (!m) throw new KwartierError('invalid_month', `month must be YYYY-MM, got ${JSON.stringify(month)}`);
  const idx = Number(m[1]) * 12 + (Number(m[2]) - 1) + n;
  const y = Math.floor(idx / 12);
  const mo = idx - y * 12 + 1;
  return `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}`;
}

/** Days in the local year holding `ms` (365 or 366). */
export function daysInYear(ms: number, tz: string): number {
  return local(ms, tz).daysInYear;
}

/** Parses 'YYYY-MM-DD' (local midnight) or an ISO 8601 date-time with an offset or Z. */
export function parseInstant(s: string, tz: string, key: string): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const d = DateTime.fromISO(s, { zone: tz });
    if (!d.isValid) throw new ConfigError(`${key}: not a valid date: ${JSON.stringify(s)}`);
    return d.toMillis();
  }
  if (!/(Z|[+-]\d{2}:?\d{2})$/.test(s)) {
    throw new ConfigError(
      `${key}: a date-time needs a UTC offset or Z (or give a date YYYY-MM-DD): ${JSON.stringify(s)}`,
    );
  }
  const d = DateTime.fromISO(s, { setZone: true });
  if (!d.isValid) throw new ConfigError(`${key}: not a valid ISO 8601 date-time: ${JSON.stringify(s)}`);
  return d.toMillis();
}
