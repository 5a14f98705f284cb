import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketJson, presentBucket } from '../../../src/server/api/history.js';
import { ZoneClock } from '../../../src/server/api/time.js';
import type { Bucket } from '../../../src/server/store/types.js';
import { exportKwh, importKwh } from '../../helpers/snapshots.js';
import { auth, lastBefore, NOW, type Seeded, seededStore, TOKENS, testApi } from './setup.js';

let seeded: Seeded;
let app: FastifyInstance;

beforeAll(async () => {
  seeded = await seededStore();
  ({ app } = await testApi(seeded.store));
});

afterAll(async () => {
  await app?.close();
  await seeded?.cleanup();
});

interface Point {
  timestamp: string;
  import_kwh: number | null;
  export_kwh: number | null;
  import_t1_kwh: number | null;
  import_t2_kwh: number | null;
  pv_kwh: number | null;
  gas_m3: number | null;
  samples: number;
  [k: string]: unknown;
}
interface History {
  device_id: string;
  resolution: string;
  start: string;
  end: string;
  points: Point[];
}

async function history(query: string, token: string = TOKENS.home1) {
  const r = await app.inject({ url: `/api/v1/history/home-1?${query}`, headers: auth(token) });
  return { status: r.statusCode, body: r.json() as History & { error?: string; message?: string } };
}

/** Counter difference of `f` over [a, b): the last reading before b minus the last reading before a. */
function counterDiff(f: (s: (typeof seeded.snaps)[number]) => number | null, a: number, b: number): number {
  const before = lastBefore(seeded.snaps, a);
  const end = lastBefore(seeded.snaps, b);
  return (f(end) ?? Number.NaN) - (f(before) ?? Number.NaN);
}

