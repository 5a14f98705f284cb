/**
 * What the SQLite and PostgreSQL stores share: column names, row ↔ snapshot conversion, the batch
 * preparation (dedupe, plan) and the ack watermark walk. The maths lives in core/aggregate.ts.
 */
import {
  COUNTER_FIELDS,
  counterValues,
  dedupeSorted,
  ENERGY_KEYS,
  MAX_POWER_FIELDS,
  POWER_FIELDS,
  powerValues,
  type RollupRow,
  type StoredRow,
  type Vec,
} from '../../core/aggregate.js';
import type { Resolution } from '../../core/bucket-shape.js';
import { ConfigError, KwartierError } from '../../core/errors.js';
import {
  type ControlBudget,
  type Devices,
  SNAPSHOT_ADDED_FIELDS,
  SNAPSHOT_NUMERIC_FIELDS,
  SNAPSHOT_TEXT_FIELDS,
  type Snapshot,
} from '../../core/snapshot.js';
import type { IncomingReading, InsertBatch } from './types.js';

export const CARRY_COLUMNS = COUNTER_FIELDS.map((f) => `carry_${f}`);
export const DELTA_COLUMNS = ENERGY_KEYS.map((k) => `delta_${k}`);
/**
 * Raw reading columns besides time and device_id, in insert order: the snapshot's numeric and text
 * fields, `stale_sources` (JSON text), `devices` (JSON: each device's own reading) and `extra` (JSON:
 * the top-level fields the server did not know when it stored the row; see server/ingest).
 */
export const VALUE_COLUMNS: readonly string[] = [
  ...SNAPSHOT_NUMERIC_FIELDS,
  ...SNAPSHOT_TEXT_FIELDS,
  'stale_sources',
  'devices',
  'extra',
];
const NUMERIC = new Set<string>(SNAPSHOT_NUMERIC_FIELDS);
const ADDED = new Set<string>(SNAPSHOT_ADDED_FIELDS);
/** The kind of a VALUE_COLUMNS column: the stores map it to their SQL types. */
export function valueColumnKind(c: string): 'number' | 'text' | 'json' {
  if (NUMERIC.has(c)) return 'number';
  return c === 'devices' || c === 'extra' ? 'json' : 'text';
}
/**
 * The raw reading columns of the first release (its migration creates them; later columns come in
 * later migrations, see migrations.ts). Frozen: never add to this list.
 */
export const FIRST_RELEASE_VALUE_COLUMNS: readonly string[] = VALUE_COLUMNS.filter(
  (c) => !ADDED.has(c) && c !== 'devices' && c !== 'extra',
);
/** The raw reading columns added after the first release (schema 2 of SQLite, 3 of PostgreSQL). */
export const ADDED_VALUE_COLUMNS: readonly string[] = [...SNAPSHOT_ADDED_FIELDS, 'devices', 'extra'];

/** Rollup table columns besides device_id and bucket, in this order. */
export const ROLLUP_SUM_COLUMNS = POWER_FIELDS.map((f) => `sum_${f}`);
export const ROLLUP_N_COLUMNS = POWER_FIELDS.map((f) => `n_${f}`);
export const ROLLUP_MAX_COLUMNS = MAX_POWER_FIELDS.map((f) => `max_${f}`);
export const ROLLUP_COLUMNS: readonly string[] = [
  'samples',
  ...ENERGY_KEYS,
  ...ROLLUP_SUM_COLUMNS,
  ...ROLLUP_N_COLUMNS,
  ...ROLLUP_MAX_COLUMNS,
];
/**
 * The rollup columns added after the first release (the EV chargers' power: SQLite migration 7,
 * PostgreSQL 8). TimescaleDB's continuous aggregates do not have them: a column cannot be added to
 * one without dropping it, which would lose what it keeps past the raw retention.
 */
export const ROLLUP_ADDED_COLUMNS: readonly string[] = ['sum_ev_power_w', 'n_ev_power_w'];
const ROLLUP_ADDED = new Set(ROLLUP_ADDED_COLUMNS);
/** The rollup columns of the first release, in ROLLUP_COLUMNS order. */
export const FIRST_RELEASE_ROLLUP_COLUMNS: readonly string[] = ROLLUP_COLUMNS.filter((c) => !ROLLUP_ADDED.has(c));
/** The power statistics (sum_, n_) of the first release, for TimescaleDB's aggregates. */
export const FIRST_RELEASE_ROLLUP_SUM_COLUMNS = ROLLUP_SUM_COLUMNS.filter((c) => !ROLLUP_ADDED.has(c));
export const FIRST_RELEASE_ROLLUP_N_COLUMNS = ROLLUP_N_COLUMNS.filter((c) => !ROLLUP_ADDED.has(c));

