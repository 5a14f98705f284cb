/**
 * GET /api/v1/prices and the cost of a dynamic contract from the price feed's stored prices: the
 * feed fetches stored ENTSO-E answers (test/fixtures/prices) from a fake on loopback into the API
 * tests' real SQLite store (home-1's data spans the 23-hour day 2026-03-29).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importKwh } from '../../../src/core/tariff/bucket.js';
import { silentLogger } from '../../../src/lib/log.js';
import { parseEntsoe } from '../../../src/server/prices/entsoe.js';
import { PriceFeed } from '../../../src/server/prices/feed.js';
import { type FakeFeed, fixture, startFakeFeed } from '../prices/fake-feed.js';
import { auth, type Seeded, seededStore, TOKENS, testApi, testConfig } from './setup.js';

const device = (tariffs: string) => ({ tariffs, country: 'be', day_hours: '7-22', capacity_alert_lead_s: 300 });
const tariff = (resolution: string) => `periods:
  - valid_from: '2026-01-01'
    vat_pct: 6
    electricity:
      import: { dynamic: { multiplier: 1.1, adder_eur_per_kwh: 0.012, resolution: ${resolution} } }
      network_eur_per_kwh: 0.05
      levies_eur_per_kwh: 0.02
`;

const SPRING = fixture('entsoe-be-2026-03-29-constructed.xml');
const AUTUMN = fixture('entsoe-be-2025-10-26-constructed.xml');
/** The day's spot prices as the feed's document gives them, €/kWh. */
const spot = parseEntsoe(SPRING).map((p) => p.eurPerMwh / 1000);
const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

let seeded: Seeded;
let fake: FakeFeed;
let app: FastifyInstance;

beforeAll(async () => {
  seeded = await seededStore();
  fake = await startFakeFeed();
  fake.answer = (u) => {
    const start = u.searchParams.get('periodStart');
    if (start === '202603282300') return { status: 200, body: SPRING };
    if (start === '202510252200') return { status: 200, body: AUTUMN };
    return { status: 200, body: fixture('entsoe-acknowledgement-no-data.xml') };
  };
  for (const now of ['2026-03-29T10:00:00+02:00', '2025-10-26T10:00:00+01:00']) {
    const feed = new PriceFeed({
      store: seeded.store,
      source: 'entsoe',
      token: 'test-token',
      zone: 'BE',
      baseUrl: fake.url,
      backfillDays: 0,
      log: silentLogger(),
      now: () => Date.parse(now),
    });
    expect((await feed.refresh()).missing).toEqual([]);
  }
  writeFileSync(join(seeded.dir, 'quarter.yaml'), tariff('quarter'));
  writeFileSync(join(seeded.dir, 'hour.yaml'), tariff('hour'));
  const config = testConfig({ devices: { 'home-1': device('quarter.yaml'), 'home-2': device('hour.yaml') } });
  ({ app } = await testApi(seeded.store, { config, configDir: seeded.dir }));
});

afterAll(async () => {
  await app?.close();
  await fake?.stop();
  await seeded?.cleanup();
});

interface Prices {
  device_id: string;
  date: string;
  zone: string;
  resolution_minutes: number;
  points: Array<{
    start: string;
    end: string;
    spot_eur_per_kwh: number | null;
    energy_eur_per_kwh: number | null;
    all_in_eur_per_kwh: number | null;
  }>;
}

async function get<T>(url: string, token: string = TOKENS.home1): Promise<{ status: number; body: T }> {
  const r = await app.inject({ url, headers: auth(token) });
  return { status: r.statusCode, body: r.json() as T };
}

