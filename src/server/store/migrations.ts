/**
 * The stores' schemas, as numbered migrations in one place. Each store records the version it is at
 * in `kw_meta` ('schema_version'); at start-up `migrate()` reads it and runs every later migration,
 * in order, in one transaction (PostgreSQL: under an advisory lock, so two processes starting
 * together migrate once). A database at a version newer than this release knows is refused: its
 * columns could mean something this code does not.
 *
 * Rules: a migration once released is never changed (only appended to); a fresh database runs them
 * all from version 0. The first migration of each store creates exactly the tables of the first
 * release (schema 1 of SQLite, 2 of PostgreSQL: their IF NOT EXISTS statements leave such a database
 * as it is), so a database created by that release is recognised and carried forward, not re-created.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { COUNTER_FIELDS, ENERGY_KEYS } from '../../core/aggregate.js';
import { KwartierError } from '../../core/errors.js';
import {
  ADDED_VALUE_COLUMNS,
  CARRY_COLUMNS,
  DELTA_COLUMNS,
  FIRST_RELEASE_ROLLUP_COLUMNS,
  FIRST_RELEASE_ROLLUP_N_COLUMNS,
  FIRST_RELEASE_ROLLUP_SUM_COLUMNS,
  FIRST_RELEASE_VALUE_COLUMNS,
  ROLLUP_ADDED_COLUMNS,
  ROLLUP_MAX_COLUMNS,
  ROLLUP_TABLES,
  valueColumnKind,
} from './common.js';

export interface Migration<Ctx> {
  version: number;
  description: string;
  up(ctx: Ctx): void | Promise<void>;
}

/** The newest version of a list. */
export function latestVersion(list: readonly Migration<never>[]): number {
  return list.reduce((m, x) => Math.max(m, x.version), 0);
}

/**
 * The migrations to run on a database at `stored` (null: none recorded, a fresh database), in order;
 * a version newer than the list knows is an error naming both.
 */
export function pending<Ctx>(list: readonly Migration<Ctx>[], stored: string | null, store: string): Migration<Ctx>[] {
  const at = stored === null ? 0 : Number(stored);
  if (!Number.isInteger(at) || at < 0)
    throw new KwartierError('store_schema', `store: kw_meta schema_version '${stored}' is not a version number`);
  const latest = latestVersion(list as readonly Migration<never>[]);
  if (at > latest)
    throw new KwartierError(
      'store_schema',
      `store: the ${store} database is at schema version ${at}, newer than this release knows (${latest}): run the newer kwartier release, or restore a backup`,
    );
  return list.filter((m) => m.version > at).sort((a, b) => a.version - b.version);
}

// ------------------------------------------------------------------------------------------------
// SQLite

function sqliteType(c: string): string {
  return valueColumnKind(c) === 'number' ? 'REAL' : 'TEXT';
}

export interface SqliteMigrationContext {
  db: Database.Database;
}

function sqliteRollupColumn(c: string): string {
  return c === 'samples' || c.startsWith('n_') ? `${c} INTEGER NOT NULL DEFAULT 0` : `${c} REAL`;
}

function sqliteFirstRelease(): string {
  const raw = [
    'device_id TEXT NOT NULL',
    'time INTEGER NOT NULL',
    'seq INTEGER',
    'outbox_id TEXT',
    'received_at INTEGER NOT NULL',
    ...FIRST_RELEASE_VALUE_COLUMNS.map((c) => `${c} ${sqliteType(c)}`),
    ...CARRY_COLUMNS.map((c) => `${c} REAL`),
    ...DELTA_COLUMNS.map((c) => `${c} REAL`),
    'PRIMARY KEY (device_id, time)',
  ];
  const rollup = (name: string): string =>
    `CREATE TABLE IF NOT EXISTS ${name} (device_id TEXT NOT NULL, bucket INTEGER NOT NULL, ` +
    FIRST_RELEASE_ROLLUP_COLUMNS.map(sqliteRollupColumn).join(', ') +
    ', PRIMARY KEY (device_id, bucket)) WITHOUT ROWID;';
  return [
    'CREATE TABLE IF NOT EXISTS kw_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);',
    `CREATE TABLE IF NOT EXISTS energy_readings (${raw.join(', ')});`,
    'CREATE INDEX IF NOT EXISTS energy_readings_outbox_seq ON energy_readings (device_id, outbox_id, seq) WHERE seq IS NOT NULL;',
    ...Object.values(ROLLUP_TABLES).map(rollup),
    'CREATE TABLE IF NOT EXISTS devices (device_id TEXT PRIMARY KEY, first_time INTEGER NOT NULL, last_time INTEGER NOT NULL);',
    `CREATE TABLE IF NOT EXISTS device_carry (device_id TEXT PRIMARY KEY, time INTEGER NOT NULL, ${COUNTER_FIELDS.map((c) => `${c} REAL`).join(', ')});`,
    'CREATE TABLE IF NOT EXISTS device_acks (device_id TEXT NOT NULL, outbox_id TEXT NOT NULL, acked_seq INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (device_id, outbox_id));',
    'CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL, topic TEXT NOT NULL, device_id TEXT, reason TEXT NOT NULL, payload TEXT NOT NULL);',
    'CREATE INDEX IF NOT EXISTS dead_letters_received ON dead_letters (received_at);',
  ].join('\n');
}

