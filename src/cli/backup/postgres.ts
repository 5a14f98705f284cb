/**
 * Backups of the PostgreSQL store with PostgreSQL's own tools: `pg_dump --format=custom` of the
 * store's schema (one consistent snapshot of a running database: it reads in one repeatable-read
 * transaction and blocks no writer) and `pg_restore --single-transaction` (all or nothing). We
 * run them when they are on PATH and always print the command, so an operator can run it by hand or
 * from their own backup tooling. The password never goes on a command line (which `ps` shows): it
 * is taken out of the URL and handed over in PGPASSWORD.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { describeCause, KwartierError } from '../../core/errors.js';
import { KWARTIER_VERSION } from '../../core/version.js';
import { type BackupManifest, PG_FILE, sha256File } from './manifest.js';

/** A program on PATH, or null. */
export function onPath(program: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, program);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

export interface PgTarget {
  /** The connection URL without its password. */
  url: string;
  password: string | null;
  schema: string;
}

export function pgTarget(rawUrl: string, schema: string): PgTarget {
  let u: URL;
  try {
    u = new URL(rawUrl);
  } catch {
    throw new KwartierError('config', 'store.url: not a postgres:// URL', { key: 'store.url' });
  }
  const password = u.password ? decodeURIComponent(u.password) : null;
  u.password = '';
  return { url: u.href, password, schema };
}

/** The command line as an operator would type it (the password as $PGPASSWORD). */
export function shellLine(program: string, args: string[], t: PgTarget): string {
  const quote = (s: string) => (/^[A-Za-z0-9_./:=@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return `${t.password ? 'PGPASSWORD=… ' : ''}${[program, ...args].map(quote).join(' ')}`;
}

export function dumpArgs(t: PgTarget, file: string): string[] {
  return [
    '--format=custom',
    `--schema=${t.schema}`,
    '--no-owner',
    '--no-privileges',
    `--file=${file}`,
    `--dbname=${t.url}`,
  ];
}

export function restoreArgs(t: PgTarget, file: string): string[] {
  return ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${t.url}`, file];
}

/** Runs a PostgreSQL client program; its stderr's last lines name a failure. */
export function runPgTool(program: string, args: string[], t: PgTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      env: { ...process.env, ...(t.password ? { PGPASSWORD: t.password } : {}) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.on('error', (e) =>
      reject(new KwartierError('pg_tool', `${program}: could not start: ${describeCause(e)}`, { cause: e })),
    );
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        const lines = err.trim().split('\n').slice(-2).join(' / ');
        reject(new KwartierError('pg_tool', `${program} exited with ${code}: ${lines || 'no message'}`));
      }
    });
  });
}

async function withClient<T>(t: PgTarget, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({
    connectionString: t.url,
    password: t.password ?? undefined,
    connectionTimeoutMillis: 10_000,
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** kw_meta of the schema, or nulls when the schema has none. */
async function pgMeta(t: PgTarget): Promise<{ schemaVersion: string | null; timezone: string | null }> {
  return withClient(t, async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2', [
      t.schema,
      'kw_meta',
    ]);
    if (exists.rowCount === 0) return { schemaVersion: null, timezone: null };
    const r = await c.query<{ key: string; value: string }>(`SELECT key, value FROM ${t.schema}.kw_meta`);
    const get = (k: string) => r.rows.find((x) => x.key === k)?.value ?? null;
    return { schemaVersion: get('schema_version'), timezone: get('timezone') };
  });
}

export async function backupPostgres(t: PgTarget, dir: string): Promise<BackupManifest> {
  const file = join(dir, PG_FILE);
  await runPgTool('pg_dump', dumpArgs(t, file), t);
  const meta = await pgMeta(t);
  return {
    format: 1,
    kind: 'postgres',
    file: PG_FILE,
    created_at: new Date().toISOString(),
    kwartier_version: KWARTIER_VERSION,
    schema_version: meta.schemaVersion,
    timezone: meta.timezone,
    schema: t.schema,
    bytes: statSync(file).size,
    sha256: await sha256File(file),
    rows: null,
    newest_reading: null,
  };
}

/** Rows of data in the schema (0 when it does not exist). */
export async function pgDataRows(t: PgTarget): Promise<number> {
  return withClient(t, async (c) => {
    const tables = await c.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename IN ('energy_readings', 'energy_1min', 'devices', 'dead_letters')",
      [t.schema],
    );
    let n = 0;
    for (const { tablename } of tables.rows) {
      const r = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t.schema}.${tablename}`);
      n += Number(r.rows[0]?.n ?? 0);
    }
    // Counting the partitioned parent counts its partitions' rows (which the IN list leaves out).
    return n;
  });
}

/** Moves the schema out of the way (kept, not dropped: the restore may still fail). */
export async function setAsidePgSchema(t: PgTarget): Promise<string | null> {
  return withClient(t, async (c) => {
    const r = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [t.schema]);
    if (r.rowCount === 0) return null;
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '_').toLowerCase();
    const aside = `${t.schema}_before_restore_${stamp}`.slice(0, 63);
    await c.query(`ALTER SCHEMA ${t.schema} RENAME TO ${aside}`);
    return aside;
  });
}

export function restorePostgres(t: PgTarget, file: string): Promise<void> {
  return runPgTool('pg_restore', restoreArgs(t, file), t);
}
