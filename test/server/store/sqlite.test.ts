import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/lib/log.js';
import { createSqliteStore } from '../../../src/server/store/sqlite.js';
import { defineStoreContract, snap } from './contract.js';

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

describe('SQLite retention in chunks', () => {
  it('yields between chunks: a write queued behind it commits before it ends, nothing lost', async () => {
    const path = join(dir, `chunks-${++n}.db`);
    const store = createSqliteStore(path, {
      timezone: 'Europe/Brussels',
      logger: silentLogger(),
      retentionChunkRows: 100,
    });
    await store.migrate();
    try {
      const t0 = Date.parse('2026-03-01T00:00:00Z');
      const readings = Array.from({ length: 1000 }, (_, i) => ({
        snapshot: snap('c', new Date(t0 + i * 60_000).toISOString(), { grid_import_t1_kwh: 1 + i * 0.001 }),
        seq: null,
      }));
      await store.insert({ deviceId: 'c', outboxId: null, floorSeq: null, readings });
      const order: string[] = [];
      const retention = store.applyRetention(new Date('2026-04-01T00:00:00Z')).then((r) => {
        order.push('retention');
        return r;
      });
      // Queued after retention started: with one transaction for all, it would wait for the end.
      const write = new Promise<void>((resolve, reject) =>
        setImmediate(() =>
          store
            .insert({
              deviceId: 'other',
              outboxId: null,
              floorSeq: null,
              readings: [{ snapshot: snap('other', '2026-03-31T12:00:00Z'), seq: null }],
            })
            .then(() => {
              order.push('write');
              resolve();
            }, reject),
        ),
      );
      const [r] = await Promise.all([retention, write]);
      expect(order).toEqual(['write', 'retention']);
      expect(r).toEqual({ deleted: 1000, deadLetters: 0 });
      expect((await store.latest('other'))?.timestamp).toBe('2026-03-31T12:00:00.000Z');
    } finally {
      await store.close();
    }
  });
});