export const SQLITE_MIGRATIONS: readonly Migration<SqliteMigrationContext>[] = [
  {
    version: 1,
    description: 'the first release: raw readings, rollups, devices, carry, acks, dead letters',
    up: ({ db }) => {
      db.exec(sqliteFirstRelease());
    },
  },
  {
    // The first release wrote schema_version 1 but never read it; this index came after it without a
    // new number (found by the release fixture's test): a release database gets it here.
    version: 2,
    description: 'the dead letters indexed by time (retention)',
    up: ({ db }) => {
      db.exec('CREATE INDEX IF NOT EXISTS dead_letters_received ON dead_letters (received_at);');
    },
  },
  {
    version: 3,
    description: 'snapshot fields added after the first release, `devices` and `extra` (JSON text)',
    up: ({ db }) => {
      // SQLite has no ADD COLUMN IF NOT EXISTS: columns already there are skipped, so a database a
      // release before this one opened (and wrote its own older schema_version into) migrates again.
      const have = new Set(db.prepare("SELECT name FROM pragma_table_info('energy_readings')").pluck().all());
      for (const c of ADDED_VALUE_COLUMNS)
        if (!have.has(c)) db.exec(`ALTER TABLE energy_readings ADD COLUMN ${c} ${sqliteType(c)}`);
    },
  },
  {
    version: 4,
    description: 'day-ahead prices per bidding zone (the price feed)',
    up: ({ db }) => {
      db.exec(
        'CREATE TABLE IF NOT EXISTS day_ahead_prices (zone TEXT NOT NULL, start_time INTEGER NOT NULL, ' +
          'end_time INTEGER NOT NULL, eur_per_mwh REAL NOT NULL, source TEXT NOT NULL, fetched_at INTEGER NOT NULL, ' +
          'PRIMARY KEY (zone, start_time)) WITHOUT ROWID;',
      );
    },
  },
  {
    version: 5,
    description: 'the control settings the server wants per home (PUT /api/v1/control)',
    up: ({ db }) => {
      db.exec(
        'CREATE TABLE IF NOT EXISTS control_settings (device_id TEXT PRIMARY KEY, revision INTEGER NOT NULL, ' +
          'settings TEXT NOT NULL, updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL);',
      );
    },
  },
  {
    // A later migration that changes rollup rows must also empty day_blocks (they are rendered from them).
    version: 6,
    description: "closed days' history points kept rendered (day_blocks) and the epochs that invalidate them",
    up: ({ db }) => {
      db.exec(
        'CREATE TABLE IF NOT EXISTS day_blocks (device_id TEXT NOT NULL, resolution TEXT NOT NULL, day INTEGER NOT NULL, ' +
          'format INTEGER NOT NULL, epoch INTEGER NOT NULL, crc INTEGER NOT NULL, bytes INTEGER NOT NULL, ' +
          'deflate BLOB NOT NULL, PRIMARY KEY (device_id, resolution, day));' +
          'CREATE TABLE IF NOT EXISTS day_epochs (device_id TEXT NOT NULL, day INTEGER NOT NULL, ' +
          'epoch INTEGER NOT NULL, PRIMARY KEY (device_id, day)) WITHOUT ROWID;',
      );
    },
  },
  {
    version: 7,
    description: "the EV chargers' power in the rollups (sum and count: the buckets' avg_ev_power_w)",
    up: ({ db }) => {
      for (const table of Object.values(ROLLUP_TABLES)) {
        const have = new Set(db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all());
        // NOT NULL DEFAULT 0, unlike the first release's sums: every existing row (and any row a
        // release that predates them writes after a rollback) holds 0, so sums keep adding up.
        for (const c of ROLLUP_ADDED_COLUMNS)
          if (!have.has(c))
            db.exec(
              `ALTER TABLE ${table} ADD COLUMN ${c} ${c.startsWith('n_') ? 'INTEGER' : 'REAL'} NOT NULL DEFAULT 0`,
            );
      }
      // The kept days were rendered without the new field.
      db.exec('DELETE FROM day_blocks');
    },
  },
];

