import { describe, expect, it } from 'vitest';
import { meterAverageFits, meterQuarterKwh } from '../../../src/core/control/budget.js';
import { at, Home } from './home.js';

/**
 * The guide's cases (control.md §3.5) with a 2.5 kW target, a 100 W margin (the chargers plan
 * for 2.4 kW: 2,160,000 J a quarter), a house of 500 W and a 3-phase charger of 6–16 A at 230 V
 * (minimum 4,140 W, maximum 11,040 W). E(k) = import counted k seconds into the quarter.
 */
const CAR = { capacity_target_w: 2500, chargers: { car: { mode: 'max_under_peak' } } };

function firstCharging(home: Home, from: number, to: number, o = {}): number | null {
  for (let t = from; t <= to; t += 1000) {
    const d = home.tick(t, o);
    if (d.chargers[0]?.setpoint.charge) return t;
  }
  return null;
}

describe('the start and the end of a quarter', () => {
  it('starts a car that cannot go below 4.1 kW late in the quarter, so the quarter ends under the target', () => {
    const home = new Home(CAR);
    const first = home.tick(at('2026-03-10T10:00:00'));
    // A fresh start exactly at the boundary: the first reading is the quarter's base, E = 0.
    expect(first.budget).toMatchObject({ status: 'ok', target_w: 2500, target_source: 'floor', used_kwh: 0 });
    expect(first.budget.allowed_w).toBe(2500); // 2,250,000 J / 900 s
    expect(first.chargers[0]).toMatchObject({ setpoint: { charge: false }, write: true }); // room 2,400 − 500 = 1,900 W < 4,140 W
    expect(first.chargers[0]?.reason).toContain('needs 4.1 kW');
    // room(k) = (2,160,000 − 500 k) / (900 − k) − 500 ≥ 4,140  ⇔  4,140 k ≥ 2,016,000  ⇔  k ≥ 486.96: tick 487 = 10:08:07.
    expect(firstCharging(home, at('2026-03-10T10:00:01'), at('2026-03-10T10:14:59'))).toBe(at('2026-03-10T10:08:07'));
    // room(487) = (2,160,000 − 243,500) / 413 − 500 = 4,140.4 W → 6 A.
    expect(home.told()).toEqual({ charge: true, current_a: 6, phases: 3 });
    const rest = home.run(at('2026-03-10T10:08:08'), at('2026-03-10T10:14:59'));
    expect(rest.every((d) => d.chargers[0]?.setpoint.charge)).toBe(true);
    const q1 = home.state.lastImportKwh! - home.state.quarterBaseKwh!;
    // The car draws from the tick after the write: 500 W × 488 s + 4,640 W × 411 s = 244,000 + 1,907,040 J.
    expect(q1 * 3.6e6).toBeCloseTo(2_151_040, 2);
    expect(q1 * 4000).toBeCloseTo(2390.04, 2); // ≤ 2,400 W = target − margin
  });

  it('runs on into the next quarter while its allowance lasts, then pauses: no cycling each minute', () => {
    const home = new Home(CAR);
    home.run(at('2026-03-10T10:00:00'), at('2026-03-10T10:14:59'));
    const d = home.tick(at('2026-03-10T10:15:00'));
    // The new quarter's base is the reading at 10:14:59; E = 4,640 J (the last second's import).
    expect(d.budget.used_kwh).toBe(0.001); // 4,640 J = 0.00129 kWh
    expect(d.chargers[0]?.setpoint.charge).toBe(true);
    // Stops are judged at target − margin / 2 (2,205,000 J), so a car started on the full margin runs on:
    // allowance(k) = 2,205,000 − 4,640 (k + 1) − 500 (900 − k) ≤ 4,140 × 10  ⇔  k ≥ 412.8: tick 413 = 10:21:53.
    let paused: number | null = null;
    for (let t = at('2026-03-10T10:15:01'); t <= at('2026-03-10T10:29:59'); t += 1000) {
      const x = home.tick(t);
      if (paused === null && !x.chargers[0]?.setpoint.charge) {
        paused = t;
        expect(x.chargers[0]?.reason).toContain("the quarter's energy is spent");
      }
    }
    expect(paused).toBe(at('2026-03-10T10:21:53'));
    // Ticks 899…1313 at 4,640 W, 1314…1798 at 500 W: 1,925,600 + 242,500 = 2,168,100 J → 2,409.0 W.
    expect((home.state.lastImportKwh! - home.state.quarterBaseKwh!) * 4000).toBeCloseTo(2409.0, 1);
    // Next quarter: E(k) = 500 (k + 1); 4,140 k ≥ 2,016,500 ⇔ k ≥ 487.1: starts at 10:38:08.
    expect(firstCharging(home, at('2026-03-10T10:30:00'), at('2026-03-10T10:44:59'))).toBe(at('2026-03-10T10:38:08'));
    // One hour: the charger was switched 3 times after the first write (on, off, on), never for a minute.
    const switches = home.writes
      .filter((w) => w.device === 'car')
      .map((w) => (w.setpoint as { charge: boolean }).charge);
    expect(switches).toEqual([false, true, false, true]);
  });

  it('with phase switching charges on one phase all the time instead', () => {
    const home = new Home({
      capacity_target_w: 2500,
      chargers: { car: { mode: 'max_under_peak', phase_switching: true } },
    });
    const d = home.tick(at('2026-03-10T10:00:00'));
    // room 1,900 W ≥ 1,380 W (6 A on one phase) → 1 phase, floor(1,900 / 230) = 8 A.
    expect(d.chargers[0]).toMatchObject({ setpoint: { charge: true, current_a: 8, phases: 1 }, write: true });
    home.run(at('2026-03-10T10:00:01'), at('2026-03-10T10:14:59'));
    // 8 A leaves 60 W of the room unused; late in the quarter the saved energy lifts it to 9 A:
    // floor((room − 150) / 230) ≥ 9 ⇔ (2,161,840 − 2,340 k) / (900 − k) − 500 ≥ 2,220 ⇔ k ≥ 753.05 → 10:12:34.
    expect(home.writes.filter((w) => w.device === 'car')).toEqual([
      { at: at('2026-03-10T10:00:00'), device: 'car', setpoint: { charge: true, current_a: 8, phases: 1 } },
      { at: at('2026-03-10T10:12:34'), device: 'car', setpoint: { charge: true, current_a: 9, phases: 1 } },
    ]);
    // Tick 0 at 500 W, ticks 1…754 at 2,340 W, 755…898 at 2,570 W: 2,134,940 J → 2,372.2 W.
    expect((home.state.lastImportKwh! - home.state.quarterBaseKwh!) * 4000).toBeCloseTo(2372.2, 1);
  });
});

