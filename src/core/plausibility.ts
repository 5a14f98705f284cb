/**
 * What a snapshot may say, beyond its wire schema (core/wire.ts): values no home can produce are
 * refused at the ingester, so one home's bad data cannot reach the store, the aggregates or the
 * realtime view. Only the truly impossible is refused (an edge newer than its server must not lose
 * data it sends today): each rule is a physical bound, far above any home.
 *
 * - `timestamp`: a real calendar date-time (2026-02-30 is refused, not rolled over to 03-02), within
 *   a window around the server's clock (`ingest.max_past_days`, `ingest.max_future_s`).
 * - `meter_timestamp`, `grid_monthly_peak_timestamp`: at most 64 characters; when written as an
 *   ISO 8601 date-time, a real one.
 * - Numbers by the unit in their name: `*_w` within ±1 MW, `*_kwh` and `*_m3` (counters) 0..1e9,
 *   `*_pct` 0..100, `*_v` and `*_a` within ±10 000, `*_c` −100..200; every number finite.
 *
 * Each problem names its field and the bound it breaks.
 */
import { SNAPSHOT_NUMERIC_FIELDS, SNAPSHOT_TEXT_FIELDS } from './snapshot.js';

export interface TimeWindow {
  /** Oldest accepted timestamp, in days before the server's clock. */
  maxPastDays: number;
  /** Newest accepted timestamp, in seconds after the server's clock. */
  maxFutureS: number;
}

export const DEFAULT_TIME_WINDOW: TimeWindow = { maxPastDays: 3650, maxFutureS: 86_400 };

/** The longest text a snapshot's free text fields may hold. */
export const MAX_TEXT_CHARS = 64;

interface Range {
  min: number;
  max: number;
}

const BY_SUFFIX: ReadonlyArray<[string, Range]> = [
  ['_w', { min: -1e6, max: 1e6 }],
  ['_kwh', { min: 0, max: 1e9 }],
  ['_m3', { min: 0, max: 1e9 }],
  ['_pct', { min: 0, max: 100 }],
  ['_v', { min: -10_000, max: 10_000 }],
  ['_a', { min: -10_000, max: 10_000 }],
  ['_c', { min: -100, max: 200 }],
];

/** The bound of each numeric field (fields with no unit suffix, e.g. grid_tariff, only need to be finite). */
const RANGES: ReadonlyArray<[string, Range | null]> = SNAPSHOT_NUMERIC_FIELDS.map((f) => [
  f,
  BY_SUFFIX.find(([suffix]) => f.endsWith(suffix))?.[1] ?? null,
]);

const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))?$/;

/** The two decimal digits at `i` as a number; −1 when they are not digits. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** What may follow the seconds: a fraction, then Z or an offset within ±23:59 (or nothing). */
const ISO_TAIL = /^(?:\.\d{1,9})?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$/;

function daysIn(y: number, month: number): number {
  if (month === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Null when `s` names a real calendar date-time (or is not in the ISO 8601 date-time form at all,
 * when `strict` is false); otherwise what is wrong with it.
 */
export function calendarProblem(s: string, strict: boolean): string | null {
  // Fast path (every snapshot, twice): YYYY-MM-DDTHH:MM:SS read digit by digit; a regex costs ~1 µs.
  const mo = two(s, 5);
  const d = two(s, 8);
  const h = two(s, 11);
  const mi = two(s, 14);
  const se = two(s, 17);
  if (
    s.length >= 20 &&
    s[4] === '-' &&
    s[7] === '-' &&
    s[13] === ':' &&
    s[16] === ':' &&
    (s[10] === 'T' || s[10] === 't')
  ) {
    const y = two(s, 0) * 100 + two(s, 2);
    if (
      y >= 0 &&
      mo >= 1 &&
      mo <= 12 &&
      d >= 1 &&
      d <= daysIn(y, mo) &&
      h >= 0 &&
      h <= 23 &&
      mi >= 0 &&
      mi <= 59 &&
      se >= 0 &&
      se <= 59 &&
      ISO_TAIL.test(s.slice(19))
    )
      return null;
  }
  const m = ISO.exec(s);
  if (!m) return strict ? 'must be an ISO 8601 date-time' : null;
  const month = Number(m[2]);
  if (month < 1 || month > 12) return `month ${m[2]} does not exist`;
  if (Number(m[3]) < 1 || Number(m[3]) > daysIn(Number(m[1]), month))
    return `day ${m[3]} does not exist in ${m[1]}-${m[2]}`;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return `time ${m[4]}:${m[5]}:${m[6]} does not exist`;
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59))
    return `offset ${m[7]}${m[8]}:${m[9]} does not exist`;
  return null;
}

/** The snapshot fields a plausibility check reads (a snapshot or a batch item). */
export type SnapshotLike = Readonly<Record<string, unknown>> & { timestamp: string };

/**
 * The first impossible thing a snapshot says (the field, what is wrong, the bound), or null.
 * `nowMs` is the server's clock; `t` the parsed timestamp when the caller has it.
 */
export function snapshotProblem(
  s: SnapshotLike,
  nowMs: number,
  window: TimeWindow = DEFAULT_TIME_WINDOW,
  t: number = Date.parse(s.timestamp),
): string | null {
  const cal = calendarProblem(s.timestamp, true);
  if (cal !== null) return `timestamp: ${JSON.stringify(s.timestamp)}: ${cal}`;
  if (!Number.isFinite(t)) return `timestamp: ${JSON.stringify(s.timestamp)}: is not a date`;
  if (t < nowMs - window.maxPastDays * 86_400_000)
    return `timestamp: ${s.timestamp} is more than ${window.maxPastDays} days before the server's clock (ingest.max_past_days)`;
  if (t > nowMs + window.maxFutureS * 1000)
    return `timestamp: ${s.timestamp} is more than ${window.maxFutureS} s after the server's clock (ingest.max_future_s)`;
  for (const f of SNAPSHOT_TEXT_FIELDS) {
    const v = s[f];
    if (typeof v !== 'string') continue;
    if (v.length > MAX_TEXT_CHARS) return `${f}: must have at most ${MAX_TEXT_CHARS} characters (has ${v.length})`;
    const c = calendarProblem(v, false);
    if (c !== null) return `${f}: ${JSON.stringify(v)}: ${c}`;
  }
  const bad = firstOutOfRange(s);
  if (bad >= 0) {
    const [f, r] = RANGES[bad]!;
    const v = s[f];
    if (typeof v !== 'number' || !Number.isFinite(v)) return `${f}: must be a finite number`;
    return `${f}: ${v} is outside ${r?.min}..${r?.max}`;
  }
  return null;
}

/**
 * The index in RANGES of the first numeric field out of its range (or not a finite number), -1 when
 * none: compiled once into straight-line code with constant property names (the names are
 * SNAPSHOT_NUMERIC_FIELDS', the bounds numbers), several times faster than a keyed loop per snapshot.
 */
const firstOutOfRange = new Function(
  's',
  `let v;\n${RANGES.map(([f, r], i) => {
    const range = r === null ? '' : ` || v < ${r.min} || v > ${r.max}`;
    return `v = s.${f}; if (v !== null && v !== undefined && (typeof v !== 'number' || !Number.isFinite(v)${range})) return ${i};`;
  }).join('\n')}\nreturn -1;`,
) as (s: SnapshotLike) => number;
