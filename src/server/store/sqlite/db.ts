/**
 * What every part of the SQLite store shares: its options, the connection (opened on first use, in
 * WAL mode) and the prepared-statement cache. The parts (schema.ts, write.ts, reads.ts,
 * dead-letters.ts, retention.ts) each hold one SqliteDb; ../sqlite.ts composes them into the Store.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BucketCalendar, type CounterLimits, DEFAULT_COUNTER_LIMITS } from '../../../core/aggregate.js';
import { KwartierError } from '../../../core/errors.js';
import { createLogger, type Logger } from '../../../lib/log.js';
import { positiveOption, RETENTION_CHUNK, STATE_COLUMNS } from '../common.js';
import type { StoreOptions } from '../types.js';

export interface SqliteStoreOptions extends StoreOptions {
  logger?: Logger;
  /** busy_timeout in ms (another process holding the write lock). Default 10 000. */
  busyTimeoutMs?: number;
}

/** The columns that rebuild a stored row's aggregation state (common.ts storedRow), time as `t`. */
export const STATE_SELECT = `time AS t, ${STATE_COLUMNS.join(', ')}`;

export class SqliteDb {
  readonly calendar: BucketCalendar;
  readonly retentionDays: number;
  readonly deadLetterDays: number;
  readonly chunkRows: number;
  readonly log: Logger;
  readonly limits: CounterLimits;
  /** Set by migrate(); statements are prepared only after it. */
  migrated = false;
  private db: Database.Database | null = null;
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(
    readonly path: string,
    private readonly opts: SqliteStoreOptions,
  ) {
    this.calendar = new BucketCalendar(opts.timezone);
    this.retentionDays = positiveOption('raw_retention_days', opts.rawRetentionDays, 7);
    this.deadLetterDays = positiveOption('dead_letter_retention_days', opts.deadLetterRetentionDays, 30);
    this.chunkRows = Math.ceil(positiveOption('retentionChunkRows', opts.retentionChunkRows, RETENTION_CHUNK));
    this.log = opts.logger ?? createLogger('store', { type: 'sqlite' });
    this.limits = { ...DEFAULT_COUNTER_LIMITS, ...opts.counterLimits };
  }

  conn(): Database.Database {
    if (this.db) return this.db;
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    const db = new Database(this.path, { timeout: this.opts.busyTimeoutMs ?? 10_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    this.db = db;
    return db;
  }

  requireMigrated(): void {
    if (!this.migrated) throw new KwartierError('store_not_migrated', 'store: call migrate() before using the store');
  }

  stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      this.requireMigrated();
      s = this.conn().prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** A prepared statement returning rows as arrays (its own cache entry: raw mode is per statement). */
  rawStmt(sql: string): Database.Statement {
    const key = `raw:${sql}`;
    let s = this.stmts.get(key);
    if (!s) {
      this.requireMigrated();
      s = this.conn().prepare(sql).raw(true);
      this.stmts.set(key, s);
    }
    return s;
  }

  close(): void {
    this.stmts.clear();
    this.db?.close();
    this.db = null;
    this.migrated = false;
  }
}
