import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { silentLogger } from '../../../src/lib/log.js';
import { createSqliteStore } from '../../../src/server/store/sqlite.js';
import { defineStoreContract } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-store-test-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

defineStoreContract('sqlite', async () => {
  const path = join(dir, `store-${++n}.db`);
  const open = (timezone: string) => createSqliteStore(path, { timezone, rawRetentionDays: 7, logger: silentLogger() });
  const store = open('Europe/Brussels');
  await store.migrate();
  return {
    store,
    reopen: async (timezone) => open(timezone),
    cleanup: async () => {
      await store.close();
      rmSync(path, { force: true });
      rmSync(`${path}-wal`, { force: true });
      rmSync(`${path}-shm`, { force: true });
    },
  };
});
