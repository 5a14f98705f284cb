/**
 * GET /api/v1/history/{device_id}?start&end&resolution: aggregates from the store (energy from the
 * counters at the bucket boundaries, local days for daily and longer), or raw snapshots.
 *
 * Each resolution has a longest range, which caps the points of one answer (about 10 000 at most):
 *   raw 1 h (≈3 600 snapshots) · 1min 7 days (10 080) · 15min 93 days (8 928) · hourly 366 days (8 784)
 *   daily 10 years (3 653) · weekly 20 years (1 044) · monthly 100 years (1 200)
 */
import type { DurationLikeObject } from 'luxon';
import type { BucketCalendar } from '../../core/bucket-calendar.js';
import { BUCKET_ENERGY_FIELDS, BUCKET_FIELDS, type HistoryResolution } from '../../core/bucket-shape.js';
import { type BucketTable, tableOf } from '../../core/bucket-table.js';
import type { Bucket } from '../store/types.js';
import { JsonBytes, jsonPiece } from './json-bytes.js';
import { BadRequest, type ZoneClock } from './time.js';
import { round } from './util.js';

export const HISTORY_LIMITS: Record<HistoryResolution, { label: string; span: DurationLikeObject }> = {
  raw: { label: '1 h', span: { hours: 1 } },
  '1min': { label: '7 days', span: { days: 7 } },
  '15min': { label: '93 days', span: { days: 93 } },
  hourly: { label: '366 days', span: { days: 366 } },
  daily: { label: '10 years', span: { years: 10 } },
  weekly: { label: '20 years', span: { years: 20 } },
  monthly: { label: '100 years', span: { years: 100 } },
};

/** Most raw rows one answer returns (1 h at one snapshot a second, with room for jitter). */
export const RAW_MAX_ROWS = 5_000;

/** Throws a 400 naming `end` and the limit when [start, end) is too long for the resolution. */
export function checkHistoryRange(start: number, end: number, resolution: HistoryResolution, clock: ZoneClock): void {
  if (end <= start) throw new BadRequest('end: must be later than start');
  const limit = HISTORY_LIMITS[resolution];
  const latest = clock.local(start).plus(limit.span).toMillis();
  if (end > latest) {
    throw new BadRequest(
      `end: a ${resolution} range is at most ${limit.label} (asked: ${describeSpan(end - start)}); ` +
        'ask for a shorter range or a coarser resolution',
    );
  }
}

/**
 * End of the last bucket of an answer for [start, end): the end of the bucket holding end − 1 ms
 * (raw: end itself). Readings at or after it cannot change the answer.
 */
export function lastBucketEnd(end: number, resolution: HistoryResolution, calendar: BucketCalendar): number {
  if (resolution === 'raw') return end;
  return calendar.end(resolution, calendar.start(resolution, end - 1));
}

function describeSpan(ms: number): string {
  const h = ms / 3_600_000;
  if (h < 48) return `${round(h, 2)} h`;
  return `${round(h / 24, 2)} days`;
}

export type BucketPoint = { timestamp: string; samples: number } & Record<
  (typeof BUCKET_FIELDS)[number],
  number | null
>;

const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;
const r2 = (x: number): number => Math.round(x * 100) / 100;
const ROUNDERS = BUCKET_FIELDS.map((k) => [k, BUCKET_ENERGY_FIELDS.has(k) ? r6 : r2] as const);
const [QUOTE, COMMA, OPEN_BRACKET, CLOSE_BRACKET, CLOSE_BRACE] = [34, 44, 91, 93, 125];

/** A bucket as the API shows it: `timestamp` = its start in local time; float noise rounded away. */
export function presentBucket(b: Bucket, clock: ZoneClock): BucketPoint {
  const p = { timestamp: clock.iso(b.start.getTime()) } as BucketPoint;
  for (const [k, rnd] of ROUNDERS) {
    const v = b[k];
    p[k] = v === null || v === undefined ? null : rnd(v);
  }
  p.samples = b.samples;
  return p;
}