describe('spikes', () => {
  it('a kettle does not stop the charge while the quarter has energy left', () => {
    // Target 5 kW: the car runs at its minimum all the quarter (room 4,900 − 500 = 4,400 W → 6 A).
    const home = new Home({ capacity_target_w: 5000, chargers: { car: { mode: 'max_under_peak' } } });
    home.run(at('2026-03-10T10:00:00'), at('2026-03-10T10:00:59'));
    expect(home.told()).toEqual({ charge: true, current_a: 6, phases: 3 });
    // A 2 kW kettle from 10:01:00 for 3 minutes. E(60) = 500 + 4,640 × 59 = 274,260 J.
    const d = home.tick(at('2026-03-10T10:01:00'), { houseW: 2500 });
    expect(d.budget.used_kwh).toBe(0.076); // 274,260 J
    expect(d.budget.allowed_w).toBe(5030.6); // (4,500,000 − 274,260) / 840
    // An instantaneous limit would pause: 2,500 + 4,140 > 5,000 W, and the room is (4,410,000 − 274,260) / 840
    // − 2,500 = 2,423.5 W < 4,140 W. But 4,455,000 − 274,260 − 516.6 × 840 = 3.75 MJ are left for the car:
    // it stays at 6 A and the kettle is paid from that.
    expect(d.chargers[0]?.setpoint).toEqual({ charge: true, current_a: 6, phases: 3 });
    const during = home.run(at('2026-03-10T10:01:01'), at('2026-03-10T10:03:59'), { houseW: 2500 });
    expect(during.every((x) => x.chargers[0]?.setpoint.charge)).toBe(true);
    // Once the smoothed house has risen, the car is at its minimum and says the spike is paid from the quarter.
    expect(during.at(-1)?.chargers[0]?.reason).toContain('a load spike is paid from it');
    // The kettle's 360 kJ: the car pauses only in the quarter's last half minute, and the quarter
    // ends under the target. 4,640 W all quarter + the kettle = 4,576,000 J (5,084 W) would have broken it.
    const after = home.run(at('2026-03-10T10:04:00'), at('2026-03-10T10:14:59'));
    const firstPause = after.findIndex((x) => !x.chargers[0]?.setpoint.charge);
    expect(firstPause).toBeGreaterThan(after.length - 40);
    const avg = (home.state.lastImportKwh! - home.state.quarterBaseKwh!) * 4000;
    expect(avg).toBeGreaterThan(4850);
    expect(avg).toBeLessThanOrEqual(4950);
  });

  it('follows a lasting change of the house within minutes, not each flicker', () => {
    const home = new Home(CAR);
    // E = 0 at 10:00:00; the house exports 6 kW of PV: room = 2,400 + 6,000 = 8,400 W → 12 A (8,280 W).
    const d = home.tick(at('2026-03-10T10:00:00'), { houseW: -6000 });
    expect(d.chargers[0]?.setpoint).toEqual({ charge: true, current_a: 12, phases: 3 });
    home.run(at('2026-03-10T10:00:01'), at('2026-03-10T10:00:09'), { houseW: -6000 });
    // Then 2 kW less PV. The running current is set from the house smoothed over base_smoothing_s
    // (120 s), so a change for a few seconds (or a reading that lags the meter's) moves nothing; the
    // quarter's energy pays for it.
    const k = home.tick(at('2026-03-10T10:00:10'), { houseW: -4000 });
    expect(k.chargers[0]).toMatchObject({ setpoint: { charge: true, current_a: 12, phases: 3 }, write: false });
    // A lasting one: the current steps down as the smoothed house follows, to 9 A within 3 minutes
    // (room with the house at −4,000 W: about 6.4 kW → floor(6,400 / 690) = 9 A).
    home.run(at('2026-03-10T10:00:11'), at('2026-03-10T10:03:00'), { houseW: -4000 });
    expect(home.told()).toEqual({ charge: true, current_a: 9, phases: 3 });
    home.run(at('2026-03-10T10:03:01'), at('2026-03-10T10:14:59'), { houseW: -4000 });
    const avg = (home.state.lastImportKwh! - home.state.quarterBaseKwh!) * 4000;
    expect(avg).toBeLessThanOrEqual(2400);
  });
});

