/**
 * The PostgreSQL store's schema: the numbered migrations (../migrations.ts) it has not had, in one
 * transaction under the schema's migration lock, and the layout (plain or TimescaleDB) it is in.
 */
import type pg from 'pg';
import { ConfigError } from '../../../core/errors.js';
import { latestVersion, POSTGRES_MIGRATIONS, pending } from '../migrations.js';
import type { PgDb, PostgresMode } from './db.js';

/**
 * Creates or upgrades the schema and records its time zone, layout and version (kw_meta); returns
 * the layout. A failure leaves the schema as it was.
 */
export async function migrateSchema(db: PgDb): Promise<PostgresMode> {
  const client = await db.pool().connect();
  const s = db.quotedSchema;
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(${db.migrateKey})`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.kw_meta (key text PRIMARY KEY, value text NOT NULL)`);
    const meta = new Map(
      (await client.query<{ key: string; value: string }>(`SELECT key, value FROM ${s}.kw_meta`)).rows.map((r) => [
        r.key,
        r.value,
      ]),
    );
    const tz = meta.get('timezone');
    if (tz && tz !== db.calendar.timezone)
      throw new ConfigError(
        `timezone: the store's aggregates were computed for '${tz}', not '${db.calendar.timezone}'`,
      );
    const mode = await chooseMode(db, client, meta.get('mode') as PostgresMode | undefined);
    if (mode === 'timescale' && db.retentionDays < 4)
      throw new ConfigError(
        'store.raw_retention_days: must be at least 4 with TimescaleDB (the aggregates refresh the last days from raw rows)',
      );
    // The numbered migrations this schema has not had (migrations.ts), in this transaction.
    const from = meta.get('schema_version') ?? null;
    const todo = pending(POSTGRES_MIGRATIONS, from, 'PostgreSQL');
    const ctx = {
      client,
      s,
      mode,
      timezone: db.calendar.timezone,
      retentionDays: db.retentionDays,
    };
    for (const m of todo) await m.up(ctx);
    if (todo.length > 0 && from !== null)
      db.log.info(
        { from, to: latestVersion(POSTGRES_MIGRATIONS), migrations: todo.map((m) => m.description) },
        'PostgreSQL store migrated',
      );
    const put = `INSERT INTO ${s}.kw_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
    await client.query(put, ['timezone', db.calendar.timezone]);
    await client.query(put, ['mode', mode]);
    await client.query(put, ['schema_version', String(latestVersion(POSTGRES_MIGRATIONS))]);
    await client.query('COMMIT');
    return mode;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The layout: the one recorded at the schema's creation, else what `timescale` asks and the server offers. */
async function chooseMode(db: PgDb, client: pg.PoolClient, recorded: PostgresMode | undefined): Promise<PostgresMode> {
  const want = db.opts.timescale ?? 'off';
  const r = await client.query<{ installed: string | null; available: string | null; preload: string }>(
    `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS installed,
            (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
            current_setting('shared_preload_libraries') AS preload`,
  );
  const row = r.rows[0]!;
  const usable = (v: string | null): boolean => {
    if (!v) return false;
    const [maj, min] = v.split('.').map(Number);
    return (maj ?? 0) > 2 || ((maj ?? 0) === 2 && (min ?? 0) >= 9);
  };
  const canTimescale = usable(row.installed) || (usable(row.available) && /\btimescaledb\b/.test(row.preload));
  if (recorded === 'timescale') {
    if (!canTimescale)
      throw new ConfigError('store: this schema was created with TimescaleDB, which is not available any more');
  }
  if (recorded) return recorded;
  if (want === 'off') return 'plain';
  if (!canTimescale) {
    if (want === 'on')
      throw new ConfigError(
        'store: TimescaleDB ≥ 2.9 is not available (extension not installed or not in shared_preload_libraries)',
      );
    return 'plain';
  }
  if (!row.installed) await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
  return 'timescale';
}
