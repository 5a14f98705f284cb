import { describe, expect, it } from 'vitest';
import {
  billedAverageW,
  billedKwByMonth,
  compareWithMeter,
  last12Months,
  meterHistoryFromMaxDemand,
} from '../../../src/core/capacity/billing.js';
import { TZ } from '../tariff/buckets.js';

const MONTH = { floorKw: 2.5, floorAppliesTo: 'month' as const };
const AVERAGE = { floorKw: 2.5, floorAppliesTo: 'average' as const };

describe('the billed 12-month value', () => {
  it('raises each month under 2.5 kW to the floor before averaging', () => {
    // (max(1200, 2500) + 3000 + 4000) / 3 = 9500 / 3
    expect(billedAverageW([1200, 3000, 4000], MONTH)).toBe(3166.7);
    // The other reading: max((1200 + 3000 + 4000) / 3, 2500) = 8200 / 3
    expect(billedAverageW([1200, 3000, 4000], AVERAGE)).toBe(2733.3);
    // A month with 0 kW (meter on, nothing imported) counts as 2.5 kW too.
    expect(billedAverageW([0, 632, 2000], MONTH)).toBe(2500);
    expect(billedAverageW([0, 632, 2000], AVERAGE)).toBe(2500);
  });

  it('averages over the months that have data when there are fewer than 12', () => {
    const peaks = [null, null, null, null, null, null, null, null, null, 5000, 3000, null];
    // (5000 + 3000) / 2: the null months are neither 0 nor the floor
    expect(billedAverageW(peaks, MONTH)).toBe(4000);
    expect(billedAverageW([], MONTH)).toBeNull();
  });

  it('averages the full 12 months', () => {
    const peaks = [3000, 4000, 5000, 2000, 6000, 3500, 4500, 2400, 5200, 3300, 4100, 2700];
    // floored: 3000 4000 5000 2500 6000 3500 4500 2500 5200 3300 4100 2700 → 46300 / 12 = 3858.33
    expect(billedAverageW(peaks, MONTH)).toBe(3858.3);
  });

  it('gives billed kW per month for the cost breakdown from a month → peak map', () => {
    expect(last12Months('2026-03')[0]).toBe('2025-04');
    const peaks = new Map<string, number | null>([
      ['2025-03', 9000], // inside the window of 2026-02 (2025-03…2026-02), outside that of 2026-03
      ['2026-01', 3000],
      ['2026-02', 1600],
      ['2026-03', 4000],
    ]);
    // 2026-02: (9000 + 3000 + 2500) / 3 = 4833.3 W; 2026-03: (3000 + 2500 + 4000) / 3 = 3166.7 W
    expect(billedKwByMonth(peaks, ['2026-02', '2026-03'], MONTH)).toEqual({ '2026-02': 4.8333, '2026-03': 3.1667 });
  });
});

describe("the meter's own figures beside ours", () => {
  it('reads 98.1.0 entries as the peak of the month before their stamp (fixture fluvius-v171-3phase-alt)', () => {
    const meter = meterHistoryFromMaxDemand(
      [
        { month_start: new Date('2023-07-31T22:00:00Z'), occurred: null, peak_kw: 0 },
        { month_start: new Date('2023-08-31T22:00:00Z'), occurred: new Date('2023-08-31T16:15:00Z'), peak_kw: 1.862 },
        { month_start: new Date('2023-09-30T22:00:00Z'), occurred: new Date('2023-09-10T16:30:00Z'), peak_kw: 4.229 },
        { month_start: new Date('2023-10-31T23:00:00Z'), occurred: new Date('2023-10-16T11:00:00Z'), peak_kw: 4.927 },
      ],
      TZ,
    );
    expect(meter).toEqual([
      { month: '2023-07', peak_w: 0 },
      { month: '2023-08', peak_w: 1862 },
      { month: '2023-09', peak_w: 4229 },
      { month: '2023-10', peak_w: 4927 },
    ]);
    const cmp = compareWithMeter(
      [
        { month: '2023-09', peak_w: 4300 },
        { month: '2023-10', peak_w: 4927 },
        { month: '2023-11', peak_w: 3064 },
      ],
      meter,
    );
    expect(cmp).toEqual([
      { month: '2023-07', ours_w: null, meter_w: 0, difference_w: null },
      { month: '2023-08', ours_w: null, meter_w: 1862, difference_w: null },
      { month: '2023-09', ours_w: 4300, meter_w: 4229, difference_w: 71 }, // 4300 − 4229
      { month: '2023-10', ours_w: 4927, meter_w: 4927, difference_w: 0 },
      { month: '2023-11', ours_w: 3064, meter_w: null, difference_w: null },
    ]);
  });
});
