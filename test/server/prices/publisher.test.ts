/**
 * The price publisher (src/server/prices/publisher.ts) over a real SQLite store: what each home is
 * sent (today's and tomorrow's stored prices of the zone), which homes, and how often: once per home
 * per new message, again only to a home whose publish failed or when the broker lost its session,
 * never for a window that only moved on after midnight.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { emptySnapshot } from '../../../src/core/snapshot.js';
import type { PricesMessage } from '../../../src/core/wire-prices.js';
import { silentLogger } from '../../../src/lib/log.js';
import { parseEnergyCharts } from '../../../src/server/prices/energy-charts.js';
import { PricePublisher } from '../../../src/server/prices/publisher.js';
import { createSqliteStore } from '../../../src/server/store/sqlite.js';
import type { Store } from '../../../src/server/store/types.js';
import { fixture } from './fake-feed.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-price-pub-'));
let store: Store | null = null;
afterEach(async () => {
  await store?.close();
  store = null;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The 23-hour DST day (92 quarters, a stored feed answer) and the days around it, built. */
const MAR29 = parseEnergyCharts(fixture('energy-charts-be-2026-03-29-constructed.json'));
const shifted = (from: number, n: number, eur: (i: number) => number) =>
  Array.from({ length: n }, (_, i) => ({
    start: new Date(from + i * 900_000),
    end: new Date(from + (i + 1) * 900_000),
    eurPerMwh: eur(i),
    source: 'energy-charts',
  }));
const MAR28 = shifted(Date.parse('2026-03-27T23:00:00Z'), 96, (i) => 50 + i);
const MAR30 = shifted(Date.parse('2026-03-29T22:00:00Z'), 96, (i) => 60 + i / 4);
const MAR31 = shifted(Date.parse('2026-03-30T22:00:00Z'), 96, (i) => 70 - i / 4);

async function freshStore(): Promise<Store> {
  const s = createSqliteStore(join(dir, `s${Date.now()}-${Math.random()}.db`), {
    timezone: 'Europe/Brussels',
    logger: silentLogger(),
  });
  await s.migrate();
  store = s;
  await s.putDayAheadPrices('BE', MAR28);
  await s.putDayAheadPrices(
    'BE',
    MAR29.map((p) => ({ start: new Date(p.start), end: new Date(p.end), eurPerMwh: p.eurPerMwh, source: 'x' })),
  );
  return s;
}

function setup(s: Store, now: { t: number }) {
  const sent: Array<[string, PricesMessage]> = [];
  const failing = new Set<string>();
  const pub = new PricePublisher({
    store: s,
    zone: 'BE',
    configured: ['home-1', 'home-2', 'not a topic/level'],
    publish: async (id, m) => {
      if (failing.has(id)) return false;
      sent.push([id, m]);
      return true;
    },
    log: silentLogger(),
    now: () => now.t,
    concurrency: 2,
  });
  return { pub, sent, failing };
}

const homes = (sent: Array<[string, PricesMessage]>) => sent.map(([h]) => h).sort();

