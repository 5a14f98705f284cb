/**
 * What both stores' facades share: every Store method that only hands the call to one of the
 * store's parts (the reads, dead letters, prices, control settings, retention, the write path).
 * Each store (postgres.ts, sqlite.ts) makes its parts and adds what differs: migrate and close.
 */
import type { Snapshot } from '../../core/snapshot.js';
import type { ControlWant } from '../../core/wire-control.js';
import type {
  Bucket,
  BucketTable,
  DayAheadPrice,
  DayBlockStore,
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

/** A store's parts, one concern each, as its facade calls them. */
export interface StoreParts {
  /** The write path (SQLite's runs synchronously). */
  writer: { insertMany(batches: InsertBatch[]): InsertResult[] | Promise<InsertResult[]> };
  reader: Pick<Store, 'ackedSeq' | 'latest' | 'raw' | 'buckets' | 'bucketTable' | 'devices'>;
  letters: Pick<Store, 'addDeadLetter' | 'deadLetterCount' | 'deadLetters' | 'deleteDeadLetters'>;
  prices: {
    put(zone: string, prices: readonly DayAheadPrice[]): Promise<number>;
    read(zone: string, start: Date, end: Date): Promise<DayAheadPrice[]>;
  };
  control: {
    put(deviceId: string, settings: ControlWant, updatedBy: string): Promise<StoredControl>;
    read(deviceId: string): Promise<StoredControl | null>;
    all(): Promise<StoredControl[]>;
  };
  retention: { apply(now?: Date): Promise<RetentionResult> };
  dayBlocks: DayBlockStore;
}

export abstract class StoreFacade implements Store {
  readonly dayBlocks: DayBlockStore;

  constructor(private readonly parts: StoreParts) {
    this.dayBlocks = parts.dayBlocks;
  }

  abstract migrate(): Promise<void>;
  abstract close(): Promise<void>;

  async insert(batch: InsertBatch): Promise<InsertResult> {
    const [result] = await this.insertMany([batch]);
    return result!;
  }

  async insertMany(batches: InsertBatch[]): Promise<InsertResult[]> {
    return this.parts.writer.insertMany(batches);
  }

  ackedSeq(deviceId: string, outboxId: string): Promise<number | null> {
    return this.parts.reader.ackedSeq(deviceId, outboxId);
  }

  addDeadLetter(letter: DeadLetter): Promise<void> {
    return this.parts.letters.addDeadLetter(letter);
  }

  deadLetterCount(): Promise<number> {
    return this.parts.letters.deadLetterCount();
  }

  deadLetters(query: DeadLetterQuery): Promise<StoredDeadLetter[]> {
    return this.parts.letters.deadLetters(query);
  }

  deleteDeadLetters(ids: readonly number[]): Promise<number> {
    return this.parts.letters.deleteDeadLetters(ids);
  }

  latest(deviceId: string): Promise<Snapshot | null> {
    return this.parts.reader.latest(deviceId);
  }

  raw(deviceId: string, start: Date, end: Date, limit?: number): Promise<Snapshot[]> {
    return this.parts.reader.raw(deviceId, start, end, limit);
  }

  buckets(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<Bucket[]> {
    return this.parts.reader.buckets(deviceId, resolution, start, end);
  }

  bucketTable(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<BucketTable> {
    return this.parts.reader.bucketTable(deviceId, resolution, start, end);
  }

  devices(): Promise<string[]> {
    return this.parts.reader.devices();
  }

  putDayAheadPrices(zone: string, prices: readonly DayAheadPrice[]): Promise<number> {
    return this.parts.prices.put(zone, prices);
  }

  dayAheadPrices(zone: string, start: Date, end: Date): Promise<DayAheadPrice[]> {
    return this.parts.prices.read(zone, start, end);
  }

  putControlWanted(deviceId: string, settings: ControlWant, updatedBy: string): Promise<StoredControl> {
    return this.parts.control.put(deviceId, settings, updatedBy);
  }

  controlWanted(deviceId: string): Promise<StoredControl | null> {
    return this.parts.control.read(deviceId);
  }

  allControlWanted(): Promise<StoredControl[]> {
    return this.parts.control.all();
  }

  /** See each store's retention part (postgres/retention.ts, sqlite/retention.ts). */
  applyRetention(now?: Date): Promise<RetentionResult> {
    return this.parts.retention.apply(now);
  }
}
