import { describe, expect, it } from 'vitest';
import {
  energyByQuarter,
  indexQuarterBuckets,
  monthPeak,
  quartersIn,
  quartersInMonth,
} from '../../../src/core/capacity/quarters.js';
import { capacityTariffReport } from '../../../src/core/capacity/report.js';
import { isoLocal, monthRange } from '../../../src/core/tariff/local-time.js';
import { at, bucket, TZ } from '../tariff/buckets.js';

const RULES = { floorKw: 2.5, floorAppliesTo: 'month' as const };

describe('quarters and months across DST', () => {
  it('counts the quarters of a local month: 743 h in March, 745 h in October', () => {
    expect(quartersInMonth('2026-01', TZ)).toBe(2976); // 31 × 96
    expect(quartersInMonth('2026-03', TZ)).toBe(2972); // 31 × 96 − 4 (02:00–03:00 skipped on 29 March)
    expect(quartersInMonth('2026-10', TZ)).toBe(2980); // 31 × 96 + 4 (02:00–03:00 twice on 25 October)
    expect(monthRange('2026-10', TZ)).toEqual({
      start: Date.parse('2026-09-30T22:00:00Z'),
      end: Date.parse('2026-10-31T23:00:00Z'),
    });
  });

  it('finds an October peak in the repeated hour and names it with its offset', () => {
    const buckets = [
      bucket('2026-10-01T00:00:00+02:00', { import_kwh: 0.5 }), // first quarter of October: 2000 W
      bucket('2026-10-25T02:45:00+02:00', { import_kwh: 1.0 }), // first 02:45 (summer time): 4000 W
      bucket('2026-10-25T02:45:00+01:00', { import_kwh: 1.2 }), // second 02:45 (winter time): 4800 W
      bucket('2026-11-01T00:00:00+01:00', { import_kwh: 2.0 }), // November already: 8000 W, not October's
      bucket('2026-09-30T23:45:00+02:00', { import_kwh: 3.0 }), // September still: 12000 W
    ];
    const r = capacityTariffReport({
      deviceId: 'home',
      month: '2026-10',
      now: at('2026-11-15T12:00'),
      timezone: TZ,
      buckets,
      rules: RULES,
      rateEurPerKwYear: 40.4,
    });
    expect(r.quarters).toHaveLength(2980);
    expect(r.quarters[0]).toEqual({ start: '2026-10-01T00:00:00+02:00', avg_import_w: 2000 });
    expect(r.quarters.at(-1)!.start).toBe('2026-10-31T23:45:00+01:00');
    expect(r.quarters.filter((q) => q.start.startsWith('2026-10-25T02:45'))).toEqual([
      { start: '2026-10-25T02:45:00+02:00', avg_import_w: 4000 },
      { start: '2026-10-25T02:45:00+01:00', avg_import_w: 4800 }, // 1.2 kWh × 4
    ]);
    expect(r.month_peak_w).toBe(4800);
    expect(r.month_peak_start).toBe('2026-10-25T02:45:00+01:00');
    expect(r.forecast).toBeNull(); // not the running month
  });

  it('finds a March peak in the last quarter before the clocks jump', () => {
    const buckets = [
      bucket('2026-03-01T00:00', { import_kwh: 0.25 }),
      bucket('2026-03-29T01:45', { import_kwh: 1.5 }), // 6000 W, then 03:00 +02:00 follows
      bucket('2026-03-29T03:00', { import_kwh: 1.0 }),
      bucket('2026-04-01T00:00', { import_kwh: 2.0 }), // April
    ];
    const index = indexQuarterBuckets(buckets);
    const q = quartersIn(index, at('2026-03-29T01:30'), at('2026-03-29T03:30'));
    // 01:30, 01:45 (+01:00), then 03:00, 03:15 (+02:00): the missing hour has no quarters.
    expect(q.map((x) => isoLocal(x.start, TZ))).toEqual([
      '2026-03-29T01:30:00+01:00',
      '2026-03-29T01:45:00+01:00',
      '2026-03-29T03:00:00+02:00',
      '2026-03-29T03:15:00+02:00',
    ]);
    const peak = monthPeak(index, '2026-03', TZ);
    expect(peak?.peak_w).toBe(6000);
    expect(isoLocal(peak!.start, TZ)).toBe('2026-03-29T01:45:00+01:00');
  });

  it('rejects buckets that are not clock quarters', () => {
    expect(() => indexQuarterBuckets([bucket('2026-03-01T00:00', {}, 60)])).toThrow(/15-minute buckets/);
  });
});

describe('gaps', () => {
  it('counts the energy after a gap but marks the quarter incomplete; a missing quarter is null', () => {
    const index = indexQuarterBuckets([
      bucket('2026-03-10T09:45', { import_kwh: 0.2 }),
      bucket('2026-03-10T10:00', { import_kwh: 0.25 }),
      // 10:15 missing: no readings from before 10:15 until 10:3x
      bucket('2026-03-10T10:30', { import_kwh: 0.9 }), // holds the import since the last reading before the gap
      { ...bucket('2026-03-10T10:45', { import_kwh: 0.3 }), samples: 10 },
    ]);
    const q = quartersIn(index, at('2026-03-10T10:00'), at('2026-03-10T11:00'), { minSamples: 600 });
    expect(q.map((x) => [isoLocal(x.start, TZ), x.avg_import_w, x.complete])).toEqual([
      ['2026-03-10T10:00:00+01:00', 1000, true], // 0.25 × 4
      ['2026-03-10T10:15:00+01:00', null, false], // absent, not 0
      ['2026-03-10T10:30:00+01:00', 3600, false], // 0.9 × 4, after a gap
      ['2026-03-10T10:45:00+01:00', 1200, false], // 10 readings < 600
    ]);
    // The peak still counts it (a peak is never under-reported), and says it is incomplete.
    expect(monthPeak(index, '2026-03', TZ)).toEqual({ peak_w: 3600, start: at('2026-03-10T10:30'), complete: false });
  });

  it('takes quarter energy from counters and survives a counter reset', () => {
    const e = energyByQuarter([
      { time: at('2026-03-10T10:00:00'), import_kwh: 100.0 },
      { time: at('2026-03-10T10:05:00'), import_kwh: 100.2 },
      { time: at('2026-03-10T10:07:00'), import_kwh: null }, // unknown: skipped
      { time: at('2026-03-10T10:10:00'), import_kwh: 0.05 }, // meter replaced: new series, step counts 0
      { time: at('2026-03-10T10:14:00'), import_kwh: 0.15 },
      { time: at('2026-03-10T10:16:00'), import_kwh: 0.4 },
    ]);
    // 10:00 quarter: 0 (first reading) + 0.2 + 0 (reset) + 0.1 = 0.3 kWh → 1200 W
    expect(e.get(at('2026-03-10T10:00'))).toBeCloseTo(0.3, 9);
    // 10:15 quarter: 0.4 − 0.15 = 0.25 kWh → 1000 W
    expect(e.get(at('2026-03-10T10:15'))).toBeCloseTo(0.25, 9);
  });
});
