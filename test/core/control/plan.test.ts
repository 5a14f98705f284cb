import { describe, expect, it } from 'vitest';
import { parseControlConfig } from '../../../src/core/control/config.js';
import { inputFromSnapshot } from '../../../src/core/control/input.js';
import { importPriceAt, nextLocalTime, PLAN_SHARE } from '../../../src/core/control/plan.js';
import { emptySnapshot } from '../../../src/core/snapshot.js';
import { parseTariffFile } from '../../../src/core/tariff/schema.js';
import { at, Home, TZ } from './home.js';

/** Day 0.108 / night 0.089 €/kWh + network 0.072 + levies 0.052, 6 % VAT; day 07–22 on weekdays. */
const DAY_NIGHT = parseTariffFile(
  {
    periods: [
      {
        valid_from: '2026-01-01',
        vat_pct: 6,
        electricity: {
          import: { day: 0.108, night: 0.089 },
          network_eur_per_kwh: 0.072,
          levies_eur_per_kwh: 0.052,
        },
      },
    ],
  },
  'tariffs.yaml',
);

const deadline = (energy: number) => ({
  capacity_target_w: 2500,
  chargers: { car: { mode: 'deadline', energy_kwh: energy, deadline: '07:00' } },
});

describe('prices for planning', () => {
  it('prices a quarter with network costs, levies and VAT from the tariff file', () => {
    // Tuesday 18:00 is day: (0.108 + 0.072 + 0.052) × 1.06 = 0.24592; 22:00 is night: 0.213 × 1.06 = 0.22578.
    expect(importPriceAt({ tariff: DAY_NIGHT, prices: null }, at('2026-03-10T18:00'))).toBeCloseTo(0.24592, 10);
    expect(importPriceAt({ tariff: DAY_NIGHT, prices: null }, at('2026-03-10T22:00'))).toBeCloseTo(0.22578, 10);
    expect(importPriceAt({ tariff: null, prices: null }, at('2026-03-10T22:00'))).toBeNull();
  });

  it('finds the next local 07:00, across the spring DST change', () => {
    expect(nextLocalTime(at('2026-03-10T18:00'), 7 * 60, TZ)).toBe(at('2026-03-11T07:00'));
    expect(nextLocalTime(at('2026-03-11T06:59'), 7 * 60, TZ)).toBe(at('2026-03-11T07:00'));
    // The night of 28–29 March has 23 hours: 07:00 CEST is 05:00 UTC.
    expect(nextLocalTime(at('2026-03-28T20:00'), 7 * 60, TZ)).toBe(Date.parse('2026-03-29T05:00:00Z'));
  });
});

describe('the deadline', () => {
  it('waits for the cheap night quarters when they hold the energy', () => {
    const home = new Home(deadline(5), { tariff: DAY_NIGHT });
    const d = home.tick(at('2026-03-10T18:00:00'));
    // Each quarter may give min(11,040, 2,500 − 100 − 500) × 0.25 h × 0.8 = 0.38 kWh; 18:00 → 07:00 = 52 quarters.
    expect(PLAN_SHARE).toBe(0.8);
    expect(d.chargers[0]?.deadline).toEqual({
      energy_kwh: 5,
      delivered_kwh: 0,
      by: at('2026-03-11T07:00'),
      possible_kwh: 19.76,
      feasible: true,
      charging_slot: false,
    });
    expect(d.chargers[0]?.setpoint.charge).toBe(false);
    expect(d.chargers[0]?.reason).toContain('cheaper quarters later');
    // 5 / 0.38 = 13.2 → the 14 earliest night quarters, 22:00–01:30.
    home.run(at('2026-03-10T18:00:01'), at('2026-03-10T21:59:59'));
    const night = home.tick(at('2026-03-10T22:00:00'));
    expect(night.chargers[0]?.deadline?.charging_slot).toBe(true);
    expect(night.chargers[0]?.reason).toContain('a planned (cheapest) quarter');
  });

  it('says when the deadline cannot be met, and charges as fast as the budget allows without raising the target', () => {
    const home = new Home(deadline(40), { tariff: DAY_NIGHT });
    const d = home.tick(at('2026-03-10T18:00:00'));
    expect(d.chargers[0]?.deadline).toMatchObject({ possible_kwh: 19.76, feasible: false, charging_slot: true });
    expect(d.chargers[0]?.reason).toContain('cannot be met under the target (at most 19.76 kWh more by then)');
    expect(d.budget.target_w).toBe(2500);
  });

  it('without a tariff charges in the earliest quarters', () => {
    const home = new Home(deadline(5));
    expect(home.tick(at('2026-03-10T18:00:00')).chargers[0]?.deadline?.charging_slot).toBe(true);
  });
});

