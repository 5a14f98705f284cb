/**
 * Databases made by the released code (test/fixtures/db, see its README) open with today's code:
 * migrated in place to the newest schema, their data reads back unchanged (raw rows, aggregates at
 * every resolution, acks, dead letters), and new snapshots with the added fields go in and come back.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { emptySnapshot, type Snapshot } from '../../../src/core/snapshot.js';
import { silentLogger } from '../../../src/lib/log.js';
import { latestVersion, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS } from '../../../src/server/store/migrations.js';
import { createPostgresStore } from '../../../src/server/store/postgres.js';
import { createSqliteStore } from '../../../src/server/store/sqlite.js';
import type { Store } from '../../../src/server/store/types.js';
import {
  FIXTURE_COUNT,
  FIXTURE_DEVICES,
  FIXTURE_OUTBOX,
  FIXTURE_RANGE,
  FIXTURE_REFUSED,
  FIXTURE_START_MS,
  FIXTURE_TIMEZONE,
  fixtureSnapshot,
} from '../../fixtures/db/fixture-data.js';

const DIR = join(import.meta.dirname, '../../fixtures/db');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as {
  pg_schema: string;
  devices: string[];
  acks: Record<string, number>;
  dead_letters: Array<{ topic: string; deviceId: string | null; reason: string; payload: string }>;
  buckets: Record<string, Record<string, unknown[]>>;
};
const RESOLUTIONS = ['1min', '15min', 'hourly', 'daily', 'weekly', 'monthly'] as const;
const URL = process.env.KWARTIER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `kw_test_release_${process.pid}_${Date.now().toString(36)}`;
const tmp = mkdtempSync(join(tmpdir(), 'kw-release-'));

afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => c.end());
});

/** The checks every store passes after migrating a release database. */
async function checkOldData(store: Store): Promise<void> {
  const start = new Date(FIXTURE_RANGE.start);
  const end = new Date(FIXTURE_RANGE.end);
  expect(await store.devices()).toEqual(expected.devices);
  for (const dev of FIXTURE_DEVICES) {
    // Raw rows: the released fields as they were, the added ones null, no `devices`.
    const want = Array.from({ length: FIXTURE_COUNT }, (_, i) => i)
      .filter((i) => !FIXTURE_REFUSED[dev]!.includes(i))
      .map((i) => fixtureSnapshot(emptySnapshot, dev, i));
    const raw = await store.raw(dev, start, end);
    expect(raw).toEqual(want);
    expect(raw[0]).toMatchObject({
      ev_power_w: null,
      battery_voltage_v: null,
      battery_current_a: null,
      charge_state: null,
    });
    expect(raw[0]).not.toHaveProperty('devices');
    expect(await store.latest(dev)).toEqual(want[want.length - 1]);
    // The release's buckets as it read them, and the field added since: no EV charger was read then.
    for (const r of RESOLUTIONS)
      expect(JSON.parse(JSON.stringify(await store.buckets(dev, r, start, end))), `${dev} ${r}`).toEqual(
        (expected.buckets[dev]![r] as object[]).map((b) => ({ ...b, avg_ev_power_w: null })),
      );
    expect(await store.ackedSeq(dev, FIXTURE_OUTBOX[dev])).toBe(expected.acks[dev]);
  }
  const letters = await store.deadLetters({ limit: 100 });
  expect(letters.map(({ topic, deviceId, reason, payload }) => ({ topic, deviceId, reason, payload }))).toEqual(
    expected.dead_letters,
  );
  expect(await store.deadLetters({ deviceId: 'home-b', limit: 100 })).toHaveLength(1);
}

/** New snapshots, with the added fields, `devices` and unknown fields, go in after the old ones. */
async function checkNewData(store: Store): Promise<void> {
  const t = FIXTURE_START_MS + FIXTURE_COUNT * 60_000;
  const s: Snapshot = {
    ...fixtureSnapshot(emptySnapshot, 'home-a', FIXTURE_COUNT),
    timestamp: new Date(t).toISOString(),
    ev_power_w: 7200,
    battery_voltage_v: 52.4,
    battery_current_a: -12.5,
    charge_state: 'absorption',
    devices: {
      garage: { type: 'ev-charger', stale: false, fields: { ev_power_w: 7200, ev_state: 'charging', ev_phases: 3 } },
    },
  } as unknown as Snapshot;
  const r = await store.insert({
    deviceId: 'home-a',
    outboxId: FIXTURE_OUTBOX['home-a'],
    floorSeq: 1,
    readings: [{ snapshot: s, seq: FIXTURE_COUNT + 1, extra: { from_the_future: [1, 2] } }],
    refusedSeqs: [100], // the release did not know refused seqs: its acknowledgement stopped at 99
  });
  expect(r).toEqual({ inserted: 1, duplicates: 0, ackedSeq: FIXTURE_COUNT + 1 });
  expect(await store.latest('home-a')).toEqual(s);
  // The day-ahead price table the release did not have: written and read back.
  const price = { start: new Date(t), end: new Date(t + 900_000), eurPerMwh: 91.45, source: 'entsoe' };
  expect(await store.putDayAheadPrices('BE', [price])).toBe(1);
  expect(await store.dayAheadPrices('BE', new Date(t), new Date(t + 900_000))).toEqual([price]);
  // The control settings table the release did not have: none yet, then revisions 1 and 2.
  expect(await store.controlWanted('home-a')).toBeNull();
  expect((await store.putControlWanted('home-a', { capacity_target_w: 2500 }, 'owner')).revision).toBe(1);
  const second = await store.putControlWanted('home-a', { chargers: { car: { mode: 'off' } } }, 'owner');
  expect(second).toMatchObject({ deviceId: 'home-a', revision: 2, settings: { chargers: { car: { mode: 'off' } } } });
  expect(await store.controlWanted('home-a')).toEqual(second);
  const hour = await store.buckets('home-a', 'hourly', new Date(t - 3_600_000), new Date(t + 3_600_000));
  expect(hour.length).toBeGreaterThan(0);
  // The EV power of the new snapshot is in the rollup columns the migration added.
  const minute = await store.buckets('home-a', '1min', new Date(t), new Date(t + 60_000));
  expect(minute.map((b) => b.avg_ev_power_w)).toEqual([7200]);
  // Also in buckets the release's rows were already in (its last hour is on 1 December local, as
  // is this reading): the migrated rows' EV sum is 0, not NULL, so it adds up.
  const days = await store.buckets('home-a', 'daily', new Date(t - 2 * 3_600_000), new Date(t + 3_600_000));
  expect(days).toHaveLength(1);
  expect(days[0]!.samples).toBeGreaterThan(1);
  expect(days[0]!.avg_ev_power_w).toBe(7200);
}

