/**
 * The store contract: one suite, run against every Store implementation (postgres.test.ts,
 * sqlite.test.ts). Expected values are worked out by hand in each test from the counters given.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BucketCalendar } from '../../../src/core/bucket-calendar.js';
import { indexQuarterBuckets, monthPeak } from '../../../src/core/capacity/quarters.js';
import { emptySnapshot, type Snapshot } from '../../../src/core/snapshot.js';
import { deflatePiece } from '../../../src/lib/deflate-join.js';
import type { Bucket, IncomingReading, InsertBatch, Resolution, Store } from '../../../src/server/store/types.js';

export interface StoreHarness {
  store: Store;
  /** Opens another store on the same storage (another process would), with another time zone. */
  reopen(timezone: string): Promise<Store>;
  cleanup(): Promise<void>;
}

/** Creates a fresh, empty, migrated store in Europe/Brussels with 7 days of raw retention. */
export type StoreFactory = () => Promise<StoreHarness>;

const TZ_DAY = 86_400_000;
/** Within a µWh: float noise only. Energies that must match "to the Wh" are far inside this. */
const EXACT = 6;

type Fields = Partial<Omit<Snapshot, 'device_id' | 'timestamp'>>;

export function snap(deviceId: string, iso: string, fields: Fields = {}): Snapshot {
  return { ...emptySnapshot(deviceId, iso), ...fields };
}

function readings(deviceId: string, rows: [string, Fields][], firstSeq: number | null = null): IncomingReading[] {
  return rows.map(([iso, f], i) => ({
    snapshot: snap(deviceId, iso, f),
    seq: firstSeq === null ? null : firstSeq + i,
  }));
}

function batch(
  deviceId: string,
  rows: IncomingReading[],
  outboxId: string | null = null,
  floorSeq: number | null = null,
): InsertBatch {
  return { deviceId, outboxId, floorSeq, readings: rows };
}

const d = (iso: string): Date => new Date(iso);

function byStart(buckets: Bucket[]): Map<string, Bucket> {
  return new Map(buckets.map((b) => [b.start.toISOString(), b]));
}

function get(buckets: Bucket[], startIso: string): Bucket {
  const b = byStart(buckets).get(new Date(startIso).toISOString());
  if (!b)
    throw new Error(`no bucket starting at ${startIso}; have ${buckets.map((x) => x.start.toISOString()).join(', ')}`);
  return b;
}

function sum(buckets: Bucket[], key: keyof Bucket): number {
  return buckets.reduce((s, b) => s + ((b[key] as number | null) ?? 0), 0);
}