// ------------------------------------------------------------------------------------------------
// PostgreSQL

function pgType(c: string): string {
  const k = valueColumnKind(c);
  return k === 'number' ? 'double precision' : k === 'json' ? 'jsonb' : 'text';
}

export interface PostgresMigrationContext {
  client: pg.PoolClient;
  /** The schema, quoted. */
  s: string;
  mode: 'plain' | 'timescale';
  timezone: string;
  retentionDays: number;
}

function rawColumnsDdl(): string[] {
  return [
    'time timestamptz NOT NULL',
    'device_id text NOT NULL',
    ...FIRST_RELEASE_VALUE_COLUMNS.map((c) => `${c} ${pgType(c)}`),
    'seq bigint',
    'outbox_id text',
    'received_at timestamptz NOT NULL DEFAULT now()',
    ...CARRY_COLUMNS.map((c) => `${c} double precision`),
    ...DELTA_COLUMNS.map((c) => `${c} double precision`),
    'PRIMARY KEY (device_id, time)',
  ];
}

function pgRollupColumn(c: string): string {
  if (c === 'samples' || c.startsWith('n_')) return `${c} integer NOT NULL DEFAULT 0`;
  return c.startsWith('sum_') ? `${c} double precision NOT NULL DEFAULT 0` : `${c} double precision`;
}

function plainDdl(s: string): string[] {
  const rollup = (name: string): string =>
    `CREATE TABLE IF NOT EXISTS ${s}.${name} (device_id text NOT NULL, bucket timestamptz NOT NULL, ` +
    FIRST_RELEASE_ROLLUP_COLUMNS.map(pgRollupColumn).join(', ') +
    ', PRIMARY KEY (device_id, bucket))';
  return [
    `CREATE TABLE IF NOT EXISTS ${s}.energy_readings (${rawColumnsDdl().join(', ')}) PARTITION BY RANGE (time)`,
    // Rows of days without a partition of their own (late backlogs, far-off timestamps): see ensurePartitions.
    `CREATE TABLE IF NOT EXISTS ${s}.energy_readings_default PARTITION OF ${s}.energy_readings DEFAULT`,
    `CREATE INDEX IF NOT EXISTS energy_readings_default_time ON ${s}.energy_readings_default (time)`,
    ...Object.values(ROLLUP_TABLES).map(rollup),
  ];
}

