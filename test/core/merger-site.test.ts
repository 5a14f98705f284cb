/**
 * The merger by role, for a site of many devices: sums over the PV devices, the batteries and the
 * EV chargers, one grid meter, load derived once, stale devices left out, and each device's own
 * reading under `devices`.
 */
import { describe, expect, it } from 'vitest';
import { Merger, type MergerSource } from '../../src/core/merger.js';

const T0 = Date.parse('2026-06-15T10:00:00Z');
const p1: MergerSource = { name: 'p1', kind: 'p1', intervalMs: 1000, type: 'dsmr', roles: ['grid_meter'] };
const inverter = (name: string): MergerSource => ({
  name,
  kind: 'inverter',
  intervalMs: 5000,
  type: 'sungrow',
  roles: ['pv', 'battery', 'grid_meter'],
});
const site = [p1, inverter('roof'), inverter('garage')];

function fed(m: Merger, at: number): void {
  m.update({
    source: 'roof',
    at,
    fields: {
      pv_power_w: 3120,
      pv_total_kwh: 10_000.4,
      battery_power_w: -450,
      battery_soc_pct: 80,
      battery_total_charge_kwh: 500.1,
      load_power_w: 2500,
      mppt1_voltage_v: 410.2,
    },
  });
  m.update({
    source: 'garage',
    at,
    fields: {
      pv_power_w: 1480,
      pv_total_kwh: 2_000.2,
      battery_power_w: 1000,
      battery_soc_pct: 40,
      battery_total_charge_kwh: 100.2,
      load_power_w: 1900,
      mppt1_voltage_v: 380,
    },
  });
  m.update({ source: 'p1', at, fields: { grid_power_w: -1800, grid_import_t1_kwh: 1234.5, voltage_l1_v: 231 } });
}

