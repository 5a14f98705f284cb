import { describe, expect, it } from 'vitest';
import { type AlertConfig, type AlertState, INITIAL_ALERT_STATE, stepAlert } from '../../../src/core/capacity/alert.js';
import { forecastJson, forecastQuarter } from '../../../src/core/capacity/forecast.js';
import { at, TZ } from '../tariff/buckets.js';

describe('the forecast of the running quarter', () => {
  // Quarter 10:00–10:15; now 10:06: elapsed t = 360 s, remaining r = 540 s.
  // 0.3 kWh imported so far = 1.08 MJ; importing 5000 W now; the month's peak is 4000 W.
  const base = { now: at('2026-03-10T10:06'), energySoFarKwh: 0.3, gridPowerW: 5000, monthPeakW: 4000 };

  it('projects the quarter and the headroom to the month peak', () => {
    const f = forecastQuarter(base);
    expect(forecastJson(f, TZ)).toEqual({
      quarter_start: '2026-03-10T10:00:00+01:00',
      elapsed_s: 360,
      avg_so_far_w: 3000, // 1.08 MJ / 360 s
      projected_w: 4200, // (1.08 MJ + 5000 W × 540 s) / 900 s = 3.78 MJ / 900 s
      headroom_w: 4666.7, // (4000 W × 900 s − 1.08 MJ) / 540 s = 2.52 MJ / 540 s
      new_peak_expected: true, // 4200 > 4000
    });
    // Check: importing exactly the headroom ends the quarter at the peak: (1.08 MJ + 4666.67 × 540) / 900 = 4000.
    expect((1.08e6 + (f.headroom_w as number) * 540) / 900).toBeCloseTo(4000, 0);
  });

  it('uses a user target instead of the peak for the headroom', () => {
    const f = forecastQuarter({ ...base, targetW: 5000 });
    expect(f.headroom_w).toBe(6333.3); // (5000 × 900 − 1.08e6) / 540 = 3.42e6 / 540
    expect(f.new_peak_expected).toBe(true); // still about the month's peak
  });

  it('gives negative headroom when the limit is already out of reach', () => {
    // 1.1 kWh = 3.96 MJ by 10:06; the peak allows 4000 × 900 = 3.6 MJ.
    const f = forecastQuarter({ ...base, energySoFarKwh: 1.1, gridPowerW: -2000 });
    expect(f.headroom_w).toBe(-666.7); // (3.6e6 − 3.96e6) / 540
    expect(f.projected_w).toBe(4400); // exporting counts as 0 import: 3.96e6 / 900
    expect(f.new_peak_expected).toBe(true);
  });

  it('handles the first second of a quarter and a month without a peak yet', () => {
    const f = forecastQuarter({ now: at('2026-03-01T00:00'), energySoFarKwh: 0, gridPowerW: 800, monthPeakW: null });
    expect(f.elapsed_s).toBe(0);
    expect(f.avg_so_far_w).toBeNull(); // no time elapsed
    expect(f.projected_w).toBe(800);
    expect(f.headroom_w).toBeNull(); // no limit
    expect(f.new_peak_expected).toBe(true); // the first quarter makes the month's peak
    const unknown = forecastQuarter({ ...base, energySoFarKwh: null });
    expect([unknown.projected_w, unknown.headroom_w, unknown.new_peak_expected]).toEqual([null, null, false]);
  });
});

describe('the alert', () => {
  const LEAD: AlertConfig = { lead_time_s: 300, on_cross: false, floor_w: 2500 };

  /** Runs ticks (local time, projected W) through the machine; returns the alerts' times and reasons. */
  function run(ticks: Array<[string, number]>, config: AlertConfig, monthPeakW: number | null, targetW?: number) {
    let state: AlertState = INITIAL_ALERT_STATE;
    const fired: string[] = [];
    for (const [time, projected] of ticks) {
      const f = forecastQuarter({ now: at(time), energySoFarKwh: 0, gridPowerW: 0, monthPeakW });
      const out = stepAlert(
        state,
        { quarterStartMs: f.quarterStartMs, remaining_s: f.remaining_s, projected_w: projected, monthPeakW, targetW },
        config,
      );
      state = out.state;
      if (out.alert) fired.push(`${time} ${out.alert.reason} ${out.alert.limit_w}`);
    }
    return fired;
  }

  it('fires at most once per quarter, only in the lead time', () => {
    const fired = run(
      [
        ['2026-03-10T10:02:00', 5000], // over, but 780 s remain > 300
        ['2026-03-10T10:10:30', 4500], // over, 270 s remain: alert
        ['2026-03-10T10:12:00', 4600], // already alerted
        ['2026-03-10T10:14:00', 3000], // back under
        ['2026-03-10T10:14:30', 4100], // over again: still once per quarter
        ['2026-03-10T10:26:00', 4200], // next quarter, 240 s remain: alert again
      ],
      LEAD,
      4000,
    );
    expect(fired).toEqual(['2026-03-10T10:10:30 lead_time 4000', '2026-03-10T10:26:00 lead_time 4000']);
  });

  it('fires when the projection crosses, when configured', () => {
    const fired = run(
      [
        ['2026-03-10T10:01:00', 3000],
        ['2026-03-10T10:02:00', 5000], // crosses 4000: alert
        ['2026-03-10T10:11:00', 5000],
      ],
      { ...LEAD, on_cross: true },
      4000,
    );
    expect(fired).toEqual(['2026-03-10T10:02:00 crossed 4000']);
  });

  it('does not alert under the 2.5 kW floor, and follows a target', () => {
    // Month peak 1000 W: a quarter at 2000 W costs nothing extra (floor 2500).
    expect(run([['2026-03-10T10:12:00', 2000]], LEAD, 1000)).toEqual([]);
    expect(run([['2026-03-10T10:12:00', 2600]], LEAD, 1000)).toEqual(['2026-03-10T10:12:00 lead_time 2500']);
    // Target 6000 W above the 4000 W peak: 5000 W is fine.
    expect(run([['2026-03-10T10:12:00', 5000]], LEAD, 4000, 6000)).toEqual([]);
  });
});
