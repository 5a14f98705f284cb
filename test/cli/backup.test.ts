/**
 * `kwartier backup` / `kwartier restore` against real stores: the SQLite store of a running
 * `kwartier demo` (backed up while it ingests once a second), and a PostgreSQL schema written to
 * while pg_dump runs. A backup is right when the restored store holds exactly the source's raw
 * rows up to the copy's newest reading, and aggregates that are exactly what the store computes
 * from those rows (a torn copy, rollups from another moment than the raw rows, fails this).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { silentLogger } from '../../src/lib/log.js';
import { latestVersion, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS } from '../../src/server/store/migrations.js';
import { createPostgresStore } from '../../src/server/store/postgres.js';
import { createSqliteStore } from '../../src/server/store/sqlite.js';
import { RESOLUTIONS, type Store } from '../../src/server/store/types.js';
import { runCli } from '../helpers/cli.js';
import { startDemoChild, until } from '../helpers/demo.js';
import { sampleHome, snapshotFromState } from '../helpers/snapshots.js';

const TZ = 'Europe/Brussels';
const dir = mkdtempSync(join(tmpdir(), 'kw-backup-'));
const PG_URL = process.env.KWARTIER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const prefix = `kw_test_backup_${process.pid}_${Date.now().toString(36)}`;

function sqliteConfig(name: string, storePath: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `timezone: ${TZ}\nstore: { type: sqlite, path: ${storePath} }\napi: { tokens: [{ name: t, token: "0123456789abcdef0123", devices: ["*"] }] }\n`,
  );
  return file;
}

function pgConfig(name: string, schema: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `timezone: ${TZ}\nstore: { type: postgres, url: "${PG_URL}", schema: ${schema} }\napi: { tokens: [{ name: t, token: "0123456789abcdef0123", devices: ["*"] }] }\n`,
  );
  return file;
}

const cli = (args: string[]) => runCli(args, { env: { KWARTIER_LOG_LEVEL: 'warn' }, timeoutMs: 120_000 });

/**
 * Every aggregate of `store` equals what a fresh store computes from `store`'s own raw rows, at
 * every resolution, to 1e-9 (kWh, W). Returns how many buckets were compared.
 */
async function aggregatesMatchRaw(store: Store, deviceId: string): Promise<number> {
  const from = new Date(Date.now() - 40 * 86_400_000);
  const to = new Date(Date.now() + 2 * 86_400_000);
  const fresh = createSqliteStore(':memory:', { timezone: TZ, logger: silentLogger() });
  await fresh.migrate();
  const raw = await store.raw(deviceId, from, to, 1_000_000);
  expect(raw.length).toBeGreaterThan(1000);
  for (let i = 0; i < raw.length; i += 2000) {
    const readings = raw.slice(i, i + 2000).map((snapshot) => ({ snapshot, seq: null }));
    await fresh.insert({ deviceId, outboxId: null, floorSeq: null, readings });
  }
  let compared = 0;
  for (const resolution of RESOLUTIONS) {
    const got = await store.buckets(deviceId, resolution, from, to);
    const want = await fresh.buckets(deviceId, resolution, from, to);
    expect(
      got.map((b) => b.start.getTime()),
      resolution,
    ).toEqual(want.map((b) => b.start.getTime()));
    for (let i = 0; i < got.length; i++) {
      for (const [k, v] of Object.entries(want[i]!)) {
        const g = (got[i] as unknown as Record<string, unknown>)[k];
        if (typeof v === 'number' && typeof g === 'number')
          expect(Math.abs(g - v), `${resolution} ${k}`).toBeLessThan(1e-6);
        else expect(g, `${resolution} ${k}`).toEqual(v);
      }
      compared++;
    }
  }
  await fresh.close();
  return compared;
}

