/**
 * History answers joined from day blocks (src/server/api/day-blocks.ts): byte for byte the answer
 * rendered whole, as text and as gzip, when the blocks are made and when they are read back; made
 * anew after late data changes an ended day. The store's side (epochs) is in the store contract.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HomeModel } from '../../../src/drivers/sim/home-model.js';
import { silentLogger } from '../../../src/lib/log.js';
import { DAY_BLOCK_FORMAT } from '../../../src/server/api/day-blocks.js';
import { createApi } from '../../../src/server/api/index.js';
import { ServerBus } from '../../../src/server/bus.js';
import { createSqliteStore } from '../../../src/server/store/sqlite.js';
import { sampleHome } from '../../helpers/snapshots.js';
import { auth, type Seeded, seededStore, TOKENS, testApi, testConfig } from './setup.js';

let seeded: Seeded;
let joined: FastifyInstance;
let whole: FastifyInstance;

beforeAll(async () => {
  seeded = await seededStore();
  // Both with the answer cache off: every request reads the store.
  ({ app: joined } = await testApi(seeded.store, { historyCache: { ttlMs: 0 } }));
  ({ app: whole } = await testApi(seeded.store, { historyCache: { ttlMs: 0 }, historyDayBlocks: false }));
});

afterAll(async () => {
  await joined?.close();
  await whole?.close();
  await seeded?.cleanup();
});

/** 2026-03-28 and 2026-03-29 (the 23-hour day), local: the whole days that ended before the tests' NOW. */
const DAY_28 = Date.parse('2026-03-27T23:00:00Z');
const DAY_30 = Date.parse('2026-03-29T22:00:00Z');

async function answer(app: FastifyInstance, query: string, gzip: boolean) {
  const r = await app.inject({
    url: `/api/v1/history/home-1?${query}`,
    headers: { ...auth(TOKENS.home1), ...(gzip ? { 'accept-encoding': 'gzip' } : {}) },
  });
  expect(r.statusCode).toBe(200);
  const raw = r.rawPayload;
  if (gzip) expect(r.headers['content-encoding']).toBe('gzip');
  return gzip ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
}

const RANGES = [
  'start=2026-03-28&end=2026-03-31&resolution=15min', // two whole days, today in part, a day ahead
  'start=2026-03-27T21:10:00Z&end=2026-03-30T09:00:00Z&resolution=15min', // parts of days at both ends
  'start=2026-03-28&end=2026-03-30&resolution=1min', // whole days only
  'start=2026-03-27T20:00:00Z&end=2026-03-30T04:00:00Z&resolution=hourly',
];

