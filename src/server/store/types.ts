/**
 * The store: one interface, two implementations (PostgreSQL/TimescaleDB and SQLite), one contract
 * test suite (test/server/store/contract.ts) run against both. See docs/storage.md.
 *
 * Raw readings are idempotent on (device_id, time). Energy per bucket comes from the cumulative
 * counters at the bucket boundaries: each reading's delta to the previous reading of the same
 * device is attributed to the bucket holding the reading, so buckets add up to the meter's own
 * difference exactly; a counter that drops starts a new series (delta 0, never negative).
 * Daily and longer buckets are local days in the store's time zone (23- and 25-hour days).
 */

import type { BucketValues, CounterLimits } from '../../core/aggregate.js';
import { type Resolution, ROLLUP_RESOLUTIONS } from '../../core/bucket-shape.js';
import type { BucketTable } from '../../core/bucket-table.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { ControlWant } from '../../core/wire-control.js';
import type { DeflatePiece } from '../../lib/deflate-join.js';

/** The rollups a store keeps: core's list (core/bucket-shape.ts), under the name the store's users know. */
export { type Resolution, ROLLUP_RESOLUTIONS as RESOLUTIONS };

/**
 * One aggregate bucket. Energy in kWh (or m3), powers in W; null where no reading had the value.
 * Defined once in core (core/aggregate.ts, which computes it).
 */
export type Bucket = BucketValues;
export type { BucketTable };

export interface IncomingReading {
  snapshot: Snapshot;
  /** The edge outbox's sequence number (null for data that did not come through an outbox). */
  seq: number | null;
  /** `Date.parse(snapshot.timestamp)`, when the caller has it already (the store parses it otherwise). */
  t?: number;
  /**
   * Top-level fields the server did not know (an edge newer than its server), kept in the row's
   * `extra` column as JSON; bounded by the ingester. Absent or null: none.
   */
  extra?: Record<string, unknown> | null;
}

export interface InsertBatch {
  deviceId: string;
  /** The edge outbox the rows come from (wire `outbox_id`); null without one. */
  outboxId: string | null;
  /** The oldest seq the edge still holds: seqs below it will never come. */
  floorSeq: number | null;
  readings: IncomingReading[];
  /** Seqs of the same outbox the ingester refused (dead-lettered): acknowledged, never stored. */
  refusedSeqs?: readonly number[];
}

export interface InsertResult {
  inserted: number;
  duplicates: number;
  /** The acknowledged watermark after this commit: every seq ≤ it is committed (null without outbox). */
  ackedSeq: number | null;
}

export interface DeadLetter {
  topic: string;
  deviceId: string | null;
  reason: string;
  /** The payload as received (truncated to a safe size by the caller). */
  payload: string;
}

/** A dead letter as stored: its id and when it was received. */
export interface StoredDeadLetter extends DeadLetter {
  id: number;
  receivedAt: Date;
}

export interface DeadLetterQuery {
  /** Only this device's (the topic's device id). */
  deviceId?: string;
  /** Only those received at or after this time. */
  since?: Date;
  /** Only those with an id above this one (paging). */
  afterId?: number;
  /** At most this many, oldest id first. */
  limit: number;
}

/** A day-ahead price of a bidding zone as stored: it holds over [start, end); €/MWh, the market's unit. */
export interface DayAheadPrice {
  start: Date;
  end: Date;
  eurPerMwh: number;
  /** The feed it came from: `energy-charts`, `entsoe` (or `simulated` in the demo). */
  source: string;
}

/** The control settings the server wants for a home (PUT /api/v1/control), as stored. */
export interface StoredControl {
  deviceId: string;
  /** 1 for the first change, one more for each after it. */
  revision: number;
  settings: ControlWant;
  updatedAt: Date;
  /** The name of the token (api.tokens) that made the change. */
  updatedBy: string;
}

