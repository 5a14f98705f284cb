import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BucketCalendar } from '../../src/core/bucket-calendar.js';
import {
  COUNTER_FIELDS,
  dailyDelta,
  ENERGY_KEYS,
  nullVec,
  POWER_FIELDS,
  step,
  totalDelta,
  type Vec,
  valuesAt,
} from '../../src/core/counter-deltas.js';
import { continueChain, dedupeSorted, planInsert, type StoredRow } from '../../src/core/insert-plan.js';
import { emptyRollup, mergeRollup, type RollupRow, rollupChanges, toBucket } from '../../src/core/rollup.js';

const C = (f: (typeof COUNTER_FIELDS)[number]): number => COUNTER_FIELDS.indexOf(f);
const E = (k: (typeof ENERGY_KEYS)[number]): number => ENERGY_KEYS.indexOf(k);

function counters(fields: Partial<Record<(typeof COUNTER_FIELDS)[number], number | null>>): Vec {
  const v = nullVec(COUNTER_FIELDS.length);
  for (const [k, x] of Object.entries(fields)) v[C(k as (typeof COUNTER_FIELDS)[number])] = x ?? null;
  return v;
}

describe('counter deltas', () => {
  it('total counters: difference, 0 for the first value and for a drop', () => {
    expect(totalDelta(null, 5)).toBe(0);
    expect(totalDelta(5, 7.5)).toBe(2.5);
    expect(totalDelta(7.5, 0.3)).toBe(0);
  });

  it('daily counters: a drop is the reset, so the new value counts', () => {
    expect(dailyDelta(null, 5)).toBe(0);
    expect(dailyDelta(5, 7.5)).toBe(2.5);
    expect(dailyDelta(7.5, 0.3)).toBe(0.3);
  });

  it('step() takes each counter from its last known value, over readings that lack it', () => {
    const known = nullVec(COUNTER_FIELDS.length);
    const a = step(known, counters({ grid_import_t1_kwh: 10, pv_total_kwh: 100 }));
    expect(a.delta[E('import_t1_kwh')]).toBe(0);
    expect(a.delta[E('pv_kwh')]).toBe(0);
    expect(a.delta[E('gas_m3')]).toBeNull();
    // The inverter goes stale: no pv value, so no pv delta; its last value is carried.
    const b = step(known, counters({ grid_import_t1_kwh: 11 }));
    expect(b.delta[E('import_t1_kwh')]).toBe(1);
    expect(b.delta[E('pv_kwh')]).toBeNull();
    expect(b.carry[C('pv_total_kwh')]).toBe(100);
    expect(b.carry[C('grid_import_t1_kwh')]).toBeNull(); // the reading has its own value
    // Back: the whole production since the last value lands on this reading.
    const c = step(known, counters({ grid_import_t1_kwh: 11.5, pv_total_kwh: 102.5 }));
    expect(c.delta[E('pv_kwh')]).toBe(2.5);
    // Daily counter only when the total is absent.
    const d = step(known, counters({ pv_total_kwh: null, pv_daily_kwh: 4 }));
    expect(d.delta[E('pv_kwh')]).toBe(0);
    const e = step(known, counters({ pv_daily_kwh: 4.5 }));
    expect(e.delta[E('pv_kwh')]).toBe(0.5);
    expect(e.carry[C('pv_total_kwh')]).toBe(102.5);
  });
});

describe('dedupeSorted', () => {
  it('sorts by time and keeps the first of equal times', () => {
    const rows = [
      { t: 3, id: 'a' },
      { t: 1, id: 'b' },
      { t: 3, id: 'c' },
      { t: 2, id: 'd' },
    ];
    expect(dedupeSorted(rows).map((r) => r.id)).toEqual(['b', 'd', 'a']);
  });
});

/** A store in memory built on planInsert: what both real stores do, minus the I/O. */
class MemoryStore {
  rows: StoredRow[] = [];
  readonly rollups = new Map<string, Map<number, RollupRow>>();

  constructor(
    private readonly calendar: BucketCalendar,
    private readonly page = 1,
  ) {}

