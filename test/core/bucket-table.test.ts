/**
 * Buckets as columns (core/bucket-table.ts): the values worked out by hand from rollup vectors,
 * missing values as null in objects and NaN in columns, and the layout the stores read into it.
 */
import { describe, expect, it } from 'vitest';
import { BucketCalendar } from '../../src/core/bucket-calendar.js';
import { BUCKET_FIELDS } from '../../src/core/bucket-shape.js';
import { BucketTableBuilder, bucketAt, bucketsOf, ROLLUP_VECTOR_LENGTH, tableOf } from '../../src/core/bucket-table.js';
import { ENERGY_KEYS, MAX_POWER_FIELDS, POWER_FIELDS } from '../../src/core/counter-deltas.js';
import { toBucket } from '../../src/core/rollup.js';
import { ROLLUP_COLUMNS } from '../../src/server/store/common.js';

const cal = new BucketCalendar('Europe/Brussels');
const Q = Date.parse('2026-03-29T00:45:00Z');

/** samples, 9 energies, 5 sums, 5 counts, 3 maxima. */
function vector(over: Partial<Record<string, number | null>> = {}): (number | null)[] {
  const v: Record<string, number | null> = { samples: 3 };
  ENERGY_KEYS.forEach((k, i) => {
    v[k] = i < 2 ? 0.1 * (i + 1) : null;
  });
  POWER_FIELDS.forEach((f, i) => {
    v[`sum_${f}`] = i === 0 ? 900 : 0;
    v[`n_${f}`] = i === 0 ? 3 : 0;
  });
  for (const f of MAX_POWER_FIELDS) v[`max_${f}`] = f === 'grid_power_w' ? 450 : null;
  Object.assign(v, over);
  return ROLLUP_COLUMNS.map((c) => v[c] ?? null);
}

describe('BucketTable', () => {
  it('reads the rollup vector in the stores’ column order', () => {
    expect(ROLLUP_VECTOR_LENGTH).toBe(ROLLUP_COLUMNS.length);
    expect(ROLLUP_COLUMNS.slice(0, 2 + ENERGY_KEYS.length)).toEqual(['samples', ...ENERGY_KEYS, 'sum_grid_power_w']);
  });

  it('fills every field of BUCKET_FIELDS from the rollup values of its own name', () => {
    // Distinct values everywhere, so a column shifted by one shows.
    const over: Record<string, number> = {};
    ENERGY_KEYS.forEach((k, i) => {
      over[k] = i + 1;
    });
    POWER_FIELDS.forEach((f, i) => {
      over[`sum_${f}`] = 100 * (i + 1) * 4;
      over[`n_${f}`] = 4;
    });
    MAX_POWER_FIELDS.forEach((f, i) => {
      over[`max_${f}`] = 1000 * (i + 1);
    });
    const t = new BucketTableBuilder(1);
    t.add(Q, vector(over));
    const table = t.finish();
    expect(Object.keys(table.values)).toEqual([...BUCKET_FIELDS]);
    const b = bucketAt(table, 0, '15min', cal);
    for (const k of ENERGY_KEYS) expect(b[k]).toBe(over[k]);
    expect(b.import_kwh).toBe(over.import_t1_kwh! + over.import_t2_kwh!);
    expect(b.export_kwh).toBe(over.export_t1_kwh! + over.export_t2_kwh!);
    expect([b.avg_grid_power_w, b.avg_pv_power_w, b.avg_load_power_w, b.avg_battery_power_w]).toEqual([
      100, 200, 300, 400,
    ]);
    expect(b.avg_battery_soc_pct).toBe(500);
    expect(b.avg_ev_power_w).toBe(600);
    expect([b.max_grid_power_w, b.max_pv_power_w, b.max_load_power_w]).toEqual([1000, 2000, 3000]);
  });

  it('computes what a bucket shows: tariff sums, means from sums and counts, null where nothing was read', () => {
    const t = new BucketTableBuilder(1); // grows
    t.add(Q, vector());
    t.add(Q + 900_000, vector({ import_t1_kwh: null, import_t2_kwh: null, n_grid_power_w: 0, samples: null }));
    t.add(Q + 1_800_000, [Number.NaN, ...vector().slice(1)]);
    const table = t.finish();
    expect(table.length).toBe(3);
    const [a, b, c] = bucketsOf(table, '15min', cal);
    expect(a).toEqual({
      start: new Date(Q),
      end: new Date(Q + 900_000),
      samples: 3,
      import_kwh: 0.3,
      import_t1_kwh: 0.1,
      import_t2_kwh: 0.2,
      export_kwh: null,
      export_t1_kwh: null,
      export_t2_kwh: null,
      pv_kwh: null,
      battery_charge_kwh: null,
      battery_discharge_kwh: null,
      gas_m3: null,
      water_m3: null,
      avg_grid_power_w: 300,
      max_grid_power_w: 450,
      avg_pv_power_w: null,
      max_pv_power_w: null,
      avg_load_power_w: null,
      max_load_power_w: null,
      avg_battery_power_w: null,
      avg_battery_soc_pct: null,
      avg_ev_power_w: null,
    });
    expect([b!.samples, b!.import_kwh, b!.avg_grid_power_w]).toEqual([0, null, null]);
    expect(c!.samples).toBe(0);
    expect(Number.isNaN(table.values.import_kwh[1]!)).toBe(true);
  });

  it('toBucket is a table of one row; tableOf gives the objects back', () => {
    const row = {
      start: Q,
      samples: 2,
      energy: [0.25, null, 0.1, 0.05, 1.5, null, 0.3, 0.01, null],
      sums: [500, 2000, 1200, -300, 120],
      counts: [2, 2, 2, 2, 2],
      max: [300, 1100, 700],
    };
    const b = toBucket(row, 'daily', cal);
    expect(b.end.toISOString()).toBe('2026-03-29T22:00:00.000Z'); // the 23-hour day
    expect([b.import_kwh, b.export_kwh, b.pv_kwh, b.battery_charge_kwh, b.avg_battery_power_w]).toEqual([
      0.25,
      0.15,
      1.5,
      null,
      -150,
    ]);
    const t = new BucketTableBuilder();
    t.add(row.start, [row.samples, ...row.energy, ...row.sums, ...row.counts, ...row.max]);
    expect(bucketAt(t.finish(), 0, 'daily', cal)).toEqual(b);
    expect(bucketsOf(tableOf([b, b]), 'daily', cal)).toEqual([b, b]);
  });
});