describe('the month change', () => {
  it('follows the month peak up, and falls back to the floor on the 1st', () => {
    const home = new Home({ capacity_target_w: 'follow_peak', chargers: { car: { mode: 'off' } } });
    // 4 kW from 23:30 to 23:45 on 31 March: 1 kWh in the quarter → 4,000 W.
    home.run(at('2026-03-31T23:30:00'), at('2026-03-31T23:44:59'), { houseW: 4000 });
    const march = home.tick(at('2026-03-31T23:45:00'), {
      houseW: 4000,
      meterPeakW: 4000,
      meterPeakAt: at('2026-03-31T23:30:00'),
    });
    // Our own quarter counts 899 s of it (the first reading is the base): 3,596,000 J / 900 s = 3,995.6 W;
    // the meter's 1.6.0 (4,000 W, a March quarter) is the higher.
    expect(home.state.ownMonthPeakW).toBeCloseTo(3995.56, 2);
    expect(march.budget).toMatchObject({ target_w: 4000, target_source: 'month_peak', month_peak_w: 4000 });
    home.run(at('2026-03-31T23:45:01'), at('2026-03-31T23:59:59'), { houseW: 500 });
    // The meter still shows March's 1.6.0 after midnight: its quarter lies in March, so it is ignored.
    const april = home.tick(at('2026-04-01T00:00:00'), { meterPeakW: 4000, meterPeakAt: at('2026-03-31T23:30:00') });
    expect(april.budget).toMatchObject({ target_w: 2500, target_source: 'floor', month_peak_w: null });
    expect(april.budget.status).toBe('ok');
  });

  it('a user target above the floor holds from the month start', () => {
    const home = new Home({ capacity_target_w: 3000, chargers: { car: { mode: 'off' } } });
    const d = home.tick(at('2026-04-01T00:00:00'));
    expect(d.budget).toMatchObject({ target_w: 3000, target_source: 'target', budget_kwh: 0.75 });
  });
});

