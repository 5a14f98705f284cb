import pg from 'pg';
import { afterAll } from 'vitest';
import { silentLogger } from '../../../src/lib/log.js';
import { createPostgresStore } from '../../../src/server/store/postgres.js';
import { defineStoreContract } from './contract.js';

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