  insert(batch: { t: number; values: Vec; powers: Vec }[]): number {
    const inc = dedupeSorted(batch);
    if (inc.length === 0) return 0;
    const first = inc[0]!.t;
    const last = inc[inc.length - 1]!.t;
    const before = this.rows.filter((r) => r.t < first);
    const prev = before[before.length - 1];
    const prevKnown = prev ? prev.values.map((v, i) => v ?? prev.carry[i] ?? null) : null;
    const existing = this.rows.filter((r) => r.t >= first && r.t <= last);
    const after = this.rows.filter((r) => r.t > last);
    const plan = planInsert({
      prevKnown,
      prevAt: prev ? valuesAt(prev) : null,
      existing,
      next: after.slice(0, this.page),
      nextIsAll: after.length <= this.page,
      incoming: inc,
    });
    inc.forEach((r, i) => {
      const f = plan.fresh[i];
      if (f) this.rows.push({ t: r.t, values: r.values, carry: f.carry, delta: f.delta });
    });
    const updates = [...plan.updates];
    const changes = [...plan.changes];
    // Go on a page at a time, as the stores do.
    let chain = plan.chain;
    let from = this.page;
    while (chain) {
      const page = after.slice(from, from + this.page);
      from += this.page;
      const cont = continueChain(chain, page, from >= after.length);
      updates.push(...cont.updates);
      changes.push(...cont.changes);
      chain = cont.chain;
    }
    for (const u of updates) {
      const row = this.rows.find((r) => r.t === u.t)!;
      row.carry = u.carry;
      row.delta = u.delta;
    }
    this.rows.sort((a, b) => a.t - b.t);
    for (const [res, buckets] of rollupChanges(changes, this.calendar)) {
      let m = this.rollups.get(res);
      if (!m) {
        m = new Map();
        this.rollups.set(res, m);
      }
      for (const b of buckets) {
        const cur = m.get(b.start) ?? emptyRollup(b.start);
        mergeRollup(cur, b);
        m.set(b.start, cur);
      }
    }
    return plan.inserted;
  }
}