describe('PricePublisher', () => {
  it('sends each known home today’s and tomorrow’s prices once per new message', async () => {
    const s = await freshStore();
    // 2026-03-29 14:30 in Brussels (CEST): tomorrow is not stored yet, so today's 92 quarters.
    const now = { t: Date.parse('2026-03-29T12:30:00Z') };
    const { pub, sent } = setup(s, now);

    await pub.connected(true); // the first connection of the process: every home, whatever the session
    expect(homes(sent)).toEqual(['home-1', 'home-2']);
    const m = sent[0]![1];
    expect(sent[1]![1]).toBe(m);
    expect(m).toMatchObject({ version: 1, zone: 'BE', unit: 'EUR/MWh', issued_at: '2026-03-29T12:30:00.000Z' });
    expect(m.prices).toHaveLength(92);
    expect(m.prices[0]).toEqual({ start: '2026-03-28T23:00:00.000Z', minutes: 15, price: MAR29[0]!.eurPerMwh });
    expect(m.prices.at(-1)?.start).toBe('2026-03-29T21:45:00.000Z');

    // A home that shows up (its status) gets it once; a known one does not again.
    pub.homeSeen('home-3');
    pub.homeSeen('home-1');
    pub.homeSeen('home-3');
    pub.homeSeen('no/such');
    await pub.update();
    expect(homes(sent)).toEqual(['home-1', 'home-2', 'home-3']);

    // Nothing new stored, a reconnect that kept the session: nothing sent.
    await pub.update();
    await pub.connected(true);
    expect(sent).toHaveLength(3);

    // The broker lost its session (and so what it retained): each home again, once.
    await pub.connected(false);
    expect(homes(sent.slice(3))).toEqual(['home-1', 'home-2', 'home-3']);
    expect(sent[3]![1]).toBe(m);

    // Tomorrow's prices stored (the feed, after 13:05): a new message of 92 + 96 quarters, to each home.
    await s.putDayAheadPrices('BE', MAR30);
    now.t += 60_000;
    await pub.update();
    expect(homes(sent.slice(6))).toEqual(['home-1', 'home-2', 'home-3']);
    const m2 = sent[6]![1];
    expect(m2.prices).toHaveLength(92 + 96);
    expect(m2.issued_at).toBe('2026-03-29T12:31:00.000Z');
    expect(m2.prices.at(-1)).toEqual({ start: '2026-03-30T21:45:00.000Z', minutes: 15, price: 60 + 95 / 4 });

    // After midnight the window moves on (yesterday's prices drop out, nothing new): no new message.
    now.t = Date.parse('2026-03-30T08:00:00Z');
    await pub.update();
    await pub.connected(true);
    expect(sent).toHaveLength(9);
    expect(pub.message).toBe(m2);

    // The next publication: that day and the next, to each home once.
    await s.putDayAheadPrices('BE', MAR31);
    await pub.update();
    expect(homes(sent.slice(9))).toEqual(['home-1', 'home-2', 'home-3']);
    const m3 = sent[9]![1];
    expect(m3.prices).toHaveLength(96 + 96);
    expect(m3.prices[0]!.start).toBe('2026-03-29T22:00:00.000Z');
    expect(pub.counters).toEqual({ published: 12, failed: 0 });
    await pub.stop();
  });

  it('sends again only what failed, at the next connection; nothing before a price is stored', async () => {
    const s = createSqliteStore(join(dir, 'empty.db'), { timezone: 'Europe/Brussels', logger: silentLogger() });
    await s.migrate();
    store = s;
    const now = { t: Date.parse('2026-03-29T12:30:00Z') };
    const { pub, sent, failing } = setup(s, now);
    await pub.connected(false);
    pub.homeSeen('home-3');
    expect(sent).toEqual([]);
    expect(pub.message).toBeNull();

    await s.putDayAheadPrices(
      'BE',
      MAR29.map((p) => ({ start: new Date(p.start), end: new Date(p.end), eurPerMwh: p.eurPerMwh, source: 'x' })),
    );
    failing.add('home-2');
    await pub.update();
    expect(homes(sent)).toEqual(['home-1', 'home-3']);
    expect(pub.counters).toEqual({ published: 2, failed: 1 });

    failing.clear();
    await pub.connected(true);
    expect(homes(sent.slice(2))).toEqual(['home-2']);
    // A home the store knows (it sent a reading) is a home too.
    await s.insert({
      deviceId: 'home-9',
      outboxId: null,
      floorSeq: null,
      readings: [{ snapshot: emptySnapshot('home-9', '2026-03-29T12:00:00Z'), seq: null }],
    });
    await pub.connected(true);
    expect(homes(sent.slice(3))).toEqual(['home-9']);
    await pub.update();
    expect(sent).toHaveLength(4);
    await pub.stop();
    // Stopped: nothing more.
    pub.homeSeen('home-4');
    await pub.connected(false);
    expect(sent).toHaveLength(4);
  });
});