describe('GET /api/v1/history', () => {
  it('daily: local days (the 23-hour DST day included), energy equal to the counter difference over the day', async () => {
    const { status, body } = await history('start=2026-03-28&end=2026-03-30&resolution=daily');
    expect(status).toBe(200);
    expect(body.device_id).toBe('home-1');
    expect(body.resolution).toBe('daily');
    expect(body.start).toBe('2026-03-28T00:00:00+01:00');
    expect(body.end).toBe('2026-03-30T00:00:00+02:00');
    expect(body.points.map((p) => p.timestamp)).toEqual(['2026-03-28T00:00:00+01:00', '2026-03-29T00:00:00+01:00']);

    // 2026-03-29 lasts 23 hours: 23:00Z on the 28th to 22:00Z on the 29th.
    const day29 = body.points[1]!;
    const a = Date.parse('2026-03-28T23:00:00Z');
    const b = Date.parse('2026-03-29T22:00:00Z');
    expect(day29.import_kwh).toBeCloseTo(counterDiff(importKwh, a, b), 6);
    expect(day29.export_kwh).toBeCloseTo(counterDiff(exportKwh, a, b), 6);
    expect(day29.import_t2_kwh).toBeCloseTo(
      counterDiff((s) => s.grid_import_t2_kwh, a, b),
      6,
    );
    expect(day29.gas_m3).toBeCloseTo(
      counterDiff((s) => s.gas_total_m3, a, b),
      6,
    );
    expect(day29.pv_kwh).toBeCloseTo(
      counterDiff((s) => s.pv_total_kwh, a, b),
      6,
    );
    expect(day29.samples).toBe((b - a) / 30_000);
    // A Sunday with PV: the home exports and imports something; never negative.
    expect(day29.import_kwh).toBeGreaterThan(0);
    expect(day29.pv_kwh).toBeGreaterThan(1);
  });

  it('15min buckets add up to the day', async () => {
    const day = await history('start=2026-03-29&end=2026-03-30&resolution=daily');
    const q = await history('start=2026-03-29&end=2026-03-30&resolution=15min');
    expect(q.status).toBe(200);
    expect(q.body.points).toHaveLength(23 * 4);
    expect(q.body.points[0]!.timestamp).toBe('2026-03-29T00:00:00+01:00');
    // 02:00 local does not exist that night: 01:45+01:00 is followed by 03:00+02:00.
    expect(q.body.points[7]!.timestamp).toBe('2026-03-29T01:45:00+01:00');
    expect(q.body.points[8]!.timestamp).toBe('2026-03-29T03:00:00+02:00');
    const sum = q.body.points.reduce((s, p) => s + (p.import_kwh ?? 0), 0);
    expect(sum).toBeCloseTo(day.body.points[0]!.import_kwh!, 5);
  });

  it('the default resolution is 15min; a date-time with offset is accepted (+ sent as %2B or as a space)', async () => {
    const a = await history(`start=${encodeURIComponent('2026-03-29T03:00:00+02:00')}&end=2026-03-29T02:00:00Z`);
    expect(a.status).toBe(200);
    expect(a.body.resolution).toBe('15min');
    expect(a.body.start).toBe('2026-03-29T03:00:00+02:00');
    expect(a.body.points.map((p) => p.timestamp)).toEqual([
      '2026-03-29T03:00:00+02:00',
      '2026-03-29T03:15:00+02:00',
      '2026-03-29T03:30:00+02:00',
      '2026-03-29T03:45:00+02:00',
    ]);
    const b = await history('start=2026-03-29T03:00:00+02:00&end=2026-03-29T02:00:00Z');
    expect(b.status).toBe(200);
    expect(b.body.points).toHaveLength(4);
  });

  it('raw: the snapshots themselves, times in local time', async () => {
    const { status, body } = await history('start=2026-03-30T09:00:00Z&end=2026-03-30T10:00:00Z&resolution=raw');
    expect(status).toBe(200);
    expect(body.points).toHaveLength(120);
    const first = body.points[0]!;
    const src = seeded.snaps.find((s) => s.timestamp === '2026-03-30T09:00:00.000Z')!;
    expect(first.timestamp).toBe('2026-03-30T11:00:00+02:00');
    expect(first.grid_power_w).toBe(src.grid_power_w);
    expect(first.grid_import_t1_kwh).toBe(src.grid_import_t1_kwh);
    expect(first.device_id).toBe('home-1');
  });

  it('hourly, weekly and monthly: local boundaries', async () => {
    const h = await history('start=2026-03-29&end=2026-03-30&resolution=hourly');
    expect(h.body.points).toHaveLength(23);
    const w = await history('start=2026-03-01&end=2026-04-01&resolution=weekly');
    // ISO weeks start on Monday: 23 March (the data starts on Saturday 28 March) and 30 March.
    expect(w.body.points.map((p) => p.timestamp)).toEqual(['2026-03-23T00:00:00+01:00', '2026-03-30T00:00:00+02:00']);
    const m = await history('start=2026-01-01&end=2027-01-01&resolution=monthly');
    expect(m.body.points.map((p) => p.timestamp)).toEqual(['2026-03-01T00:00:00+01:00']);
    const all = await history('start=2026-03-28&end=2026-03-31&resolution=daily');
    const total = all.body.points.reduce((s, p) => s + (p.import_kwh ?? 0), 0);
    expect(m.body.points[0]!.import_kwh).toBeCloseTo(total, 5);
  });

  it('caps each resolution and names the limit', async () => {
    const raw = await history('start=2026-03-30T08:00:00Z&end=2026-03-30T09:00:01Z&resolution=raw');
    expect(raw.status).toBe(400);
    expect(raw.body.error).toBe('bad_request');
    expect(raw.body.message).toMatch(/^end: a raw range is at most 1 h/);
    const ok = await history('start=2026-03-30T08:00:00Z&end=2026-03-30T09:00:00Z&resolution=raw');
    expect(ok.status).toBe(200);
    const min = await history('start=2026-03-01&end=2026-03-09&resolution=1min');
    expect(min.status).toBe(400);
    expect(min.body.message).toMatch(/at most 7 days/);
    const q = await history('start=2026-01-01&end=2026-04-05&resolution=15min');
    expect(q.status).toBe(400);
    expect(q.body.message).toMatch(/at most 93 days/);
    const h = await history('start=2025-01-01&end=2026-03-01&resolution=hourly');
    expect(h.status).toBe(400);
    expect(h.body.message).toMatch(/at most 366 days/);
    const d = await history('start=2016-01-01&end=2026-03-01&resolution=daily');
    expect(d.status).toBe(400);
    expect(d.body.message).toMatch(/at most 10 years/);
  });

  it('400 naming the parameter for bad input', async () => {
    const cases: Array<[string, RegExp]> = [
      ['start=yesterday&end=2026-03-30', /^start: must be an ISO 8601 date-time or YYYY-MM-DD$/],
      ['start=2026-03-28&end=2026-02-30', /^end: must be an ISO 8601 date-time or YYYY-MM-DD$/],
      ['start=2026-03-28T10:00:00&end=2026-03-30', /^start: .*needs an offset/],
      ['end=2026-03-30', /^start: is required$/],
      ['start=2026-03-28', /^end: is required$/],
      [
        'start=2026-03-28&end=2026-03-30&resolution=5min',
        /^resolution: must be one of raw, 1min, 15min, hourly, daily/,
      ],
      ['start=2026-03-30&end=2026-03-28', /^end: must be later than start$/],
    ];
    for (const [q, re] of cases) {
      const r = await history(q);
      expect(r.status, q).toBe(400);
      expect(r.body.error).toBe('bad_request');
      expect(r.body.message, q).toMatch(re);
    }
  });

  it('an empty range gives no points (not zeros)', async () => {
    const r = await history('start=2026-02-01&end=2026-02-02&resolution=hourly');
    expect(r.status).toBe(200);
    expect(r.body.points).toEqual([]);
  });

  it('the direct JSON writer of a bucket equals JSON.stringify of the bucket object', async () => {
    const clock = new ZoneClock('Europe/Brussels');
    const real = await seeded.store.buckets(
      'home-1',
      '15min',
      new Date('2026-03-29T00:00:00Z'),
      new Date('2026-03-29T06:00:00Z'),
    );
    expect(real.length).toBe(24);
    const edge: Bucket = {
      ...real[0]!,
      start: new Date('2026-10-25T01:00:00Z'),
      import_kwh: 0.1 + 0.2,
      export_kwh: null,
      pv_kwh: 1e-7,
      avg_grid_power_w: -0.004,
      max_grid_power_w: -1234.5678,
      avg_battery_soc_pct: null,
      gas_m3: 12345678.1234567,
    };
    for (const b of [...real, edge]) {
      // The same text (so -0, which JSON writes as 0, compares equal too).
      expect(bucketJson(b, clock)).toBe(JSON.stringify(presentBucket(b, clock)));
    }
    expect(JSON.parse(bucketJson(edge, clock))).toMatchObject({
      timestamp: '2026-10-25T02:00:00+01:00',
      import_kwh: 0.3,
      export_kwh: null,
      pv_kwh: 0,
      max_grid_power_w: -1234.57,
    });
  });

  it('the realtime answer is the latest snapshot with its age', async () => {
    const r = await app.inject({ url: '/api/v1/realtime/home-1', headers: auth(TOKENS.home1) });
    expect(r.statusCode).toBe(200);
    const body = r.json() as Record<string, unknown>;
    const last = seeded.snaps[seeded.snaps.length - 1]!;
    expect(last.timestamp).toBe('2026-03-30T10:07:00.000Z');
    expect(body.timestamp).toBe('2026-03-30T12:07:00+02:00');
    expect(body.age_s).toBe((NOW - Date.parse(last.timestamp)) / 1000);
    expect(body.grid_power_w).toBe(last.grid_power_w);
    expect(body.grid_monthly_peak_w).toBe(last.grid_monthly_peak_w);
    expect(body.load_power_w).toBe(last.load_power_w);
    expect(body.stale_sources).toEqual([]);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
  });
});
