import { describe, expect, it } from 'vitest';
import { emptySnapshot, type Snapshot } from '../../src/core/snapshot.js';
import { CapacityWatch } from '../../src/edge/capacity-watch.js';

const Q = Date.parse('2026-11-23T09:00:00Z'); // a quarter start (10:00 in Brussels, a Monday)

/** A snapshot at `ms` with the import counter (kWh, all on t1) and grid power (W). */
function snap(ms: number, importKwh: number, gridW: number, meterPeakW: number | null = null): Snapshot {
  const s = emptySnapshot('home-01', new Date(ms).toISOString());
  s.grid_import_t1_kwh = importKwh;
  s.grid_import_t2_kwh = 0;
  s.grid_power_w = gridW;
  s.grid_monthly_peak_w = meterPeakW;
  return s;
}

/** Feeds readings every `stepS` seconds at a constant import `w` from `from` to `to`; returns the alerts. */
function run(
  w: CapacityWatch,
  from: number,
  to: number,
  kwhAtFrom: number,
  gridW: number,
  meterPeakW: number | null = null,
  stepS = 10,
) {
  const alerts = [];
  for (let t = from; t <= to; t += stepS * 1000) {
    const kwh = kwhAtFrom + (gridW * (t - from)) / 3.6e9;
    const a = w.update(snap(t, kwh, gridW, meterPeakW));
    if (a) alerts.push(a);
  }
  return alerts;
}

describe('CapacityWatch (edge)', () => {
  it('alerts once, 5 minutes before the end, when the projected quarter beats the month peak', () => {
    const w = new CapacityWatch({ timezone: 'Europe/Brussels' });
    // A reading just before the quarter gives the base: 1000.000 kWh at 08:59:50.
    expect(w.update(snap(Q - 10_000, 1000, 6000, 3000))).toBeNull();
    // 6 kW all quarter long: from 10:00:00, 6000 W × 10 s = 1/60 kWh per reading.
    const alerts = run(w, Q, Q + 900_000 - 10_000, 1000 + (6000 * 10) / 3.6e6, 6000, 3000);
    expect(alerts).toHaveLength(1);
    const a = alerts[0]!;
    // First tick with ≤ 300 s left: 10:10:00 (elapsed 600 s).
    expect(a.elapsed_s).toBe(600);
    // Energy so far = 6 kW × (600 + 10) s (the base was 10 s before the quarter) = 1.01667 kWh;
    // projected = (1.01667 kWh × 3.6e6 + 6000 W × 300 s) / 900 s = (3 660 000 + 1 800 000) / 900 = 6066.7 W
    expect(a.projected_w).toBeCloseTo(6066.7, 1);
    // limit = max(month peak 3000 W, 2.5 kW floor)
    expect(a.limit_w).toBe(3000);
    // headroom = (3000 W × 900 s − 3 660 000 J) / 300 s = (2 700 000 − 3 660 000) / 300 = −3200 W
    expect(a.headroom_w).toBeCloseTo(-3200, 1);
    expect(a.quarter_start).toBe('2026-11-23T09:00:00.000Z');
    expect(a.reason).toBe('lead_time');
  });

  it('stays quiet when the projection stays under the peak or under the 2.5 kW floor', () => {
    const w = new CapacityWatch({ timezone: 'Europe/Brussels' });
    w.update(snap(Q - 10_000, 500, 2000, 4000));
    expect(run(w, Q, Q + 890_000, 500.0056, 2000, 4000)).toHaveLength(0); // 2 kW < 4 kW peak
    const low = new CapacityWatch({ timezone: 'Europe/Brussels' });
    low.update(snap(Q - 10_000, 500, 2000, null));
    expect(run(low, Q, Q + 890_000, 500.0056, 2000, null)).toHaveLength(0); // no peak yet, but under the floor
  });

  it('learns the month peak from completed quarters when the meter gives none, and uses a target when set', () => {
    const w = new CapacityWatch({ timezone: 'Europe/Brussels', alert: { floor_w: 0 } });
    w.update(snap(Q - 10_000, 100, 4000));
    // Quarter 1 at 4 kW: no peak known yet, so any import is a new peak: one alert.
    expect(run(w, Q, Q + 890_000, 100 + (4000 * 10) / 3.6e6, 4000)).toHaveLength(1);
    // Quarter 2 at 3 kW: under the 4 kW learnt from quarter 1: no alert.
    const kwhAtQ2 = 100 + (4000 * 900) / 3.6e6;
    expect(run(w, Q + 900_000, Q + 1_790_000, kwhAtQ2, 3000)).toHaveLength(0);
    const t = new CapacityWatch({ timezone: 'Europe/Brussels', targetW: 2800 });
    t.update(snap(Q - 10_000, 100, 3000, 5000));
    // 3 kW projected: above the 2.8 kW target although under the 5 kW month peak.
    expect(run(t, Q, Q + 890_000, 100 + (3000 * 10) / 3.6e6, 3000, 5000)).toHaveLength(1);
  });

  it('says nothing for a quarter whose start it did not see (no base reading) or after a counter reset', () => {
    const w = new CapacityWatch({ timezone: 'Europe/Brussels' });
    // First reading 5 minutes into the quarter: the energy so far is unknown.
    expect(run(w, Q + 300_000, Q + 890_000, 1000, 9000, 3000)).toHaveLength(0);
    // A replaced meter: the counter drops mid-quarter, so this quarter's energy is unknown.
    const r = new CapacityWatch({ timezone: 'Europe/Brussels' });
    r.update(snap(Q + 900_000 - 10_000, 1000, 9000, 3000));
    r.update(snap(Q + 900_000, 1000.025, 9000, 3000));
    expect(run(r, Q + 910_000, Q + 1_790_000, 3.2, 9000, 3000)).toHaveLength(0);
  });

  it('gives the running quarter’s status after every snapshot: null what it cannot know yet', () => {
    const w = new CapacityWatch({ timezone: 'Europe/Brussels' });
    expect(w.status).toBeNull();
    // Started mid-quarter: the month's peak is the meter's, the quarter's average unknown.
    w.update(snap(Q - 300_000, 999, 2000, 3000));
    expect(w.status).toMatchObject({
      quarter_start: new Date(Q - 900_000).toISOString(),
      avg_so_far_w: null,
      projected_w: null,
      headroom_w: null,
      month_peak_w: 3000,
      limit_w: 3000,
    });
    // 10 s before the next quarter (the base), 10 s into it, then 300 s into it, at 6 kW.
    w.update(snap(Q - 10_000, 1000, 6000, 3000));
    w.update(snap(Q + 10_000, 1000 + (6000 * 20) / 3.6e6, 6000, 3000));
    const kwh = 1000 + (6000 * 310) / 3.6e6;
    w.update(snap(Q + 300_000, kwh, 6000, 3000));
    const s = w.status;
    // 6 kW × 310 s over 300 s elapsed = 6200 W; projected = (6 kW × 310 s + 6 kW × 600 s) / 900 s = 6066.7 W.
    expect(s?.avg_so_far_w).toBeCloseTo(6200, 1);
    expect(s?.projected_w).toBeCloseTo(6066.7, 1);
    expect(s?.quarter_start).toBe(new Date(Q).toISOString());
    expect(s?.timestamp).toBe(new Date(Q + 300_000).toISOString());
    expect(s?.month_peak_w).toBe(3000);
  });
});
