/**
 * Exports: a device's buckets or raw readings over a range as CSV or JSON, produced piece by piece
 * (GET /api/v1/export/{device_id} and `kwartier export`; docs/api.md describes both).
 *
 * `exportChunks` reads the store in slices (raw readings in pages of PAGE_ROWS, buckets in spans of
 * about 1 500 buckets) and yields the text of each slice as soon as it is read, so an export of any
 * length holds one slice in memory, and a slow reader pauses the reading (the stream pulls).
 *
 * - Times are local with their offset (`2026-03-29T03:00:00+02:00`), as everywhere in the API.
 * - CSV: a header row, one row per bucket or reading, `,` between fields, lines ending in LF, null as
 *   an empty field; text is quoted when it holds `,`, `"` or a line break (RFC 4180), and text that a
 *   spreadsheet would run as a formula (starting with = + - @ or a tab) is prefixed with `'`.
 * - JSON: the history answer's shape, `{device_id, resolution, start, end, points: […]}`, the same
 *   points (history.ts presentBucket, util.ts presentSnapshot).
 */
import type { DurationLikeObject } from 'luxon';
import { BUCKET_FIELDS, type HistoryResolution } from '../../core/bucket-shape.js';
import { SNAPSHOT_NUMERIC_FIELDS, type Snapshot } from '../../core/snapshot.js';
import type { Bucket, Resolution, Store } from '../store/types.js';
import { presentBucket } from './history.js';
import type { ZoneClock } from './time.js';
import { presentSnapshot } from './util.js';

export const EXPORT_FORMATS = ['csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportRequest {
  deviceId: string;
  resolution: HistoryResolution;
  /** [start, end) in ms. */
  start: number;
  end: number;
  format: ExportFormat;
}

export interface ExportSource {
  store: Store;
  clock: ZoneClock;
  /** Wraps each store call (the API gives it a deadline). Default: the call itself. */
  read?: <T>(call: Promise<T>, what: string) => Promise<T>;
  /** Raw readings per store call. Default PAGE_ROWS. */
  pageRows?: number;
}

/** Raw readings read per store call. */
export const PAGE_ROWS = 2_000;

/** The span of one bucket read: about 1 500 buckets (a slice starts anywhere: a bucket belongs to the slice holding its start). */
const SLICE: Record<Resolution, DurationLikeObject> = {
  '1min': { days: 1 },
  '15min': { days: 14 },
  hourly: { days: 60 },
  daily: { years: 4 },
  weekly: { years: 25 },
  monthly: { years: 100 },
};

/** The columns of a raw CSV export, after `timestamp`. */
export const RAW_CSV_COLUMNS = [
  'meter_timestamp',
  ...SNAPSHOT_NUMERIC_FIELDS,
  'grid_monthly_peak_timestamp',
  'country',
  'charge_state',
  'stale_sources',
] as const;

/** The columns of a bucket CSV export, after `timestamp`. */
export const BUCKET_CSV_COLUMNS = [...BUCKET_FIELDS, 'samples'] as const;

/** A text field as CSV: quoted when it must be, defused when a spreadsheet would run it as a formula. */
export function csvText(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const csvNumber = (v: number | null | undefined): string => (v === null || v === undefined ? '' : String(v));

function bucketCsvRow(b: Bucket, clock: ZoneClock): string {
  const p = presentBucket(b, clock);
  let line = p.timestamp;
  for (const k of BUCKET_FIELDS) line += `,${csvNumber(p[k])}`;
  return `${line},${p.samples}\n`;
}

function rawCsvRow(s: Snapshot, clock: ZoneClock): string {
  const p = presentSnapshot(s, clock);
  let line = `${p.timestamp},${p.meter_timestamp ?? ''}`;
  for (const k of SNAPSHOT_NUMERIC_FIELDS) line += `,${csvNumber(p[k])}`;
  const text = (v: string | null | undefined) => (v === null || v === undefined ? '' : csvText(v));
  line += `,${p.grid_monthly_peak_timestamp ?? ''},${text(p.country)},${text(p.charge_state)}`;
  return `${line},${text(p.stale_sources.join(';'))}\n`;
}

/** The text before the first row: the CSV header, or the JSON answer up to its points' `[`. */
function head(q: ExportRequest, clock: ZoneClock): string {
  if (q.format === 'csv') {
    const columns = q.resolution === 'raw' ? RAW_CSV_COLUMNS : BUCKET_CSV_COLUMNS;
    return `timestamp,${columns.join(',')}\n`;
  }
  return (
    `{"device_id":${JSON.stringify(q.deviceId)},"resolution":"${q.resolution}",` +
    `"start":"${clock.iso(q.start)}","end":"${clock.iso(q.end)}","points":[`
  );
}

/** Raw readings of [start, end), oldest first, a page per store call. */
async function* rawPages(src: ExportSource, q: ExportRequest): AsyncGenerator<Snapshot[]> {
  const read = src.read ?? ((call) => call);
  const pageRows = src.pageRows ?? PAGE_ROWS;
  let from = q.start;
  for (;;) {
    const rows = await read(src.store.raw(q.deviceId, new Date(from), new Date(q.end), pageRows), 'store.raw');
    if (rows.length > 0) yield rows;
    if (rows.length < pageRows) return;
    // Times are stored to the millisecond: the next page starts just after this one's last reading.
    from = Date.parse(rows[rows.length - 1]!.timestamp) + 1;
    if (!(from < q.end)) return;
  }
}

/** Buckets whose start lies in [start, end), oldest first, a slice per store call. */
async function* bucketSlices(src: ExportSource, q: ExportRequest, res: Resolution): AsyncGenerator<Bucket[]> {
  const read = src.read ?? ((call) => call);
  for (let from = q.start; from < q.end; ) {
    const to = Math.min(q.end, src.clock.local(from).plus(SLICE[res]).toMillis());
    const buckets = await read(src.store.buckets(q.deviceId, res, new Date(from), new Date(to)), 'store.buckets');
    if (buckets.length > 0) yield buckets;
    from = to;
  }
}

/**
 * The export's text, one piece per slice read: the head with the first slice's rows, then each slice's
 * rows, then (JSON) the closing `]}`. The first piece comes only after the first store read, so a
 * caller that awaits it before answering can still answer a store failure with an error status.
 */
export async function* exportChunks(src: ExportSource, q: ExportRequest): AsyncGenerator<string> {
  const { clock } = src;
  let pending = head(q, clock);
  let first = true;
  const rows: AsyncGenerator<(Snapshot | Bucket)[]> =
    q.resolution === 'raw' ? rawPages(src, q) : bucketSlices(src, q, q.resolution);
  const raw = q.resolution === 'raw';
  for await (const slice of rows) {
    let text = pending;
    pending = '';
    for (const row of slice) {
      if (q.format === 'csv') {
        text += raw ? rawCsvRow(row as Snapshot, clock) : bucketCsvRow(row as Bucket, clock);
      } else {
        const point = raw ? presentSnapshot(row as Snapshot, clock) : presentBucket(row as Bucket, clock);
        text += (first ? '' : ',') + JSON.stringify(point);
        first = false;
      }
    }
    yield text;
  }
  const tail = q.format === 'json' ? `${pending}]}` : pending;
  if (tail !== '') yield tail;
}

/** A file name for the export: `<device>_<resolution>_<local start date>.<format>`. */
export function exportFileName(q: ExportRequest, clock: ZoneClock): string {
  return `${q.deviceId}_${q.resolution}_${clock.iso(q.start).slice(0, 10)}.${q.format}`;
}
