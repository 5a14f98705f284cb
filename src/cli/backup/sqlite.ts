/**
 * Backups of the SQLite store with SQLite's online backup API (better-sqlite3's `backup()`): a
 * page-by-page copy of one consistent state of the database while the server keeps writing (WAL:
 * the copy is a reader, it never blocks the ingester). The copy is done in one step: SQLite
 * restarts a stepped backup whenever another connection writes between two steps, which a server
 * ingesting once a second would do forever. Restoring runs the same API the other way, into the
 * store's file, so a database in WAL mode stays whole.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describeCause, KwartierError } from '../../core/errors.js';
import { KWARTIER_VERSION } from '../../core/version.js';
import { type BackupManifest, SQLITE_FILE, sha256File } from './manifest.js';

/** All pages in one step (see above). */
const ALL_PAGES = () => 0x7fffffff;

/** Tables whose rows the manifest counts and the restore's refusal looks at. */
export const COUNTED_TABLES = [
  'energy_readings',
  'energy_1min',
  'energy_15min',
  'energy_hourly',
  'energy_daily',
  'energy_weekly',
  'energy_monthly',
  'devices',
  'device_acks',
  'dead_letters',
] as const;

export interface StoreFacts {
  schemaVersion: string | null;
  timezone: string | null;
  rows: Record<string, number>;
  newest: string | null;
}

/** Schema version, time zone, row counts and the newest reading of an open SQLite store. */
export function sqliteFacts(db: Database.Database): StoreFacts {
  const tables = new Set(
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map(
      (r) => r.name,
    ),
  );
  const meta = (key: string): string | null =>
    tables.has('kw_meta')
      ? ((db.prepare('SELECT value FROM kw_meta WHERE key = ?').pluck().get(key) as string | undefined) ?? null)
      : null;
  const rows: Record<string, number> = {};
  for (const t of COUNTED_TABLES)
    if (tables.has(t)) rows[t] = db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
  const newestMs = tables.has('energy_readings')
    ? (db.prepare('SELECT max(time) FROM energy_readings').pluck().get() as number | null)
    : null;
  return {
    schemaVersion: meta('schema_version'),
    timezone: meta('timezone'),
    rows,
    newest: newestMs === null ? null : new Date(newestMs).toISOString(),
  };
}

/**
 * Copies the store at `source` into `dir` (kwartier.sqlite), checks the copy (integrity_check) and
 * returns its manifest. The copy is a single file (journal_mode DELETE), so it can be moved as is.
 */
export async function backupSqlite(source: string, dir: string): Promise<BackupManifest> {
  if (!existsSync(source))
    throw new KwartierError('backup_source', `store.path: ${source}: no such file (nothing to back up)`, {
      key: 'store.path',
    });
  const partial = join(dir, `${SQLITE_FILE}.partial`);
  rmSync(partial, { force: true });
  const db = new Database(source, { readonly: true, fileMustExist: true, timeout: 10_000 });
  try {
    await db.backup(partial, { progress: ALL_PAGES });
  } catch (err) {
    rmSync(partial, { force: true });
    throw new KwartierError('backup_failed', `store.path: ${source}: the backup failed: ${describeCause(err)}`, {
      cause: err,
      key: 'store.path',
    });
  } finally {
    db.close();
  }
  const copy = new Database(partial, { fileMustExist: true });
  let facts: StoreFacts;
  try {
    copy.pragma('journal_mode = DELETE');
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok')
      throw new KwartierError('backup_failed', `the copy of ${source} fails its integrity check: ${check}`);
    facts = sqliteFacts(copy);
  } finally {
    copy.close();
  }
  const file = join(dir, SQLITE_FILE);
  renameSync(partial, file);
  return {
    format: 1,
    kind: 'sqlite',
    file: SQLITE_FILE,
    created_at: new Date().toISOString(),
    kwartier_version: KWARTIER_VERSION,
    schema_version: facts.schemaVersion,
    timezone: facts.timezone,
    schema: null,
    bytes: statSync(file).size,
    sha256: await sha256File(file),
    rows: facts.rows,
    newest_reading: facts.newest,
  };
}

/** Rows of data in the store at `path` (0 for no file or an empty schema). */
export function sqliteDataRows(path: string): number {
  if (!existsSync(path) || statSync(path).size === 0) return 0;
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 10_000 });
  try {
    const { rows } = sqliteFacts(db);
    return (rows.energy_readings ?? 0) + (rows.energy_1min ?? 0) + (rows.devices ?? 0) + (rows.dead_letters ?? 0);
  } finally {
    db.close();
  }
}

/** Replaces the store at `target` with the copy `file` (SQLite's backup API into the target). */
export async function restoreSqlite(file: string, target: string): Promise<void> {
  try {
    mkdirSync(dirname(target), { recursive: true });
  } catch (err) {
    throw new KwartierError(
      'restore_target',
      `store.path: ${target}: cannot create its directory: ${describeCause(err)}`,
      {
        key: 'store.path',
      },
    );
  }
  const src = new Database(file, { readonly: true, fileMustExist: true });
  try {
    await src.backup(target, { progress: ALL_PAGES });
  } catch (err) {
    throw new KwartierError('restore_failed', `store.path: ${target}: the restore failed: ${describeCause(err)}`, {
      cause: err,
      key: 'store.path',
    });
  } finally {
    src.close();
  }
}
