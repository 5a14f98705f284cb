/**
 * Real stores for the MQTT path's tests: SQLite in a temp file, PostgreSQL in a throwaway schema of
 * the shared `test` database (dropped afterwards).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { silentLogger } from '../../src/lib/log.js';
import { createPostgresStore } from '../../src/server/store/postgres.js';
import { createSqliteStore } from '../../src/server/store/sqlite.js';
import type { Store } from '../../src/server/store/types.js';

export const PG_URL = process.env.KWARTIER_TEST_PG ?? 'postgresql://postgres@127.0.0.1:5432/test';

export interface TestStore {
  store: Store;
  /** Another store on the same data (e.g. for a child process): connection info. */
  kind: 'sqlite' | 'postgres';
  location: { path?: string; connectionString?: string; schema?: string };
  dispose(): Promise<void>;
}

export async function makeStore(kind: 'sqlite' | 'postgres', connectionString = PG_URL): Promise<TestStore> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'kw-store-'));
    const path = join(dir, 'kwartier.sqlite');
    const store = createSqliteStore(path, { timezone: 'Europe/Brussels', logger: silentLogger() });
    await store.migrate();
    return {
      store,
      kind,
      location: { path },
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `kw_mqtt_${randomBytes(4).toString('hex')}`;
  const store = createPostgresStore(
    { connectionString, schema },
    { timezone: 'Europe/Brussels', logger: silentLogger() },
  );
  await store.migrate();
  return {
    store,
    kind,
    location: { connectionString, schema },
    async dispose() {
      await store.close();
      await dropSchema(connectionString, schema);
    },
  };
}

export async function dropSchema(connectionString: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}
