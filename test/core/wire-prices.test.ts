/**
 * The `prices` message (core/wire-prices.ts): built from the stored prices of a real-shaped feed
 * answer (Brussels' 23-hour DST day), decoded back, turned into the tariff code's series; bad input
 * refused with an error naming the field; and the overlay of a price file's series over the server's.
 */
import { describe, expect, it } from 'vitest';
import { overlayPriceSeries, type PriceSeries, priceAt } from '../../src/core/tariff/prices.js';
import { decodePricesMessage, type PricesMessage, pricesMessage, pricesSeries } from '../../src/core/wire-prices.js';
import { parseEnergyCharts } from '../../src/server/prices/energy-charts.js';
import { fixture } from '../server/prices/fake-feed.js';

/** The 92 quarters of 2026-03-29 in Brussels (23 hours), as the feed stores them. */
const DST_DAY = parseEnergyCharts(fixture('energy-charts-be-2026-03-29-constructed.json'));
const ISSUED = Date.parse('2026-03-28T12:05:07Z');

function good(): PricesMessage {
  const m = pricesMessage('BE', DST_DAY, ISSUED);
  if (!m) throw new Error('no message');
  return m;
}

/** The decode error of a message changed by `edit`. */
function refused(edit: (m: Record<string, unknown>) => void): string {
  const m = structuredClone(good()) as unknown as Record<string, unknown>;
  edit(m);
  try {
    decodePricesMessage(JSON.stringify(m));
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('the prices message', () => {
  it('carries the stored prices: zone, unit, version, each start, length and €/MWh price', () => {
    const m = good();
    expect(DST_DAY).toHaveLength(92);
    expect(m).toMatchObject({ version: 1, zone: 'BE', unit: 'EUR/MWh', issued_at: '2026-03-28T12:05:07.000Z' });
    expect(m.prices).toHaveLength(92);
    expect(m.prices[0]).toEqual({ start: '2026-03-28T23:00:00.000Z', minutes: 15, price: DST_DAY[0]!.eurPerMwh });
    expect(m.prices.at(-1)).toEqual({
      start: '2026-03-29T21:45:00.000Z',
      minutes: 15,
      price: DST_DAY[91]!.eurPerMwh,
    });
    // Under 64 bytes a price: two days of quarters are about 12 KB, one retained message per home.
    expect(JSON.stringify(m).length).toBeLessThan(200 + 64 * 92);
  });

  it('decodes back to the same message (payload bytes or text) and gives €/kWh over [start, end)', () => {
    const m = good();
    expect(decodePricesMessage(Buffer.from(JSON.stringify(m)))).toEqual(m);
    expect(decodePricesMessage(JSON.stringify(m))).toEqual(m);
    const s = pricesSeries(decodePricesMessage(JSON.stringify(m)));
    expect(s.starts).toHaveLength(92);
    expect(s.starts[0]).toBe(Date.parse('2026-03-28T23:00:00Z'));
    expect(s.ends[91]).toBe(Date.parse('2026-03-29T22:00:00Z'));
    expect(priceAt(s, Date.parse('2026-03-29T10:07:00Z'))).toBeCloseTo(
      DST_DAY.find((p) => p.start === Date.parse('2026-03-29T10:00:00Z'))!.eurPerMwh / 1000,
      12,
    );
    expect(priceAt(s, Date.parse('2026-03-29T22:00:00Z'))).toBeNull();
  });

  it('takes starts with an offset, and keys it does not know (a newer server)', () => {
    const m = structuredClone(good()) as PricesMessage & Record<string, unknown>;
    m.prices[0]!.start = '2026-03-29T00:00:00+01:00';
    m.source = 'entsoe';
    (m.prices[1] as unknown as Record<string, unknown>).note = 'x';
    const d = decodePricesMessage(JSON.stringify(m));
    expect(pricesSeries(d).starts[0]).toBe(Date.parse('2026-03-28T23:00:00Z'));
  });

  it('refuses bad input with an error naming the field', () => {
    expect(() => decodePricesMessage('{"version":1')).toThrow(/^not JSON: /);
    expect(() => decodePricesMessage('[1,2]')).toThrow('must be a JSON object');
    expect(refused((m) => (m.version = 2))).toBe('version: 2 is not understood (this edge reads version 1)');
    expect(refused((m) => delete m.version)).toBe('version: is required');
    expect(refused((m) => (m.zone = 'be ok'))).toBe('zone: must match ^[A-Z0-9_-]{1,16}$');
    expect(refused((m) => (m.unit = 'EUR/kWh'))).toBe('unit: must be "EUR/MWh"');
    expect(refused((m) => (m.issued_at = 'yesterday'))).toMatch(/^issued_at: /);
    expect(refused((m) => (m.prices = []))).toBe('prices: must hold at least one price');
    const at = (i: number, edit: (p: Record<string, unknown>) => void) =>
      refused((m) => edit((m.prices as Array<Record<string, unknown>>)[i]!));
    expect(at(3, (p) => (p.minutes = 15.5))).toBe('prices[3].minutes: must be an integer');
    expect(at(3, (p) => (p.minutes = 0))).toBe('prices[3].minutes: must be >= 1');
    expect(at(4, (p) => (p.price = '85'))).toBe('prices[4].price: must be a number');
    expect(at(4, (p) => (p.price = 1e6))).toBe('prices[4].price: must be <= 100000');
    expect(at(5, (p) => delete p.start)).toBe('prices[5].start: is required');
    // A local time without an offset is ambiguous in October's repeated hour.
    expect(at(5, (p) => (p.start = '2026-03-29T03:00:00'))).toMatch(/^prices\[5\]\.start: /);
    expect(at(6, (p) => (p.start = '2026-03-29T00:10:00Z'))).toBe(
      'prices[6].start: 2026-03-29T00:10:00Z is before the end of the price before it (sorted by start, none overlapping)',
    );
    const many = {
      ...good(),
      prices: Array.from({ length: 1001 }, (_, i) => ({
        ...good().prices[0]!,
        start: new Date(ISSUED + i * 900_000).toISOString(),
      })),
    };
    expect(() => decodePricesMessage(JSON.stringify(many))).toThrow(
      'prices: 1001 prices are more than the 1000 a message may hold',
    );
  });

  it('is not made from no prices, and leaves out what it cannot carry', () => {
    expect(pricesMessage('BE', [], ISSUED)).toBeNull();
    const q = Date.parse('2026-03-29T10:00:00Z');
    const m = pricesMessage(
      'BE',
      [
        { start: q, end: q + 900_000, eurPerMwh: 80 },
        { start: q + 600_000, end: q + 1_500_000, eurPerMwh: 81 }, // overlaps the one before
        { start: q + 900_000, end: q + 900_000 + 30_500, eurPerMwh: 82 }, // not whole minutes
        { start: q + 1_800_000, end: q + 5_400_000, eurPerMwh: 83 },
      ],
      ISSUED,
    );
    expect(m?.prices).toEqual([
      { start: '2026-03-29T10:00:00.000Z', minutes: 15, price: 80 },
      { start: '2026-03-29T10:30:00.000Z', minutes: 60, price: 83 },
    ]);
  });
});

describe('overlayPriceSeries: the price file first, the server where the file has none', () => {
  const H = 3_600_000;
  const t0 = Date.parse('2026-03-30T08:00:00Z');
  const series = (from: number, hours: number, price: (i: number) => number, stepMs = H): PriceSeries => ({
    starts: Array.from({ length: hours }, (_, i) => from + i * stepMs),
    ends: Array.from({ length: hours }, (_, i) => from + (i + 1) * stepMs),
    prices: Array.from({ length: hours }, (_, i) => price(i)),
  });

  it('keeps every file price and fills the rest from the server, quarter or hour', () => {
    const file = series(t0, 2, () => 0.4); // 08:00–10:00
    const server = series(t0 - H, 16 * 4, (i) => i / 1000, H / 4); // 07:00–23:00 by quarters
    const s = overlayPriceSeries(file, server)!;
    expect(priceAt(s, t0 - 1)).toBe(server.prices[3]); // 07:45, the server's
    expect(priceAt(s, t0)).toBe(0.4);
    expect(priceAt(s, t0 + 2 * H - 1)).toBe(0.4);
    expect(priceAt(s, t0 + 2 * H)).toBe(server.prices[12]); // 10:00, the server's again
    expect(s.starts.length).toBe(2 + 64 - 8);
    for (let i = 1; i < s.starts.length; i++) expect(s.starts[i]!).toBeGreaterThanOrEqual(s.ends[i - 1]!);
  });

  it('drops a server price that overlaps the file only in part', () => {
    const file = series(t0 + 15 * 60_000, 1, () => 0.4); // 08:15–09:15
    const server = series(t0, 3, () => 0.1); // 08:00–11:00 by hours
    const s = overlayPriceSeries(file, server)!;
    expect(priceAt(s, t0)).toBeNull();
    expect(priceAt(s, t0 + 15 * 60_000)).toBe(0.4);
    expect(priceAt(s, t0 + H + 20 * 60_000)).toBeNull(); // 09:20: the server's 09:00 hour overlaps the file
    expect(priceAt(s, t0 + 2 * H)).toBe(0.1);
  });

  it('either alone, or none', () => {
    const a = series(t0, 2, () => 0.2);
    expect(overlayPriceSeries(a, null)).toBe(a);
    expect(overlayPriceSeries(null, a)).toBe(a);
    expect(overlayPriceSeries(null, null)).toBeNull();
  });
});
