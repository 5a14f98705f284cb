import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { capacitySettings, capacityTariffReport, meterPeakForMonth } from '../../../src/core/capacity/report.js';
import { parseTariffFile } from '../../../src/core/tariff/schema.js';
import { at, bucket, TZ } from '../tariff/buckets.js';

const RULES = { floorKw: 2.5, floorAppliesTo: 'month' as const };

describe('GET /api/v1/capacity-tariff answer', () => {
  // Data since January 2026; now Tuesday 2026-03-10 10:06 local, in the quarter 10:00–10:15.
  const buckets = [
    bucket('2026-01-20T18:00', { import_kwh: 0.75 }), // January peak 3000 W
    bucket('2026-02-11T07:30', { import_kwh: 0.4 }), // February peak 1600 W (under the floor)
    bucket('2026-03-10T09:45', { import_kwh: 1.0 }), // March so far 4000 W
    bucket('2026-03-10T10:00', { import_kwh: 0.3 }), // the running quarter, not finished
  ];
  const snapshot = { timestamp: '2026-03-10T09:06:00Z', grid_monthly_peak_w: 4012 };
  const report = capacityTariffReport({
    deviceId: 'home-1',
    month: '2026-03',
    now: at('2026-03-10T10:06'),
    timezone: TZ,
    buckets,
    rules: RULES,
    rateEurPerKwYear: 40.4,
    meterMonthPeakW: meterPeakForMonth(snapshot, '2026-03', TZ),
    gridPowerW: 5000,
  });

  it('has exactly the documented keys', () => {
    expect(Object.keys(report)).toEqual([
      'device_id',
      'month',
      'quarters',
      'month_peak_w',
      'month_peak_start',
      'meter_month_peak_w',
      'history',
      'rolling_12m_avg_w',
      'rate_eur_per_kw_year',
      'yearly_cost_eur',
      'forecast',
    ]);
  });

  it('lists the completed quarters of the month, the peak and the meter value beside it', () => {
    // 1 March 00:00 to 10 March 10:00: 9 days × 96 + 40 quarters; the running quarter is not listed.
    expect(report.quarters).toHaveLength(9 * 96 + 40);
    expect(report.quarters.at(-1)).toEqual({ start: '2026-03-10T09:45:00+01:00', avg_import_w: 4000 });
    expect(report.quarters.filter((q) => q.avg_import_w !== null)).toHaveLength(1);
    expect(report.month_peak_w).toBe(4000);
    expect(report.month_peak_start).toBe('2026-03-10T09:45:00+01:00');
    expect(report.meter_month_peak_w).toBe(4012);
  });

  it('averages the months it has (fewer than 12), each floored at 2.5 kW', () => {
    expect(report.history).toEqual([
      { month: '2026-01', peak_w: 3000 },
      { month: '2026-02', peak_w: 1600 },
      { month: '2026-03', peak_w: 4000 },
    ]);
    expect(report.rolling_12m_avg_w).toBe(3166.7); // (3000 + 2500 + 4000) / 3
    expect(report.rate_eur_per_kw_year).toBe(40.4);
    expect(report.yearly_cost_eur).toBe(127.93); // 3.1667 kW × 40.4 €/kW/year
  });

  it('forecasts the running quarter', () => {
    expect(report.forecast).toEqual({
      quarter_start: '2026-03-10T10:00:00+01:00',
      elapsed_s: 360,
      avg_so_far_w: 3000, // 0.3 kWh over 360 s
      projected_w: 4200, // (1.08 MJ + 5000 W × 540 s) / 900 s
      headroom_w: 4666.7, // (4000 × 900 − 1.08e6) / 540
      new_peak_expected: true,
    });
  });

  it('gives nulls for a month without data, and no forecast for a past month', () => {
    const r = capacityTariffReport({
      deviceId: 'home-1',
      month: '2025-06',
      now: at('2026-03-10T10:06'),
      timezone: TZ,
      buckets: [],
      rules: RULES,
      rateEurPerKwYear: 40.4,
    });
    expect(r.month_peak_w).toBeNull();
    expect(r.month_peak_start).toBeNull();
    expect(r.meter_month_peak_w).toBeNull();
    expect(r.history).toEqual([{ month: '2025-06', peak_w: null }]);
    expect(r.rolling_12m_avg_w).toBeNull();
    expect(r.yearly_cost_eur).toBeNull();
    expect(r.forecast).toBeNull();
    expect(r.quarters).toHaveLength(30 * 96);
    expect(r.quarters.every((q) => q.avg_import_w === null)).toBe(true);
  });

  it("takes the meter's 1.6.0 only from a snapshot of the same month", () => {
    expect(
      meterPeakForMonth({ timestamp: '2026-02-28T22:59:59Z', grid_monthly_peak_w: 3100 }, '2026-03', TZ),
    ).toBeNull();
    expect(meterPeakForMonth({ timestamp: '2026-02-28T23:00:00Z', grid_monthly_peak_w: 0 }, '2026-03', TZ)).toBe(0);
  });

  it('takes the rate and rules from the tariff valid in that month', () => {
    const doc = parseYaml(readFileSync(new URL('../../../config/tariffs.example.yaml', import.meta.url), 'utf8'));
    const t = parseTariffFile(doc, 'tariffs.example.yaml');
    expect(capacitySettings(t, '2026-03', at('2026-03-10T10:06'))).toEqual({
      timezone: TZ,
      rules: RULES,
      rateEurPerKwYear: 40.4,
    });
    expect(capacitySettings(t, '2024-06', at('2026-03-10T10:06')).rateEurPerKwYear).toBeNull(); // before any contract
  });
});