describe('Merger for a site', () => {
  it('sums PV and battery over the inverters, takes the grid from the meter and derives the load once', () => {
    const m = new Merger('h', site, 3, T0, { perDevice: true });
    fed(m, T0);
    const s = m.snapshot(T0);
    expect(s.pv_power_w).toBe(4600); // 3120 + 1480
    expect(s.pv_total_kwh).toBe(12_000.6);
    expect(s.battery_power_w).toBe(550); // −450 + 1000
    expect(s.battery_total_charge_kwh).toBe(600.3);
    expect(s.battery_soc_pct).toBe(60); // no capacities: the mean of 80 and 40
    expect(s.grid_power_w).toBe(-1800);
    expect(s.voltage_l1_v).toBe(231);
    expect(s.mppt1_voltage_v).toBe(410.2); // one device's value: the first in config order
    // Neither inverter's own load: grid + PV − battery charging = −1800 + 4600 − 550
    expect(s.load_power_w).toBe(2250);
    expect(s.self_consumption_w).toBe(2800); // 4600 − 1800 exported
    expect(s.stale_sources).toEqual([]);
    expect(s.ev_power_w).toBeNull(); // no charger in the site (and off the wire: core/wire.ts snapshotWireJson)
    expect(s.devices?.roof).toEqual({
      type: 'sungrow',
      stale: false,
      fields: {
        pv_power_w: 3120,
        pv_total_kwh: 10_000.4,
        battery_power_w: -450,
        battery_soc_pct: 80,
        battery_total_charge_kwh: 500.1,
        load_power_w: 2500,
        mppt1_voltage_v: 410.2,
      },
    });
    expect(s.devices?.p1).toEqual({
      type: 'dsmr',
      stale: false,
      fields: { grid_power_w: -1800, grid_import_t1_kwh: 1234.5, voltage_l1_v: 231 },
    });
  });

  it('weights the SoC by capacity when every battery reports one', () => {
    const m = new Merger('h', site, 3, T0);
    m.update({ source: 'roof', at: T0, fields: { battery_soc_pct: 80, battery_capacity_kwh: 15 } });
    m.update({ source: 'garage', at: T0, fields: { battery_soc_pct: 40, battery_capacity_kwh: 5 } });
    m.update({ source: 'p1', at: T0, fields: { grid_power_w: 100 } });
    expect(m.snapshot(T0).battery_soc_pct).toBe(70); // (80 × 15 + 40 × 5) / 20
  });

  it('leaves a stale inverter out of the sums, names only it, nulls its counters in the total and its own values', () => {
    const m = new Merger('h', site, 3, T0, { perDevice: true });
    fed(m, T0);
    // Ten seconds on the roof reports again, the garage does not; at 16 s the garage is stale.
    m.update({
      source: 'roof',
      at: T0 + 10_000,
      fields: { pv_power_w: 3000, pv_total_kwh: 10_000.5, battery_soc_pct: 81 },
    });
    m.update({ source: 'p1', at: T0 + 16_000, fields: { grid_power_w: -500 } });
    const s = m.snapshot(T0 + 16_000);
    expect(s.stale_sources).toEqual(['garage']);
    expect(s.pv_power_w).toBe(3000);
    expect(s.pv_total_kwh).toBeNull(); // a partial counter would look like a reset
    expect(s.battery_soc_pct).toBe(81);
    expect(s.battery_power_w).toBeNull(); // the roof's new reading has none, the garage is stale
    expect(s.devices?.garage?.stale).toBe(true);
    expect(s.devices?.garage?.fields.pv_power_w).toBeNull();
    expect(s.devices?.roof?.stale).toBe(false);
    expect(s.devices?.roof?.fields.pv_power_w).toBe(3000);
  });

  it('makes a sum whose every part is stale null, not 0', () => {
    const m = new Merger('h', site, 3, T0);
    fed(m, T0);
    m.update({ source: 'p1', at: T0 + 16_000, fields: { grid_power_w: 300 } });
    const s = m.snapshot(T0 + 16_000);
    expect(s.stale_sources).toEqual(['garage', 'roof']);
    expect(s.pv_power_w).toBeNull();
    expect(s.battery_power_w).toBeNull();
    expect(s.battery_soc_pct).toBeNull();
    expect(s.load_power_w).toBeNull();
    expect(s.grid_power_w).toBe(300);
  });

  it('without a meter, takes the grid from an inverter’s own meter', () => {
    const m = new Merger('h', [inverter('roof'), inverter('garage')], 3, T0);
    m.update({ source: 'roof', at: T0, fields: { pv_power_w: 2000, grid_power_w: -700, battery_power_w: 0 } });
    m.update({ source: 'garage', at: T0, fields: { pv_power_w: 1000, grid_power_w: -650, battery_power_w: 300 } });
    const s = m.snapshot(T0);
    expect(s.grid_power_w).toBe(-700);
    expect(s.load_power_w).toBe(2000); // −700 + 3000 − 300
  });

  it('sums EV chargers into ev_power_w and keeps each charger’s text state', () => {
    const charger = (name: string): MergerSource => ({
      name,
      kind: 'inverter',
      intervalMs: 1000,
      type: 'charger',
      roles: ['ev_charger'],
    });
    const m = new Merger('h', [p1, charger('left'), charger('right')], 3, T0, { perDevice: true });
    m.update({ source: 'left', at: T0, fields: { ev_power_w: 7400, ev_state: 'charging', ev_session_kwh: 3.2 } });
    m.update({ source: 'right', at: T0, fields: { ev_power_w: 0, ev_state: 'connected' } });
    m.update({ source: 'p1', at: T0, fields: { grid_power_w: 8000 } });
    const s = m.snapshot(T0);
    expect(s.ev_power_w).toBe(7400);
    expect(s.devices?.left?.fields).toEqual({ ev_power_w: 7400, ev_state: 'charging', ev_session_kwh: 3.2 });
    expect(s.devices?.right?.fields.ev_state).toBe('connected');
    // A charger is part of the load, not a producer: without PV or battery devices the load is unknown.
    expect(s.load_power_w).toBeNull();
  });

  it('sends no devices key unless asked (a config of the sections before devices:)', () => {
    const m = new Merger('h', site, 3, T0);
    fed(m, T0);
    expect(m.snapshot(T0)).not.toHaveProperty('devices');
  });
});
