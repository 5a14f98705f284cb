/**
 * The SQLite store (better-sqlite3, WAL): the embedded default for one home. Same tables and
 * semantics as the PostgreSQL store; times are integer milliseconds since the epoch (UTC).
 * The driver is synchronous; every method runs to completion inside the returned promise.
 *
 * This file composes the parts in ./sqlite/, one concern each: db.ts (options, connection,
 * statement cache), schema.ts (migrations), write.ts (the write path), reads.ts, dead-letters.ts,
 * retention.ts, prices.ts (day-ahead prices) and control.ts (the wanted control settings).
 */
import type { Snapshot } from '../../core/snapshot.js';
import type { ControlWant } from '../../core/wire-control.js';
import { SqliteControl } from './sqlite/control.js';
import { SqliteDb, type SqliteStoreOptions } from './sqlite/db.js';
import { SqliteDeadLetters } from './sqlite/dead-letters.js';
import { SqlitePrices } from './sqlite/prices.js';
import { SqliteReader } from './sqlite/reads.js';
import { SqliteRetention } from './sqlite/retention.js';
import { migrateSchema } from './sqlite/schema.js';
import { SqliteWriter } from './sqlite/write.js';
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

export type { SqliteStoreOptions } from './sqlite/db.js';

class SqliteStore implements Store {
  private readonly db: SqliteDb;
  private readonly writer: SqliteWriter;
  private readonly reader: SqliteReader;
  private readonly letters: SqliteDeadLetters;
  private readonly retention: SqliteRetention;
  private readonly prices: SqlitePrices;
  private readonly control: SqliteControl;

  constructor(path: string, opts: SqliteStoreOptions) {
    this.db = new SqliteDb(path, opts);
    this.writer = new SqliteWriter(this.db);
    this.reader = new SqliteReader(this.db);
    this.letters = new SqliteDeadLetters(this.db);
    this.retention = new SqliteRetention(this.db);
    this.prices = new SqlitePrices(this.db);
    this.control = new SqliteControl(this.db);
  }

  async migrate(): Promise<void> {
    migrateSchema(this.db);
  }

  async insert(batch: InsertBatch): Promise<InsertResult> {
    const [r] = await this.insertMany([batch]);
    return r!;
  }

  async insertMany(batches: InsertBatch[]): Promise<InsertResult[]> {
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

  applyRetention(now?: Date): Promise<RetentionResult> {
    return this.retention.apply(now);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** The SQLite store at `path` (a file; created with its directory when missing; ':memory:' for tests). */
export function createSqliteStore(path: string, opts: SqliteStoreOptions): Store {
  return new SqliteStore(path, opts);
}
