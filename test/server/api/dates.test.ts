/**
 * Every date, time and period query parameter is checked: a malformed or out-of-range value answers
 * 400 naming the parameter, never 200 with a nonsense answer (year 0000, offset +99:99, 30 February).
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Seeded, seededStore, TOKENS, testApi } from './setup.js';

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

async function get(url: string) {
  return app.inject({ url, headers: auth(TOKENS.home1) });
}

function history(start: string, end: string, resolution = 'monthly'): string {
  const q = new URLSearchParams({ start, end, resolution });
  return `/api/v1/history/home-1?${q}`;
}

describe('history start/end', () => {
  const bad: Array<[string, string, string]> = [
    ['start', '0000-01-01', '0001-01-01'],
    ['start', '1903-01-01', '1904-01-01'],
    ['start', '0000-01-01T00:00:00Z', '2026-01-01'],
    ['end', '2026-01-01', '10000-01-01'],
    ['end', '9999-06-01', '9999-12-31T23:59:59+00:00'.replace('+00:00', '-01:00')],
    ['start', '2026-02-30', '2026-03-01'],
    ['start', '2026-13-01', '2027-01-01'],
    ['start', '2026-03-01T00:00:00+99:99', '2026-03-02T00:00:00Z'],
    ['start', '2026-03-01T00:00:00+14:01', '2026-03-02T00:00:00Z'],
    ['end', '2026-03-01T00:00:00Z', '2026-03-02T00:00:00-15:00'],
    ['start', '2026-03-01T00:00:00+02:60', '2026-03-02T00:00:00Z'],
    ['start', '2026-03-01T25:00:00Z', '2026-03-02T00:00:00Z'],
    ['start', '2026-03-01T23:60:00Z', '2026-03-02T00:00:00Z'],
    ['start', '2026-03-01T23:00:61Z', '2026-03-02T00:00:00Z'],
    ['start', '2026-02-29T00:00:00Z', '2026-03-02T00:00:00Z'],
    ['start', 'yesterday', '2026-03-02T00:00:00Z'],
    ['end', '2026-03-01', '2026-03-02T00:00'],
  ];
  for (const [key, start, end] of bad) {
    it(`${start} … ${end} answers 400 naming ${key}`, async () => {
      const r = await get(history(start, end, 'daily'));
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().message).toMatch(new RegExp(`^${key}: `));
    });
  }

  it('the limits themselves and ordinary values still answer 200', async () => {
    for (const [start, end] of [
      ['1970-01-01T00:00:00Z', '1975-01-01'],
      ['9990-01-01', '9999-12-31'],
      ['2026-03-29', '2026-03-30'],
      ['2026-03-29T00:00:00+14:00', '2026-03-30T00:00:00-14:00'],
      ['2026-03-29T00:00:00+0100', '2026-03-30T00:00:00Z'],
      ['2024-02-29', '2024-03-01'],
    ] as const) {
      const r = await get(history(start, end, 'daily'));
      expect(r.statusCode, `${start} ${end}: ${r.body}`).toBe(200);
    }
  });

  it('an answer never shows a year before 1970 or an offset beyond ±14:00', async () => {
    const r = await get(history('1970-01-01', '1971-01-01', 'monthly'));
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json() as { start: string; end: string };
    expect(body.start).toBe('1970-01-01T00:00:00+01:00');
  });
});

describe('period and month', () => {
  for (const route of ['self-sufficiency', 'cost-estimate']) {
    for (const period of ['0000', '0000-01', '0000-01-01', '1969', '1969-12-31', '10000', '2026-02-30', '2026-00']) {
      it(`${route}?period=${period} answers 400 naming period`, async () => {
        const r = await get(`/api/v1/${route}/home-1?period=${period}`);
        expect(r.statusCode, r.body).toBe(400);
        expect(r.json().message).toMatch(/^period: /);
      });
    }
    it(`${route}?period=9999 and 1970 still answer`, async () => {
      for (const period of ['1970', '9999-12', '2026-03-29']) {
        const r = await get(`/api/v1/${route}/home-1?period=${period}`);
        expect(r.statusCode, `${period}: ${r.body}`).toBe(200);
      }
    });
  }

  for (const month of ['0000-01', '1969-12', '10000-01', '2026-13', '2026-1']) {
    it(`capacity-tariff?month=${month} answers 400 naming month`, async () => {
      const r = await get(`/api/v1/capacity-tariff/home-1?month=${month}`);
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().message).toMatch(/^month: /);
    });
  }
  it('capacity-tariff?month=1970-01 and 2026-03 still answer', async () => {
    for (const month of ['1970-01', '2026-03']) {
      const r = await get(`/api/v1/capacity-tariff/home-1?month=${month}`);
      expect(r.statusCode, `${month}: ${r.body}`).toBe(200);
    }
  });
});
