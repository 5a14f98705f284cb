/**
 * The merger for a site without a grid meter (an off-grid home), with the readings the real drivers
 * make of the recorded devices (the fixtures' expected files, which test/drivers/fixture-replay
 * checks against the drivers): an OutBack MATE3S (two Radians, two FLEXmax, a FLEXnet DC) and
 * TriStar MPPT controllers, with the roles their definitions declare. Grid fields stay null, the
 * load comes from the inverters, each device's PV is counted once; a grid-tied site is unchanged.
 */
import { describe, expect, it } from 'vitest';
import { Merger, type MergerReading, type MergerSource } from '../../src/core/merger.js';
import { outback } from '../../src/drivers/outback/definition.js';
import { tristarMppt } from '../../src/drivers/tristar-mppt/definition.js';
import { fixtureJson } from '../helpers/fixtures.js';

const T0 = Date.parse('2026-06-15T10:00:00Z');

interface Expected {
  fields: Record<string, unknown>;
  device_fields?: Record<string, unknown>;
}

/** The driver's reading of a fixture: its snapshot fields and its own values. */
function recorded(file: string): Record<string, unknown> {
  const e = fixtureJson<Expected>(file);
  return { ...e.fields, ...(e.device_fields ?? {}) };
}

const MATE3S = recorded('outback/mate3s-chinezbrun.expected.json');
const TRISTAR_12V = recorded('tristar-mppt/iobroker-night-12v.expected.json');
const TRISTAR_24V = recorded('tristar-mppt/dodo-night-24v.expected.json');

const hub: MergerSource = { name: 'mate3s', kind: 'inverter', intervalMs: 5000, type: 'outback', roles: outback.roles };
const sc = (name: string): MergerSource => ({
  name,
  kind: 'inverter',
  intervalMs: 5000,
  type: 'tristar-mppt',
  roles: tristarMppt.roles,
});
const p1: MergerSource = { name: 'p1', kind: 'p1', intervalMs: 1000, type: 'dsmr', roles: ['grid_meter'] };

function feed(m: Merger, at: number, readings: Record<string, Record<string, unknown>>): void {
  for (const [source, fields] of Object.entries(readings)) m.update({ source, at, fields } satisfies MergerReading);
}

const GRID_FIELDS = [
  'grid_power_w',
  'grid_import_t1_kwh',
  'grid_export_t1_kwh',
  'grid_avg_15m_w',
  'power_l1_w',
  'voltage_l1_v',
] as const;