describe('kwartier backup and restore, SQLite', () => {
  it("copies a running demo's store while it ingests; the restore holds the same rows and consistent aggregates", async () => {
    const dataDir = join(dir, 'demo');
    const demo = await startDemoChild({ dataDir, token: 'backup-test-token-0123456789', args: ['--backfill', '1'] });
    const source = join(dataDir, 'kwartier.sqlite');
    const config = sqliteConfig('source', source);
    try {
      // Live rows arriving through the whole chain.
      await until(async () => {
        const r = await demo.get<{ age_s: number }>('/api/v1/realtime/demo-home');
        return r.status === 200 && r.body.age_s < 3;
      }, 60_000);

      const out = join(dir, 'bk-sqlite');
      const b = await cli(['backup', '--config', config, '--out', out]);
      expect(b.stderr).toBe('');
      expect(b.code).toBe(0);
      expect(b.stdout).toMatch(/integrity ok/);
      const manifest = JSON.parse(readFileSync(join(out, 'kwartier-backup.json'), 'utf8'));
      expect(manifest).toMatchObject({
        kind: 'sqlite',
        schema_version: String(latestVersion(SQLITE_MIGRATIONS)),
        timezone: TZ,
        file: 'kwartier.sqlite',
      });
      // The server went on ingesting after the copy: the source gets newer rows than the copy has.
      await until(async () => {
        const r = await demo.get<{ timestamp: string }>('/api/v1/realtime/demo-home');
        return Date.parse(r.body.timestamp) > Date.parse(manifest.newest_reading) + 2000;
      }, 20_000);

      // A second backup into the same directory needs --force.
      const again = await cli(['backup', '--config', config, '--out', out]);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('already holds a backup');

      const targetPath = join(dir, 'restored', 'kwartier.sqlite');
      const target = sqliteConfig('target', targetPath);
      const r = await cli(['restore', '--config', target, '--from', out]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('1 device(s)');
    } finally {
      await demo.stop();
    }

    // Raw rows: the restored store holds exactly the source's rows up to the copy's newest, every column.
    const manifest = JSON.parse(readFileSync(join(dir, 'bk-sqlite', 'kwartier-backup.json'), 'utf8'));
    const newest = Date.parse(manifest.newest_reading);
    const rows = (path: string) => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare('SELECT * FROM energy_readings WHERE time <= ? ORDER BY device_id, time').all(newest);
      } finally {
        db.close();
      }
    };
    const restoredPath = join(dir, 'restored', 'kwartier.sqlite');
    const restoredRows = rows(restoredPath);
    expect(restoredRows.length).toBe(manifest.rows.energy_readings);
    expect(restoredRows).toEqual(rows(join(dir, 'demo', 'kwartier.sqlite')));

    const restored = createSqliteStore(restoredPath, { timezone: TZ, logger: silentLogger() });
    await restored.migrate();
    try {
      expect(await aggregatesMatchRaw(restored, 'demo-home')).toBeGreaterThan(100);
    } finally {
      await restored.close();
    }
  }, 240_000);

  it('refuses to overwrite a store with data without --force, and a damaged copy', async () => {
    const out = join(dir, 'bk-sqlite');
    const target = sqliteConfig('target', join(dir, 'restored', 'kwartier.sqlite'));
    const refused = await cli(['restore', '--config', target, '--from', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /store\.path: .*restored\/kwartier\.sqlite holds data \(\d+ rows\); stop the server and add --force/,
    );
    const forced = await cli(['restore', '--config', target, '--from', out, '--force']);
    expect(forced.code).toBe(0);

    const pgTarget = pgConfig('pg-mismatch', `${prefix}_x`);
    const wrongKind = await cli(['restore', '--config', pgTarget, '--from', out]);
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.stderr).toContain('is a sqlite backup, but store.type is postgres');

    const copy = join(out, 'kwartier.sqlite');
    const bytes = readFileSync(copy);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100]! + 1) % 256;
    writeFileSync(copy, bytes);
    const damaged = await cli(['restore', '--config', target, '--from', out, '--force']);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toContain('does not match its manifest');
  }, 60_000);
});

async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