/** Per field of BUCKET_FIELDS: its key's bytes (`,"import_kwh":`), and the decimals it is rounded to. */
const FIELD_KEYS = BUCKET_FIELDS.map((k) => jsonPiece(`,"${k}":`));
const FIELD_SCALE = BUCKET_FIELDS.map((k) => (BUCKET_ENERGY_FIELDS.has(k) ? 1e6 : 100));
const FIELD_DECIMALS = BUCKET_FIELDS.map((k) => (BUCKET_ENERGY_FIELDS.has(k) ? 6 : 2));
const TIMESTAMP = jsonPiece('{"timestamp":"');
const SAMPLES = jsonPiece(',"samples":');
/** The most bytes one point takes: the timestamp, 19 keys and numbers of at most 24 bytes each. */
const POINT_MAX_BYTES = 64 + FIELD_KEYS.reduce((n, p) => n + p.length + 24, 0) + SAMPLES.length + 24 + 2;

/**
 * Writes the JSON text of presentBucket(bucket `i` of the table), with no object or string between
 * (the history answer renders thousands of points). A test holds it equal to JSON.stringify.
 */
function writePoint(
  out: JsonBytes,
  table: BucketTable,
  columns: readonly Float64Array[],
  i: number,
  clock: ZoneClock,
): void {
  out.reserve(POINT_MAX_BYTES);
  out.piece(TIMESTAMP);
  const start = table.start[i]!;
  if (!out.localTime(start, clock.offsetMinutes(start))) out.ascii(clock.iso(start));
  out.byte(QUOTE);
  for (let k = 0; k < columns.length; k++) {
    out.piece(FIELD_KEYS[k]!);
    const v = columns[k]![i]!;
    if (Number.isNaN(v)) out.null();
    else out.rounded(v, FIELD_SCALE[k]!, FIELD_DECIMALS[k]!);
  }
  out.piece(SAMPLES);
  out.number(table.samples[i]!);
  out.byte(CLOSE_BRACE);
}

/** `head` + the table's buckets as a JSON array + `}`: a history answer's bytes. */
export function renderBucketTable(head: string, table: BucketTable, clock: ZoneClock): Buffer {
  // ~485 bytes a point with every value present: room for that, grown in the rare longer answer.
  const out = new JsonBytes(head.length + table.length * 520 + 64);
  out.text(head);
  out.reserve(2);
  out.byte(OPEN_BRACKET);
  writePoints(out, table, 0, table.length, clock);
  out.reserve(2);
  out.byte(CLOSE_BRACKET);
  out.byte(CLOSE_BRACE);
  return out.finish();
}

/** Buckets [from, to) of the table as JSON points joined by commas (no brackets): a piece of an answer. */
export function renderPoints(table: BucketTable, from: number, to: number, clock: ZoneClock): Buffer {
  const out = new JsonBytes((to - from) * 520 + 16);
  writePoints(out, table, from, to, clock);
  return out.finish();
}

function writePoints(out: JsonBytes, table: BucketTable, from: number, to: number, clock: ZoneClock): void {
  const columns = BUCKET_FIELDS.map((f) => table.values[f]);
  for (let i = from; i < to; i++) {
    if (i > from) out.byte(COMMA);
    writePoint(out, table, columns, i, clock);
  }
}

/** The first bucket of the table starting at or after `t` (the table's length when none does). */
export function firstBucketFrom(table: BucketTable, t: number): number {
  let lo = 0;
  let hi = table.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (table.start[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The same for buckets as objects. */
export function renderBuckets(head: string, buckets: readonly Bucket[], clock: ZoneClock): Buffer {
  return renderBucketTable(head, tableOf(buckets), clock);
}

/** The JSON text of one bucket. */
export function bucketJson(b: Bucket, clock: ZoneClock): string {
  const table = tableOf([b]);
  const out = new JsonBytes(POINT_MAX_BYTES);
  writePoint(
    out,
    table,
    BUCKET_FIELDS.map((f) => table.values[f]),
    0,
    clock,
  );
  return out.finish().toString('utf8');
}
