/**
 * One device's series of a site (issue 14: "the history API can return one device's series"):
 * snapshots of a `devices:` site stored through the real SQLite store, read through the real API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptySnapshot, type Snapshot } from '../../../src/core/snapshot.js';
import { createSqliteStore } from '../../../src/server/store/sqlite.js';
import type { Store } from '../../../src/server/store/types.js';
import { auth, TOKENS, testApi } from './setup.js';

const T0 = Date.parse('2026-11-20T10:00:00Z');
let dir: string;
let store: Store;
let app: FastifyInstance;

/** A site of a P1 meter and two inverters; `garage` goes stale from the 4th snapshot on. */
function site(i: number): Snapshot {
  const s = emptySnapshot('home-1', new Date(T0 + i * 1000).toISOString());
  const roof = 3000 + i;
  const garage = i < 3 ? 1200 + i : null;
  s.pv_power_w = roof + (garage ?? 0);
  s.grid_power_w = -500;
  s.stale_sources = i < 3 ? [] : ['garage'];
  s.devices = {
    p1: { type: 'dsmr', stale: false, fields: { grid_power_w: -500 } },
    roof: { type: 'sungrow', stale: false, fields: { pv_power_w: roof, battery_power_w: -250 } },
    garage: { type: 'sungrow', stale: i >= 3, fields: { pv_power_w: garage } },
  };
  return s;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kw-history-device-'));
  store = createSqliteStore(join(dir, 'store.db'), { timezone: 'Europe/Brussels' });
  await store.migrate();
  await store.insert({
    deviceId: 'home-1',
    outboxId: null,
    floorSeq: null,
    readings: [0, 1, 2, 3, 4].map((i) => ({ snapshot: site(i), seq: null })),
  });
  ({ app } = await testApi(store));
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const q = (extra: string) =>
  `/api/v1/history/home-1?start=2026-11-20T11:00:00%2B01:00&end=2026-11-20T11:01:00%2B01:00&resolution=raw${extra}`;

describe('GET /api/v1/history/{id}?device=NAME', () => {
  it("returns that device's own readings, stale ones with their nulls", async () => {
    const res = await app.inject({ url: q('&device=garage'), headers: auth(TOKENS.home1) });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { device: string; points: Array<Record<string, unknown>> };
    expect(body.device).toBe('garage');
    expect(body.points).toEqual([
      { timestamp: '2026-11-20T11:00:00+01:00', type: 'sungrow', stale: false, pv_power_w: 1200 },
      { timestamp: '2026-11-20T11:00:01+01:00', type: 'sungrow', stale: false, pv_power_w: 1201 },
      { timestamp: '2026-11-20T11:00:02+01:00', type: 'sungrow', stale: false, pv_power_w: 1202 },
      { timestamp: '2026-11-20T11:00:03+01:00', type: 'sungrow', stale: true, pv_power_w: null },
      { timestamp: '2026-11-20T11:00:04+01:00', type: 'sungrow', stale: true, pv_power_w: null },
    ]);
    const roof = (await app.inject({ url: q('&device=roof'), headers: auth(TOKENS.home1) })).json() as {
      points: Array<Record<string, unknown>>;
    };
    expect(roof.points[4]).toEqual({
      timestamp: '2026-11-20T11:00:04+01:00',
      type: 'sungrow',
      stale: false,
      pv_power_w: 3004,
      battery_power_w: -250,
    });
  });

  it('the raw snapshots and the realtime answer carry the site readings too', async () => {
    const raw = (await app.inject({ url: q(''), headers: auth(TOKENS.home1) })).json() as {
      points: Snapshot[];
    };
    expect(raw.points[0]?.devices?.garage).toEqual({ type: 'sungrow', stale: false, fields: { pv_power_w: 1200 } });
    expect(raw.points[0]?.pv_power_w).toBe(4200);
    const rt = (await app.inject({ url: '/api/v1/realtime/home-1', headers: auth(TOKENS.home1) })).json() as Snapshot;
    expect(rt.devices?.garage?.stale).toBe(true);
    expect(rt.charge_state).toBeNull();
  });

  it('a device name the site does not have is an empty series; a non-raw resolution or a bad name is 400', async () => {
    const none = (await app.inject({ url: q('&device=attic'), headers: auth(TOKENS.home1) })).json() as {
      points: unknown[];
    };
    expect(none.points).toEqual([]);
    const agg = await app.inject({
      url: q('&device=roof').replace('resolution=raw', 'resolution=1min'),
      headers: auth(TOKENS.home1),
    });
    expect(agg.statusCode).toBe(400);
    expect(agg.json()).toMatchObject({ message: expect.stringMatching(/^device: .*resolution=raw/) });
    const bad = await app.inject({ url: q('&device=Roof!'), headers: auth(TOKENS.home1) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ message: expect.stringMatching(/device/) });
  });
});