describe('a SQLite database of the release (ae6712e)', () => {
  it('is migrated in place, reads back unchanged, and takes the new fields', async () => {
    const file = join(tmp, 'release.sqlite');
    copyFileSync(join(DIR, 'release.sqlite'), file);
    const version = (): string =>
      new Database(file, { readonly: true })
        .prepare("SELECT value FROM kw_meta WHERE key = 'schema_version'")
        .pluck()
        .get() as string;
    expect(version()).toBe('1');
    const open = () => createSqliteStore(file, { timezone: FIXTURE_TIMEZONE, logger: silentLogger() });
    const store = open();
    try {
      await store.migrate();
      expect(version()).toBe(String(latestVersion(SQLITE_MIGRATIONS)));
      await checkOldData(store);
      await checkNewData(store);
    } finally {
      await store.close();
    }
    const again = open(); // migrating twice changes nothing
    try {
      await again.migrate();
      expect(version()).toBe(String(latestVersion(SQLITE_MIGRATIONS)));
      expect(await again.raw('home-b', new Date(FIXTURE_RANGE.start), new Date(FIXTURE_RANGE.end))).toHaveLength(
        FIXTURE_COUNT,
      );
    } finally {
      await again.close();
    }
  });

  it('a database opened by the release again after migrating (a rollback) migrates again', async () => {
    const file = join(tmp, 'rollback.sqlite');
    copyFileSync(join(DIR, 'release.sqlite'), file);
    const open = () => createSqliteStore(file, { timezone: FIXTURE_TIMEZONE, logger: silentLogger() });
    const first = open();
    await first.migrate();
    await first.close();
    // What the release does on start: its DDL (all IF NOT EXISTS) and its own version number.
    const db = new Database(file);
    db.prepare("UPDATE kw_meta SET value = '1' WHERE key = 'schema_version'").run();
    db.close();
    const again = open();
    try {
      await again.migrate();
      await checkOldData(again);
      await checkNewData(again);
    } finally {
      await again.close();
    }
  });

  it('a database newer than this release is refused, and left as it is', async () => {
    const file = join(tmp, 'newer.sqlite');
    copyFileSync(join(DIR, 'release.sqlite'), file);
    const db = new Database(file);
    db.prepare("UPDATE kw_meta SET value = '99' WHERE key = 'schema_version'").run();
    db.close();
    const store = createSqliteStore(file, { timezone: FIXTURE_TIMEZONE, logger: silentLogger() });
    await expect(store.migrate()).rejects.toThrow(
      new RegExp(`schema version 99, newer than this release knows \\(${latestVersion(SQLITE_MIGRATIONS)}\\)`),
    );
    await store.close();
    const cols = new Database(file, { readonly: true })
      .prepare('SELECT name FROM pragma_table_info(?)')
      .pluck()
      .all('energy_readings');
    expect(cols).not.toContain('ev_power_w');
  });
});

describe('a PostgreSQL schema of the release (ae6712e)', () => {
  it('is migrated in place, reads back unchanged, and takes the new fields', async () => {
    // The dump (pg_dump --inserts, plain SQL) into this test's own schema.
    const dump = readFileSync(join(DIR, 'release-pg.sql'), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('\\'))
      .join('\n')
      .replaceAll(expected.pg_schema, schema);
    const c = new pg.Client({ connectionString: URL });
    await c.connect();
    try {
      await c.query(dump);
      const version = async (): Promise<string> =>
        (await c.query(`SELECT value FROM ${schema}.kw_meta WHERE key = 'schema_version'`)).rows[0].value;
      expect(await version()).toBe('2');
      const store = createPostgresStore(
        { connectionString: URL, schema },
        { timezone: FIXTURE_TIMEZONE, logger: silentLogger(), poolSize: 2 },
      );
      try {
        await store.migrate();
        expect(await version()).toBe(String(latestVersion(POSTGRES_MIGRATIONS)));
        await checkOldData(store);
        await checkNewData(store);
        await store.migrate(); // twice: nothing to do
        expect(await version()).toBe(String(latestVersion(POSTGRES_MIGRATIONS)));
      } finally {
        await store.close();
      }
    } finally {
      await c.end();
    }
  });
});
