/**
 * `kwartier backup` and `kwartier restore`: a consistent copy of the server's store while it runs,
 * and putting one back. SQLite: the online backup API (src/cli/backup/sqlite.ts). PostgreSQL:
 * pg_dump / pg_restore when on PATH, and their command lines printed either way
 * (src/cli/backup/postgres.ts). docs/storage.md, "Backups".
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeCause, KwartierError, UsageError, withPrefix } from '../../core/errors.js';
import { rootLogger } from '../../lib/log.js';
import { loadServerConfig, type ServerConfig } from '../../server/config.js';
import { openStore, storeFromConfig } from '../../server/store/from-config.js';
import { MANIFEST, readBackup, writeManifest } from '../backup/manifest.js';
import {
  backupPostgres,
  dumpArgs,
  onPath,
  type PgTarget,
  pgDataRows,
  pgTarget,
  restoreArgs,
  restorePostgres,
  setAsidePgSchema,
  shellLine,
} from '../backup/postgres.js';
import { backupSqlite, restoreSqlite, sqliteDataRows } from '../backup/sqlite.js';
import { type Command, parseFlags } from '../command.js';

const backupUsage = `Usage: kwartier backup --config FILE --out DIR [--force] [--print]

Copies the server's store into DIR while the server runs, with a manifest (kwartier-backup.json:
what, when, the schema version and time zone, the copy's SHA-256, row counts).

  SQLite      SQLite's online backup API: one consistent state of the database, taken while the
              server keeps ingesting (it never blocks the writer), checked (integrity_check) and
              written as one self-contained file, DIR/kwartier.sqlite.
  PostgreSQL  pg_dump --format=custom of the store's schema (a consistent snapshot; blocks no
              writer) into DIR/kwartier.pgdump. Needs pg_dump (Debian: postgresql-client) of the
              server's major version or newer. The command is printed before it runs.

Options:
  --config FILE  the server config (YAML): its store
  --out DIR      where the backup goes (created if missing)
  --force        replace a backup already in DIR
  --print        PostgreSQL: print the pg_dump command and exit, without running it

Environment:
  KWARTIER_DATABASE_URL   overrides store.url

Exit code 0 when the copy is done and checked, 1 on a runtime failure, 2 on a usage or
configuration error.
`;

const restoreUsage = `Usage: kwartier restore --config FILE --from DIR [--force] [--print]

Puts a backup made by kwartier backup into the store the config names, then opens it once, which
brings an older backup's schema up to date. Stop the server first.

  SQLite      the copy goes into store.path with SQLite's backup API (a store in WAL mode stays whole)
  PostgreSQL  pg_restore --single-transaction (all or nothing) into the database of store.url; the
              dump recreates its schema under the name it was taken from, so store.schema must be
              that name

A store that already holds data is not replaced without --force; with --force a PostgreSQL schema
is renamed to <schema>_before_restore_<time> (kept, drop it when satisfied), a SQLite file is
overwritten.

Options:
  --config FILE  the server config (YAML): its store and time zone
  --from DIR     a directory kwartier backup wrote
  --force        replace a store that holds data
  --print        PostgreSQL: print the pg_restore command and exit, without running it

Exit code 0 when restored, 1 on a runtime failure (a damaged copy, the database unreachable),
2 on a usage or configuration error (including a store that holds data, without --force).
`;

function loadConfig(cmd: string, path: string | undefined): ServerConfig {
  if (!path) throw new UsageError(`kwartier ${cmd}: --config FILE is required`);
  return loadServerConfig(path);
}

function pgFromConfig(config: ServerConfig): PgTarget {
  return pgTarget(process.env.KWARTIER_DATABASE_URL ?? config.store.url ?? '', config.store.schema);
}

function needPgTool(program: 'pg_dump' | 'pg_restore', line: string): void {
  if (onPath(program)) return;
  throw new KwartierError(
    'pg_tool_missing',
    `kwartier: ${program} is not on PATH (Debian: apt-get install postgresql-client); the command is: ${line}`,
  );
}

export const backupCommand: Command = {
  name: 'backup',
  summary: "Copy the server's store (SQLite online backup, or pg_dump) while it runs",
  usage: backupUsage,
  async run(args, io) {
    const parsed = parseFlags(this, args, {
      config: { type: 'string', short: 'c' },
      out: { type: 'string' },
      force: { type: 'boolean' },
      print: { type: 'boolean' },
    });
    if (!parsed) {
      io.stdout.write(backupUsage);
      return 0;
    }
    const { config: path, out } = parsed.values;
    const config = loadConfig('backup', path);
    if (!out) throw new UsageError('kwartier backup: --out DIR is required');
    if (existsSync(join(out, MANIFEST)) && parsed.values.force !== true)
      throw new UsageError(
        `kwartier backup: --out: ${out} already holds a backup; choose another directory or add --force`,
      );
    if (config.store.type === 'postgres') {
      const t = pgFromConfig(config);
      const line = shellLine('pg_dump', dumpArgs(t, join(out, 'kwartier.pgdump')), t);
      if (parsed.values.print === true) {
        io.stdout.write(`${line}\n`);
        return 0;
      }
      needPgTool('pg_dump', line);
      makeDir(out);
      io.stdout.write(`kwartier backup: ${line}\n`);
      const m = await backupPostgres(t, out);
      writeManifest(out, m);
      io.stdout.write(
        `kwartier backup: schema ${t.schema} (version ${m.schema_version ?? '?'}) → ${join(out, m.file)}, ${m.bytes.toLocaleString('en-US')} bytes\n`,
      );
      return 0;
    }
    makeDir(out);
    const source = config.store.path ?? '';
    let m: Awaited<ReturnType<typeof backupSqlite>>;
    try {
      m = await backupSqlite(source, out);
    } catch (err) {
      throw err instanceof KwartierError && err.key !== null && path ? withPrefix(err, path) : err;
    }
    writeManifest(out, m);
    io.stdout.write(
      `kwartier backup: ${source} → ${join(out, m.file)}: ${m.rows?.energy_readings ?? 0} readings, newest ${m.newest_reading ?? 'none'}, ${m.bytes.toLocaleString('en-US')} bytes, integrity ok\n`,
    );
    return 0;
  },
};

function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UsageError(`kwartier backup: --out: ${dir}: cannot create the directory: ${describeCause(err)}`);
  }
}

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'Put a backup made by kwartier backup into the configured store',
  usage: restoreUsage,
  async run(args, io) {
    const parsed = parseFlags(this, args, {
      config: { type: 'string', short: 'c' },
      from: { type: 'string' },
      force: { type: 'boolean' },
      print: { type: 'boolean' },
    });
    if (!parsed) {
      io.stdout.write(restoreUsage);
      return 0;
    }
    const { config: path, from } = parsed.values;
    const config = loadConfig('restore', path);
    if (!from) throw new UsageError('kwartier restore: --from DIR is required');
    const force = parsed.values.force === true;
    const { manifest, file } = await readBackup(from);
    if (manifest.kind !== config.store.type)
      throw new UsageError(
        `kwartier restore: --from: ${from} is a ${manifest.kind} backup, but store.type is ${config.store.type}`,
      );
    if (manifest.timezone !== null && manifest.timezone !== config.timezone)
      throw new UsageError(
        `kwartier restore: --from: the backup's aggregates are in ${manifest.timezone}, the config's timezone is ${config.timezone}: set timezone: ${manifest.timezone}`,
      );

    let aside: string | null = null;
    if (config.store.type === 'postgres') {
      const t = pgFromConfig(config);
      if (manifest.schema !== null && manifest.schema !== t.schema)
        throw new UsageError(
          `kwartier restore: --from: the dump holds schema ${manifest.schema} and pg_restore recreates it under that name: set store.schema: ${manifest.schema}`,
        );
      const line = shellLine('pg_restore', restoreArgs(t, file), t);
      if (parsed.values.print === true) {
        io.stdout.write(`${line}\n`);
        return 0;
      }
      needPgTool('pg_restore', line);
      const rows = await pgDataRows(t);
      if (rows > 0 && !force)
        throw new UsageError(
          `kwartier restore: store.schema: ${t.schema} holds data (${rows} rows); stop the server and add --force to replace it`,
        );
      aside = await setAsidePgSchema(t);
      io.stdout.write(`kwartier restore: ${line}\n`);
      await restorePostgres(t, file);
    } else {
      const target = config.store.path ?? '';
      const rows = sqliteDataRows(target);
      if (rows > 0 && !force)
        throw new UsageError(
          `kwartier restore: store.path: ${target} holds data (${rows} rows); stop the server and add --force to replace it`,
        );
      await restoreSqlite(file, target);
    }

    // Opening the store once migrates an older backup and checks the time zone.
    const store = storeFromConfig(config, rootLogger());
    try {
      await openStore(config, store);
      const devices = await store.devices();
      io.stdout.write(
        `kwartier restore: ${from} (taken ${manifest.created_at}) → ${config.store.type === 'postgres' ? `schema ${config.store.schema}` : config.store.path}: ${devices.length} device(s)${aside ? `; the previous schema is kept as ${aside}` : ''}\n`,
      );
    } finally {
      await store.close();
    }
    return 0;
  },
};
