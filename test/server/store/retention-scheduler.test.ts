/**
 * Retention that runs: the server applies `store.raw_retention_days` and
 * `store.dead_letter_retention_days` on a schedule, through the real ServerApp and a real SQLite
 * store; a failing run is logged and retried, never fatal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emptySnapshot } from '../../../src/core/snapshot.js';
import { parseWithSchema } from '../../../src/core/validate.js';
import { silentLogger } from '../../../src/lib/log.js';
import { ServerApp } from '../../../src/server/app.js';
import { ServerConfigSchema } from '../../../src/server/config.js';
import { createRetentionScheduler } from '../../../src/server/retention.js';
import { createSqliteStore } from '../../../src/server/store/sqlite.js';
import { captureLogger } from '../../helpers/log.js';

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'kw-retention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(what: string, ok: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('store config', () => {
  it('the store keys: timescale off by default, retention interval and dead-letter retention', () => {
    const cfg = parseWithSchema(ServerConfigSchema, { store: { type: 'sqlite', path: '/tmp/x.db' } }, 'test');
    expect(cfg.store.timescale).toBe('off');
    expect(cfg.store.retention_interval_minutes).toBe(60);
    expect(cfg.store.dead_letter_retention_days).toBe(30);
    const on = parseWithSchema(
      ServerConfigSchema,
      { store: { type: 'postgres', url: 'postgres://x@127.0.0.1/x', timescale: 'on' } },
      'test',
    );
    expect(on.store.timescale).toBe('on');
    expect(() =>
      parseWithSchema(ServerConfigSchema, { store: { type: 'sqlite', path: '/x', timescale: 'yes' } }, 'test'),
    ).toThrow(/store\.timescale/);
  });
});

describe('retention scheduler', () => {
  it('the running ServerApp removes expired raw rows and dead letters, aggregates stay', async () => {
    // Readings of the last few hours (and a dead letter of now); the clock then moved 40 days on.
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 3_600_000;
    let now = new Date(t0 + 40 * DAY);
    const { log, lines } = captureLogger('debug');
    const app = new ServerApp({
      config: parseWithSchema(
        ServerConfigSchema,
        {
          store: { type: 'sqlite', path: join(dir, 'app.sqlite') },
          broker: { enabled: true, port: 0 },
          api: { port: 0, dashboard: false },
        },
        'test',
      ),
      log,
      retention: { initialDelayMs: 3_600_000, intervalMs: 50, now: () => now },
    });
    await app.start();
    try {
      const readings = Array.from({ length: 120 }, (_, i) => ({
        snapshot: {
          ...emptySnapshot('old-home', new Date(t0 + i * 60_000).toISOString()),
          grid_import_t1_kwh: 50 + i * 0.01,
        },
        seq: null,
      }));
      await app.store.insert({ deviceId: 'old-home', outboxId: null, floorSeq: null, readings });
      await app.store.addDeadLetter({ topic: 'energy/x/batch', deviceId: 'x', reason: 'not JSON', payload: '{' });
      const span = [new Date(t0 - DAY), new Date(t0 + DAY)] as const;
      const daily = await app.store.buckets('old-home', 'daily', span[0], span[1]);
      expect(daily.reduce((x, b) => x + (b.import_kwh ?? 0), 0)).toBeCloseTo(1.19, 6);
      // The first run waits for initialDelayMs (an hour here), then every intervalMs: no run yet.
      expect((await app.store.raw('old-home', span[0], span[1])).length).toBe(120);
      await app.stop();
      // Started again with a short first delay: the scheduler runs and removes them.
      const again = new ServerApp({
        config: parseWithSchema(
          ServerConfigSchema,
          {
            store: { type: 'sqlite', path: join(dir, 'app.sqlite') },
            broker: { enabled: true, port: 0 },
            api: { port: 0, dashboard: false },
          },
          'test',
        ),
        log,
        retention: { initialDelayMs: 10, intervalMs: 50, now: () => now },
      });
      await again.start();
      try {
        await until('retention to remove the old rows', async () => (await again.store.deadLetterCount()) === 0);
        expect(await again.store.raw('old-home', span[0], span[1])).toEqual([]);
        expect(await again.store.buckets('old-home', 'daily', span[0], span[1])).toEqual(daily);
        const removed = lines.find((l) => l.msg === 'retention applied');
        expect(removed).toMatchObject({ deleted: 120, dead_letters: 1 });
        // It keeps running: a later clock and a newer expired row.
        await again.store.insert({
          deviceId: 'old-home',
          outboxId: null,
          floorSeq: null,
          readings: [{ snapshot: emptySnapshot('old-home', new Date(t0 + 20 * DAY).toISOString()), seq: null }],
        });
        now = new Date(t0 + 60 * DAY);
        await until(
          'the next run',
          async () => (await again.store.raw('old-home', span[0], new Date(t0 + 30 * DAY))).length === 0,
        );
      } finally {
        await again.stop();
      }
    } finally {
      await app.stop();
    }
  });

  it('a failing run is logged and retried on the next tick; stop() waits for a run in progress', async () => {
    const store = createSqliteStore(join(dir, 'fail.sqlite'), { timezone: 'Europe/Brussels', logger: silentLogger() });
    const { log, lines } = captureLogger('debug');
    // Not migrated yet: applyRetention fails (store_not_migrated), a real error of the real store.
    const sched = createRetentionScheduler({ store, log, initialDelayMs: 1, intervalMs: 20 });
    sched.start();
    try {
      await until('a failure to be logged', () => lines.some((l) => l.msg === 'retention failed, retried next time'));
      await store.migrate();
      await until('a run that succeeds', () => lines.some((l) => l.msg === 'retention applied'));
      const failed = lines.find((l) => l.msg === 'retention failed, retried next time');
      expect(String(failed?.err)).toMatch(/migrate/);
    } finally {
      await sched.stop();
      await store.close();
    }
  });
});
