/**
 * The PostgreSQL store, in its own schema. Two layouts behind the same tables' names:
 *
 * - plain PostgreSQL (the default when TimescaleDB is absent): `energy_readings` is range-partitioned
 *   by UTC day (partitions created ahead as needed, dropped by retention), and the rollup tables
 *   energy_1min … energy_monthly are kept up to date inside the insert transaction, set-based: the
 *   maths (core/aggregate.ts) yields one delta row per touched bucket and one upsert per table adds
 *   them up.
 * - TimescaleDB (when the extension is installed or can be created): `energy_readings` is a
 *   hypertable with a retention policy; energy_1min, energy_15min, energy_hourly and energy_daily are
 *   continuous aggregates over the per-reading deltas, energy_weekly and energy_monthly views over
 *   energy_daily. Written with care, but not run on the development machine (no TimescaleDB there).
 *
 * This file composes the parts in ./postgres/, one concern each: db.ts (options, pool, named
 * statements, lock keys), schema.ts (migrations and layout), partitions.ts (day partitions),
 * write.ts with write-context.ts and write-sql.ts (the write path: binary COPY, rollups, acks),
 * reads.ts, dead-letters.ts, retention.ts, prices.ts (day-ahead prices) and control.ts (the wanted
 * control settings). See docs/storage.md.
 */
import type { Snapshot } from '../../core/snapshot.js';
import type { ControlWant } from '../../core/wire-control.js';
import { PgControl } from './postgres/control.js';
import { PgDb, type PostgresConnection, type PostgresMode, type PostgresStoreOptions } from './postgres/db.js';
import { PgDeadLetters } from './postgres/dead-letters.js';
import { Partitions } from './postgres/partitions.js';
import { PgPrices } from './postgres/prices.js';
import { PgReader } from './postgres/reads.js';
import { PgRetention } from './postgres/retention.js';
import { migrateSchema } from './postgres/schema.js';
import { PgWriter } from './postgres/write.js';
import type {
  Bucket,
  BucketTable,
  DayAheadPrice,
  DeadLetter,
  DeadLetterQuery,
  InsertBatch,
  InsertResult,
  Resolution,
  RetentionResult,
  Store,
  StoredControl,
  StoredDeadLetter,
} from './types.js';

export type { PostgresConnection, PostgresMode, PostgresStoreOptions } from './postgres/db.js';

class PostgresStore implements Store {
  private readonly db: PgDb;
  private readonly partitions: Partitions;
  private readonly writer: PgWriter;
  private readonly reader: PgReader;
  private readonly letters: PgDeadLetters;
  private readonly retention: PgRetention;
  private readonly prices: PgPrices;
  private readonly control: PgControl;

  constructor(conn: PostgresConnection, opts: PostgresStoreOptions) {
    this.db = new PgDb(conn, opts);
    this.partitions = new Partitions(this.db);
    this.writer = new PgWriter(this.db, this.partitions);
    this.reader = new PgReader(this.db);
    this.letters = new PgDeadLetters(this.db);
    this.retention = new PgRetention(this.db, this.partitions);
    this.prices = new PgPrices(this.db);
    this.control = new PgControl(this.db);
  }

  /** The layout in use (known after migrate()). */
  get layout(): PostgresMode | null {
    return this.db.mode;
  }

  async migrate(): Promise<void> {
    this.db.mode = await migrateSchema(this.db);
    if (this.db.mode === 'plain') {
      await this.partitions.load();
      await this.partitions.ensureAhead(Date.now());
    }
    this.db.log.info({ layout: this.db.mode }, 'PostgreSQL store ready');
  }

  async insert(batch: InsertBatch): Promise<InsertResult> {
    const [r] = await this.insertMany([batch]);
    return r!;
  }

  insertMany(batches: InsertBatch[]): Promise<InsertResult[]> {
    return this.writer.insertMany(batches);
  }

  ackedSeq(deviceId: string, outboxId: string): Promise<number | null> {
    return this.reader.ackedSeq(deviceId, outboxId);
  }

  addDeadLetter(letter: DeadLetter): Promise<void> {
    return this.letters.addDeadLetter(letter);
  }

  deadLetterCount(): Promise<number> {
    return this.letters.deadLetterCount();
  }

  deadLetters(q: DeadLetterQuery): Promise<StoredDeadLetter[]> {
    return this.letters.deadLetters(q);
  }

  deleteDeadLetters(ids: readonly number[]): Promise<number> {
    return this.letters.deleteDeadLetters(ids);
  }

  latest(deviceId: string): Promise<Snapshot | null> {
    return this.reader.latest(deviceId);
  }

  raw(deviceId: string, start: Date, end: Date, limit?: number): Promise<Snapshot[]> {
    return this.reader.raw(deviceId, start, end, limit);
  }

  buckets(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<Bucket[]> {
    return this.reader.buckets(deviceId, resolution, start, end);
  }

  bucketTable(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<BucketTable> {
    return this.reader.bucketTable(deviceId, resolution, start, end);
  }

  devices(): Promise<string[]> {
    return this.reader.devices();
  }

  putDayAheadPrices(zone: string, prices: readonly DayAheadPrice[]): Promise<number> {
    return this.prices.put(zone, prices);
  }

  dayAheadPrices(zone: string, start: Date, end: Date): Promise<DayAheadPrice[]> {
    return this.prices.read(zone, start, end);
  }

  putControlWanted(deviceId: string, settings: ControlWant, updatedBy: string): Promise<StoredControl> {
    return this.control.put(deviceId, settings, updatedBy);
  }

  controlWanted(deviceId: string): Promise<StoredControl | null> {
    return this.control.read(deviceId);
  }

  allControlWanted(): Promise<StoredControl[]> {
    return this.control.all();
  }

  /** See PgRetention.apply (postgres/retention.ts). */
  applyRetention(now?: Date): Promise<RetentionResult> {
    return this.retention.apply(now);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** The PostgreSQL store in `conn.schema` (TimescaleDB when available, see PostgresStoreOptions.timescale). */
export function createPostgresStore(
  conn: PostgresConnection,
  opts: PostgresStoreOptions,
): Store & {
  readonly layout: PostgresMode | null;
} {
  return new PostgresStore(conn, opts);
}