export interface Store {
  /** Creates or upgrades the schema. Idempotent. */
  migrate(): Promise<void>;
  /**
   * Inserts one device's readings in one transaction, skipping duplicates on (device_id, time),
   * advances the ack watermark of (deviceId, outboxId) and recomputes the aggregates of every
   * bucket the new rows touch (late data included).
   */
  insert(batch: InsertBatch): Promise<InsertResult>;
  /** Several devices' batches in one transaction (the ingester's write path). */
  insertMany(batches: InsertBatch[]): Promise<InsertResult[]>;
  ackedSeq(deviceId: string, outboxId: string): Promise<number | null>;
  addDeadLetter(letter: DeadLetter): Promise<void>;
  deadLetterCount(): Promise<number>;
  /** Stored dead letters, oldest id first (for `kwartier server replay-dead-letters`). */
  deadLetters(q: DeadLetterQuery): Promise<StoredDeadLetter[]>;
  /** Deletes these dead letters; returns how many were deleted. */
  deleteDeadLetters(ids: readonly number[]): Promise<number>;
  latest(deviceId: string): Promise<Snapshot | null>;
  /** Raw snapshots with start ≤ time < end, oldest first. */
  raw(deviceId: string, start: Date, end: Date, limit?: number): Promise<Snapshot[]>;
  /** Buckets whose start lies in [start, end), oldest first. */
  buckets(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<Bucket[]>;
  /**
   * The same buckets as columns (core/bucket-table.ts), read in one range scan: the history answer's
   * read, thousands of buckets without an object each. buckets() is this table as objects.
   */
  bucketTable(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<BucketTable>;
  devices(): Promise<string[]>;
  /**
   * Stores a bidding zone's day-ahead prices (zone as configured: `BE`, `NL`). A price already
   * stored for (zone, start) is kept as it is: a published day-ahead price is final. Returns how
   * many were new.
   */
  putDayAheadPrices(zone: string, prices: readonly DayAheadPrice[]): Promise<number>;
  /** The zone's stored prices whose start lies in [start, end), oldest first. */
  dayAheadPrices(zone: string, start: Date, end: Date): Promise<DayAheadPrice[]>;
  /**
   * Stores the control settings wanted for a home (the whole overlay, replacing the last) under the
   * next revision, in one statement (two writers never get the same revision); returns what is stored.
   */
  putControlWanted(deviceId: string, settings: ControlWant, updatedBy: string): Promise<StoredControl>;
  /** The control settings wanted for a home, or null when none were ever set. */
  controlWanted(deviceId: string): Promise<StoredControl | null>;
  /** Every home's wanted control settings, by device id (republished to the broker on each connection). */
  allControlWanted(): Promise<StoredControl[]>;
  /**
   * Deletes raw readings older than the raw retention (aggregates stay forever) and dead letters
   * older than theirs, in bounded chunks so writers wait at most one chunk. `now` defaults to the
   * clock. Safe to call at any time and from several processes; the scheduler (server/retention.ts)
   * calls it hourly.
   */
  applyRetention(now?: Date): Promise<RetentionResult>;
  /** Closed local days' history points kept rendered and compressed (server/api/day-blocks.ts). */
  readonly dayBlocks: DayBlockStore;
  close(): Promise<void>;
}

/**
 * A local day's history points (one resolution, one answer format) as a compressed piece, kept so
 * that a month's answer joins 30 pieces instead of reading and rendering 2 976 buckets.
 *
 * Each day has an epoch, raised by the write path in the transaction that changes a rollup bucket of
 * a day that has ended. A block is kept with the epoch read *before* its buckets were read, and is
 * served only while that is still the day's epoch: a write that commits between the two reads makes
 * the block stale rather than wrong.
 */
export interface DayBlockStore {
  /** False where the store keeps none (TimescaleDB: its aggregates refresh apart from the writes). */
  readonly enabled: boolean;
  /** The blocks still valid, and every day's epoch (0 for none), for days starting in [from, to). */
  read(deviceId: string, resolution: Resolution, format: number, from: number, to: number): Promise<DayBlockRead>;
  /** Keeps blocks (replacing the day's earlier one). */
  put(deviceId: string, resolution: Resolution, format: number, blocks: readonly DayBlock[]): Promise<void>;
}

export interface DayBlock {
  /** Start of the local day (ms). */
  day: number;
  /** The day's epoch read before its buckets. */
  epoch: number;
  piece: DeflatePiece;
}

export interface DayBlockRead {
  blocks: Map<number, DeflatePiece>;
  epochs: Map<number, number>;
}

export interface RetentionResult {
  /** Raw readings removed. */
  deleted: number;
  /** Dead letters removed. */
  deadLetters: number;
}

export interface StoreOptions {
  /** Local time zone for daily, weekly and monthly buckets. */
  timezone: string;
  /** Raw readings kept this many days. Default 7. */
  rawRetentionDays?: number;
  /** Dead letters kept this many days. Default 30. */
  deadLetterRetentionDays?: number;
  /** Rows deleted per statement (and transaction) by applyRetention(). Default 5 000. */
  retentionChunkRows?: number;
  /** A counter rising faster than this is a jump, kept out of the aggregates (default DEFAULT_COUNTER_LIMITS). */
  counterLimits?: Partial<CounterLimits>;
}
