/**
 * The price feed against a fake feed on loopback serving stored answers (fake-feed.ts), into a real
 * SQLite store: what it fetches, what it stores, what it never fetches again, an outage, a refused
 * token, ENTSO-E's "not published yet", and the scheduled retries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/lib/log.js';
import { PriceFeed, type PriceFeedOptions } from '../../../src/server/prices/feed.js';
import { createSqliteStore } from '../../../src/server/store/sqlite.js';
import type { Store } from '../../../src/server/store/types.js';
import { type FakeFeed, fixture, startFakeFeed } from './fake-feed.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-feed-'));
let fake: FakeFeed;
let store: Store;
let n = 0;

beforeAll(async () => {
  fake = await startFakeFeed();
});
afterAll(async () => {
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await store?.close();
});

async function freshStore(): Promise<Store> {
  store = createSqliteStore(join(dir, `s${++n}.db`), { timezone: 'Europe/Brussels', logger: silentLogger() });
  await store.migrate();
  return store;
}

function feed(over: Partial<PriceFeedOptions> & { now: () => number }): PriceFeed {
  return new PriceFeed({
    store,
    source: 'energy-charts',
    zone: 'BE',
    baseUrl: fake.url,
    backfillDays: 0,
    log: silentLogger(),
    requestTimeoutMs: 5_000,
    ...over,
  });
}

const at = (iso: string) => () => Date.parse(iso);
const SPRING = fixture('energy-charts-be-2026-03-29-constructed.json');
const EMPTY = JSON.stringify({ license_info: 'x', unix_seconds: [], price: [], unit: 'EUR / MWh', deprecated: false });

describe('PriceFeed (Energy-Charts)', () => {
  it('fetches the missing day once, stores its 92 quarters, and never fetches it again', async () => {
    await freshStore();
    fake.requests.length = 0;
    fake.answer = (u) => ({ status: 200, body: u.searchParams.get('start') === '2026-03-29' ? SPRING : EMPTY });
    // 10:00 on the DST day, before publication: only today is wanted.
    const stored: number[] = [];
    const f = feed({ now: at('2026-03-29T10:00:00+02:00'), onStored: (res) => void stored.push(res.stored) });
    const r = await f.refresh();
    expect(r).toEqual({ fetched: ['2026-03-29'], stored: 92, missing: [], error: null });
    // The server's price publisher hears of new prices (once: nothing new after this).
    expect(stored).toEqual([92]);
    expect(fake.requests.map((u) => `${u.pathname}?${u.searchParams}`)).toEqual([
      '/price?bzn=BE&start=2026-03-29&end=2026-03-29',
    ]);
    const rows = await store.dayAheadPrices('BE', new Date('2026-03-28T23:00:00Z'), new Date('2026-03-29T22:00:00Z'));
    expect(rows).toHaveLength(92);
    expect(rows[0]).toEqual({
      start: new Date('2026-03-28T23:00:00Z'),
      end: new Date('2026-03-28T23:15:00Z'),
      eurPerMwh: 102.81,
      source: 'energy-charts',
    });
    // Stored whole: a second pass (a restart, the next day's run) asks nothing.
    expect(await f.refresh()).toEqual({ fetched: [], stored: 0, missing: [], error: null });
    expect(await feed({ now: at('2026-03-29T12:59:00+02:00') }).refresh()).toMatchObject({ fetched: [], missing: [] });
    expect(fake.requests).toHaveLength(1);
    expect(stored).toEqual([92]);
  });

  it('after publication it wants tomorrow; an outage stores nothing for it (costs stay unpriced) and is retried', async () => {
    await freshStore();
    fake.requests.length = 0;
    fake.answer = () => ({ status: 503, body: '{"detail":"maintenance"}' });
    const f = feed({ now: at('2026-03-29T14:00:00+02:00') });
    const r = await f.refresh();
    expect(r.fetched).toEqual([]);
    expect(r.stored).toBe(0);
    expect(r.missing).toEqual(['2026-03-29', '2026-03-30']);
    expect(r.error).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/price\?bzn=BE&start=2026-03-29&end=2026-03-30: HTTP 503$/);
    expect(f.counters.failures).toBe(1);
    expect(
      await store.dayAheadPrices('BE', new Date('2026-03-28T00:00:00Z'), new Date('2026-04-01T00:00:00Z')),
    ).toEqual([]);
    // The feed is back, with today but not tomorrow yet (not published): today stored, tomorrow still missing.
    fake.answer = (u) => ({ status: 200, body: u.searchParams.get('start') === '2026-03-29' ? SPRING : EMPTY });
    const again = await f.refresh();
    expect(again).toMatchObject({ fetched: ['2026-03-29', '2026-03-30'], stored: 92, missing: ['2026-03-30'] });
    // Only the missing day is asked for next.
    await f.refresh();
    expect(fake.requests[fake.requests.length - 1]!.searchParams.get('start')).toBe('2026-03-30');
  });

  it('started, it retries a missing day on its own (backoff) until the feed answers', async () => {
    await freshStore();
    fake.requests.length = 0;
    let calls = 0;
    fake.answer = () => (++calls <= 2 ? { status: 502, body: 'bad gateway' } : { status: 200, body: SPRING });
    const f = feed({ now: at('2026-03-29T10:00:00+02:00'), retryMinMs: 20, retryMaxMs: 40 });
    f.start();
    try {
      for (let i = 0; i < 200 && (await store.dayAheadPrices('BE', new Date(0), new Date(2e12))).length < 92; i++)
        await new Promise((r) => setTimeout(r, 25));
    } finally {
      await f.stop();
    }
    expect(await store.dayAheadPrices('BE', new Date(0), new Date(2e12))).toHaveLength(92);
    expect(calls).toBe(3);
    expect(f.counters.failures).toBe(2);
  });
});

describe('PriceFeed (ENTSO-E)', () => {
  it('asks A44 for the zone in UTC minutes with the token; stores the day, the missing Point carried forward', async () => {
    await freshStore();
    fake.requests.length = 0;
    fake.answer = (u) =>
      u.searchParams.get('securityToken') !== 'test-token'
        ? { status: 401, body: '<html>Unauthorized</html>', type: 'text/html' }
        : { status: 200, body: fixture('entsoe-be-2026-03-29-constructed.xml') };
    const f = feed({ source: 'entsoe', token: 'test-token', now: at('2026-03-29T10:00:00+02:00') });
    expect(await f.refresh()).toEqual({ fetched: ['2026-03-29'], stored: 92, missing: [], error: null });
    const q = Object.fromEntries(fake.requests[0]!.searchParams);
    expect(fake.requests[0]!.pathname).toBe('/api');
    expect(q).toMatchObject({
      documentType: 'A44',
      in_Domain: '10YBE----------2',
      out_Domain: '10YBE----------2',
      periodStart: '202603282300',
      periodEnd: '202603292200',
    });
    const rows = await store.dayAheadPrices('BE', new Date('2026-03-28T23:00:00Z'), new Date('2026-03-29T22:00:00Z'));
    expect(rows.map((r) => r.source)).toEqual(Array(92).fill('entsoe'));
    expect(rows[8]!.eurPerMwh).toBe(rows[7]!.eurPerMwh);
  });

  it('a refused token is an error naming prices.token, without the token; "no matching data" is no error', async () => {
    await freshStore();
    fake.answer = (u) =>
      u.searchParams.get('securityToken') === 'secret-wrong'
        ? { status: 401, body: 'Unauthorized', type: 'text/plain' }
        : { status: 400, body: fixture('entsoe-acknowledgement-no-data.xml') };
    const wrong = await feed({
      source: 'entsoe',
      token: 'secret-wrong',
      now: at('2026-03-29T10:00:00+02:00'),
    }).refresh();
    expect(wrong.error).toMatch(/securityToken=…: HTTP 401: the token was refused \(prices\.token\)/);
    expect(wrong.error).not.toContain('secret-wrong');
    const early = await feed({ source: 'entsoe', token: 'ok', now: at('2026-03-29T10:00:00+02:00') }).refresh();
    expect(early).toEqual({ fetched: ['2026-03-29'], stored: 0, missing: ['2026-03-29'], error: null });
    expect(() => feed({ source: 'entsoe', now: at('2026-03-29T10:00:00+02:00') })).toThrow(/prices\.token/);
  });
});
