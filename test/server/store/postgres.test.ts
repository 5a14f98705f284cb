import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/lib/log.js';
import { latestVersion, POSTGRES_MIGRATIONS } from '../../../src/server/store/migrations.js';
import { createPostgresStore } from '../../../src/server/store/postgres.js';
import { defineStoreContract, snap } from './contract.js';

const URL = process.env.KWARTIER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
/** This file's schemas: kw_test_store_<pid>_<n>, each dropped after its test (and all of them at the end). */
const prefix = `kw_test_store_${process.pid}_${Date.now().toString(36)}`;
let n = 0;

async function sql(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: URL, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

afterAll(async () => {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  try {
    const r = await c.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [
      `${prefix}%`,
    ]);
    for (const { nspname } of r.rows) await c.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`);
  } finally {
    await c.end();
  }
});

defineStoreContract('postgres', async () => {
  const schema = `${prefix}_${++n}`;
  const open = (timezone: string) =>
    createPostgresStore(
      { connectionString: URL, schema },
      { timezone, rawRetentionDays: 7, logger: silentLogger(), poolSize: 2 },
    );
  const store = open('Europe/Brussels');
  await store.migrate();
  return {
    store,
    reopen: async (timezone) => open(timezone),
    cleanup: async () => {
      await store.close();
      await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
});

/** Whether this PostgreSQL could run TimescaleDB (it cannot on the development machine). */
async function timescaleAvailable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  try {
    const r = await c.query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'");
    return (r.rowCount ?? 0) > 0;
  } finally {
    await c.end();
  }
}

describe('PostgreSQL layout', () => {
  it('plain PostgreSQL: one partition per recent UTC day, created as batches need them', async () => {
    const schema = `${prefix}_layout`;
    const plain = createPostgresStore(
      { connectionString: URL, schema },
      { timezone: 'Europe/Brussels', logger: silentLogger(), timescale: 'off' },
    );
    try {
      await plain.migrate();
      expect(plain.layout).toBe('plain');
      // Yesterday's last second and today's first, UTC (yesterday's partition is created by the batch).
      const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const name = (t: number) => `energy_readings_p${new Date(t).toISOString().slice(0, 10).replace(/-/g, '')}`;
      await plain.insert({
        deviceId: 'p',
        outboxId: null,
        floorSeq: null,
        readings: [
          { snapshot: snap('p', new Date(today - 1000).toISOString()), seq: null },
          { snapshot: snap('p', new Date(today).toISOString()), seq: null },
        ],
      });
      const c = new pg.Client({ connectionString: URL });
      await c.connect();
      try {
        const r = await c.query<{ p: string }>(
          `SELECT tableoid::regclass::text AS p FROM ${schema}.energy_readings ORDER BY time`,
        );
        expect(r.rows.map((x) => x.p)).toEqual([`${schema}.${name(today - 1000)}`, `${schema}.${name(today)}`]);
      } finally {
        await c.end();
      }
      expect(await plain.applyRetention(new Date(today + 9 * 86_400_000))).toEqual({ deleted: 2, deadLetters: 0 });
    } finally {
      await plain.close();
    }
  });

  it('a batch on 300 different days (years back) creates at most a few partitions', async () => {
    const schema = `${prefix}_spread`;
    const store = createPostgresStore(
      { connectionString: URL, schema },
      { timezone: 'Europe/Brussels', logger: silentLogger(), timescale: 'off' },
    );
    const c = new pg.Client({ connectionString: URL });
    await c.connect();
    const partitions = async (): Promise<string[]> =>
      (
        await c.query<{ relname: string }>(
          `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = $1::regclass ORDER BY 1`,
          [`${schema}.energy_readings`],
        )
      ).rows.map((x) => x.relname);
    try {
      await store.migrate();
      const before = await partitions();
      // 300 readings, each on its own UTC day: from ten years back up to today.
      const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const readings = Array.from({ length: 300 }, (_, i) => ({
        snapshot: snap('spread', new Date(today - (299 - i) * 12 * 86_400_000 + 3_600_000).toISOString(), {
          grid_import_t1_kwh: 100 + i,
        }),
        seq: null,
      }));
      const t0 = performance.now();
      expect((await store.insert({ deviceId: 'spread', outboxId: null, floorSeq: null, readings })).inserted).toBe(300);
      const took = performance.now() - t0;
      const after = await partitions();
      console.log(
        `[partition-spread] 300 readings on 300 days: flush ${took.toFixed(0)} ms, partitions ${before.length} → ${after.length}`,
      );
      expect(after.length - before.length).toBeLessThanOrEqual(3);
      const span = [new Date(today - 3700 * 86_400_000), new Date(today + 2 * 86_400_000)] as const;
      expect((await store.raw('spread', span[0], span[1])).length).toBe(300);
      const monthly = await store.buckets('spread', 'monthly', span[0], span[1]);
      expect(monthly.reduce((s, b) => s + (b.import_kwh ?? 0), 0)).toBeCloseTo(299, 6);
      // Retention on a later day: old rows go in chunks, aggregates stay.
      expect((await store.applyRetention(new Date(today + 8 * 86_400_000))).deleted).toBe(300);
      const kept = await store.buckets('spread', 'monthly', span[0], span[1]);
      expect(kept).toEqual(monthly);
    } finally {
      await c.end();
      await store.close();
    }
  });

  it('a day whose rows went to the default partition gets its own partition later, rows moved along', async () => {
    const schema = `${prefix}_move`;
    const store = createPostgresStore(
      { connectionString: URL, schema },
      { timezone: 'Europe/Brussels', logger: silentLogger(), timescale: 'off' },
    );
    const c = new pg.Client({ connectionString: URL });
    await c.connect();
    try {
      await store.migrate();
      const day = (Math.floor(Date.now() / 86_400_000) + 3) * 86_400_000; // beyond what is created ahead
      const iso = (h: number) => new Date(day + h * 3_600_000).toISOString();
      await store.insert({
        deviceId: 'mv',
        outboxId: null,
        floorSeq: null,
        readings: [
          { snapshot: snap('mv', iso(1), { grid_import_t1_kwh: 1 }), seq: null },
          { snapshot: snap('mv', iso(2), { grid_import_t1_kwh: 2 }), seq: null },
        ],
      });
      const where = async () =>
        (
          await c.query<{ p: string; n: number }>(
            `SELECT tableoid::regclass::text AS p, count(*)::int AS n FROM ${schema}.energy_readings GROUP BY 1 ORDER BY 1`,
          )
        ).rows;
      expect(await where()).toEqual([{ p: `${schema}.energy_readings_default`, n: 2 }]);
      // That day comes: its partition is created ahead (by retention), the rows move into it.
      await store.applyRetention(new Date(day + 60_000));
      const name = `energy_readings_p${new Date(day).toISOString().slice(0, 10).replace(/-/g, '')}`;
      expect(await where()).toEqual([{ p: `${schema}.${name}`, n: 2 }]);
      expect((await store.raw('mv', new Date(day), new Date(day + 86_400_000))).length).toBe(2);
      await store.insert({
        deviceId: 'mv',
        outboxId: null,
        floorSeq: null,
        readings: [{ snapshot: snap('mv', iso(3), { grid_import_t1_kwh: 3 }), seq: null }],
      });
      const [b] = await store.buckets('mv', 'daily', new Date(day - 86_400_000), new Date(day + 86_400_000));
      expect(b!.import_kwh).toBeCloseTo(2, 6);
    } finally {
      await c.end();
      await store.close();
    }
  });

  it('the default layout is plain PostgreSQL (TimescaleDB only when asked for)', async () => {
    const schema = `${prefix}_default`;
    const store = createPostgresStore(
      { connectionString: URL, schema },
      { timezone: 'Europe/Brussels', logger: silentLogger() },
    );
    try {
      await store.migrate();
      expect(store.layout).toBe('plain');
    } finally {
      await store.close();
    }
  });

  it('schema 1 → 2: the per-reading seq index gives way to ack ranges, and acknowledging goes on', async () => {
    const schema = `${prefix}_upgrade`;
    const open = () =>
      createPostgresStore(
        { connectionString: URL, schema },
        { timezone: 'Europe/Brussels', logger: silentLogger(), timescale: 'off' },
      );
    const ob = 'outbox-up-0001';
    const reading = (s: number) => ({
      snapshot: snap('up', new Date(Date.UTC(2026, 4, 1, 0, 0, s)).toISOString()),
      seq: s,
    });
    const first = open();
    try {
      await first.migrate();
      expect(
        (await first.insert({ deviceId: 'up', outboxId: ob, floorSeq: 1, readings: [reading(1), reading(2)] }))
          .ackedSeq,
      ).toBe(2);
    } finally {
      await first.close();
    }
    // What schema 1 left: its index and version.
    await sql(
      `CREATE INDEX energy_readings_outbox_seq ON ${schema}.energy_readings (device_id, outbox_id, seq) WHERE seq IS NOT NULL;
       UPDATE ${schema}.kw_meta SET value = '1' WHERE key = 'schema_version'`,
    );
    const store = open();
    const c = new pg.Client({ connectionString: URL });
    await c.connect();
    try {
      await store.migrate();
      const idx = await c.query('SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [
        schema,
        'energy_readings_outbox_seq',
      ]);
      expect(idx.rowCount).toBe(0);
      // Then on through every later migration (src/server/store/migrations.ts) to the newest, 5.
      const v = await c.query(`SELECT value FROM ${schema}.kw_meta WHERE key = 'schema_version'`);
      expect(v.rows[0]).toEqual({ value: String(latestVersion(POSTGRES_MIGRATIONS)) });
      expect(await store.ackedSeq('up', ob)).toBe(2);
      expect((await store.insert({ deviceId: 'up', outboxId: ob, floorSeq: 1, readings: [reading(4)] })).ackedSeq).toBe(
        2,
      );
      const ranges = await c.query(`SELECT lo::int, hi::int FROM ${schema}.device_ack_ranges WHERE device_id = 'up'`);
      expect(ranges.rows).toEqual([{ lo: 4, hi: 4 }]);
      expect((await store.insert({ deviceId: 'up', outboxId: ob, floorSeq: 1, readings: [reading(3)] })).ackedSeq).toBe(
        4,
      );
      expect((await c.query(`SELECT count(*)::int AS n FROM ${schema}.device_ack_ranges`)).rows[0]).toEqual({ n: 0 });
    } finally {
      await c.end();
      await store.close();
    }
  });

  it('timescale: on fails clearly where TimescaleDB is not available', async () => {
    if (await timescaleAvailable()) return; // nothing to refuse on such a server
    const on = createPostgresStore(
      { connectionString: URL, schema: `${prefix}_ts` },
      { timezone: 'Europe/Brussels', logger: silentLogger(), timescale: 'on' },
    );
    try {
      await expect(on.migrate()).rejects.toThrow(/TimescaleDB ≥ 2.9 is not available/);
    } finally {
      await on.close();
    }
  });
});

describe('PostgreSQL: many homes in one write', () => {
  it('one insertMany of 5000 devices (one snapshot each) stores them all and acknowledges each', async () => {
    // 10 000 homes at 1 Hz: after the ingester falls half a second behind, a lane's flush holds a
    // few thousand devices. One statement locking each of them went past PostgreSQL's 1664
    // target-list entries (and one transaction holding that many locks past its lock table).
    const schema = `${prefix}_many`;
    const store = createPostgresStore(
      { connectionString: URL, schema },
      { timezone: 'Europe/Brussels', logger: silentLogger(), timescale: 'off', poolSize: 2 },
    );
    try {
      await store.migrate();
      const iso = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();
      const batches = Array.from({ length: 5000 }, (_, i) => ({
        deviceId: `home-${i}`,
        outboxId: 'aaaaaaaa-0000-4000-8000-000000000000',
        floorSeq: 1,
        readings: [{ snapshot: snap(`home-${i}`, iso, { grid_power_w: 100 }), seq: 1 }],
      }));
      const results = await store.insertMany(batches);
      expect(results).toHaveLength(5000);
      expect(results.every((r) => r.inserted === 1 && r.ackedSeq === 1)).toBe(true);
      const c = new pg.Client({ connectionString: URL });
      await c.connect();
      try {
        const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.energy_readings`);
        expect(r.rows[0]!.n).toBe(5000);
      } finally {
        await c.end();
      }
    } finally {
      await store.close();
      await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  }, 120_000);
});