/**
 * The SELECT list of ROLLUP_COLUMNS from a rollup table or, in the TimescaleDB layout, a continuous
 * aggregate, where the added columns are NULL (no value: their averages are null).
 */
export function rollupSelectList(timescale: boolean, cast = ''): string {
  return ROLLUP_COLUMNS.map((c) =>
    timescale && ROLLUP_ADDED.has(c) ? `NULL${cast || '::float8'} AS ${c}` : `${c}${cast}`,
  ).join(', ');
}

export const ROLLUP_TABLES: Record<Resolution, string> = {
  '1min': 'energy_1min',
  '15min': 'energy_15min',
  hourly: 'energy_hourly',
  daily: 'energy_daily',
  weekly: 'energy_weekly',
  monthly: 'energy_monthly',
};

/** The columns read back to rebuild a stored row's aggregation state. */
export const STATE_COLUMNS: readonly string[] = [...COUNTER_FIELDS, ...CARRY_COLUMNS, ...DELTA_COLUMNS];

export type DbRow = Record<string, unknown>;

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'number' ? v : Number(v);
}

/** A stored row's aggregation state from a row holding STATE_COLUMNS and `t` (ms). */
export function storedRow(r: DbRow): StoredRow {
  return {
    t: num(r.t) ?? 0,
    values: COUNTER_FIELDS.map((f) => num(r[f])),
    carry: CARRY_COLUMNS.map((c) => num(r[c])),
    delta: DELTA_COLUMNS.map((c) => num(r[c])),
  };
}

/** A snapshot from a raw row holding `t` (ms), device_id and VALUE_COLUMNS. */
export function snapshotFromRow(r: DbRow): Snapshot {
  const s: Record<string, unknown> = {
    device_id: String(r.device_id),
    timestamp: new Date(num(r.t) ?? 0).toISOString(),
  };
  for (const f of SNAPSHOT_NUMERIC_FIELDS) s[f] = num(r[f]);
  for (const f of SNAPSHOT_TEXT_FIELDS) s[f] = r[f] ?? null;
  const stale = r.stale_sources;
  s.stale_sources = typeof stale === 'string' && stale !== '' ? (JSON.parse(stale) as string[]) : [];
  const devices = json(r.devices);
  if (devices !== null) s.devices = devices as Devices; // absent when none: as the edge sends it
  const extra = json(r.extra) as { control?: unknown } | null;
  if (extra?.control) s.control = extra.control as ControlBudget; // see extraJson
  return s as Snapshot;
}

/** A JSON column's value (SQLite: text; PostgreSQL jsonb: already parsed), null when empty. */
function json(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? (v === '' ? null : JSON.parse(v)) : v;
}

/** The `devices` column's JSON text of a snapshot, or null. */
export function devicesJson(s: Snapshot): string | null {
  return s.devices ? JSON.stringify(s.devices) : null;
}

/**
 * The `extra` column's JSON text of a reading, or null: the fields the server did not know, and the
 * snapshot's `control` (the edge's quarter budget). `control` has no column of its own: it is read
 * only whole, with its reading, and a server of the release before it already kept it in `extra`
 * as an unknown field, so rows of either server read back the same (snapshotFromRow).
 */
export function extraJson(r: Pick<IncomingReading, 'extra'> & { snapshot?: Snapshot }): string | null {
  const control = r.snapshot?.control;
  if (control) return JSON.stringify({ ...r.extra, control });
  return r.extra ? JSON.stringify(r.extra) : null;
}

/** VALUE_COLUMNS of a reading, in order. */
export function snapshotValues(s: Snapshot, extra: string | null): (number | string | null)[] {
  const out: (number | string | null)[] = [];
  for (const f of SNAPSHOT_NUMERIC_FIELDS) out.push(s[f] ?? null);
  for (const f of SNAPSHOT_TEXT_FIELDS) out.push(s[f] ?? null);
  out.push(s.stale_sources.length > 0 ? JSON.stringify(s.stale_sources) : null);
  out.push(devicesJson(s));
  out.push(extra);
  return out;
}

