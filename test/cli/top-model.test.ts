/**
 * `kwartier top`'s view model on the realtime answer of docs/api.md (a Belgian home at noon) and
 * variations of it: flows and their directions, absent values, the P1 age, device states.
 */
import { describe, expect, it } from 'vitest';
import {
  bar,
  deviceStates,
  flowPower,
  flows,
  p1AgeSeconds,
  power,
  type Realtime,
  sparkline,
} from '../../src/cli/top/model.js';
import { emptySnapshot } from '../../src/core/snapshot.js';

/** The realtime example of docs/api.md. */
const noon: Realtime = {
  ...emptySnapshot('home-1', '2026-03-30T10:07:00.000Z'),
  meter_timestamp: '2026-03-30T10:06:58.000Z',
  country: 'be',
  grid_power_w: -1240,
  grid_import_t1_kwh: 2035.744,
  pv_power_w: 2803,
  battery_power_w: 2515,
  battery_soc_pct: 50.3,
  load_power_w: 289,
  age_s: 0.4,
};

describe('top model', () => {
  it('tells each flow its direction in words, with the power unsigned', () => {
    const rows = flows(noon);
    expect(rows.map((r) => [r.label, r.verb, flowPower(r)])).toEqual([
      ['Grid', 'export', '1.24 kW'],
      ['Solar', 'producing', '2.80 kW'],
      ['Battery', 'charging', '2.52 kW'],
      ['Home', 'using', '289 W'],
    ]);
    expect(rows[2]!.extra).toBe('SoC 50.3 %');
    const night = flows({ ...noon, grid_power_w: 350, battery_power_w: -800, pv_power_w: 0 });
    expect(night.map((r) => r.verb)).toEqual(['import', 'idle', 'discharging', 'using']);
  });

  it('shows absent values as a dash, never 0, and the EV only when the home has one', () => {
    const meterOnly = flows({ ...noon, pv_power_w: null, battery_power_w: null, battery_soc_pct: null });
    expect(meterOnly.map((r) => flowPower(r))).toEqual(['1.24 kW', '—', '—', '289 W']);
    expect(meterOnly[2]!.extra).toBeNull();
    expect(flows(noon).some((r) => r.key === 'ev')).toBe(false);
    const ev = flows({ ...noon, ev_power_w: 7360 });
    expect(ev.at(-1)).toMatchObject({ label: 'EV', verb: 'charging', watts: 7360 });
    expect(power(null)).toBe('—');
    expect(power(12_345)).toBe('12.3 kW');
  });

  it('leaves the grid out for an off-grid home, and keeps it for a home whose meter is down', () => {
    const cabin = {
      ...noon,
      grid_power_w: null,
      grid_import_t1_kwh: null,
      pv_power_w: 678,
      battery_power_w: -22,
      load_power_w: 700,
      devices: {
        hub: { type: 'outback', stale: false, fields: { grid_power_w: null, load_power_w: 700 } },
        mppt1: { type: 'tristar-mppt', stale: false, fields: { pv_power_w: 340 } },
      },
    };
    expect(flows(cabin).map((r) => r.key)).toEqual(['solar', 'battery', 'home']);
    // A P1 meter that is down: the grid stays, as a dash.
    const down = { ...cabin, devices: { ...cabin.devices, p1: { type: 'dsmr', stale: true, fields: {} } } };
    const rows = flows(down);
    expect(rows.map((r) => r.key)).toEqual(['grid', 'solar', 'battery', 'home']);
    expect(flowPower(rows[0]!)).toBe('—');
  });

  it("ages the P1 telegram on the server's clock: the answer's age, time on screen, and the meter's lag", () => {
    // Arrived 0.4 s old, shown for 3 s, the meter's timestamp 2 s before the snapshot: 5.4 s.
    expect(p1AgeSeconds(noon, 1_000_000, 1_003_000)).toBeCloseTo(5.4, 6);
    expect(p1AgeSeconds({ ...noon, meter_timestamp: null }, 0, 0)).toBeNull();
  });

  it("lists a site's devices from their own readings, and a legacy home's from stale_sources", () => {
    const site = deviceStates({
      ...noon,
      devices: {
        p1: { type: 'dsmr', stale: false, fields: { grid_power_w: -1240 } },
        roof: { type: 'sungrow', stale: true, fields: { pv_power_w: null } },
        wallbox: { type: 'alfen', stale: false, fields: { ev_power_w: 7360, ev_state: 'charging' } },
      },
    });
    expect(site).toEqual([
      { name: 'p1', type: 'dsmr', ok: true, detail: 'grid -1.24 kW' },
      { name: 'roof', type: 'sungrow', ok: false, detail: 'stale: no recent reading' },
      { name: 'wallbox', type: 'alfen', ok: true, detail: 'EV 7.36 kW, charging' },
    ]);
    const legacy = deviceStates({ ...noon, pv_power_w: null, battery_soc_pct: null, stale_sources: ['sungrow'] });
    expect(legacy).toEqual([
      { name: 'meter', type: 'grid meter', ok: true, detail: 'grid -1.24 kW' },
      { name: 'sungrow', type: 'inverter', ok: false, detail: 'stale: no recent reading' },
    ]);
  });

  it('draws bars and sparklines to scale, blank for unknown', () => {
    expect(bar(500, 1000, 10)).toBe('█████');
    expect(bar(null, 1000, 10)).toBe('');
    expect(sparkline([0, 500, 1000, null], 1000)).toBe('▁▅█ ');
  });
});