describe('planInsert', () => {
  const cal = new BucketCalendar('Europe/Brussels');
  const powers = nullVec(POWER_FIELDS.length);

  it('a late reading changes its own delta and the next one, in the next bucket', () => {
    const m = new MemoryStore(cal);
    m.insert([
      { t: 50_000, values: counters({ grid_import_t1_kwh: 1 }), powers },
      { t: 70_000, values: counters({ grid_import_t1_kwh: 2 }), powers },
    ]);
    expect(m.rollups.get('1min')!.get(60_000)!.energy[E('import_t1_kwh')]).toBe(1);
    m.insert([{ t: 59_000, values: counters({ grid_import_t1_kwh: 1.9 }), powers }]);
    expect(m.rollups.get('1min')!.get(0)!.energy[E('import_t1_kwh')]).toBeCloseTo(0.9, 12);
    expect(m.rollups.get('1min')!.get(60_000)!.energy[E('import_t1_kwh')]).toBeCloseTo(0.1, 12);
    expect(m.rows.map((r) => r.delta[E('import_t1_kwh')])).toEqual([0, 0.8999999999999999, 0.10000000000000009]);
  });

  it('walks on through stored rows that lack the counter, and says when its page ran out', () => {
    const stored: StoredRow[] = [
      { t: 10, values: counters({ gas_total_m3: null }), carry: counters({ gas_total_m3: 5 }), delta: nullVec(9) },
      { t: 20, values: counters({ gas_total_m3: null }), carry: counters({ gas_total_m3: 5 }), delta: nullVec(9) },
      {
        t: 30,
        values: counters({ gas_total_m3: 6 }),
        carry: nullVec(12),
        delta: [null, null, null, null, null, null, null, 1, null],
      },
    ];
    const incoming = [{ t: 5, values: counters({ gas_total_m3: 5.5 }), powers }];
    const partial = planInsert({
      prevKnown: counters({ gas_total_m3: 5 }),
      prevAt: null,
      existing: [],
      next: stored.slice(0, 2),
      nextIsAll: false,
      incoming,
    });
    expect(partial.incomplete).toBe(true);
    const full = planInsert({
      prevKnown: counters({ gas_total_m3: 5 }),
      prevAt: null,
      existing: [],
      next: stored,
      nextIsAll: true,
      incoming,
    });
    expect(full.incomplete).toBe(false);
    expect(full.fresh[0]!.delta[E('gas_m3')]).toBeCloseTo(0.5, 12);
    // The two rows without gas now carry 5.5; the row with gas loses half of its delta.
    expect(full.updates.map((u) => [u.t, u.carry[C('gas_total_m3')], u.delta[E('gas_m3')]])).toEqual([
      [10, 5.5, null],
      [20, 5.5, null],
      [30, null, 0.5],
    ]);
    expect(full.changes.map((c) => [c.t, c.samples, c.energy[E('gas_m3')]])).toEqual([
      [5, 1, 0.5],
      [30, 0, -0.5],
    ]);
  });

  it('a reading that changes no known value stops at the next stored row', () => {
    const row: StoredRow = {
      t: 20,
      values: counters({ grid_import_t1_kwh: 3 }),
      carry: nullVec(12),
      delta: [1, null, null, null, null, null, null, null, null],
    };
    const plan = planInsert({
      prevKnown: counters({ grid_import_t1_kwh: 2 }),
      prevAt: null,
      existing: [],
      next: [row],
      nextIsAll: false,
      incoming: [{ t: 10, values: counters({ grid_import_t1_kwh: null }), powers }],
    });
    expect(plan.incomplete).toBe(false);
    expect(plan.updates).toEqual([]);
    expect(plan.fresh[0]!.carry[C('grid_import_t1_kwh')]).toBe(2);
  });

  it('property: any arrival order and batching gives the rows and rollups of the in-order series', () => {
    const reading = fc.record({
      gap: fc.integer({ min: 1, max: 400_000 }),
      imp: fc.option(fc.integer({ min: 0, max: 50 }), { nil: null, freq: 5 }),
      reset: fc.boolean(),
      // Now and then a rise no home can make (50 000 kWh): counted 0 in every order (CounterLimits).
      jump: fc.integer({ min: 0, max: 9 }),
      daily: fc.option(fc.integer({ min: 0, max: 30 }), { nil: null, freq: 3 }),
      grid: fc.option(fc.integer({ min: -3000, max: 3000 }), { nil: null, freq: 4 }),
    });
    fc.assert(
      fc.property(
        fc.array(reading, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (series, sizes, seed) => {
          let t = Date.parse('2026-03-28T21:00:00Z');
          let imp = 1000;
          let daily = 0;
          const rows = series.map((r) => {
            t += r.gap;
            imp = r.reset ? 1 : imp + (r.imp ?? 0) / 1000 + (r.jump === 0 ? 50_000 : 0);
            if (r.daily !== null) daily = r.daily % 7 === 0 ? r.daily / 10 : daily + r.daily / 10;
            const values = counters({
              grid_import_t1_kwh: r.imp === null ? null : imp,
              pv_daily_kwh: r.daily === null ? null : daily,
            });
            const p = nullVec(POWER_FIELDS.length);
            p[0] = r.grid;
            return { t, values, powers: p };
          });
          const a = new MemoryStore(cal, 2);
          a.insert(rows);
          // A deterministic shuffle, then batches of the given sizes (some readings sent twice).
          const order = rows
            .map((r, i) => ({ r, k: (i * 7919 + seed) % 1009 }))
            .sort((x, y) => x.k - y.k)
            .map((x) => x.r);
          const b = new MemoryStore(cal, 1);
          let i = 0;
          let s = 0;
          while (i < order.length) {
            const n = sizes[s++ % sizes.length]!;
            b.insert(order.slice(i, i + n));
            if (s % 3 === 0) b.insert(order.slice(Math.max(0, i - 2), i + 1)); // a resend
            i += n;
          }
          expect(b.rows).toEqual(a.rows);
          for (const [res, ma] of a.rollups) {
            const mb = b.rollups.get(res)!;
            expect([...mb.keys()].sort()).toEqual([...ma.keys()].sort());
            for (const [k, x] of ma) {
              const y = mb.get(k)!;
              expect(y.samples).toBe(x.samples);
              expect(y.counts).toEqual(x.counts);
              expect(y.max).toEqual(x.max);
              x.energy.forEach((v, e) => {
                if (v === null) expect(y.energy[e]).toBeNull();
                else expect(y.energy[e]).toBeCloseTo(v, 9);
              });
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('BucketCalendar (Europe/Brussels)', () => {
  const cal = new BucketCalendar('Europe/Brussels');
  const iso = (ms: number): string => new Date(ms).toISOString();
  const t = (s: string): number => Date.parse(s);

  it('minutes, clock quarters and hours', () => {
    expect(iso(cal.start('1min', t('2026-03-29T01:00:59.999Z')))).toBe('2026-03-29T01:00:00.000Z');
    expect(iso(cal.start('15min', t('2026-03-29T01:29:59Z')))).toBe('2026-03-29T01:15:00.000Z');
    expect(iso(cal.end('15min', t('2026-03-29T01:15:00Z')))).toBe('2026-03-29T01:30:00.000Z');
    expect(iso(cal.start('hourly', t('2026-10-25T01:59:59Z')))).toBe('2026-10-25T01:00:00.000Z');
  });

  it('local days of 23, 24 and 25 hours', () => {
    const spring = cal.start('daily', t('2026-03-29T12:00:00Z'));
    expect(iso(spring)).toBe('2026-03-28T23:00:00.000Z');
    expect(cal.end('daily', spring) - spring).toBe(23 * 3_600_000);
    const autumn = cal.start('daily', t('2026-10-25T12:00:00Z'));
    expect(iso(autumn)).toBe('2026-10-24T22:00:00.000Z');
    expect(cal.end('daily', autumn) - autumn).toBe(25 * 3_600_000);
    // The last second of a local day, and the first of the next.
    expect(iso(cal.start('daily', t('2026-07-01T21:59:59Z')))).toBe('2026-06-30T22:00:00.000Z');
    expect(iso(cal.start('daily', t('2026-07-01T22:00:00Z')))).toBe('2026-07-01T22:00:00.000Z');
  });

  it('ISO weeks from local Monday, and local months', () => {
    // Sunday 29 March 2026 belongs to the week of Monday 23 March (local midnight, still CET).
    expect(iso(cal.start('weekly', t('2026-03-29T12:00:00Z')))).toBe('2026-03-22T23:00:00.000Z');
    expect(iso(cal.end('weekly', t('2026-03-22T23:00:00Z')))).toBe('2026-03-29T22:00:00.000Z');
    expect(iso(cal.start('monthly', t('2026-03-31T21:59:59Z')))).toBe('2026-02-28T23:00:00.000Z');
    expect(iso(cal.start('monthly', t('2026-03-31T22:00:00Z')))).toBe('2026-03-31T22:00:00.000Z');
    expect(iso(cal.end('monthly', t('2026-02-28T23:00:00Z')))).toBe('2026-03-31T22:00:00.000Z');
  });

  it('rejects an unknown zone', () => {
    expect(() => new BucketCalendar('Europe/Atlantis')).toThrow(/timezone: unknown time zone 'Europe\/Atlantis'/);
  });
});

describe('rollups and buckets', () => {
  const cal = new BucketCalendar('Europe/Brussels');

  it('coarse levels add up the minutes; averages come from sums and counts', () => {
    const at = (s: string): number => Date.parse(s);
    const energy = (x: number | null): Vec => {
      const v = nullVec(ENERGY_KEYS.length);
      v[E('import_t1_kwh')] = x;
      return v;
    };
    const pw = (g: number | null): Vec => {
      const v = nullVec(POWER_FIELDS.length);
      v[0] = g;
      return v;
    };
    const changes = [
      { t: at('2026-03-28T22:59:00Z'), samples: 1 as const, energy: energy(0.5), powers: pw(100) },
      { t: at('2026-03-28T23:00:30Z'), samples: 1 as const, energy: energy(0.25), powers: pw(100) },
      { t: at('2026-03-28T23:00:40Z'), samples: 1 as const, energy: energy(0.25), powers: pw(400) },
      { t: at('2026-03-29T21:59:59Z'), samples: 0 as const, energy: energy(-0.125), powers: null },
    ];
    const r = rollupChanges(changes, cal);
    expect(
      r.get('1min')!.map((b) => [new Date(b.start).toISOString(), b.samples, b.energy[E('import_t1_kwh')]]),
    ).toEqual([
      ['2026-03-28T22:59:00.000Z', 1, 0.5],
      ['2026-03-28T23:00:00.000Z', 2, 0.5],
      ['2026-03-29T21:59:00.000Z', 0, -0.125],
    ]);
    const days = r.get('daily')!;
    expect(
      days.map((b) => [
        new Date(b.start).toISOString(),
        b.samples,
        b.energy[E('import_t1_kwh')],
        b.sums[0],
        b.counts[0],
        b.max[0],
      ]),
    ).toEqual([
      ['2026-03-27T23:00:00.000Z', 1, 0.5, 100, 1, 100],
      ['2026-03-28T23:00:00.000Z', 2, 0.375, 500, 2, 400],
    ]);
    const b = toBucket(days[1]!, 'daily', cal);
    expect(b.end.toISOString()).toBe('2026-03-29T22:00:00.000Z');
    expect(b.import_kwh).toBe(0.375);
    expect(b.import_t2_kwh).toBeNull();
    expect(b.export_kwh).toBeNull();
    expect(b.avg_grid_power_w).toBe(250);
    expect(b.avg_pv_power_w).toBeNull();
  });
});
