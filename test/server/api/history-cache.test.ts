/**
 * The history cache: answers are reused until a committed snapshot (an ingest event) can change them,
 * ranges a late reading cannot touch stay cached, and the TTL bounds staleness from writes this
 * process does not hear about (here: store.insert without an event).
 */
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../src/core/snapshot.js';
import { auth, NOW, type Seeded, seededStore, type TestEvents, TOKENS, testApi } from './setup.js';

let seeded: Seeded;
let app: FastifyInstance;
let events: TestEvents;
let now = NOW;

beforeAll(async () => {
  seeded = await seededStore();
  ({ app, events } = await testApi(seeded.store, { now: () => now }));
});

afterAll(async () => {
  await app?.close();
  await seeded?.cleanup();
});

async function days(start: string, end: string): Promise<Array<{ timestamp: string; samples: number }>> {
  const r = await app.inject({
    url: `/api/v1/history/home-1?start=${start}&end=${end}&resolution=daily`,
    headers: auth(TOKENS.home1),
  });
  expect(r.statusCode).toBe(200);
  expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
  return (r.json() as { points: Array<{ timestamp: string; samples: number }> }).points;
}

/** A reading of home-1 at `iso`, written to the store directly (as another process would). */
async function late(iso: string): Promise<Snapshot> {
  const s: Snapshot = { ...seeded.snaps[0]!, timestamp: iso };
  await seeded.store.insert({
    deviceId: 'home-1',
    outboxId: null,
    floorSeq: null,
    readings: [{ snapshot: s, seq: null }],
  });
  return s;
}

describe('history cache', () => {
  it('a committed snapshot refreshes the ranges it can change, and only those; the TTL bounds the rest', async () => {
    // Two past days without data, cached as empty.
    expect(await days('2026-03-27', '2026-03-28')).toEqual([]);
    expect(await days('2026-03-26', '2026-03-27')).toEqual([]);

    // Readings land in both days without an event: the cached answers stand.
    const a = await late('2026-03-27T12:00:00.000Z');
    await late('2026-03-26T12:00:00.000Z');
    expect(await days('2026-03-27', '2026-03-28')).toEqual([]);
    expect(await days('2026-03-26', '2026-03-27')).toEqual([]);

    // The ingest event for the reading on the 27th: that day is read again; the 26th ends more than a
    // day before it and cannot have changed, so it stays cached.
    events.emit('snapshot', a);
    const day27 = await days('2026-03-27', '2026-03-28');
    expect(day27).toHaveLength(1);
    expect(day27[0]).toMatchObject({ timestamp: '2026-03-27T00:00:00+01:00', samples: 1 });
    expect(await days('2026-03-26', '2026-03-27')).toEqual([]);

    // After the TTL the 26th is read again too.
    now += 61_000;
    const day26 = await days('2026-03-26', '2026-03-27');
    expect(day26).toHaveLength(1);
    expect(day26[0]).toMatchObject({ timestamp: '2026-03-26T00:00:00+01:00', samples: 1 });
  });

  it('gzip when the client accepts it: the same JSON', async () => {
    const url = '/api/v1/history/home-1?start=2026-03-29&end=2026-03-30&resolution=15min';
    const plain = await app.inject({ url, headers: auth(TOKENS.home1) });
    expect(plain.headers['content-encoding']).toBeUndefined();
    const gz = await app.inject({ url, headers: { ...auth(TOKENS.home1), 'accept-encoding': 'gzip, deflate, br' } });
    expect(gz.statusCode).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('accept-encoding');
    expect(gz.rawPayload.length).toBeLessThan(plain.rawPayload.length / 4);
    expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(plain.body);
    expect((JSON.parse(plain.body) as { points: unknown[] }).points).toHaveLength(92);
    // Kept in the cache: compressed once with the smaller level (gzip's XFL byte: 0, neither fastest nor best).
    expect(gz.rawPayload[8]).toBe(0);
  });

  it('turned off with ttlMs 0: every request reads the store, and its gzip is the fast one', async () => {
    const { app: plain } = await testApi(seeded.store, { historyCache: { ttlMs: 0 } });
    try {
      const get = async () =>
        (
          await plain.inject({
            url: '/api/v1/history/home-1?start=2026-03-25&end=2026-03-26&resolution=daily',
            headers: auth(TOKENS.home1),
          })
        ).json() as { points: unknown[] };
      expect((await get()).points).toHaveLength(0);
      await late('2026-03-25T12:00:00.000Z');
      expect((await get()).points).toHaveLength(1);
      // Sent once: compressed with the fast level (XFL 4, "fastest"), still the same JSON.
      const url = '/api/v1/history/home-1?start=2026-03-29&end=2026-03-30&resolution=15min';
      const body = (await plain.inject({ url, headers: auth(TOKENS.home1) })).body;
      const gz = await plain.inject({ url, headers: { ...auth(TOKENS.home1), 'accept-encoding': 'gzip' } });
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gz.rawPayload[8]).toBe(4);
      expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(body);
    } finally {
      await plain.close();
    }
  });
});