describe('GET /api/v1/prices/{device_id}', () => {
  it('the 23-hour day: 92 quarters with local offsets, spot from the feed, the contract price, all-in with VAT', async () => {
    const { status, body } = await get<Prices>('/api/v1/prices/home-1?date=2026-03-29');
    expect(status).toBe(200);
    expect(body).toMatchObject({ device_id: 'home-1', date: '2026-03-29', zone: 'BE', resolution_minutes: 15 });
    expect(body.points).toHaveLength(92);
    expect(body.points[0]).toMatchObject({ start: '2026-03-29T00:00:00+01:00', end: '2026-03-29T00:15:00+01:00' });
    expect(body.points[7]!.end).toBe('2026-03-29T03:00:00+02:00');
    expect(body.points[8]!.start).toBe('2026-03-29T03:00:00+02:00');
    expect(body.points[91]!.end).toBe('2026-03-30T00:00:00+02:00');
    body.points.forEach((p, i) => {
      const energy = 1.1 * spot[i]! + 0.012;
      expect(p.spot_eur_per_kwh).toBe(r6(spot[i]!));
      expect(p.energy_eur_per_kwh).toBe(r6(energy));
      expect(p.all_in_eur_per_kwh).toBe(r6((energy + 0.05 + 0.02) * 1.06));
    });
  });

  it('a day not published yet: 96 quarters, every price null (never 0)', async () => {
    const { body } = await get<Prices>('/api/v1/prices/home-1?date=2026-03-30');
    expect(body.points).toHaveLength(96);
    for (const p of body.points) {
      expect(p).toMatchObject({ spot_eur_per_kwh: null, energy_eur_per_kwh: null, all_in_eur_per_kwh: null });
    }
  });

  it('the 25-hour day: 100 quarters; before the contract the spot is known, the contract prices are not', async () => {
    const { body } = await get<Prices>('/api/v1/prices/home-1?date=2025-10-26');
    expect(body.points).toHaveLength(100);
    expect(body.points[8]!.start).toBe('2025-10-26T02:00:00+02:00');
    expect(body.points[12]!.start).toBe('2025-10-26T02:00:00+01:00');
    const autumn = parseEntsoe(AUTUMN);
    body.points.forEach((p, i) => {
      expect(p.spot_eur_per_kwh).toBe(r6(autumn[i]!.eurPerMwh / 1000));
      expect(p.energy_eur_per_kwh).toBeNull();
      expect(p.all_in_eur_per_kwh).toBeNull();
    });
  });

  it('a contract on the hourly index: each quarter the mean of its hour', async () => {
    const { body } = await get<Prices>('/api/v1/prices/home-2?date=2026-03-29', TOKENS.home2);
    expect(body.points).toHaveLength(92);
    body.points.forEach((p, i) => {
      const h = i - (i % 4);
      const mean = (spot[h]! + spot[h + 1]! + spot[h + 2]! + spot[h + 3]!) / 4;
      expect(p.spot_eur_per_kwh).toBe(r6(spot[i]!));
      expect(p.energy_eur_per_kwh).toBe(r6(1.1 * mean + 0.012));
    });
  });

  it('same auth as the other per-device routes; a bad date is a 400 naming date', async () => {
    expect((await app.inject({ url: '/api/v1/prices/home-1?date=2026-03-29' })).statusCode).toBe(401);
    expect((await get('/api/v1/prices/home-1?date=2026-03-29', TOKENS.home2)).status).toBe(404);
    expect((await get('/api/v1/prices/home-1?date=2026-03-29', TOKENS.admin)).status).toBe(200);
    for (const bad of ['2026-02-30', '29-03-2026', 'today', '0000-01-01']) {
      const r = await get<{ error: string; message: string }>(`/api/v1/prices/home-1?date=${bad}`);
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/^date: /);
    }
  });
});

describe('GET /api/v1/cost-estimate with a dynamic contract', () => {
  interface Cost {
    cost_eur: number | null;
    breakdown: Array<{ label: string; quantity: number; amount_eur: number | null }>;
  }

  it('prices each quarter at multiplier × the stored day-ahead price + adder', async () => {
    const { body } = await get<Cost>('/api/v1/cost-estimate/home-1?period=2026-03-29');
    const buckets = await seeded.store.buckets(
      'home-1',
      '15min',
      new Date('2026-03-28T23:00:00Z'),
      new Date('2026-03-29T22:00:00Z'),
    );
    expect(buckets).toHaveLength(92);
    let kwh = 0;
    let amount = 0;
    for (const b of buckets) {
      const i = (b.start.getTime() - Date.parse('2026-03-28T23:00:00Z')) / 900_000;
      const imp = importKwh(b) ?? 0;
      kwh += imp;
      amount += imp * (1.1 * spot[i]! + 0.012);
    }
    const line = body.breakdown.find((l) => /^Electricity import/.test(l.label))!;
    expect(line.quantity).toBeCloseTo(kwh, 3);
    expect(line.amount_eur).toBeCloseTo(amount, 2);
    expect(body.cost_eur).not.toBeNull();
  });

  it('quarters without a stored price (not published, the feed down) leave the cost unpriced, never at 0', async () => {
    const { body } = await get<Cost>('/api/v1/cost-estimate/home-1?period=today');
    expect(body.cost_eur).toBeNull();
    const unpriced = body.breakdown.find((l) => /^Electricity import/.test(l.label) && l.amount_eur === null);
    expect(unpriced?.quantity).toBeGreaterThan(0);
  });
});
