/**
 * The SQLite store's schema: the numbered migrations (../migrations.ts) this database has not had,
 * in one transaction (a failure leaves it as it was), and the time zone its aggregates are in.
 */
import { ConfigError } from '../../../core/errors.js';
import { latestVersion, pending, SQLITE_MIGRATIONS } from '../migrations.js';
import type { SqliteDb } from './db.js';

export function migrateSchema(store: SqliteDb): void {
  const db = store.conn();
  const timezone = store.calendar.timezone;
  const run = db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS kw_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);');
    const get = db.prepare('SELECT value FROM kw_meta WHERE key = ?').pluck();
    const tz = get.get('timezone') as string | undefined;
    if (tz !== undefined && tz !== timezone)
      throw new ConfigError(`timezone: the store's aggregates were computed for '${tz}', not '${timezone}'`);
    const from = (get.get('schema_version') as string | undefined) ?? null;
    const todo = pending(SQLITE_MIGRATIONS, from, 'SQLite');
    for (const m of todo) m.up({ db });
    const put = db.prepare(
      'INSERT INTO kw_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    put.run('timezone', timezone);
    put.run('schema_version', String(latestVersion(SQLITE_MIGRATIONS)));
    return { from, todo };
  });
  const { from, todo } = run.immediate();
  if (todo.length > 0 && from !== null)
    store.log.info(
      { path: store.path, from, to: latestVersion(SQLITE_MIGRATIONS), migrations: todo.map((m) => m.description) },
      'sqlite store migrated',
    );
  store.migrated = true;
  store.log.debug({ path: store.path }, 'sqlite store ready');
}
