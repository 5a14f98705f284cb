/**
 * The SQLite store (better-sqlite3, WAL): the embedded default for one home. Same tables and
 * semantics as the PostgreSQL store; times are integer milliseconds since the epoch (UTC).
 * The driver is synchronous; every method runs to completion inside the returned promise.
 *
 * This file composes the parts in ./sqlite/, one concern each: db.ts (options, connection,
 * statement cache), schema.ts (migrations), write.ts (the write path), reads.ts, dead-letters.ts,
 * retention.ts, prices.ts (day-ahead prices), control.ts (the wanted control settings) and
 * day-blocks.ts (closed days' history points kept rendered); the
 * calls that only pass on to a part are facade.ts's, shared with the PostgreSQL store.
 */
import { StoreFacade } from './facade.js';
import { SqliteControl } from './sqlite/control.js';
import { SqliteDayBlocks } from './sqlite/day-blocks.js';
import { SqliteDb, type SqliteStoreOptions } from './sqlite/db.js';
import { SqliteDeadLetters } from './sqlite/dead-letters.js';
import { SqlitePrices } from './sqlite/prices.js';
import { SqliteReader } from './sqlite/reads.js';
import { SqliteRetention } from './sqlite/retention.js';
import { migrateSchema } from './sqlite/schema.js';
import { SqliteWriter } from './sqlite/write.js';
import type { Store } from './types.js';

export type { SqliteStoreOptions } from './sqlite/db.js';

class SqliteStore extends StoreFacade {
  private readonly db: SqliteDb;

  constructor(path: string, opts: SqliteStoreOptions) {
    const db = new SqliteDb(path, opts);
    super({
      writer: new SqliteWriter(db),
      reader: new SqliteReader(db),
      letters: new SqliteDeadLetters(db),
      retention: new SqliteRetention(db),
      prices: new SqlitePrices(db),
      control: new SqliteControl(db),
      dayBlocks: new SqliteDayBlocks(db),
    });
    this.db = db;
  }

  async migrate(): Promise<void> {
    migrateSchema(this.db);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** The SQLite store at `path` (a file; created with its directory when missing; ':memory:' for tests). */
export function createSqliteStore(path: string, opts: SqliteStoreOptions): Store {
  return new SqliteStore(path, opts);
}