describe('fail safe', () => {
  it('a stale meter puts the charger at its safe current and the battery in self-consumption', () => {
    const home = new Home({ ...CAR, batteries: { home: { hold_soc_pct: 50 } } });
    home.run(at('2026-03-10T10:00:00'), at('2026-03-10T10:09:00'));
    // The meter's last reading is from 10:08:49: 11 s old > stale_after_s 10.
    const d = home.tick(at('2026-03-10T10:09:00'), { meterAt: at('2026-03-10T10:08:49') });
    expect(d.budget.status).toBe('stale');
    expect(d.chargers[0]?.setpoint).toEqual({ charge: true, current_a: 6, phases: 3 });
    expect(d.chargers[0]?.reason).toBe('meter stale (last reading 11 s ago): safe current 6 A');
    expect(d.batteries[0]?.setpoint).toEqual({ mode: 'self_consumption', max_discharge_w: 5000, max_charge_w: 5000 });
    const paused = new Home({
      capacity_target_w: 2500,
      chargers: { car: { mode: 'max_under_peak', safe_current_a: 'pause' } },
    });
    const p = paused.tick(at('2026-03-10T10:00:00'), { meterAt: null });
    expect(p.chargers[0]?.setpoint.charge).toBe(false);
  });

  it('after a restart mid-quarter the quarter is unknown until the next one starts', () => {
    const home = new Home(CAR);
    const d = home.tick(at('2026-03-10T10:07:00'));
    expect(d.budget).toMatchObject({ status: 'unknown', used_kwh: null, allowed_w: null });
    expect(d.chargers[0]).toMatchObject({ setpoint: { charge: true, current_a: 6 }, write: true });
    home.run(at('2026-03-10T10:07:01'), at('2026-03-10T10:14:59'));
    const next = home.tick(at('2026-03-10T10:15:00'));
    expect(next.budget.status).toBe('ok');
    expect(next.budget.used_kwh).toBe(0.001); // one second of 500 + 4,140 W
  });

  it("after a restart mid-quarter the meter's running average (1-0:1.4.0) gives the quarter's energy", () => {
    // 10:07:00 is 420 s into the quarter; the meter says 2,000 W on average so far.
    const elapsed = new Home(CAR);
    const d = elapsed.tick(at('2026-03-10T10:07:00'), { meterAvgW: 2000 });
    // E = 2,000 W × 420 s = 840,000 J = 0.2333 kWh; allowed = (2,250,000 − 840,000) / 480 = 2,937.5 W.
    expect(d.budget).toMatchObject({ status: 'ok', used_kwh: 0.233, allowed_w: 2937.5 });
    expect(elapsed.state.quarterBaseFrom).toBe('meter_average');
    // Room for the car: (2,160,000 − 840,000) / 480 − 500 = 2,250 W < 4,140 W: it waits, not the safe current.
    expect(d.chargers[0]?.setpoint.charge).toBe(false);
    // The next quarter's base is the counters' again.
    elapsed.run(at('2026-03-10T10:07:01'), at('2026-03-10T10:14:59'));
    elapsed.tick(at('2026-03-10T10:15:00'));
    expect(elapsed.state.quarterBaseFrom).toBe('counters');

    // Read as a quarter's average (energy so far × 4): E = 2,000 W × 900 s = 1,800,000 J = 0.5 kWh.
    const quarter = new Home({ ...CAR, meter_quarter_average: 'quarter' });
    const q = quarter.tick(at('2026-03-10T10:07:00'), { meterAvgW: 2000 });
    expect(q.budget).toMatchObject({ status: 'ok', used_kwh: 0.5, allowed_w: 937.5 }); // 450,000 J / 480 s

    // Off: the quarter stays unknown, as without 1.4.0.
    const off = new Home({ ...CAR, meter_quarter_average: 'off' });
    expect(off.tick(at('2026-03-10T10:07:00'), { meterAvgW: 2000 }).budget.status).toBe('unknown');
    // A figure stamped outside the quarter asked about is not used (the quarter before's average).
    const g = { at: at('2026-03-10T10:14:59'), power_w: 500, import_kwh: 10, month_peak_w: null, month_peak_at: null };
    const reading = { ...g, quarter_avg_w: 2000, stale: false };
    expect(meterQuarterKwh(reading, at('2026-03-10T10:15:00'), 'elapsed')).toBeNull();
    expect(meterQuarterKwh(reading, at('2026-03-10T10:00:00'), 'elapsed')).toBeCloseTo((2000 * 899) / 3.6e6, 9);
    expect(meterQuarterKwh({ ...reading, quarter_avg_w: null }, at('2026-03-10T10:00:00'), 'elapsed')).toBeNull();
  });

  it("tells which reading of 1-0:1.4.0 a meter's figure fits, from the counters", () => {
    // 0.2 kWh in the first 600 s: 1,200 W over the elapsed time, 800 W as energy × 4.
    expect(meterAverageFits(0.2, 600, 1200)).toBe('elapsed');
    expect(meterAverageFits(0.2, 600, 1150)).toBe('elapsed');
    expect(meterAverageFits(0.2, 600, 800)).toBe('quarter');
    expect(meterAverageFits(0.2, 600, 3000)).toBe('neither');
    expect(meterAverageFits(0.01, 600, 60)).toBe('unclear'); // under 50 Wh
    expect(meterAverageFits(0.2, 200, 3600)).toBe('unclear'); // under 5 minutes
    // Late in the quarter the two readings meet (at 900 s they are the same figure).
    expect(meterAverageFits(0.5, 880, 2045)).toBe('unclear');
  });
});