export function defineStoreContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness | null = null;
    const open = async (): Promise<Store> => {
      h = await factory();
      return h.store;
    };
    afterEach(async () => {
      const x = h;
      h = null;
      if (x) await x.cleanup();
    });

    it('migrate() is idempotent and a fresh store is empty', async () => {
      const store = await open();
      await store.migrate();
      expect(await store.devices()).toEqual([]);
      expect(await store.latest('nobody')).toBeNull();
      expect(await store.raw('nobody', d('2026-01-01T00:00:00Z'), d('2027-01-01T00:00:00Z'))).toEqual([]);
      expect(await store.buckets('nobody', 'daily', d('2026-01-01T00:00:00Z'), d('2027-01-01T00:00:00Z'))).toEqual([]);
      expect(await store.deadLetterCount()).toBe(0);
      expect(await store.ackedSeq('nobody', 'outbox-1234')).toBeNull();
    });

    it('a device id with quotes and backslashes reads back its own buckets, and only them', async () => {
      const store = await open();
      const odd = "o'brien\\'; DROP TABLE devices; --";
      for (const id of [odd, 'o']) {
        await store.insert(
          batch(
            id,
            readings(id, [
              ['2026-03-10T10:00:00Z', { grid_import_t1_kwh: 10.0, grid_power_w: 400 }],
              ['2026-03-10T10:20:00Z', { grid_import_t1_kwh: id === 'o' ? 10.5 : 10.25, grid_power_w: 600 }],
            ]),
          ),
        );
      }
      const q = await store.buckets(odd, '15min', d('2026-03-10T10:00:00Z'), d('2026-03-10T11:00:00Z'));
      expect(q.map((b) => [b.start.toISOString(), b.samples, b.avg_grid_power_w])).toEqual([
        ['2026-03-10T10:00:00.000Z', 1, 400],
        ['2026-03-10T10:15:00.000Z', 1, 600],
      ]);
      expect(q[1]!.import_kwh).toBeCloseTo(0.25, EXACT);
      expect((await store.devices()).sort()).toEqual([odd, 'o'].sort());
    });

    it('is idempotent: the same batch twice counts duplicates and doubles nothing', async () => {
      const store = await open();
      const rows = readings('home-a', [
        ['2026-03-10T10:00:00Z', { grid_import_t1_kwh: 10.0, grid_power_w: 400 }],
        ['2026-03-10T10:00:01Z', { grid_import_t1_kwh: 10.001, grid_power_w: 500 }],
        ['2026-03-10T10:00:02Z', { grid_import_t1_kwh: 10.003, grid_power_w: 600 }],
      ]);
      expect(await store.insert(batch('home-a', rows))).toEqual({ inserted: 3, duplicates: 0, ackedSeq: null });
      expect(await store.insert(batch('home-a', rows))).toEqual({ inserted: 0, duplicates: 3, ackedSeq: null });
      // A batch with the same time twice and one new reading.
      const mixed = [
        ...rows.slice(0, 1),
        ...rows.slice(0, 1),
        ...readings('home-a', [['2026-03-10T10:00:03Z', { grid_import_t1_kwh: 10.006 }]]),
      ];
      expect(await store.insert(batch('home-a', mixed))).toEqual({ inserted: 1, duplicates: 2, ackedSeq: null });
      const [m] = await store.buckets('home-a', '1min', d('2026-03-10T10:00:00Z'), d('2026-03-10T10:01:00Z'));
      expect(m!.samples).toBe(4);
      // deltas 0 (first), 0.001, 0.002, 0.003
      expect(m!.import_kwh).toBeCloseTo(0.006, EXACT);
      expect(m!.avg_grid_power_w).toBeCloseTo((400 + 500 + 600) / 3, EXACT);
      expect(m!.max_grid_power_w).toBe(600);
      expect((await store.raw('home-a', d('2026-03-10T00:00:00Z'), d('2026-03-11T00:00:00Z'))).length).toBe(4);
    });

    it('buckets of every size add up to the meter difference over a day of irregular readings', async () => {
      const store = await open();
      // 2026-03-10 in Brussels is UTC+1: the local day is [2026-03-09T23:00Z, 2026-03-10T23:00Z).
      const rows = readings('home-b', [
        ['2026-03-09T22:59:30Z', { grid_import_t1_kwh: 100.0, grid_import_t2_kwh: 50.0, grid_export_t1_kwh: 7.0 }],
        ['2026-03-09T23:00:10Z', { grid_import_t1_kwh: 100.01, grid_import_t2_kwh: 50.0, grid_export_t1_kwh: 7.0 }],
        ['2026-03-09T23:14:59Z', { grid_import_t1_kwh: 100.25, grid_import_t2_kwh: 50.002, grid_export_t1_kwh: 7.0 }],
        ['2026-03-09T23:15:00Z', { grid_import_t1_kwh: 100.251, grid_import_t2_kwh: 50.002, grid_export_t1_kwh: 7.0 }],
        ['2026-03-09T23:47:13Z', { grid_import_t1_kwh: 100.7, grid_import_t2_kwh: 50.01, grid_export_t1_kwh: 7.0 }],
        ['2026-03-10T11:02:00Z', { grid_import_t1_kwh: 103.1, grid_import_t2_kwh: 50.01, grid_export_t1_kwh: 9.5 }],
        ['2026-03-10T22:59:59Z', { grid_import_t1_kwh: 105.555, grid_import_t2_kwh: 51.111, grid_export_t1_kwh: 9.5 }],
        ['2026-03-10T23:00:01Z', { grid_import_t1_kwh: 105.556, grid_import_t2_kwh: 51.111, grid_export_t1_kwh: 9.5 }],
      ]);
      // Two batches, split in the middle of the day.
      await store.insert(batch('home-b', rows.slice(0, 4)));
      await store.insert(batch('home-b', rows.slice(4)));
      const dayStart = d('2026-03-09T23:00:00Z');
      const dayEnd = d('2026-03-10T23:00:00Z');

      const [day] = await store.buckets('home-b', 'daily', dayStart, dayEnd);
      expect(day!.start.toISOString()).toBe('2026-03-09T23:00:00.000Z');
      expect(day!.end.toISOString()).toBe('2026-03-10T23:00:00.000Z');
      expect(day!.samples).toBe(6);
      // The meter's own difference over the day: last reading of the day − last reading before it.
      expect(day!.import_t1_kwh).toBeCloseTo(105.555 - 100.0, EXACT);
      expect(day!.import_t2_kwh).toBeCloseTo(51.111 - 50.0, EXACT);
      expect(day!.import_kwh).toBeCloseTo(5.555 + 1.111, EXACT);
      expect(day!.export_t1_kwh).toBeCloseTo(2.5, EXACT);
      expect(day!.export_t2_kwh).toBeNull();
      expect(day!.export_kwh).toBeCloseTo(2.5, EXACT);

      const quarters = await store.buckets('home-b', '15min', dayStart, dayEnd);
      expect(quarters.map((b) => b.start.toISOString())).toEqual([
        '2026-03-09T23:00:00.000Z',
        '2026-03-09T23:15:00.000Z',
        '2026-03-09T23:45:00.000Z',
        '2026-03-10T11:00:00.000Z',
        '2026-03-10T22:45:00.000Z',
      ]);
      expect(get(quarters, '2026-03-09T23:00:00Z').import_t1_kwh).toBeCloseTo(0.01 + 0.24, EXACT);
      expect(get(quarters, '2026-03-09T23:15:00Z').import_t1_kwh).toBeCloseTo(0.001, EXACT);
      expect(get(quarters, '2026-03-09T23:45:00Z').import_t1_kwh).toBeCloseTo(0.449, EXACT);
      expect(get(quarters, '2026-03-10T11:00:00Z').import_t1_kwh).toBeCloseTo(2.4, EXACT);
      expect(get(quarters, '2026-03-10T22:45:00Z').import_t1_kwh).toBeCloseTo(2.455, EXACT);
      expect(get(quarters, '2026-03-10T22:45:00Z').end.toISOString()).toBe('2026-03-10T23:00:00.000Z');

      const hours = await store.buckets('home-b', 'hourly', dayStart, dayEnd);
      expect(get(hours, '2026-03-09T23:00:00Z').import_t1_kwh).toBeCloseTo(0.7, EXACT);
      expect(get(hours, '2026-03-10T11:00:00Z').import_t1_kwh).toBeCloseTo(2.4, EXACT);
      expect(get(hours, '2026-03-10T22:00:00Z').import_t1_kwh).toBeCloseTo(2.455, EXACT);
      const minutes = await store.buckets('home-b', '1min', dayStart, dayEnd);
      expect(minutes.length).toBe(6);

      for (const level of [minutes, quarters, hours]) {
        // To the Wh (and far below): every level sums to the meter's difference.
        expect(Math.abs(sum(level, 'import_t1_kwh') - 5.555)).toBeLessThan(1e-6);
        expect(Math.abs(sum(level, 'import_kwh') - 6.666)).toBeLessThan(1e-6);
        expect(sum(level, 'samples')).toBe(6);
      }
      // The neighbouring days got the readings at their edges: the first one ever (delta 0), and 0.001.
      const [before] = await store.buckets('home-b', 'daily', d('2026-03-08T23:00:00Z'), dayStart);
      expect(before!.import_t1_kwh).toBe(0);
      const [after] = await store.buckets('home-b', 'daily', dayEnd, d('2026-03-11T23:00:00Z'));
      expect(after!.import_t1_kwh).toBeCloseTo(0.001, EXACT);
    });

    it('a 23-hour local day (2026-03-29, Brussels) holds its own energy', async () => {
      const store = await open();
      // Local midnight 29 March = 2026-03-28T23:00Z (CET); at 02:00 local clocks jump to 03:00 (CEST);
      // local midnight 30 March = 2026-03-29T22:00Z.
      const rows = readings('home-c', [
        ['2026-03-28T22:30:00Z', { grid_import_t1_kwh: 200.0 }], // 23:30 on the 28th
        ['2026-03-28T23:00:00Z', { grid_import_t1_kwh: 200.2 }], // 00:00 on the 29th
        ['2026-03-29T00:59:59Z', { grid_import_t1_kwh: 200.5 }], // 01:59:59 CET
        ['2026-03-29T01:00:00Z', { grid_import_t1_kwh: 200.6 }], // 03:00:00 CEST
        ['2026-03-29T10:00:00Z', { grid_import_t1_kwh: 203.0 }],
        ['2026-03-29T21:59:59Z', { grid_import_t1_kwh: 207.25 }], // 23:59:59 CEST
        ['2026-03-29T22:00:00Z', { grid_import_t1_kwh: 207.3 }], // 00:00 on the 30th
      ]);
      await store.insert(batch('home-c', rows));
      const days = await store.buckets('home-c', 'daily', d('2026-03-27T00:00:00Z'), d('2026-03-31T00:00:00Z'));
      expect(days.map((b) => [b.start.toISOString(), b.end.toISOString()])).toEqual([
        ['2026-03-27T23:00:00.000Z', '2026-03-28T23:00:00.000Z'],
        ['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z'],
        ['2026-03-29T22:00:00.000Z', '2026-03-30T22:00:00.000Z'],
      ]);
      const day = days[1]!;
      expect(day.end.getTime() - day.start.getTime()).toBe(23 * 3_600_000);
      expect(day.samples).toBe(5);
      expect(day.import_kwh).toBeCloseTo(207.25 - 200.0, EXACT);
      expect(days[0]!.import_kwh).toBe(0);
      expect(days[2]!.import_kwh).toBeCloseTo(0.05, EXACT);
      // The day's hours, in UTC: 23 of them hold the day, and they add up to the day.
      const hours = await store.buckets('home-c', 'hourly', day.start, day.end);
      expect(Math.abs(sum(hours, 'import_kwh') - 7.25)).toBeLessThan(1e-6);
    });

    it('a 25-hour local day (2026-10-25, Brussels) has 25 hours', async () => {
      const store = await open();
      // Local midnight 25 October = 2026-10-24T22:00Z (CEST); at 03:00 local clocks go back to 02:00
      // (CET); local midnight 26 October = 2026-10-25T23:00Z. One reading at half past every UTC hour.
      const rows: [string, Fields][] = [];
      for (let i = 0; i <= 26; i++) {
        const t = new Date(Date.parse('2026-10-24T21:30:00Z') + i * 3_600_000).toISOString();
        rows.push([t, { grid_import_t1_kwh: 1000 + 0.5 * i, gas_total_m3: 300 + 0.1 * i }]);
      }
      await store.insert(batch('home-d', readings('home-d', rows)));
      const [day] = await store.buckets('home-d', 'daily', d('2026-10-24T22:00:00Z'), d('2026-10-24T22:00:01Z'));
      expect(day!.start.toISOString()).toBe('2026-10-24T22:00:00.000Z');
      expect(day!.end.toISOString()).toBe('2026-10-25T23:00:00.000Z');
      expect(day!.end.getTime() - day!.start.getTime()).toBe(25 * 3_600_000);
      // Readings at 22:30Z on the 24th … 22:30Z on the 25th: 25 of them, 0.5 kWh and 0.1 m3 each.
      expect(day!.samples).toBe(25);
      expect(day!.import_kwh).toBeCloseTo(12.5, EXACT);
      expect(day!.gas_m3).toBeCloseTo(2.5, EXACT);
      const hours = await store.buckets('home-d', 'hourly', day!.start, day!.end);
      expect(hours.length).toBe(25);
      expect(new Set(hours.map((b) => b.start.getTime())).size).toBe(25);
    });

    it('weekly (ISO weeks from local Monday) and monthly buckets', async () => {
      const store = await open();
      // One reading at local noon every day from Sunday 2026-03-22 to Thursday 2026-04-02, +1 kWh a day
      // on tariff 1, +0.1 m3 water. Noon is 11:00Z before 29 March, 10:00Z from then on.
      const rows: [string, Fields][] = [];
      for (let day = 22; day <= 33; day++) {
        const date = new Date(Date.UTC(2026, 2, day, day >= 29 ? 10 : 11));
        const n = day - 22;
        rows.push([date.toISOString(), { grid_import_t1_kwh: 10 + n, water_total_m3: 50 + n / 10 }]);
      }
      await store.insert(batch('home-e', readings('home-e', rows)));
      const weeks = await store.buckets('home-e', 'weekly', d('2026-03-01T00:00:00Z'), d('2026-05-01T00:00:00Z'));
      expect(weeks.map((b) => [b.start.toISOString(), b.end.toISOString(), b.samples])).toEqual([
        ['2026-03-15T23:00:00.000Z', '2026-03-22T23:00:00.000Z', 1], // Mon 16 March: only Sunday 22
        ['2026-03-22T23:00:00.000Z', '2026-03-29T22:00:00.000Z', 7], // Mon 23 … Sun 29 (DST inside)
        ['2026-03-29T22:00:00.000Z', '2026-04-05T22:00:00.000Z', 4], // Mon 30 … Thu 2 April
      ]);
      expect(weeks[0]!.import_kwh).toBe(0); // the first reading ever
      expect(weeks[1]!.import_kwh).toBeCloseTo(7, EXACT);
      expect(weeks[2]!.import_kwh).toBeCloseTo(4, EXACT);
      expect(weeks[1]!.water_m3).toBeCloseTo(0.7, EXACT);
      const months = await store.buckets('home-e', 'monthly', d('2026-01-01T00:00:00Z'), d('2026-12-01T00:00:00Z'));
      expect(months.map((b) => [b.start.toISOString(), b.end.toISOString(), b.samples])).toEqual([
        ['2026-02-28T23:00:00.000Z', '2026-03-31T22:00:00.000Z', 10], // 22 … 31 March
        ['2026-03-31T22:00:00.000Z', '2026-04-30T22:00:00.000Z', 2], // 1, 2 April
      ]);
      expect(months[0]!.import_kwh).toBeCloseTo(9, EXACT);
      expect(months[1]!.import_kwh).toBeCloseTo(2, EXACT);
      // A week's bucket is listed when its start lies in the range, wherever its end is.
      const one = await store.buckets('home-e', 'weekly', d('2026-03-29T22:00:00Z'), d('2026-03-29T22:00:01Z'));
      expect(one.length).toBe(1);
    });

    it('averages roll up from sums and counts, not averages of averages', async () => {
      const store = await open();
      const rows = readings('home-f', [
        ['2026-05-04T08:00:00Z', { grid_power_w: 100, pv_power_w: 0, load_power_w: 300, battery_soc_pct: 40 }],
        ['2026-05-04T08:20:00Z', { grid_power_w: 100, pv_power_w: 1000, load_power_w: 300, battery_soc_pct: 50 }],
        ['2026-05-04T08:40:00Z', { grid_power_w: 100, pv_power_w: 2000, load_power_w: 300, battery_power_w: -500 }],
        [
          '2026-05-04T09:10:00Z',
          { grid_power_w: 500, pv_power_w: null, load_power_w: 900, battery_power_w: 1500, ev_power_w: 7400 },
        ],
        ['2026-05-04T09:20:00Z', { grid_power_w: 500, ev_power_w: 0 }],
      ]);
      await store.insert(batch('home-f', rows));
      const [day] = await store.buckets('home-f', 'daily', d('2026-05-03T22:00:00Z'), d('2026-05-04T22:00:00Z'));
      expect(day!.avg_grid_power_w).toBeCloseTo((100 * 3 + 500 * 2) / 5, EXACT); // 260, not (100 + 500) / 2
      expect(day!.max_grid_power_w).toBe(500);
      expect(day!.avg_pv_power_w).toBeCloseTo(1000, EXACT); // three values; null is not 0
      expect(day!.max_pv_power_w).toBe(2000);
      expect(day!.avg_load_power_w).toBeCloseTo(450, EXACT); // the last reading has none
      expect(day!.max_load_power_w).toBe(900);
      expect(day!.avg_battery_power_w).toBeCloseTo(500, EXACT);
      expect(day!.avg_battery_soc_pct).toBeCloseTo(45, EXACT);
      // The EV chargers' power: two readings had it (a car at 7.4 kW, then none charging: 0, not null).
      expect(day!.avg_ev_power_w).toBeCloseTo(3700, EXACT);
      const hours = await store.buckets('home-f', 'hourly', day!.start, day!.end);
      expect(hours.map((b) => b.avg_grid_power_w)).toEqual([100, 500]);
      expect(hours.map((b) => b.avg_ev_power_w)).toEqual([null, 3700]);
    });

    it('a counter that drops starts a new series; daily counters reset at midnight', async () => {
      const store = await open();
      const rows = readings('home-g', [
        ['2026-06-01T10:00:00Z', { grid_import_t1_kwh: 500.0, pv_daily_kwh: 3.0 }],
        ['2026-06-01T11:00:00Z', { grid_import_t1_kwh: 500.5, pv_daily_kwh: 3.5 }],
        ['2026-06-01T12:00:00Z', { grid_import_t1_kwh: 501.0, pv_daily_kwh: 4.0 }],
        // New meter (import restarts near 0); the inverter's day counter reset overnight.
        ['2026-06-02T10:00:00Z', { grid_import_t1_kwh: 0.2, pv_daily_kwh: 0.2 }],
        ['2026-06-02T11:00:00Z', { grid_import_t1_kwh: 0.7, pv_daily_kwh: 0.9 }],
      ]);
      await store.insert(batch('home-g', rows));
      const days = await store.buckets('home-g', 'daily', d('2026-05-31T22:00:00Z'), d('2026-06-02T22:00:00Z'));
      expect(days.length).toBe(2);
      expect(days[0]!.import_kwh).toBeCloseTo(1.0, EXACT); // 0 + 0.5 + 0.5
      expect(days[1]!.import_kwh).toBeCloseTo(0.5, EXACT); // 0 (the drop) + 0.5, never negative
      expect(days[0]!.pv_kwh).toBeCloseTo(1.0, EXACT);
      expect(days[1]!.pv_kwh).toBeCloseTo(0.2 + 0.7, EXACT); // the reset counts the new value
      // When the total counter is there, the daily one is not used.
      const withTotal = readings('home-h', [
        ['2026-06-01T10:00:00Z', { pv_total_kwh: 1000.0, pv_daily_kwh: 3.0 }],
        ['2026-06-01T11:00:00Z', { pv_total_kwh: 1000.4, pv_daily_kwh: 3.5 }],
      ]);
      await store.insert(batch('home-h', withTotal));
      const [t] = await store.buckets('home-h', 'daily', d('2026-05-31T22:00:00Z'), d('2026-06-01T22:00:00Z'));
      expect(t!.pv_kwh).toBeCloseTo(0.4, EXACT);
    });

    it('a counter jump no home can make stays out of every bucket and the capacity peak', async () => {
      const store = await open();
      // 3 kW of import, a reading a minute from 10:00 to 11:00 (Brussels 11:00–12:00); at 10:20 one
      // reading says 1e15 kWh more, at 10:21 the meter is back on its own value.
      const base = 12_345.678;
      const rows: [string, Fields][] = [];
      for (let m = 0; m <= 60; m++) {
        const iso = new Date(Date.parse('2026-03-10T10:00:00Z') + m * 60_000).toISOString();
        rows.push([iso, { grid_import_t1_kwh: base + m * 0.05 + (m === 20 ? 1e15 : 0), grid_import_t2_kwh: 100 }]);
      }
      const r = await store.insert(batch('home-j', readings('home-j', rows)));
      expect(r.inserted).toBe(61);
      // The jump's raw reading is kept as it came (visible), only the aggregates leave it out.
      const raw = await store.raw('home-j', d('2026-03-10T10:20:00Z'), d('2026-03-10T10:20:01Z'));
      expect(raw[0]!.grid_import_t1_kwh).toBeCloseTo(base + 1 + 1e15, -3);
      const q = await store.buckets('home-j', '15min', d('2026-03-10T10:00:00Z'), d('2026-03-10T11:15:00Z'));
      // 10:15 quarter: 15 steps of 0.05 less the jump (10:20) and the step back (10:21): both count 0.
      expect(get(q, '2026-03-10T10:15:00Z').import_kwh).toBeCloseTo(0.65, EXACT);
      expect(get(q, '2026-03-10T10:30:00Z').import_kwh).toBeCloseTo(0.75, EXACT);
      const [day] = await store.buckets('home-j', 'daily', d('2026-03-09T23:00:00Z'), d('2026-03-10T23:00:00Z'));
      expect(day!.import_kwh).toBeCloseTo(2.9, EXACT);
      const [month] = await store.buckets('home-j', 'monthly', d('2026-02-28T23:00:00Z'), d('2026-03-31T22:00:00Z'));
      expect(month!.import_kwh).toBeCloseTo(2.9, EXACT);
      const peak = monthPeak(indexQuarterBuckets(q), '2026-03', 'Europe/Brussels');
      expect(peak?.peak_w).toBeCloseTo(3000, 3); // 0.75 kWh in a quarter, not 4e18 W
    });

    it('a rise a home can make is counted; one it cannot starts a new series', async () => {
      const store = await open();
      const rows = readings('home-k', [
        ['2026-03-10T12:00:00Z', { grid_import_t1_kwh: 1000, gas_total_m3: 500 }],
        // 30 kWh in 3 hours (10 kW): real. 2 m3 of gas in one step (a DSMR 4 meter's hourly value): real.
        ['2026-03-10T15:00:00Z', { grid_import_t1_kwh: 1030, gas_total_m3: 502 }],
        // The P1 meter stale for an hour (its fields null), then back: the hour's 5 kWh is real.
        ['2026-03-10T15:01:00Z', { grid_import_t1_kwh: null, gas_total_m3: null }],
        ['2026-03-10T16:00:00Z', { grid_import_t1_kwh: null, gas_total_m3: null }],
        ['2026-03-10T16:01:00Z', { grid_import_t1_kwh: 1035, gas_total_m3: 502.5 }],
        // 50 000 kWh in a minute (3 GW): a jump. The series goes on from the new value.
        ['2026-03-10T16:02:00Z', { grid_import_t1_kwh: 51_035, gas_total_m3: 502.5 }],
        ['2026-03-10T16:03:00Z', { grid_import_t1_kwh: 51_035.05, gas_total_m3: 502.5 }],
        // 5 000 m3 of gas in a minute: a jump.
        ['2026-03-10T16:04:00Z', { grid_import_t1_kwh: 51_035.1, gas_total_m3: 5502.5 }],
      ]);
      await store.insert(batch('home-k', rows));
      const [day] = await store.buckets('home-k', 'daily', d('2026-03-09T23:00:00Z'), d('2026-03-10T23:00:00Z'));
      expect(day!.import_kwh).toBeCloseTo(30 + 5 + 0.05 + 0.05, EXACT);
      expect(day!.gas_m3).toBeCloseTo(2.5, EXACT);
      const q = await store.buckets('home-k', '15min', d('2026-03-10T12:00:00Z'), d('2026-03-10T17:00:00Z'));
      expect(get(q, '2026-03-10T16:00:00Z').import_kwh).toBeCloseTo(5.1, EXACT);
      // A late reading in between is planned with the same rule: the jump stays out.
      await store.insert(
        batch('home-k', readings('home-k', [['2026-03-10T16:01:30Z', { grid_import_t1_kwh: 1035.02 }]])),
      );
      const [day2] = await store.buckets('home-k', 'daily', d('2026-03-09T23:00:00Z'), d('2026-03-10T23:00:00Z'));
      expect(day2!.import_kwh).toBeCloseTo(30 + 5 + 0.02 + 0.05 + 0.05, EXACT);
    });

    it('late data: out of order gives the same aggregates as in order, neighbours included', async () => {
      const store = await open();
      // Hand-checked case: 10:00:50 (1.0) and 10:01:10 (2.0) first, then 10:00:59 (1.9) arrives late.
      await store.insert(
        batch(
          'late-1',
          readings('late-1', [
            ['2026-07-01T10:00:50Z', { grid_import_t1_kwh: 1.0 }],
            ['2026-07-01T10:01:10Z', { grid_import_t1_kwh: 2.0 }],
          ]),
        ),
      );
      let mins = await store.buckets('late-1', '1min', d('2026-07-01T10:00:00Z'), d('2026-07-01T10:02:00Z'));
      expect(mins.map((b) => b.import_kwh)).toEqual([0, 1]);
      await store.insert(batch('late-1', readings('late-1', [['2026-07-01T10:00:59Z', { grid_import_t1_kwh: 1.9 }]])));
      mins = await store.buckets('late-1', '1min', d('2026-07-01T10:00:00Z'), d('2026-07-01T10:02:00Z'));
      expect(mins[0]!.import_kwh).toBeCloseTo(0.9, EXACT);
      expect(mins[0]!.samples).toBe(2);
      expect(mins[1]!.import_kwh).toBeCloseTo(0.1, EXACT); // the next reading's delta shrank

      // A day of readings every 7 minutes with gaps in the inverter's values, in order for one device
      // and shuffled into small batches for another: every level must agree.
      const rows: [string, Fields][] = [];
      let imp = 40;
      let pv = 900;
      for (let i = 0; i < 220; i++) {
        const t = new Date(Date.parse('2026-07-02T21:03:00Z') + i * 7 * 60_000 + (i % 5) * 1000).toISOString();
        imp += 0.013 * (i % 7);
        pv += i % 11 === 0 ? 0 : 0.021;
        const stale = i % 13 === 5 || i % 13 === 6;
        rows.push([
          t,
          {
            grid_import_t1_kwh: Math.round(imp * 1000) / 1000,
            pv_total_kwh: stale ? null : Math.round(pv * 1000) / 1000,
            grid_power_w: i * 10,
            pv_power_w: stale ? null : i,
          },
        ]);
      }
      await store.insert(batch('in-order', readings('in-order', rows)));
      const shuffled = readings('shuffled', rows);
      // A deterministic shuffle.
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = (i * 7919 + 13) % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      for (let i = 0; i < shuffled.length; i += 9) await store.insert(batch('shuffled', shuffled.slice(i, i + 9)));
      const from = d('2026-06-01T00:00:00Z');
      const to = d('2026-09-01T00:00:00Z');
      for (const res of ['1min', '15min', 'hourly', 'daily', 'weekly', 'monthly'] as Resolution[]) {
        const a = await store.buckets('in-order', res, from, to);
        const b = await store.buckets('shuffled', res, from, to);
        expect(b.map((x) => x.start.toISOString())).toEqual(a.map((x) => x.start.toISOString()));
        for (let i = 0; i < a.length; i++) {
          const x = a[i]!;
          const y = b[i]!;
          expect(y.samples).toBe(x.samples);
          for (const k of ['import_kwh', 'pv_kwh', 'avg_grid_power_w', 'avg_pv_power_w'] as const) {
            if (x[k] === null) expect(y[k]).toBeNull();
            else expect(y[k]).toBeCloseTo(x[k], EXACT);
          }
          expect(y.max_grid_power_w).toBe(x.max_grid_power_w);
        }
      }
      // And the total over the whole series is the meter's difference, stale gaps included.
      const first = rows[0]![1];
      const last = rows[rows.length - 1]![1];
      const total = await store.buckets('shuffled', 'monthly', from, to);
      expect(sum(total, 'import_kwh')).toBeCloseTo(last.grid_import_t1_kwh! - first.grid_import_t1_kwh!, EXACT);
      expect(sum(total, 'pv_kwh')).toBeCloseTo(last.pv_total_kwh! - first.pv_total_kwh!, EXACT);
    });

    it('a sparse late batch over dense stored data gives the aggregates of the whole series', async () => {
      const store = await open();
      // 300 readings a second apart, then two readings that fall between them, 240 s apart, in one
      // batch with a seq each (more stored rows in its range than the store reads at once).
      const base = Date.parse('2026-07-10T09:58:00Z');
      const at = (ms: number): string => new Date(base + ms).toISOString();
      const dense: [string, Fields][] = [];
      for (let i = 0; i < 300; i++)
        dense.push([at(i * 1000), { grid_import_t1_kwh: 50 + i / 1000, grid_power_w: 3600 }]);
      const sparse: [string, Fields][] = [
        [at(10_500), { grid_import_t1_kwh: 50.0105, grid_power_w: 3600 }],
        [at(250_500), { grid_import_t1_kwh: 50.2505, grid_power_w: 3600 }],
      ];
      await store.insert(batch('dense', readings('dense', dense)));
      const r = await store.insert(batch('dense', readings('dense', sparse, 1), 'outbox-eeee-5555', 1));
      expect(r).toEqual({ inserted: 2, duplicates: 0, ackedSeq: 2 });
      const all = [...dense, ...sparse].sort((a, b) => a[0].localeCompare(b[0]));
      await store.insert(batch('whole', readings('whole', all)));
      for (const res of ['1min', 'hourly'] as Resolution[]) {
        const a = await store.buckets('whole', res, d('2026-07-10T00:00:00Z'), d('2026-07-11T00:00:00Z'));
        const b = await store.buckets('dense', res, d('2026-07-10T00:00:00Z'), d('2026-07-11T00:00:00Z'));
        expect(b.map((x) => [x.start.toISOString(), x.samples])).toEqual(
          a.map((x) => [x.start.toISOString(), x.samples]),
        );
        for (let i = 0; i < a.length; i++) expect(b[i]!.import_kwh).toBeCloseTo(a[i]!.import_kwh!, EXACT);
      }
      // 09:58 … 10:02:59: 302 readings, 0.299 kWh from the first to the last.
      const [hour9, hour10] = await store.buckets(
        'dense',
        'hourly',
        d('2026-07-10T09:00:00Z'),
        d('2026-07-10T11:00:00Z'),
      );
      expect(hour9!.samples + hour10!.samples).toBe(302);
      expect(hour9!.import_kwh! + hour10!.import_kwh!).toBeCloseTo(0.299, EXACT);
    });

    it('a late counter value carries on through many stored rows that lack it', async () => {
      const store = await open();
      // Gas 100 at 12:00:00, then 12 000 readings without gas (the M-Bus meter was away), then 105.
      const base = Date.parse('2026-11-03T12:00:00Z');
      const at = (s: number): string => new Date(base + s * 1000).toISOString();
      const rows: [string, Fields][] = [[at(0), { gas_total_m3: 100 }]];
      for (let i = 1; i <= 12_000; i++) rows.push([at(i), { grid_power_w: 1 }]);
      rows.push([at(12_001), { gas_total_m3: 105 }]);
      for (let i = 0; i < rows.length; i += 5000)
        await store.insert(batch('gas', readings('gas', rows.slice(i, i + 5000))));
      const gasIn = async (fromIso: string, toIso: string): Promise<number> =>
        sum(await store.buckets('gas', '1min', d(fromIso), d(toIso)), 'gas_m3');
      expect(await gasIn(at(12_000), at(12_100))).toBeCloseTo(5, EXACT);
      // Late: 102 at 12:00:00.5. Its own delta is 2, the reading of 105 keeps 3.
      await store.insert(batch('gas', readings('gas', [[new Date(base + 500).toISOString(), { gas_total_m3: 102 }]])));
      expect(await gasIn(at(0), at(60))).toBeCloseTo(2, EXACT);
      expect(await gasIn(at(12_000), at(12_100))).toBeCloseTo(3, EXACT);
      // Later still, in the middle of the stretch: 103.5 takes its delta from 102 (carried through
      // 6000 rows), so 1.5, and the reading of 105 keeps 1.5.
      await store.insert(
        batch('gas', readings('gas', [[new Date(base + 6_000_500).toISOString(), { gas_total_m3: 103.5 }]])),
      );
      expect(await gasIn(at(5_990), at(6_060))).toBeCloseTo(1.5, EXACT);
      expect(await gasIn(at(12_000), at(12_100))).toBeCloseTo(1.5, EXACT);
      expect(await gasIn(at(-60), at(12_100))).toBeCloseTo(5, EXACT);
    });

    it('several devices in one insertMany (the ingester) store what one device at a time does', async () => {
      const store = await open();
      const base = Date.parse('2026-07-20T09:58:00Z');
      const at = (s: number): string => new Date(base + s * 1000).toISOString();
      // Per device kind: what is stored first (one batch at a time), then its batch of the flush.
      const scenario = (p: string): { before: InsertBatch[]; flush: InsertBatch[] } => {
        const dense: [string, Fields][] = [];
        for (let i = 0; i < 300; i++) dense.push([at(i), { grid_import_t1_kwh: 50 + i / 1000, grid_power_w: 3600 }]);
        const gas: [string, Fields][] = [[at(0), { gas_total_m3: 100 }]];
        for (let i = 1; i <= 40; i++) gas.push([at(i * 10), { grid_power_w: 1 }]);
        gas.push([at(410), { gas_total_m3: 105 }]);
        return {
          before: [
            batch(
              `${p}-late`,
              readings(
                `${p}-late`,
                dense.filter((_, i) => i % 2 === 0),
              ),
            ),
            batch(`${p}-sparse`, readings(`${p}-sparse`, dense)),
            batch(`${p}-dup`, readings(`${p}-dup`, dense.slice(0, 20), 1), 'outbox-ffff-6666', 1),
            batch(`${p}-gas`, readings(`${p}-gas`, gas)),
          ],
          flush: [
            // Late readings between stored ones: neighbours' deltas change.
            batch(
              `${p}-late`,
              readings(
                `${p}-late`,
                dense.filter((_, i) => i % 2 === 1 && i < 120),
                1,
              ),
              'outbox-aaaa-1',
              1,
            ),
            // Two readings over 300 stored ones: more than the store reads at once, split in two.
            batch(
              `${p}-sparse`,
              readings(`${p}-sparse`, [
                [new Date(base + 10_500).toISOString(), { grid_import_t1_kwh: 50.0105, grid_power_w: 3600 }],
                [new Date(base + 250_500).toISOString(), { grid_import_t1_kwh: 50.2505, grid_power_w: 3600 }],
              ]),
            ),
            // A new device.
            batch(`${p}-new`, readings(`${p}-new`, dense.slice(0, 90), 1), 'outbox-bbbb-2', 1),
            // Nothing new: all duplicates, yet acknowledged.
            batch(`${p}-dup`, readings(`${p}-dup`, dense.slice(0, 20), 1), 'outbox-ffff-6666', 1),
            // A late gas value whose effect runs on through the stored rows that lack gas.
            batch(`${p}-gas`, readings(`${p}-gas`, [[new Date(base + 500).toISOString(), { gas_total_m3: 102 }]])),
          ],
        };
      };
      const one = scenario('one');
      const many = scenario('many');
      for (const b of [...one.before, ...many.before]) await store.insert(b);
      const oneRes: Array<[number, number, number | null]> = [];
      for (const b of one.flush) {
        const r = await store.insert(b);
        oneRes.push([r.inserted, r.duplicates, r.ackedSeq]);
      }
      const manyRes = await store.insertMany(many.flush);
      expect(manyRes.map((r) => [r.inserted, r.duplicates, r.ackedSeq])).toEqual(oneRes);
      expect(oneRes).toEqual([
        [60, 0, 60],
        [2, 0, null],
        [90, 0, 90],
        [0, 20, 20],
        [1, 0, null],
      ]);
      const from = d('2026-07-01T00:00:00Z');
      const to = d('2026-08-01T00:00:00Z');
      for (const kind of ['late', 'sparse', 'new', 'dup', 'gas'])
        for (const res of ['1min', '15min', 'hourly', 'daily', 'monthly'] as Resolution[]) {
          const a = await store.buckets(`one-${kind}`, res, from, to);
          const b = await store.buckets(`many-${kind}`, res, from, to);
          expect(b.map((x) => [x.start.toISOString(), x.samples])).toEqual(
            a.map((x) => [x.start.toISOString(), x.samples]),
          );
          for (let i = 0; i < a.length; i++)
            for (const k of ['import_kwh', 'gas_m3', 'avg_grid_power_w'] as const) {
              if (a[i]![k] === null) expect(b[i]![k]).toBeNull();
              else expect(b[i]![k]).toBeCloseTo(a[i]![k]!, EXACT);
            }
        }
      // The hand-worked values: gas 102 at 00:00.5 keeps 2 in the first minute, 105 keeps 3.
      const gasMin = await store.buckets('many-gas', '1min', d(at(0)), d(at(420)));
      expect(gasMin[0]!.gas_m3).toBeCloseTo(2, EXACT);
      expect(sum(gasMin, 'gas_m3')).toBeCloseTo(5, EXACT);
      // 09:58:00 … 10:02:59 in one-second steps, with the two sparse ones: 302 readings, 0.299 kWh.
      const sparse = await store.buckets('many-sparse', 'hourly', d(at(-3600)), d(at(3600)));
      expect(sum(sparse, 'samples')).toBe(302);
      expect(sum(sparse, 'import_kwh')).toBeCloseTo(0.299, EXACT);
      expect(sum(await store.buckets('many-late', 'hourly', d(at(-3600)), d(at(3600))), 'samples')).toBe(210);
    });

    it('ack watermarks of several devices in one insertMany: each device its own gaps and islands', async () => {
      const store = await open();
      const base = Date.parse('2026-07-21T12:00:00Z');
      const r = (dev: string, seqs: number[]): IncomingReading[] =>
        seqs.map((q) => ({ snapshot: snap(dev, new Date(base + q * 1000).toISOString()), seq: q }));
      const ob = 'outbox-9999-0001';
      // Stored first, one at a time: 1–2 and the island 5–6 for both devices.
      for (const dev of ['ack-a', 'ack-b']) {
        expect((await store.insert(batch(dev, r(dev, [1, 2]), ob, 1))).ackedSeq).toBe(2);
        expect((await store.insert(batch(dev, r(dev, [5, 6]), ob, 1))).ackedSeq).toBe(2);
      }
      const acks = async (bs: InsertBatch[]): Promise<Array<number | null>> =>
        (await store.insertMany(bs)).map((x) => x.ackedSeq);
      // a fills its gap (3–4: joins 5–6); b gets a second island (8–9); a device without an outbox.
      expect(
        await acks([
          batch('ack-a', r('ack-a', [3, 4]), ob, 1),
          batch('ack-b', r('ack-b', [8, 9]), ob, 1),
          batch('ack-c', r('ack-c', [1])),
        ]),
      ).toEqual([6, 2, null]);
      // b fills 3–4 (to 6; 7 is missing), a sends 7, and a resend of a's 1–2 (duplicates) with them.
      expect(await acks([batch('ack-b', r('ack-b', [3, 4]), ob, 1), batch('ack-a', r('ack-a', [7]), ob, 1)])).toEqual([
        6, 7,
      ]);
      // b's edge evicted 7: its floor passes it, and the island 8–9 joins in; a's resend is a duplicate.
      const last = await store.insertMany([
        batch('ack-b', r('ack-b', [10]), ob, 8),
        batch('ack-a', r('ack-a', [1, 2]), ob, 1),
      ]);
      expect(last.map((x) => [x.inserted, x.duplicates, x.ackedSeq])).toEqual([
        [1, 0, 10],
        [0, 2, 7],
      ]);
      expect(await store.ackedSeq('ack-a', ob)).toBe(7);
      expect(await store.ackedSeq('ack-b', ob)).toBe(10);
      expect(await store.ackedSeq('ack-c', ob)).toBeNull();
    });

    it('the ack watermark: gaps hold it back, floor_seq skips evicted seqs, outboxes are separate', async () => {
      const store = await open();
      const ob = 'outbox-aaaa-1111';
      const at = (i: number): string => new Date(Date.parse('2026-08-01T00:00:00Z') + i * 1000).toISOString();
      const rows = (from: number, to: number): IncomingReading[] => {
        const out: IncomingReading[] = [];
        for (let s = from; s <= to; s++) out.push({ snapshot: snap('acker', at(s), { grid_power_w: s }), seq: s });
        return out;
      };
      expect((await store.insert(batch('acker', rows(1, 3), ob, 1))).ackedSeq).toBe(3);
      expect((await store.insert(batch('acker', rows(5, 6), ob, 1))).ackedSeq).toBe(3); // 4 is missing
      expect(await store.ackedSeq('acker', ob)).toBe(3);
      expect((await store.insert(batch('acker', rows(4, 4), ob, 1))).ackedSeq).toBe(6); // gap filled
      // A resend: duplicates, the watermark stays.
      expect(await store.insert(batch('acker', rows(1, 6), ob, 1))).toEqual({
        inserted: 0,
        duplicates: 6,
        ackedSeq: 6,
      });
      // 7..9 were evicted by the edge: floor_seq 10 lets the watermark pass them.
      expect((await store.insert(batch('acker', rows(11, 12), ob, 10))).ackedSeq).toBe(9);
      expect((await store.insert(batch('acker', rows(10, 10), ob, 10))).ackedSeq).toBe(12);
      // Several islands out of order: they merge as the gaps between them fill, in any order.
      expect((await store.insert(batch('acker', rows(20, 21), ob, 10))).ackedSeq).toBe(12); // 13..19 missing
      expect((await store.insert(batch('acker', rows(15, 16), ob, 10))).ackedSeq).toBe(12);
      expect((await store.insert(batch('acker', rows(17, 18), ob, 10))).ackedSeq).toBe(12); // touches 15..16
      expect((await store.insert(batch('acker', rows(13, 14), ob, 10))).ackedSeq).toBe(18); // 19 still missing
      expect((await store.insert(batch('acker', rows(25, 25), ob, 10))).ackedSeq).toBe(18);
      // The edge evicted 19 and 22..24: the floor passes them and the islands above join in.
      expect((await store.insert(batch('acker', rows(26, 26), ob, 25))).ackedSeq).toBe(26);
      expect(await store.ackedSeq('acker', ob)).toBe(26);
      // Another outbox of the same device (a reinstalled edge) starts from scratch.
      const ob2 = 'outbox-bbbb-2222';
      const later = (s: number): IncomingReading => ({ snapshot: snap('acker', at(1000 + s)), seq: s });
      expect((await store.insert(batch('acker', [later(2)], ob2, 1))).ackedSeq).toBe(0);
      expect((await store.insert(batch('acker', [later(1)], ob2, 1))).ackedSeq).toBe(2);
      expect(await store.ackedSeq('acker', ob)).toBe(26);
      expect(await store.ackedSeq('acker', ob2)).toBe(2);
      // Several batches in one transaction (the ingester's path), two devices.
      const res = await store.insertMany([
        batch('acker', [later(3), later(4)], ob2, 1),
        batch('other', readings('other', [['2026-08-01T00:00:00Z', {}]], 1), 'outbox-cccc-3333', 1),
        batch('acker', [later(6)], ob2, 1),
      ]);
      expect(res.map((r) => [r.inserted, r.duplicates, r.ackedSeq])).toEqual([
        [2, 0, 4],
        [1, 0, 1],
        [1, 0, 4],
      ]);
      expect(await store.devices()).toEqual(['acker', 'other']);
      // A reading stored before without an outbox, resent through one: a duplicate, yet committed.
      await store.insert(batch('other', readings('other', [['2026-08-02T00:00:00Z', {}]])));
      const dup = await store.insert(
        batch(
          'other',
          readings(
            'other',
            [
              ['2026-08-02T00:00:00Z', {}],
              ['2026-08-02T00:00:01Z', {}],
            ],
            1,
          ),
          'outbox-dddd-4444',
          1,
        ),
      );
      expect(dup).toEqual({ inserted: 1, duplicates: 1, ackedSeq: 2 });
    });

    it('dead letters are kept and counted', async () => {
      const store = await open();
      await store.addDeadLetter({
        topic: 'energy/x/realtime',
        deviceId: 'x',
        reason: 'schema: grid_power_w: must be a number',
        payload: '{"grid_power_w":"a"}',
      });
      await store.addDeadLetter({
        topic: 'energy/?/batch',
        deviceId: null,
        reason: 'not JSON',
        payload: '\u0000\u00ff',
      });
      expect(await store.deadLetterCount()).toBe(2);
    });

    it('day-ahead prices: stored per zone, read by range, a stored price is never replaced', async () => {
      const store = await open();
      const q = (iso: string, eur: number, minutes = 15, source = 'energy-charts') => {
        const start = d(iso);
        return { start, end: new Date(start.getTime() + minutes * 60_000), eurPerMwh: eur, source };
      };
      const day = [
        q('2026-03-28T23:00:00Z', 91.45),
        q('2026-03-28T23:15:00Z', -5.2),
        q('2026-03-28T23:30:00Z', 0),
        q('2026-03-29T00:00:00Z', 80.5, 60, 'entsoe'),
      ];
      expect(await store.putDayAheadPrices('BE', day)).toBe(4);
      // Again, with another price for a stored start: nothing new, and the first price stays.
      expect(await store.putDayAheadPrices('BE', [q('2026-03-28T23:15:00Z', 999), q('2026-03-29T01:00:00Z', 70)])).toBe(
        1,
      );
      expect(await store.putDayAheadPrices('NL', [q('2026-03-28T23:15:00Z', 12.5)])).toBe(1);
      expect(await store.putDayAheadPrices('BE', [])).toBe(0);
      const be = await store.dayAheadPrices('BE', d('2026-03-28T23:00:00Z'), d('2026-03-29T01:00:00Z'));
      expect(be).toEqual([...day]);
      expect((await store.dayAheadPrices('BE', d('2026-03-28T23:15:00Z'), d('2026-03-29T02:00:00Z'))).length).toBe(4);
      expect(await store.dayAheadPrices('NL', d('2026-03-28T00:00:00Z'), d('2026-03-30T00:00:00Z'))).toEqual([
        q('2026-03-28T23:15:00Z', 12.5),
      ]);
      expect(await store.dayAheadPrices('DE', d('2026-03-28T00:00:00Z'), d('2026-03-30T00:00:00Z'))).toEqual([]);
    });

    it('control settings: one row per home, the revision one more per change, read back whole', async () => {
      const store = await open();
      expect(await store.controlWanted('ctl-a')).toBeNull();
      expect(await store.allControlWanted()).toEqual([]);
      const before = Date.now();
      const first = await store.putControlWanted('ctl-a', { capacity_target_w: 2500, dry_run: true }, 'owner');
      expect(first).toMatchObject({
        deviceId: 'ctl-a',
        revision: 1,
        settings: { capacity_target_w: 2500, dry_run: true },
        updatedBy: 'owner',
      });
      expect(first.updatedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      const want = {
        capacity_target_w: 'follow_peak' as const,
        chargers: { car: { mode: 'deadline' as const, energy_kwh: 25, deadline: '07:00' } },
      };
      const second = await store.putControlWanted('ctl-a', want, 'installer');
      expect(second).toMatchObject({ revision: 2, settings: want, updatedBy: 'installer' });
      expect(await store.controlWanted('ctl-a')).toEqual(second);
      // Concurrent changes of one home never share a revision.
      const many = await Promise.all(
        [1, 2, 3].map((n) => store.putControlWanted('ctl-b', { capacity_target_w: n * 1000 }, 'x')),
      );
      expect(many.map((m) => m.revision).sort()).toEqual([1, 2, 3]);
      expect((await store.allControlWanted()).map((c) => [c.deviceId, c.revision])).toEqual([
        ['ctl-a', 2],
        ['ctl-b', 3],
      ]);
    });

    it('retention deletes raw readings, keeps aggregates, and the series continues', async () => {
      const store = await open();
      const now = d('2026-09-20T12:00:00Z');
      const ago = (days: number, s = 0): string => new Date(now.getTime() - days * TZ_DAY + s * 1000).toISOString();
      await store.insert(
        batch(
          'ret',
          readings('ret', [
            [ago(10), { grid_import_t1_kwh: 100.0 }],
            [ago(10, 60), { grid_import_t1_kwh: 101.0 }],
            [ago(1), { grid_import_t1_kwh: 105.0 }],
          ]),
        ),
      );
      const dayOld = await store.buckets('ret', 'daily', d(ago(11)), d(ago(9)));
      expect(dayOld.map((b) => b.import_kwh)).toEqual([1]);
      expect(await store.applyRetention(now)).toEqual({ deleted: 2, deadLetters: 0 });
      expect(await store.raw('ret', d(ago(30)), d(ago(7)))).toEqual([]);
      expect((await store.raw('ret', d(ago(7)), now)).length).toBe(1);
      expect(await store.buckets('ret', 'daily', d(ago(11)), d(ago(9)))).toEqual(dayOld);
      expect(await store.applyRetention(now)).toEqual({ deleted: 0, deadLetters: 0 });
      // The next reading takes its delta from the last one kept before the cut: 105 → 105.5.
      await store.insert(batch('ret', readings('ret', [[ago(0.5), { grid_import_t1_kwh: 105.5 }]])));
      const recent = await store.buckets('ret', 'monthly', d('2026-01-01T00:00:00Z'), d('2027-01-01T00:00:00Z'));
      expect(sum(recent, 'import_kwh')).toBeCloseTo(5.5, EXACT);
      // A reading older than what retention removed is not aggregated again (nor stored).
      const r = await store.insert(batch('ret', readings('ret', [[ago(10, 30), { grid_import_t1_kwh: 100.5 }]])));
      expect(r).toEqual({ inserted: 0, duplicates: 1, ackedSeq: null });
      const again = await store.buckets('ret', 'monthly', d('2026-01-01T00:00:00Z'), d('2027-01-01T00:00:00Z'));
      expect(again).toEqual(recent);
      // All raw readings gone: a device whose readings all expired continues from its last counters.
      expect(await store.applyRetention(d('2026-10-20T00:00:00Z'))).toEqual({ deleted: 2, deadLetters: 0 });
      await store.insert(batch('ret', readings('ret', [['2026-10-20T10:00:00Z', { grid_import_t1_kwh: 106.0 }]])));
      const [oct] = await store.buckets('ret', 'monthly', d('2026-09-30T22:00:00Z'), d('2026-10-01T00:00:00Z'));
      expect(oct!.import_kwh).toBeCloseTo(0.5, EXACT);
    });

    it('retention in chunks: many rows over many days, aggregates keep their totals', async () => {
      const store = await open();
      // 12 000 readings, one a minute from 2026-03-01 (more than two retention chunks of 5 000).
      const t0 = Date.parse('2026-03-01T00:00:00Z');
      const n = 12_000;
      const rows: IncomingReading[] = [];
      for (let i = 0; i < n; i++)
        rows.push({
          snapshot: snap('chunky', new Date(t0 + i * 60_000).toISOString(), {
            grid_import_t1_kwh: 1000 + i * 0.01,
            grid_power_w: 600,
          }),
          seq: null,
        });
      for (let i = 0; i < n; i += 2000) await store.insert(batch('chunky', rows.slice(i, i + 2000)));
      const span = [d('2026-02-01T00:00:00Z'), d('2026-04-01T00:00:00Z')] as const;
      const before = new Map<Resolution, number>();
      for (const res of ['1min', '15min', 'hourly', 'daily', 'weekly', 'monthly'] as Resolution[])
        before.set(res, sum(await store.buckets('chunky', res, span[0], span[1]), 'import_kwh'));
      expect(before.get('monthly')).toBeCloseTo((n - 1) * 0.01, EXACT);
      // The clock moved on: every raw row is older than the 7 days kept.
      const later = d('2026-04-01T00:00:00Z');
      expect(await store.applyRetention(later)).toEqual({ deleted: n, deadLetters: 0 });
      expect(await store.raw('chunky', span[0], span[1])).toEqual([]);
      for (const [res, total] of before)
        expect(sum(await store.buckets('chunky', res, span[0], span[1]), 'import_kwh')).toBeCloseTo(total, EXACT);
      // The series continues from the counters retention recorded.
      await store.insert(batch('chunky', readings('chunky', [['2026-04-01T00:00:00Z', { grid_import_t1_kwh: 1200 }]])));
      const april = await store.buckets('chunky', 'daily', d('2026-03-31T22:00:00Z'), d('2026-04-01T22:00:00Z'));
      expect(sum(april, 'import_kwh')).toBeCloseTo(1200 - (1000 + (n - 1) * 0.01), EXACT);
    });

    it('retention removes dead letters older than their retention (30 days by default)', async () => {
      const store = await open();
      await store.addDeadLetter({ topic: 'energy/x/realtime', deviceId: 'x', reason: 'not JSON', payload: '{' });
      expect(await store.applyRetention(new Date(Date.now() + 29 * TZ_DAY))).toEqual({ deleted: 0, deadLetters: 0 });
      expect(await store.deadLetterCount()).toBe(1);
      expect(await store.applyRetention(new Date(Date.now() + 31 * TZ_DAY))).toEqual({ deleted: 0, deadLetters: 1 });
      expect(await store.deadLetterCount()).toBe(0);
    });

    it('readings on 300 different days (years back) in one batch: all stored, read and aggregated', async () => {
      const store = await open();
      // One reading a day on 300 days spread over ten years before 2026-12-01, counter +1 kWh each.
      const days = Array.from({ length: 300 }, (_, i) => Date.parse('2016-12-10T12:00:00Z') + i * 12 * TZ_DAY);
      const rows: IncomingReading[] = days.map((t, i) => ({
        snapshot: snap('far', new Date(t).toISOString(), { grid_import_t1_kwh: 10 + i }),
        seq: null,
      }));
      expect((await store.insert(batch('far', rows))).inserted).toBe(300);
      const all = await store.raw('far', d('2016-01-01T00:00:00Z'), d('2027-01-01T00:00:00Z'));
      expect(all.length).toBe(300);
      expect(all[299]!.grid_import_t1_kwh).toBe(309);
      const span = [d('2016-01-01T00:00:00Z'), d('2027-01-01T00:00:00Z')] as const;
      for (const res of ['hourly', 'daily', 'weekly', 'monthly'] as Resolution[])
        expect(sum(await store.buckets('far', res, span[0], span[1]), 'import_kwh')).toBeCloseTo(299, EXACT);
      // A later reading between two far-off ones: the neighbours' deltas stay right.
      await store.insert(
        batch('far', readings('far', [[new Date(days[100]! + TZ_DAY).toISOString(), { grid_import_t1_kwh: 110.5 }]])),
      );
      expect(sum(await store.buckets('far', 'monthly', span[0], span[1]), 'import_kwh')).toBeCloseTo(299, EXACT);
      expect((await store.latest('far'))!.grid_import_t1_kwh).toBe(309);
    });

    it('latest() and raw() give the snapshots back as they came in', async () => {
      const store = await open();
      const full = snap('raw-1', '2026-02-01T08:00:00Z', {
        grid_power_w: -1234.5,
        grid_import_t1_kwh: 12345.678,
        voltage_l2_v: 229.9,
        pv_daily_kwh: 7.3,
        battery_soc_pct: 81.5,
        self_sufficiency_pct: 100,
        meter_timestamp: '2026-02-01T08:00:00Z',
        grid_monthly_peak_timestamp: '2026-01-28T18:15:00Z',
        country: 'be',
        stale_sources: ['sungrow'],
      });
      const rows: IncomingReading[] = [
        { snapshot: full, seq: null },
        { snapshot: snap('raw-1', '2026-02-01T08:00:01Z', { grid_power_w: 10 }), seq: null },
        { snapshot: snap('raw-1', '2026-02-01T08:00:02Z', { grid_power_w: 20 }), seq: null },
      ];
      await store.insert(batch('raw-1', rows.slice().reverse()));
      const back = await store.raw('raw-1', d('2026-02-01T08:00:00Z'), d('2026-02-01T08:00:02Z'));
      expect(back.map((s) => s.timestamp)).toEqual(['2026-02-01T08:00:00.000Z', '2026-02-01T08:00:01.000Z']);
      expect(back[0]).toEqual({ ...full, timestamp: '2026-02-01T08:00:00.000Z' });
      expect(back[1]!.stale_sources).toEqual([]);
      expect(await store.raw('raw-1', d('2026-02-01T00:00:00Z'), d('2026-02-02T00:00:00Z'), 2)).toHaveLength(2);
      expect((await store.latest('raw-1'))!.grid_power_w).toBe(20);
      expect((await store.latest('raw-1'))!.timestamp).toBe('2026-02-01T08:00:02.000Z');
    });

    it('absent is null, not zero: fields no reading had give null energy and null averages', async () => {
      const store = await open();
      await store.insert(
        batch(
          'nulls',
          readings('nulls', [
            ['2026-04-10T10:00:00Z', { grid_import_t1_kwh: 1.0, grid_export_t1_kwh: 0.5, grid_power_w: 10 }],
            ['2026-04-10T10:00:30Z', { grid_import_t1_kwh: 1.0, grid_export_t1_kwh: 0.6, grid_power_w: -200 }],
          ]),
        ),
      );
      const [b] = await store.buckets('nulls', 'hourly', d('2026-04-10T10:00:00Z'), d('2026-04-10T11:00:00Z'));
      expect(b!.import_kwh).toBe(0); // the meter was there and measured nothing
      expect(b!.import_t2_kwh).toBeNull();
      expect(b!.export_kwh).toBeCloseTo(0.1, EXACT);
      for (const k of ['pv_kwh', 'battery_charge_kwh', 'battery_discharge_kwh', 'gas_m3', 'water_m3'] as const)
        expect(b![k]).toBeNull();
      for (const k of [
        'avg_pv_power_w',
        'max_pv_power_w',
        'avg_load_power_w',
        'max_load_power_w',
        'avg_battery_power_w',
        'avg_battery_soc_pct',
        'avg_ev_power_w',
      ] as const)
        expect(b![k]).toBeNull();
      expect(b!.avg_grid_power_w).toBeCloseTo(-95, EXACT);
      expect(b!.max_grid_power_w).toBe(10);
      const latest = await store.latest('nulls');
      expect(latest!.pv_power_w).toBeNull();
      expect(latest!.gas_total_m3).toBeNull();
    });

    it('day blocks: kept under the epoch read before their buckets; stale once a write changes that ended day', async () => {
      const store = await open();
      expect(store.dayBlocks.enabled).toBe(true);
      const day = Date.parse('2026-03-09T23:00:00Z'); // 2026-03-10, local
      const next = Date.parse('2026-03-10T23:00:00Z');
      const read = (id = 'blk', res: Resolution = '15min', format = 1) =>
        store.dayBlocks.read(id, res, format, day, next);
      await store.insert(
        batch(
          'blk',
          readings('blk', [
            ['2026-03-10T10:00:00Z', { grid_import_t1_kwh: 10.0, grid_power_w: 400 }],
            ['2026-03-10T10:20:00Z', { grid_import_t1_kwh: 10.5, grid_power_w: 600 }],
          ]),
        ),
      );
      const first = await read();
      expect(first.blocks.size).toBe(0);
      // The insert changed buckets of a day that has ended: its epoch was raised.
      const epoch = first.epochs.get(day)!;
      expect(epoch).toBeGreaterThan(0);
      const piece = deflatePiece(Buffer.from('{"timestamp":"2026-03-10T11:00:00+01:00"}'), 6);
      await store.dayBlocks.put('blk', '15min', 1, [{ day, epoch, piece }]);
      const kept = (await read()).blocks.get(day)!;
      expect({ crc: kept.crc, bytes: kept.bytes, deflate: Buffer.from(kept.deflate).toString('hex') }).toEqual({
        crc: piece.crc,
        bytes: piece.bytes,
        deflate: piece.deflate.toString('hex'),
      });
      // Only under its device, resolution and format.
      expect((await read('other')).blocks.size).toBe(0);
      expect((await read("blk'; DROP TABLE day_blocks; --")).blocks.size).toBe(0);
      expect((await read('blk', 'hourly')).blocks.size).toBe(0);
      expect((await read('blk', '15min', 2)).blocks.size).toBe(0);
      // A late reading of that day: the block is not served any more.
      await store.insert(
        batch('blk', readings('blk', [['2026-03-10T10:10:00Z', { grid_import_t1_kwh: 10.2, grid_power_w: 500 }]])),
      );
      const late = await read();
      expect(late.blocks.size).toBe(0);
      expect(late.epochs.get(day)).toBeGreaterThan(epoch);
      // A block made from buckets read before that write (under the old epoch) is never served.
      await store.dayBlocks.put('blk', '15min', 1, [{ day, epoch, piece }]);
      expect((await read()).blocks.size).toBe(0);
      // Made anew under the new epoch, it is served; a slower request's older block does not replace it.
      const fresh = deflatePiece(Buffer.from('{"timestamp":"2026-03-10T11:15:00+01:00"}'), 6);
      await store.dayBlocks.put('blk', '15min', 1, [{ day, epoch: late.epochs.get(day)!, piece: fresh }]);
      await store.dayBlocks.put('blk', '15min', 1, [{ day, epoch, piece }]);
      expect((await read()).blocks.get(day)?.crc).toBe(fresh.crc);
      // Readings of a day that has not ended (nor ends within 15 minutes) raise no epoch: tomorrow's
      // (whatever the hour the test runs at).
      const calendar = new BucketCalendar('Europe/Brussels');
      const tomorrow = calendar.end('daily', calendar.start('daily', Date.now()));
      const at = new Date(tomorrow + 12 * 3_600_000).toISOString();
      await store.insert(batch('blk', readings('blk', [[at, { grid_import_t1_kwh: 11 }]])));
      const notEnded = await store.dayBlocks.read('blk', '15min', 1, tomorrow, calendar.end('daily', tomorrow));
      expect(notEnded.epochs.size).toBe(0);
    });

    it('refuses to reopen with another time zone (the daily buckets would not match)', async () => {
      const store = await open();
      await store.insert(batch('tz', readings('tz', [['2026-04-10T10:00:00Z', { grid_power_w: 1 }]])));
      const other = await h!.reopen('Europe/Amsterdam');
      await expect(other.migrate()).rejects.toThrow(/Europe\/Brussels/);
      await other.close();
      const same = await h!.reopen('Europe/Brussels');
      await same.migrate();
      expect(await same.devices()).toEqual(['tz']);
      await same.close();
    });
  });
}