describe('history answers joined from day blocks', () => {
  it.each(RANGES)('%s: the same bytes as rendered whole, as text and gzip, blocks made then read', async (q) => {
    const expected = await answer(whole, q, false);
    const points = (JSON.parse(expected) as { points: unknown[] }).points.length;
    expect(points).toBeGreaterThan(20);
    // First: the blocks are made (gzip), then read back (gzip and text).
    expect(await answer(joined, q, true)).toBe(expected);
    const res = new URLSearchParams(q).get('resolution') as '15min' | '1min' | 'hourly';
    const kept = await seeded.store.dayBlocks.read('home-1', res, DAY_BLOCK_FORMAT, DAY_28, DAY_30);
    expect([...kept.blocks.keys()].sort()).toEqual([DAY_28, Date.parse('2026-03-28T23:00:00Z')]);
    expect(await answer(joined, q, true)).toBe(expected);
    expect(await answer(joined, q, false)).toBe(expected);
  });

  it('a late reading of an ended day: its block is made anew and the answer shows the reading', async () => {
    const q = 'start=2026-03-28&end=2026-03-30&resolution=15min';
    const before = await answer(joined, q, true);
    expect(before).toBe(await answer(whole, q, false));
    // A reading 15 s after one stored on 2026-03-29, with its counters (energy unchanged, one more sample).
    const at = Date.parse('2026-03-29T08:00:00Z');
    const prev = seeded.snaps.find((s) => Date.parse(s.timestamp) === at)!;
    const late = { ...prev, timestamp: new Date(at + 15_000).toISOString(), grid_power_w: 9_999 };
    await seeded.store.insert({
      deviceId: 'home-1',
      outboxId: null,
      floorSeq: null,
      readings: [{ snapshot: late, seq: null }],
    });
    const after = await answer(joined, q, true);
    expect(after).not.toBe(before);
    expect(after).toBe(await answer(whole, q, false));
    const bucket = (
      JSON.parse(after) as { points: { timestamp: string; samples: number; max_grid_power_w: number }[] }
    ).points.find((p) => p.timestamp === '2026-03-29T10:00:00+02:00')!;
    expect(bucket.max_grid_power_w).toBe(9_999);
    expect(bucket.samples).toBe(31);
    // Read back from the block made anew.
    expect(await answer(joined, q, false)).toBe(after);
  });

  it('counts the days made and the days joined from kept blocks on /metrics', async () => {
    const count = async (result: string): Promise<number> => {
      const r = await joined.inject({ url: '/metrics', headers: auth(TOKENS.admin) });
      const m = new RegExp(`^kwartier_history_day_blocks_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(r.body);
      return m ? Number(m[1]) : 0;
    };
    const q = 'start=2026-03-27T22:00:00Z&end=2026-03-30T10:00:00Z&resolution=15min';
    await answer(joined, q, true); // its blocks made, if no test before made them
    const [made0, kept0] = [await count('made'), await count('kept')];
    await answer(joined, q, true);
    await answer(joined, q, true);
    // The two ended days of the range, joined from their kept blocks twice.
    expect([(await count('made')) - made0, (await count('kept')) - kept0]).toEqual([0, 4]);
    // A late reading on each ended day: both blocks stale, made anew by the next answer, kept by the one after.
    for (const at of [Date.parse('2026-03-28T10:00:00Z'), Date.parse('2026-03-29T10:00:00Z')]) {
      const prev = seeded.snaps.find((x) => Date.parse(x.timestamp) === at)!;
      const late = { ...prev, timestamp: new Date(at + 15_000).toISOString() };
      await seeded.store.insert({
        deviceId: 'home-1',
        outboxId: null,
        floorSeq: null,
        readings: [{ snapshot: late, seq: null }],
      });
    }
    const h = q.replace('15min', 'hourly');
    const [made1, kept1] = [await count('made'), await count('kept')];
    await answer(joined, h, true);
    expect([(await count('made')) - made1, (await count('kept')) - kept1]).toEqual([2, 0]);
    await answer(joined, h, true);
    expect([(await count('made')) - made1, (await count('kept')) - kept1]).toEqual([2, 2]);
  });

  it('api.history_day_blocks: false renders every answer whole, with the blocks kept unused', async () => {
    const { app: off } = await testApi(seeded.store, {
      config: testConfig({}, { history_day_blocks: false }),
      historyCache: { ttlMs: 0 },
    });
    try {
      const q = 'start=2026-03-28&end=2026-03-30&resolution=15min';
      expect(await answer(off, q, true)).toBe(await answer(whole, q, false));
      const metrics = (await off.inject({ url: '/metrics', headers: auth(TOKENS.admin) })).body;
      expect(metrics).not.toMatch(/^kwartier_history_day_blocks_total\{/m);
    } finally {
      await off.close();
    }
  });

  it('days without a point are joined as nothing and not kept (only days with data take room)', async () => {
    const q = 'start=2026-03-20&end=2026-03-30&resolution=hourly';
    const expected = await answer(whole, q, false);
    expect(await answer(joined, q, true)).toBe(expected);
    expect(await answer(joined, q, false)).toBe(expected);
    const kept = await seeded.store.dayBlocks.read(
      'home-1',
      'hourly',
      DAY_BLOCK_FORMAT,
      DAY_28 - 8 * 86_400_000,
      DAY_30,
    );
    expect([...kept.blocks.keys()].sort()).toEqual([DAY_28, Date.parse('2026-03-28T23:00:00Z')]);
  });

  it('daily answers and ranges of fewer than two ended days are rendered whole (no blocks kept)', async () => {
    for (const q of [
      'start=2026-03-28&end=2026-03-31&resolution=daily',
      'start=2026-03-29&end=2026-03-31&resolution=hourly',
    ]) {
      expect(await answer(joined, q, true)).toBe(await answer(whole, q, false));
    }
    const kept = await seeded.store.dayBlocks.read('home-1', 'daily', DAY_BLOCK_FORMAT, DAY_28, DAY_30);
    expect(kept.blocks.size).toBe(0);
  });

  it("the blocks' format number goes with the points' shape: raise DAY_BLOCK_FORMAT when this test must change", async () => {
    const body = JSON.parse(await answer(whole, 'start=2026-03-28&end=2026-03-29&resolution=hourly', false)) as {
      points: Record<string, unknown>[];
    };
    const p = body.points[0]!;
    expect({ format: DAY_BLOCK_FORMAT, keys: Object.keys(p).join(' '), timestamp: p.timestamp }).toEqual({
      format: 2,
      keys:
        'timestamp import_kwh export_kwh import_t1_kwh import_t2_kwh export_t1_kwh export_t2_kwh pv_kwh ' +
        'battery_charge_kwh battery_discharge_kwh gas_m3 water_m3 avg_grid_power_w max_grid_power_w avg_pv_power_w ' +
        'max_pv_power_w avg_load_power_w max_load_power_w avg_battery_power_w avg_battery_soc_pct avg_ev_power_w samples',
      timestamp: '2026-03-28T00:00:00+01:00',
    });
  });
});

describe('day blocks where local midnight is not on the hour (Asia/Kolkata, +05:30)', () => {
  it("late readings just after midnight refresh the day before's hourly block (its last bucket starts at 23:30)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-blocks-kolkata-'));
    const store = createSqliteStore(join(dir, 'store.db'), { timezone: 'Asia/Kolkata' });
    const apps: FastifyInstance[] = [];
    try {
      await store.migrate();
      const model = new HomeModel({ start: Date.parse('2026-03-09T18:30:00Z'), seed: 3, pvPeakW: 3000 });
      const snaps = sampleHome(model, 'home-1', Date.parse('2026-03-12T18:30:00Z'), 60_000);
      // 00:15–00:25 local on 11 March: in the hourly bucket that starts at 23:30 on the 10th.
      const isLate = (s: (typeof snaps)[number]) =>
        Date.parse(s.timestamp) >= Date.parse('2026-03-10T18:45:00Z') &&
        Date.parse(s.timestamp) <= Date.parse('2026-03-10T18:55:00Z');
      const insert = (rows: typeof snaps) =>
        store.insert({
          deviceId: 'home-1',
          outboxId: null,
          floorSeq: null,
          readings: rows.map((snapshot) => ({ snapshot, seq: null })),
        });
      await insert(snaps.filter((x) => !isLate(x)));
      const over = { historyCache: { ttlMs: 0 }, now: () => Date.parse('2026-03-13T00:00:00Z') };
      const config = testConfig({ timezone: 'Asia/Kolkata' });
      const bus = new ServerBus({ log: silentLogger() });
      const a = await createApi({ store, config, bus, ...over });
      const b = await createApi({ store, config, bus, ...over, historyDayBlocks: false });
      apps.push(a, b);
      const q = 'start=2026-03-10&end=2026-03-12&resolution=hourly';
      const before = await answer(a, q, true);
      expect(before).toBe(await answer(b, q, false));
      const day10 = Date.parse('2026-03-09T18:30:00Z');
      expect(
        (await store.dayBlocks.read('home-1', 'hourly', DAY_BLOCK_FORMAT, day10, day10 + 86_400_000)).blocks.size,
      ).toBe(1);
      await insert(snaps.filter(isLate));
      const after = await answer(a, q, true);
      expect(after).not.toBe(before);
      expect(after).toBe(await answer(b, q, false));
    } finally {
      for (const app of apps) await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