describe('Merger for an off-grid site', () => {
  it('OutBack + two TriStars: the Radians’ load, PV summed once per device, grid null', () => {
    const m = new Merger('cabin', [hub, sc('sc1'), sc('sc2')], 3, T0, { perDevice: true });
    feed(m, T0, { mate3s: MATE3S, sc1: TRISTAR_12V, sc2: TRISTAR_24V });
    const s = m.snapshot(T0);
    for (const k of GRID_FIELDS) expect(s[k], k).toBeNull();
    expect(s.pv_power_w).toBe(678); // the two FLEXmax' 400 + 278, and each TriStar's 0 at night
    expect(s.pv_daily_kwh).toBe(0.2); // 0.2 + 0 (the 24 V one reports no daily energy)
    expect(s.battery_power_w).toBe(-180); // the FLEXnet DC's net kW, + charging
    expect(s.battery_soc_pct).toBe(96);
    // Σ Radian Load_kW (700 + 0), not grid + PV − battery (unknown without a grid)
    expect(s.load_power_w).toBe(700);
    expect(s.battery_voltage_v).toBe(50.6); // one device's value: the first in config order
    expect(s.charge_state).toBe('bulk');
    expect(s.self_consumption_w).toBeNull();
    expect(s.self_sufficiency_pct).toBeNull();
    expect(s.devices?.sc1?.fields.charge_state).toBe('night');
    expect(s.devices?.sc1?.fields.battery_voltage_v).toBe(13.43);
    expect(s.devices?.mate3s?.fields.inverter1_load_power_w).toBe(700);
  });

  it('without an inverter that reports its load: PV − battery charging, null when a part is unknown', () => {
    const { load_power_w: _load, ...noRadian } = MATE3S; // a hub with FLEXmax and FLEXnet DC only
    const m = new Merger('cabin', [hub, sc('sc1'), sc('sc2')], 3, T0);
    feed(m, T0, { mate3s: noRadian, sc1: TRISTAR_12V, sc2: TRISTAR_24V });
    expect(m.snapshot(T0).load_power_w).toBe(858); // 678 − (−180)

    // The hub (the battery) goes stale: the TriStars know no battery power, so no load.
    feed(m, T0 + 20_000, { sc1: TRISTAR_12V, sc2: TRISTAR_24V });
    const later = m.snapshot(T0 + 20_000);
    expect(later.stale_sources).toEqual(['mate3s']);
    expect(later.pv_power_w).toBe(0);
    expect(later.battery_power_w).toBeNull();
    expect(later.load_power_w).toBeNull();
  });

  it('a battery charging with no PV (a generator through the charger) gives no load, not a negative one', () => {
    const m = new Merger('cabin', [hub, sc('sc1')], 3, T0);
    const { load_power_w: _load, ...noRadian } = MATE3S;
    feed(m, T0, { mate3s: { ...noRadian, pv_power_w: 0, battery_power_w: 1200 }, sc1: TRISTAR_12V });
    expect(m.snapshot(T0).load_power_w).toBeNull();
  });

  it('OutBack only: its own load, grid fields null', () => {
    const m = new Merger('cabin', [hub], 3, T0);
    feed(m, T0, { mate3s: MATE3S });
    const s = m.snapshot(T0);
    expect(s.load_power_w).toBe(700);
    expect(s.pv_power_w).toBe(678);
    expect(s.grid_power_w).toBeNull();
    expect(s.self_sufficiency_pct).toBeNull();
  });

  it('a device that is only a charge controller still counts as PV, once', () => {
    const ccOnly: MergerSource = { ...sc('sc1'), roles: ['charge_controller'] };
    const m = new Merger('cabin', [hub, ccOnly], 3, T0);
    feed(m, T0, { mate3s: MATE3S, sc1: { ...TRISTAR_12V, pv_power_w: 250.5 } });
    expect(m.snapshot(T0).pv_power_w).toBe(928.5); // 678 + 250.5
  });
});

describe('Merger for a grid-tied site with an OutBack', () => {
  it('derives the load from the meter as before: grid + PV − battery charging', () => {
    const m = new Merger('h', [p1, hub, sc('sc1')], 3, T0);
    feed(m, T0, { p1: { grid_power_w: 420, grid_import_t1_kwh: 1234.5 }, mate3s: MATE3S, sc1: TRISTAR_12V });
    const s = m.snapshot(T0);
    expect(s.grid_power_w).toBe(420);
    expect(s.load_power_w).toBe(1278); // 420 + 678 − (−180), not the Radians' 700
    expect(s.self_consumption_w).toBe(678);
    expect(s.self_sufficiency_pct).toBe(67.1); // (1278 − 420) / 1278
  });

  it('a stale meter leaves the load unknown: the site is not taken for off-grid', () => {
    const m = new Merger('h', [p1, hub, sc('sc1')], 3, T0);
    feed(m, T0, { p1: { grid_power_w: 420 }, mate3s: MATE3S, sc1: TRISTAR_12V });
    feed(m, T0 + 10_000, { mate3s: MATE3S, sc1: TRISTAR_12V });
    const s = m.snapshot(T0 + 10_000);
    expect(s.stale_sources).toEqual(['p1']);
    expect(s.grid_power_w).toBeNull();
    expect(s.load_power_w).toBeNull();
  });
});
