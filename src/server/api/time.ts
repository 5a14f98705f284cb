/**
 * Times in the API: every time leaves as ISO 8601 with the offset of the server's time zone
 * (`2026-03-29T03:00:00+02:00`); every time comes in as an ISO 8601 date-time with an offset (or Z)
 * or a plain date `YYYY-MM-DD` (local midnight). Periods and months: src/core/tariff/period.ts.
 *
 * `ZoneClock.iso` is on the hot path (thousands of points per history answer): it writes the ISO
 * string itself from the zone's offset, memoised per clock quarter (core/time ZoneOffsets), instead of
 * asking luxon to format every instant.
 */
import { DateTime } from 'luxon';
import { isValidZone, ZoneOffsets } from '../../core/time/index.js';

export class BadRequest extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'BadRequest';
  }
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export class ZoneClock {
  readonly zone: string;
  private readonly offsets: ZoneOffsets;

  constructor(zone: string) {
    if (!isValidZone(zone)) throw new RangeError(`Invalid time zone specified: ${zone}`);
    this.zone = zone;
    this.offsets = new ZoneOffsets(zone);
  }

  /** Offset of the zone from UTC at `ms`, in minutes. */
  offsetMinutes(ms: number): number {
    return this.offsets.at(ms);
  }

  /** ISO 8601 with the local offset; milliseconds only when not zero. */
  iso(ms: number): string {
    const off = this.offsetMinutes(ms);
    const d = new Date(ms + off * 60_000);
    const frac = d.getUTCMilliseconds();
    const abs = Math.abs(off);
    return (
      `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}` +
      `T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}` +
      (frac === 0 ? '' : `.${String(frac).padStart(3, '0')}`) +
      `${off < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`
    );
  }

  /** An ISO 8601 UTC string (as snapshots carry) re-expressed in local time; null stays null. */
  isoFromString(s: string | null): string | null {
    if (s === null) return null;
    const ms = Date.parse(s);
    return Number.isFinite(ms) ? this.iso(ms) : s;
  }

  local(ms: number): DateTime {
    return DateTime.fromMillis(ms, { zone: this.zone });
  }
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
// A space before the offset is a '+' that the query string decoded (`+02:00` sent unencoded).
const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+\- ](\d{2}):?(\d{2}))$/;

/** Years a query time may name (in the server's zone): the store's and luxon's safe ground. */
export const MIN_YEAR = 1970;
export const MAX_YEAR = 9999;
/** The widest UTC offset in use anywhere (Kiribati +14:00; the tz database stays within ±14:00). */
const MAX_OFFSET_MIN = 14 * 60;

/** Throws BadRequest naming `key` when `ms` is not in the years MIN_YEAR..MAX_YEAR of the zone. */
export function checkYear(ms: number, zone: string, key: string): void {
  const year = Number.isFinite(ms) ? DateTime.fromMillis(ms, { zone }).year : Number.NaN;
  if (!(year >= MIN_YEAR && year <= MAX_YEAR)) {
    throw new BadRequest(`${key}: must be in the years ${MIN_YEAR}..${MAX_YEAR} (${zone})`);
  }
}

/**
 * Parses a query time: `YYYY-MM-DD` is local midnight in the zone, a date-time needs an offset or Z
 * (at most ±14:00). Impossible dates (2026-02-30) and times (25:00) and instants outside the years
 * MIN_YEAR..MAX_YEAR in the zone are refused. Throws BadRequest naming `key`.
 */
export function parseTime(value: string, clock: ZoneClock, key: string): number {
  const bad = (): BadRequest =>
    new BadRequest(
      `${key}: must be an ISO 8601 date-time or YYYY-MM-DD` +
        (/^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(value) ? ' (a date-time needs an offset, e.g. +01:00, or Z)' : ''),
    );
  let ms: number;
  if (DATE_RE.test(value)) {
    const d = DateTime.fromISO(value, { zone: clock.zone });
    if (!d.isValid) throw bad();
    ms = d.toMillis();
  } else {
    const m = DATETIME_RE.exec(value);
    if (!m) throw bad();
    if (m[4] !== undefined && m[5] !== undefined) {
      const minutes = Number(m[5]);
      if (minutes >= 60 || Number(m[4]) * 60 + minutes > MAX_OFFSET_MIN) {
        throw new BadRequest(`${key}: the UTC offset must be within -14:00..+14:00 (minutes 00..59)`);
      }
    }
    const text = m[3]?.startsWith(' ') ? `${value.slice(0, value.length - m[3].length)}+${m[3].slice(1)}` : value;
    const d = DateTime.fromISO(text, { setZone: true });
    if (!d.isValid) throw bad();
    ms = d.toMillis();
  }
  checkYear(ms, clock.zone, key);
  return ms;
}
