import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/lib/log.js';
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
  it('plain PostgreSQL: one partition per UTC day, created as batches need them', async () => {
    const schema = `${prefix}_layout`;
    const plain = createPostgresStore(
      { connectionString: URL, schema },
      { timezone: 'Europe/Brussels', logger: silentLogger(), timescale: 'off' },
    );
    try {
      await plain.migrate();
      expect(plain.layout).toBe('plain');
      await plain.insert({
        deviceId: 'p',
        outboxId: null,
        floorSeq: null,
        readings: [
          { snapshot: snap('p', '2026-05-01T23:59:59Z'), seq: null },
          { snapshot: snap('p', '2026-05-02T00:00:00Z'), seq: null },
        ],
      });
      const c = new pg.Client({ connectionString: URL });
      await c.connect();
      try {
        const r = await c.query<{ relname: string }>(
          `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = $1::regclass AND c.relname LIKE 'energy_readings_p202605%' ORDER BY 1`,
          [`${schema}.energy_readings`],
        );
        expect(r.rows.map((x) => x.relname)).toEqual(['energy_readings_p20260501', 'energy_readings_p20260502']);
      } finally {
        await c.end();
      }
      expect(await plain.applyRetention(new Date('2026-05-10T00:00:00Z'))).toEqual({ deleted: 2 });
    } finally {
      await plain.close();
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
      const v = await c.query(`SELECT value FROM ${schema}.kw_meta WHERE key = 'schema_version'`);
      expect(v.rows[0]).toEqual({ value: '2' });
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