/** TimescaleDB: hypertable, continuous aggregates over the per-reading deltas, retention policy. */
function timescaleDdl(s: string, timezone: string, retentionDays: number): string[] {
  const tz = `'${timezone.replace(/'/g, "''")}'`;
  const aggs = [
    'count(*) AS samples',
    ...ENERGY_KEYS.map((k) => `sum(delta_${k}) AS ${k}`),
    ...FIRST_RELEASE_ROLLUP_SUM_COLUMNS.map((c) => `sum(${c.slice(4)}) AS ${c}`),
    ...FIRST_RELEASE_ROLLUP_N_COLUMNS.map((c) => `count(${c.slice(2)}) AS ${c}`),
    ...ROLLUP_MAX_COLUMNS.map((c) => `max(${c.slice(4)}) AS ${c}`),
  ].join(', ');
  const reaggs = [
    'sum(samples) AS samples',
    ...ENERGY_KEYS.map((k) => `sum(${k}) AS ${k}`),
    ...FIRST_RELEASE_ROLLUP_SUM_COLUMNS.map((c) => `sum(${c}) AS ${c}`),
    ...FIRST_RELEASE_ROLLUP_N_COLUMNS.map((c) => `sum(${c}) AS ${c}`),
    ...ROLLUP_MAX_COLUMNS.map((c) => `max(${c}) AS ${c}`),
  ].join(', ');
  // The refresh window stays inside the raw retention: refreshing a bucket whose raw rows are gone
  // would empty it.
  const startOffsetDays = Math.max(2, Math.floor(retentionDays) - 1);
  const cagg = (name: string, bucket: string, schedule: string, endOffset: string): string[] => [
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${s}.${name}
       WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
     SELECT device_id, ${bucket} AS bucket, ${aggs} FROM ${s}.energy_readings GROUP BY device_id, ${bucket} WITH NO DATA`,
    `SELECT add_continuous_aggregate_policy('${s}.${name}', start_offset => INTERVAL '${startOffsetDays} days',
       end_offset => INTERVAL '${endOffset}', schedule_interval => INTERVAL '${schedule}', if_not_exists => true)`,
  ];
  return [
    `CREATE TABLE IF NOT EXISTS ${s}.energy_readings (${rawColumnsDdl().join(', ')})`,
    `SELECT create_hypertable('${s}.energy_readings', 'time', chunk_time_interval => INTERVAL '1 day', if_not_exists => true)`,
    // A safety net one day behind applyRetention(), which also records the counters' last values.
    `SELECT add_retention_policy('${s}.energy_readings', drop_after => INTERVAL '${Math.ceil(retentionDays) + 1} days', if_not_exists => true)`,
    ...cagg('energy_1min', `time_bucket(INTERVAL '1 minute', time)`, '1 minute', '1 minute'),
    ...cagg('energy_15min', `time_bucket(INTERVAL '15 minutes', time)`, '5 minutes', '15 minutes'),
    ...cagg('energy_hourly', `time_bucket(INTERVAL '1 hour', time)`, '15 minutes', '1 hour'),
    ...cagg('energy_daily', `time_bucket(INTERVAL '1 day', time, ${tz})`, '1 hour', '1 hour'),
    `CREATE OR REPLACE VIEW ${s}.energy_weekly AS SELECT device_id, time_bucket(INTERVAL '1 week', bucket, ${tz}) AS bucket, ${reaggs}
       FROM ${s}.energy_daily GROUP BY 1, 2`,
    `CREATE OR REPLACE VIEW ${s}.energy_monthly AS SELECT device_id, time_bucket(INTERVAL '1 month', bucket, ${tz}) AS bucket, ${reaggs}
       FROM ${s}.energy_daily GROUP BY 1, 2`,
  ];
}

function commonDdl(s: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${s}.devices (device_id text PRIMARY KEY, first_time timestamptz NOT NULL, last_time timestamptz NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${s}.device_carry (device_id text PRIMARY KEY, time timestamptz NOT NULL, ${COUNTER_FIELDS.map((c) => `${c} double precision`).join(', ')})`,
    `CREATE TABLE IF NOT EXISTS ${s}.device_acks (device_id text NOT NULL, outbox_id text NOT NULL, acked_seq bigint NOT NULL,
       updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (device_id, outbox_id))`,
    // Committed seqs above the ack watermark, as ranges (see buildSql's writeMany). No unique key: one statement
    // deletes and re-inserts a device's ranges.
    `CREATE TABLE IF NOT EXISTS ${s}.device_ack_ranges (device_id text NOT NULL, outbox_id text NOT NULL, lo bigint NOT NULL, hi bigint NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS device_ack_ranges_key ON ${s}.device_ack_ranges (device_id, outbox_id)`,
    // Schema 1 indexed every reading by (device, outbox, seq) to find committed seqs; the ranges replace
    // it. (Seqs above the watermark that schema 1 committed are resent by the edge and acknowledged then.)
    `DROP INDEX IF EXISTS ${s}.energy_readings_outbox_seq`,
    `CREATE TABLE IF NOT EXISTS ${s}.dead_letters (id bigserial PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(),
       topic text NOT NULL, device_id text, reason text NOT NULL, payload text NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS dead_letters_received ON ${s}.dead_letters (received_at)`,
  ];
}