describe('the control: section', () => {
  it('fills defaults and follows the peak unless a target is given', () => {
    const s = parseControlConfig({ chargers: { car: {} }, batteries: { home: { reserve_soc_pct: 20 } } });
    expect(s).toMatchObject({ targetW: null, floorW: 2500, marginW: 100, dryRun: false, minWriteIntervalS: 5 });
    expect(s.chargers[0]).toMatchObject({
      name: 'car',
      mode: 'max_under_peak',
      minCurrentA: 6,
      maxCurrentA: 16,
      safeCurrentA: 6,
    });
    expect(s.batteries[0]).toMatchObject({ reserveSocPct: 20, holdSocPct: 20, gridChargeSocPct: 0 });
    expect(parseControlConfig({ capacity_target_w: 2500 }).targetW).toBe(2500);
  });

  it('names the key of a bad value', () => {
    expect(() => parseControlConfig({ chargers: { car: { mode: 'fast' } } })).toThrow(/control: chargers\.car\.mode/);
    expect(() => parseControlConfig({ chargers: { car: { mode: 'deadline' } } })).toThrow(
      'control: chargers.car: mode deadline needs energy_kwh and deadline (HH:MM)',
    );
    expect(() => parseControlConfig({ chargers: { car: { deadline: '7:00' } } })).toThrow(/chargers\.car\.deadline/);
    expect(() => parseControlConfig({ chargers: { car: { min_current_a: 10, max_current_a: 8 } } })).toThrow(
      'control: chargers.car.max_current_a: must be >= min_current_a (10)',
    );
    expect(() => parseControlConfig({ capacity_target_w: 'high' })).toThrow(/control: capacity_target_w/);
    expect(() => parseControlConfig({ speed: 1 })).toThrow(/control: speed: unknown key/);
    expect(() => parseControlConfig({ meter_quarter_average: 'sometimes' })).toThrow(
      /control: meter_quarter_average: must be elapsed, quarter or off/,
    );
    expect(parseControlConfig({}).meterQuarterAverage).toBe('elapsed');
  });
});

describe('input from a snapshot', () => {
  it('reads the meter, the charger and the battery under devices', () => {
    const settings = parseControlConfig({ chargers: { car: {} }, batteries: { inverter: {} } });
    const snap = emptySnapshot('home-1', '2026-03-10T09:00:01.000Z');
    snap.meter_timestamp = '2026-03-10T09:00:00.000Z';
    snap.grid_power_w = 4700;
    snap.grid_import_t1_kwh = 1200.5;
    snap.grid_import_t2_kwh = 800.25;
    snap.grid_monthly_peak_w = 3100;
    snap.grid_monthly_peak_timestamp = '2026-03-02T18:15:00.000Z';
    snap.grid_avg_15m_w = 1200;
    snap.devices = {
      p1: { type: 'dsmr', stale: false, fields: { grid_power_w: 4700 } },
      car: { type: 'nrgkick', stale: false, fields: { ev_power_w: 4140, ev_session_kwh: 3.2, ev_state: 'Charging' } },
      inverter: { type: 'sungrow', stale: false, fields: { battery_power_w: -300, battery_soc_pct: 55 } },
    };
    const input = inputFromSnapshot(snap, settings, { now: at('2026-03-10T10:00:01'), gridDevice: 'p1' });
    expect(input.grid).toEqual({
      at: Date.parse('2026-03-10T09:00:00Z'),
      power_w: 4700,
      import_kwh: 2000.75,
      month_peak_w: 3100,
      month_peak_at: Date.parse('2026-03-02T18:15:00Z'),
      quarter_avg_w: 1200,
      stale: false,
    });
    expect(input.chargers.car).toEqual({ stale: false, power_w: 4140, connected: true, session_kwh: 3.2 });
    expect(input.batteries.inverter).toEqual({ stale: false, power_w: -300, soc_pct: 55 });
    snap.stale_sources = ['p1'];
    snap.devices.car!.fields.ev_state = 'standby';
    const stale = inputFromSnapshot(snap, settings, { now: at('2026-03-10T10:00:01'), gridDevice: 'p1' });
    expect(stale.grid.stale).toBe(true);
    expect(stale.chargers.car?.connected).toBe(false);
  });
  it("scales the chargers' power down to what the site supplies in the same snapshot", () => {
    // The charger was read after the car started, the meter's telegram before: 1,840 W of car,
    // 341 W of import, no PV, no battery. The car cannot draw more than the site imports.
    const settings = parseControlConfig({ chargers: { car: {} } });
    const snap = emptySnapshot('home-1', '2026-03-10T09:00:01.000Z');
    snap.grid_power_w = 341;
    snap.devices = { car: { type: 'nrgkick', stale: false, fields: { ev_power_w: 1840, ev_state: 'charging' } } };
    const now = at('2026-03-10T10:00:01');
    expect(inputFromSnapshot(snap, settings, { now }).chargers.car?.power_w).toBe(341);
    // With 2 kW of PV the site supplies 2,341 W: the 1,840 W stand.
    snap.pv_power_w = 2000;
    expect(inputFromSnapshot(snap, settings, { now }).chargers.car?.power_w).toBe(1840);
    // Exporting (grid < 0) with no PV known: nothing supplies the car.
    snap.pv_power_w = null;
    snap.grid_power_w = -200;
    expect(inputFromSnapshot(snap, settings, { now }).chargers.car?.power_w).toBe(0);
  });
});
