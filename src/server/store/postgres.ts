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
 * reads.ts, dead-letters.ts, retention.ts, prices.ts (day-ahead prices), control.ts (the wanted
 * control settings) and day-blocks.ts (closed days' history points kept rendered); the calls that only pass on to a part are facade.ts's, shared with the SQLite
 * store. See docs/storage.md.
 */
import { StoreFacade } from './facade.js';
import { PgControl } from './postgres/control.js';
import { PgDayBlocks } from './postgres/day-blocks.js';
import { PgDb, type PostgresConnection, type PostgresMode, type PostgresStoreOptions } from './postgres/db.js';
import { PgDeadLetters } from './postgres/dead-letters.js';
import { Partitions } from './postgres/partitions.js';
import { PgPrices } from './postgres/prices.js';
import { PgReader } from './postgres/reads.js';
import { PgRetention } from './postgres/retention.js';
import { migrateSchema } from './postgres/schema.js';
import { PgWriter } from './postgres/write.js';
import type { Store } from './types.js';

export type { PostgresConnection, PostgresMode, PostgresStoreOptions } from './postgres/db.js';

class PostgresStore extends StoreFacade {
  private readonly db: PgDb;
  private readonly partitions: Partitions;

  constructor(conn: PostgresConnection, opts: PostgresStoreOptions) {
    const db = new PgDb(conn, opts);
    const partitions = new Partitions(db);
    super({
      writer: new PgWriter(db, partitions),
      reader: new PgReader(db),
      letters: new PgDeadLetters(db),
      retention: new PgRetention(db, partitions),
      prices: new PgPrices(db),
      control: new PgControl(db),
      dayBlocks: new PgDayBlocks(db),
    });
    this.db = db;
    this.partitions = partitions;
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
