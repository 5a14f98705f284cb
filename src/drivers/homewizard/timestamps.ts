/**
 * HomeWizard P1 meter timestamps (fields.ts decodes and encodes with them): v1 sends numbers
 * `YYMMDDhhmmss`, v2 ISO strings without a zone, both in the meter's local time (Europe/Brussels or
 * Europe/Amsterdam: the same rules). Snapshots carry ISO 8601 UTC.
 */
import { localToMs, type WallClockParts, wallClock } from '../../core/time/zone.js';

export const DEFAULT_TIMEZONE = 'Europe/Brussels';

function num(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

/** ISO 8601 UTC without milliseconds: `2024-06-28T12:12:34Z`. */
export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/**
 * v1 timestamp: a JSON number `YYMMDDhhmmss` (no DST letter), local time. Years 2000–2009 lose their
 * leading zero as a number, so it is left-padded. The DSMR placeholders 632525252525 and 700101010000
 * (and 0) mean "no time" → null. In the repeated autumn hour the first occurrence (summer time) is
 * taken; a time skipped in spring moves forward (core/time/zone.ts).
 */
export function v1TimestampToIso(value: unknown, zone: string = DEFAULT_TIMEZONE): string | null {
  const n = num(value);
  if (n === undefined || !Number.isInteger(n) || n <= 0 || n > 999_999_999_999) return null;
  const t = String(n).padStart(12, '0');
  if (t === '632525252525' || t === '700101010000') return null;
  const ms = localToMs(
    {
      year: 2000 + Number(t.slice(0, 2)),
      month: Number(t.slice(2, 4)),
      day: Number(t.slice(4, 6)),
      hour: Number(t.slice(6, 8)),
      minute: Number(t.slice(8, 10)),
      second: Number(t.slice(10, 12)),
    },
    zone,
    'earlier',
  );
  return ms === null ? null : isoSeconds(ms);
}

const LOCAL_ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?$/;
const ZONED_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** v2 timestamp: ISO `YYYY-MM-DDTHH:mm:ss` without a zone = local time. One with a zone is taken as is. */
export function v2TimestampToIso(value: unknown, zone: string = DEFAULT_TIMEZONE): string | null {
  if (typeof value !== 'string') return null;
  const m = LOCAL_ISO.exec(value);
  if (m) {
    const ms = localToMs(
      {
        year: Number(m[1]),
        month: Number(m[2]),
        day: Number(m[3]),
        hour: Number(m[4]),
        minute: Number(m[5]),
        second: Number(m[6]),
      },
      zone,
      'earlier',
    );
    return ms === null ? null : isoSeconds(ms);
  }
  if (ZONED_ISO.test(value)) {
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? isoSeconds(ms) : null;
  }
  return null;
}

const p2 = (n: number) => String(n).padStart(2, '0');

function localOf(iso: string, zone: string): WallClockParts {
  return wallClock(Date.parse(iso), zone);
}

/** Inverse of v1TimestampToIso (simulator): ISO UTC → number `YYMMDDhhmmss` in local time. */
export function isoToV1Timestamp(iso: string, zone: string = DEFAULT_TIMEZONE): number {
  const l = localOf(iso, zone);
  return Number(p2(l.year % 100) + p2(l.month) + p2(l.day) + p2(l.hour) + p2(l.minute) + p2(l.second));
}

/** Inverse of v2TimestampToIso (simulator): ISO UTC → `YYYY-MM-DDTHH:mm:ss` in local time, no zone. */
export function isoToV2Timestamp(iso: string, zone: string = DEFAULT_TIMEZONE): string {
  const l = localOf(iso, zone);
  return `${l.year}-${p2(l.month)}-${p2(l.day)}T${p2(l.hour)}:${p2(l.minute)}:${p2(l.second)}`;
}