export function rollupFromRow(r: DbRow, start: number): RollupRow {
  return {
    start,
    samples: num(r.samples) ?? 0,
    energy: ENERGY_KEYS.map((k) => num(r[k])),
    sums: ROLLUP_SUM_COLUMNS.map((c) => num(r[c]) ?? 0),
    counts: ROLLUP_N_COLUMNS.map((c) => num(r[c]) ?? 0),
    max: ROLLUP_MAX_COLUMNS.map((c) => num(r[c])),
  };
}

/** ROLLUP_COLUMNS values of a rollup delta, in order. */
export function rollupValues(b: RollupRow): (number | null)[] {
  return [b.samples, ...b.energy, ...b.sums, ...b.counts, ...b.max];
}

/** One incoming reading, ready for planning. */
export interface Prepared {
  t: number;
  values: Vec;
  powers: Vec;
  snapshot: Snapshot;
  seq: number | null;
  /** The `extra` column's JSON text (fields the server did not know), or null. */
  extra: string | null;
}

/**
 * Checks a batch and sorts its readings by time, dropping repeated times (counted as duplicates by
 * the caller).
 */
export function prepareBatch(batch: InsertBatch): Prepared[] {
  const rows: Prepared[] = [];
  for (const r of batch.readings) {
    const t = r.t ?? Date.parse(r.snapshot.timestamp);
    if (!Number.isFinite(t))
      throw new KwartierError('store_bad_reading', `store: timestamp '${r.snapshot.timestamp}' is not a date`);
    if (r.snapshot.device_id !== batch.deviceId)
      throw new KwartierError(
        'store_bad_reading',
        `store: reading of device '${r.snapshot.device_id}' in a batch of device '${batch.deviceId}'`,
      );
    rows.push({
      t,
      values: counterValues(r.snapshot),
      powers: powerValues(r.snapshot),
      snapshot: r.snapshot,
      seq: r.seq,
      extra: extraJson(r),
    });
  }
  return dedupeSorted(rows);
}

/** Every seq of a batch (its refused ones too: they are handled), sorted, unique. */
export function batchSeqs(batch: InsertBatch): number[] {
  const s = new Set<number>();
  for (const r of batch.readings) if (r.seq !== null) s.add(r.seq);
  if (batch.refusedSeqs) for (const q of batch.refusedSeqs) s.add(q);
  return [...s].sort((a, b) => a - b);
}

/** Sorted, unique seqs as [first, last] runs of consecutive numbers. */
export function seqRanges(sorted: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    if (last && x === last[1] + 1) last[1] = x;
    else out.push([x, x]);
  }
  return out;
}

/**
 * Advances the ack watermark through contiguous seqs: `stored` are seqs > acked stored for the
 * outbox (sorted, a page of at most `pageSize`), `extra` the batch's own seqs (committed with it,
 * even when a row was a duplicate). Returns the new watermark and whether another page is needed.
 */
export function walkAck(
  acked: number,
  stored: readonly number[],
  extra: readonly number[],
  pageSize: number,
): { acked: number; more: boolean } {
  const all = [...new Set([...stored, ...extra])].sort((a, b) => a - b);
  let a = acked;
  for (const s of all) {
    if (s <= a) continue;
    if (s !== a + 1) break;
    a = s;
  }
  const last = stored[stored.length - 1];
  const more = stored.length >= pageSize && last !== undefined && a >= last;
  return { acked: a, more };
}

export const ACK_PAGE = 10_000;
/**
 * The most stored rows read inside a batch's time range before the batch is split in two: a few
 * times its size covers resends and overlapping backlogs; more means sparse readings over dense data.
 */
export function existingLimit(batchSize: number): number {
  return 4 * batchSize + 64;
}
/** The first fetch of stored rows after a batch: enough to converge in practice. */
export const NEXT_PAGE = 4;
/** Stored rows fetched at a time when a batch's effect runs on further (see continueChain). */
export const CHAIN_PAGE = 5000;

export function retentionCut(now: Date, days: number): number {
  return now.getTime() - days * 86_400_000;
}

/** Rows deleted per statement (and transaction) by retention: writers wait at most one chunk. */
export const RETENTION_CHUNK = 5000;

/** A retention option of the store: a positive number (days, or rows per chunk); the error names it. */
export function positiveOption(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw new ConfigError(`store: ${name}: must be a positive number, not ${String(value)}`);
  return v;
}