describe('a charger that does not follow its set-point', () => {
  it('is flagged, counted as it draws, told again, and the battery shaves for it', () => {
    const home = new Home({ ...CAR, batteries: { home: { hold_soc_pct: 50 } } });
    // Told to pause at 10:00:00, the car draws 11,040 W anyway from 10:00:01. SoC 40 %: below hold, the battery holds.
    home.tick(at('2026-03-10T10:00:00'), { socPct: 40 });
    expect(home.told()?.charge).toBe(false);
    home.run(at('2026-03-10T10:00:01'), at('2026-03-10T10:00:30'), { carW: 11_040, socPct: 40 });
    const d = home.tick(at('2026-03-10T10:00:31'), { carW: 11_040, socPct: 40 });
    const car = d.chargers[0]!;
    expect(car.following).toBe(false);
    expect(car.reason).toContain('not following: draws 11.0 kW while paused');
    // E = 500 + 11,540 × 30 = 346,700 J; allowed = (2,250,000 − 346,700) / 869 = 2,190.2 W.
    expect(d.budget.allowed_w).toBe(2190.2);
    // Grid if the battery did nothing: 500 + 11,040 = 11,540 W; shave 9,349.8 W → capped at 5,000 W.
    expect(d.batteries[0]?.setpoint).toEqual({ mode: 'self_consumption', max_discharge_w: 5000, max_charge_w: 5000 });
    home.run(at('2026-03-10T10:00:32'), at('2026-03-10T10:00:59'), { carW: 11_040, socPct: 40 });
    const again = home.tick(at('2026-03-10T10:01:00'), { carW: 11_040, socPct: 40 });
    expect(again.chargers[0]).toMatchObject({ write: true, setpoint: { charge: false } });
    expect(again.chargers[0]?.reason).toContain('told again');
  });

  it('a car taking less than it is allowed is following', () => {
    const home = new Home(CAR);
    home.tick(at('2026-03-10T10:00:00'), { houseW: -8000 });
    const d = home.run(at('2026-03-10T10:00:01'), at('2026-03-10T10:00:40'), { houseW: -8000, carW: 3000 }).at(-1)!;
    expect(d.chargers[0]?.following).toBe(true);
  });
});