export const POSTGRES_MIGRATIONS: readonly Migration<PostgresMigrationContext>[] = [
  {
    // Schema 1 (never released with a version check) indexed every reading by (device, outbox, seq);
    // schema 2 replaced the index with ack ranges. Both are carried to 2 by the same IF NOT EXISTS DDL.
    version: 2,
    description: 'the first release: raw readings (partitioned or hypertable), rollups, acks, ack ranges, dead letters',
    up: async ({ client, s, mode, timezone, retentionDays }) => {
      const stmts = mode === 'timescale' ? timescaleDdl(s, timezone, retentionDays) : plainDdl(s);
      for (const stmt of [...stmts, ...commonDdl(s)]) await client.query(stmt);
    },
  },
  {
    // Added after the release without a new number (found by the release fixture's test): without
    // the default partition, a late reading of a day older than the partitions made ahead fails.
    version: 3,
    description: 'the default partition of raw readings (plain layout) and the dead letters indexed by time',
    up: async ({ client, s, mode }) => {
      if (mode === 'plain') {
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${s}.energy_readings_default PARTITION OF ${s}.energy_readings DEFAULT`,
        );
        await client.query(
          `CREATE INDEX IF NOT EXISTS energy_readings_default_time ON ${s}.energy_readings_default (time)`,
        );
      }
      await client.query(`CREATE INDEX IF NOT EXISTS dead_letters_received ON ${s}.dead_letters (received_at)`);
    },
  },
  {
    version: 4,
    description: 'snapshot fields added after the first release, `devices` and `extra` (jsonb)',
    up: async ({ client, s }) => {
      const add = ADDED_VALUE_COLUMNS.map((c) => `ADD COLUMN IF NOT EXISTS ${c} ${pgType(c)}`).join(', ');
      await client.query(`ALTER TABLE ${s}.energy_readings ${add}`);
    },
  },
  {
    version: 5,
    description: 'day-ahead prices per bidding zone (the price feed)',
    up: async ({ client, s }) => {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${s}.day_ahead_prices (zone text NOT NULL, start_time timestamptz NOT NULL,
           end_time timestamptz NOT NULL, eur_per_mwh double precision NOT NULL, source text NOT NULL,
           fetched_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (zone, start_time))`,
      );
    },
  },
  {
    version: 6,
    description: 'the control settings the server wants per home (PUT /api/v1/control)',
    up: async ({ client, s }) => {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${s}.control_settings (device_id text PRIMARY KEY, revision integer NOT NULL,
           settings jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), updated_by text NOT NULL)`,
      );
    },
  },
  {
    // A later migration that changes rollup rows must also empty day_blocks (they are rendered from them).
    version: 7,
    description: "closed days' history points kept rendered (day_blocks) and the epochs that invalidate them",
    up: async ({ client, s }) => {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${s}.day_blocks (device_id text NOT NULL, resolution text NOT NULL,
           day timestamptz NOT NULL, format integer NOT NULL, epoch integer NOT NULL, crc bigint NOT NULL,
           bytes integer NOT NULL, deflate bytea NOT NULL, PRIMARY KEY (device_id, resolution, day))`,
      );
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${s}.day_epochs (device_id text NOT NULL, day timestamptz NOT NULL,
           epoch integer NOT NULL, PRIMARY KEY (device_id, day))`,
      );
    },
  },
  {
    // TimescaleDB's continuous aggregates keep their columns (see ROLLUP_ADDED_COLUMNS): EV null there.
    version: 8,
    description: "the EV chargers' power in the rollups (sum and count: the buckets' avg_ev_power_w)",
    up: async ({ client, s, mode }) => {
      if (mode === 'plain') {
        const add = ROLLUP_ADDED_COLUMNS.map((c) => `ADD COLUMN IF NOT EXISTS ${pgRollupColumn(c)}`).join(', ');
        for (const table of Object.values(ROLLUP_TABLES)) await client.query(`ALTER TABLE ${s}.${table} ${add}`);
      }
      // The kept days were rendered without the new field.
      await client.query(`DELETE FROM ${s}.day_blocks`);
    },
  },
];