afterAll(async () => {
  const schemas = await sql<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [
    `${prefix}%`,
  ]);
  for (const { nspname } of schemas) await sql(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`);
});

describe('kwartier backup and restore, PostgreSQL (pg_dump, pg_restore)', () => {
  it('dumps a schema being written to; the restore holds the same rows and consistent aggregates', async () => {
    const schema = `${prefix}_pg`;
    const store = createPostgresStore(
      { connectionString: PG_URL, schema },
      { timezone: TZ, logger: silentLogger(), poolSize: 2 },
    );
    await store.migrate();
    const start = Date.now() - 2 * 86_400_000;
    const model = new HomeModel({ start, seed: 3, country: 'be', timezone: TZ });
    const history = sampleHome(model, 'home-pg', Date.now() - 3_600_000, 30_000);
    for (let i = 0; i < history.length; i += 2000)
      await store.insert({
        deviceId: 'home-pg',
        outboxId: null,
        floorSeq: null,
        readings: history.slice(i, i + 2000).map((snapshot) => ({ snapshot, seq: null })),
      });

    const config = pgConfig('pg-source', schema);
    const printed = await cli(['backup', '--config', config, '--out', join(dir, 'bk-pg'), '--print']);
    expect(printed.code).toBe(0);
    expect(printed.stdout.trim()).toBe(
      `pg_dump --format=custom --schema=${schema} --no-owner --no-privileges --file=${join(dir, 'bk-pg', 'kwartier.pgdump')} --dbname=${PG_URL}`,
    );

    // The ingester's work goes on while pg_dump runs: one reading every 20 ms of simulated time.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        const snapshot = snapshotFromState('home-pg', model.advanceTo(model.now + 1000));
        await store.insert({
          deviceId: 'home-pg',
          outboxId: null,
          floorSeq: null,
          readings: [{ snapshot, seq: null }],
        });
        written++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const b = await cli(['backup', '--config', config, '--out', join(dir, 'bk-pg')]);
    writing = false;
    await writer;
    await store.close();
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(written).toBeGreaterThan(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'bk-pg', 'kwartier-backup.json'), 'utf8'));
    expect(manifest).toMatchObject({
      kind: 'postgres',
      schema,
      schema_version: String(latestVersion(POSTGRES_MIGRATIONS)),
      timezone: TZ,
    });

    // A schema with data is not replaced without --force.
    const refused = await cli(['restore', '--config', config, '--from', join(dir, 'bk-pg')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`store.schema: ${schema} holds data`);

    // With --force the schema is set aside (kept) and the dump restored under its name.
    const r = await cli(['restore', '--config', config, '--from', join(dir, 'bk-pg'), '--force']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const aside = /kept as (\S+)/.exec(r.stdout)?.[1];
    expect(aside).toMatch(new RegExp(`^${prefix}_pg_before_restore_`));

    // Raw rows: the restore holds exactly the original's rows up to its newest reading, every column.
    const cols =
      'device_id, time, grid_power_w, grid_import_t1_kwh, pv_total_kwh, delta_import_t1_kwh, delta_pv_kwh, seq, received_at';
    const [{ newest }] = (await sql<{ newest: Date }>(`SELECT max(time) AS newest FROM ${schema}.energy_readings`)) as [
      { newest: Date },
    ];
    const restoredRows = await sql(`SELECT ${cols} FROM ${schema}.energy_readings ORDER BY time`);
    const originalRows = await sql(`SELECT ${cols} FROM ${aside}.energy_readings WHERE time <= $1 ORDER BY time`, [
      newest,
    ]);
    expect(restoredRows.length).toBeGreaterThanOrEqual(history.length);
    expect(restoredRows).toEqual(originalRows);
    const restored = createPostgresStore(
      { connectionString: PG_URL, schema },
      { timezone: TZ, logger: silentLogger(), poolSize: 2 },
    );
    await restored.migrate();
    try {
      expect(await aggregatesMatchRaw(restored, 'home-pg')).toBeGreaterThan(100);
    } finally {
      await restored.close();
    }
  }, 240_000);
});