describe('the battery', () => {
  // 3 kW house from 10:00:00: E(600) = 1,800,000 J; allowed = (2,250,000 − 1,800,000) / 300 = 1,500 W; shave 1,500 W.
  function at600(battery: object, soc: number) {
    const home = new Home({ ...CAR, batteries: { home: battery } });
    home.run(at('2026-03-10T10:00:00'), at('2026-03-10T10:09:59'), { houseW: 3000, socPct: soc });
    return home.tick(at('2026-03-10T10:10:00'), { houseW: 3000, socPct: soc });
  }

  it('at its reserve it does not discharge, and the car stays paused', () => {
    const d = at600({ reserve_soc_pct: 10 }, 10);
    expect(d.budget.allowed_w).toBe(1500);
    expect(d.batteries[0]?.setpoint).toEqual({ mode: 'self_consumption', max_discharge_w: 0, max_charge_w: 5000 });
    expect(d.batteries[0]?.reason).toBe(
      'at its reserve (10 % ≤ 10 %): no discharge; cannot shave the 1.5 kW the quarter needs',
    );
    expect(d.chargers[0]?.setpoint.charge).toBe(false);
  });

  it('below its hold level it discharges only what the quarter needs', () => {
    const d = at600({ reserve_soc_pct: 10, hold_soc_pct: 50 }, 30);
    // ceil(1,500 / 100) × 100 + 100 = 1,600 W.
    expect(d.batteries[0]?.setpoint).toEqual({ mode: 'self_consumption', max_discharge_w: 1600, max_charge_w: 5000 });
  });

  it('while the car charges, self-consumption feeds it too, or with discharge_to_chargers: false only the house', () => {
    // A target of 15 kW leaves the car its 11 kW; the house is 500 W.
    const big = { capacity_target_w: 15_000, chargers: { car: { mode: 'max_under_peak' } } };
    const run = (battery: object) => {
      const home = new Home({ ...big, batteries: { home: battery } });
      return home.run(at('2026-03-10T10:00:00'), at('2026-03-10T10:00:30'), { socPct: 60 }).at(-1)!;
    };
    const feeds = run({ reserve_soc_pct: 10 });
    expect(feeds.chargers[0]?.setpoint).toMatchObject({ charge: true, current_a: 16 });
    expect(feeds.batteries[0]?.setpoint).toEqual({
      mode: 'self_consumption',
      max_discharge_w: 5000,
      max_charge_w: 5000,
    });
    expect(feeds.batteries[0]?.reason).toBe('self-consumption');
    const house = run({ reserve_soc_pct: 10, discharge_to_chargers: false });
    // The house's 500 W (a whole number of 100 W steps) and one step more for the write pacing: 600 W.
    expect(house.batteries[0]?.setpoint).toEqual({
      mode: 'self_consumption',
      max_discharge_w: 600,
      max_charge_w: 5000,
    });
    expect(house.batteries[0]?.reason).toBe(
      'self-consumption for the house (0.5 kW): the chargers draw from the grid, not from the battery',
    );
  });

  it('above it, self-consumption covers the peak by itself', () => {
    const d = at600({ reserve_soc_pct: 10 }, 60);
    expect(d.batteries[0]?.setpoint).toEqual({ mode: 'self_consumption', max_discharge_w: 5000, max_charge_w: 5000 });
    expect(d.batteries[0]?.reason).toBe('self-consumption; the quarter needs 1.5 kW less from the grid');
  });
});
