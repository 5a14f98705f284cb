/**
 * The Fronius field tables against real Solar API answers (test/fixtures/fronius, sources in its
 * SOURCES.md): values, the signs turned into the snapshot's, and nulls kept null.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeInverter,
  decodeMeters,
  decodePowerFlow,
  FroniusAnswerError,
  solarApiData,
} from '../../../src/drivers/fronius/fields.js';
import { DailyFromTotal } from '../../../src/drivers/fronius/source.js';
import { fixtureJson } from '../../helpers/fixtures.js';

const data = (file: string) => solarApiData(fixtureJson(`fronius/${file}`), file);
const flow = (name: string) => decodePowerFlow(data(`GetPowerFlowRealtimeData-${name}.json`), 1);

describe('GetPowerFlowRealtimeData', () => {
  it('GEN24 with storage: grid + import, load and battery negated, SoC, E_Day null (HA test_gen24_storage)', () => {
    const f = flow('gen24-storage');
    expect(f.grid_power_w).toBe(2274.9);
    // P_Load −2459.3092… (consumer) → load + 2459.3092…
    expect(f.load_power_w).toBeCloseTo(2459.3092, 4);
    expect(f.pv_power_w).toBeCloseTo(216.4328, 4);
    // P_Akku +0.159 W = discharging on the wire → − 0.159 W (the snapshot's battery is + charging)
    expect(f.battery_power_w).toBeCloseTo(-0.1591, 4);
    expect(f.battery_soc_pct).toBeCloseTo(4.6, 10);
    expect(f.pv_daily_kwh).toBeNull();
    expect(f.pv_total_kwh).toBeCloseTo(7512.6644042, 6);
    expect(f.autonomy_pct).toBeCloseTo(7.4984, 4);
    expect(f.self_consumption_pct).toBe(100);
    expect(f).toMatchObject({ meter_location: 'grid', site_mode: 'bidirectional', battery_mode: 'suspended' });
  });

  it('GEN24 without a battery: its SOC 0.0 with Battery_Mode "disabled" is no SoC, P_Akku null stays null', () => {
    const f = flow('gen24');
    expect(f.battery_soc_pct).toBeNull();
    expect(f.battery_power_w).toBeNull();
    expect(f.grid_power_w).toBe(658.4);
    expect(f.load_power_w).toBeCloseTo(695.6827, 4);
    expect(f.pv_power_w).toBeCloseTo(62.9481, 4);
    expect(f.pv_total_kwh).toBeCloseTo(1530.19342, 5);
  });

  it('Symo by day and by night (HA test_symo_power_flow): energies in kWh, P_PV null at night', () => {
    const day = flow('symo');
    expect(day).toMatchObject({ grid_power_w: 1703.74, load_power_w: 2814.74, pv_power_w: 1111 });
    expect(day.battery_power_w).toBeNull();
    expect(day.battery_soc_pct).toBeNull();
    expect(day.pv_daily_kwh).toBeCloseTo(1.1017, 4);
    expect(day.pv_total_kwh).toBe(44188);
    expect(day.autonomy_pct).toBeCloseTo(39.4708, 4);
    const night = flow('symo-night');
    expect(night.pv_power_w).toBeNull();
    expect(night.grid_power_w).toBe(975.31);
    expect(night.load_power_w).toBe(975.31);
    expect(night.pv_daily_kwh).toBe(10.828);
    expect(night.self_consumption_pct).toBeNull();
    expect(night.autonomy_pct).toBe(0);
  });

  it('an older firmware without Version or rel_* (pyfronius): absent keys are null, not 0', () => {
    const f = flow('pyfronius-vague-meter');
    expect(f.grid_power_w).toBe(367.722145);
    expect(f.load_power_w).toBe(367.722145);
    expect(f.pv_power_w).toBeNull();
    expect(f.battery_power_w).toBeNull();
    expect(f.autonomy_pct).toBeNull();
    expect(f.battery_soc_pct).toBeNull();
    expect(f.pv_daily_kwh).toBe(0); // the device's own E_Day 0, not a made-up one
    expect(f).toMatchObject({ site_mode: 'vague-meter', meter_location: 'load', battery_mode: null });
  });

  it('two inverters behind a Datamanager with an S0 meter in the consumption path (primo_s0)', () => {
    const f = flow('primo-s0');
    expect(f.pv_power_w).toBe(1834);
    expect(f.grid_power_w).toBeCloseTo(384.9349, 4);
    expect(f.load_power_w).toBeCloseTo(2218.9349, 4);
    expect(f.pv_total_kwh).toBeCloseTo(22910.9195, 4);
    expect(f.pv_daily_kwh).toBe(36.724);
  });
});

describe('GetMeterRealtimeData', () => {
  it('GEN24 storage: the Smart Meter TS 65A-3 at the grid (location 0): phases and counters', () => {
    const { fields, meters } = decodeMeters(data('GetMeterRealtimeData-gen24-storage.json'));
    expect(meters).toEqual([
      { id: '0', manufacturer: 'Fronius', model: 'Smart Meter TS 65A-3', serial: '1234567890', location: 0 },
    ]);
    expect(fields).toMatchObject({
      power_l1_w: 317.9,
      power_l2_w: 150,
      power_l3_w: 19.6,
      voltage_l1_v: 229.4,
      voltage_l2_v: 225.6,
      voltage_l3_v: 228.3,
      current_l1_a: 1.701,
      current_l2_a: 1.832,
      current_l3_a: 0.645,
      grid_import_kwh: 1247.204,
      grid_export_kwh: 1705.128,
      grid_frequency_hz: 49.9,
    });
  });

  it('Symo: the values Home Assistant asserts (test_symo_meter)', () => {
    const { fields } = decodeMeters(data('GetMeterRealtimeData-symo.json'));
    expect(fields).toMatchObject({
      power_l1_w: 1765.55,
      power_l2_w: 1515.8,
      power_l3_w: 2311.22,
      current_l1_a: 7.755,
      current_l2_a: 6.68,
      current_l3_a: 10.102,
      voltage_l3_v: 231,
      grid_import_kwh: 15303.334,
      grid_export_kwh: 35623.065,
    });
  });

  it('a meter in the consumption path (location 1) is not the grid: no grid values', () => {
    const { fields, meters } = decodeMeters(data('GetMeterRealtimeData-primo-s0.json'));
    expect(fields).toBeNull();
    expect(meters[0]).toMatchObject({ model: 'S0 Meter at inverter 1', location: 1 });
  });

  it('a meter whose values are marked incomplete (Visible 0) gives none', () => {
    const d = structuredClone(data('GetMeterRealtimeData-gen24.json')) as { '0': { Visible: number } };
    d['0'].Visible = 0;
    expect(decodeMeters(d).fields).toBeNull();
  });
});

describe('GetInverterRealtimeData', () => {
  it('GEN24 storage: two MPPTs, AC power, state Running; null DAY_ENERGY is not read', () => {
    const f = decodeInverter(data('GetInverterRealtimeData-gen24-storage.json'));
    expect(f.mppt1_voltage_v).toBeCloseTo(419.1009, 4);
    expect(f.mppt1_current_a).toBeCloseTo(0.3952, 4);
    expect(f.mppt2_voltage_v).toBeCloseTo(318.8103, 4);
    expect(f.mppt2_current_a).toBeCloseTo(0.3564, 4);
    expect(f.inverter_ac_power_w).toBeCloseTo(250.9093, 4);
    expect(f).toMatchObject({ inverter_status_code: 7, inverter_error_code: 0, inverter_state: 'Running' });
  });

  it('Symo at night: no PAC (null), one MPPT, status 3 named from the code', () => {
    const f = decodeInverter(data('GetInverterRealtimeData-symo-night.json'));
    expect(f.inverter_ac_power_w).toBeNull();
    expect(f.mppt1_voltage_v).toBe(16);
    expect(f.mppt1_current_a).toBe(0);
    expect(f.mppt2_voltage_v).toBeNull();
    expect(f).toMatchObject({ inverter_status_code: 3, inverter_error_code: 307, inverter_state: 'startup' });
  });
});

describe('Solar API answers', () => {
  it('refuses an answer whose Head.Status.Code is not 0, naming the code and reason', () => {
    const body = {
      Head: { Status: { Code: 12, Reason: 'Device not available', UserMessage: '' } },
      Body: { Data: {} },
    };
    expect(() => solarApiData(body, 'inverter')).toThrow(FroniusAnswerError);
    expect(() => solarApiData(body, 'inverter')).toThrow(
      'inverter: the device answered status 12 (Device not available)',
    );
    expect(() => solarApiData({ hello: 1 }, 'power flow')).toThrow('power flow: not a Solar API answer');
  });
});

describe('daily PV energy derived from E_Total (GEN24 gives no E_Day)', () => {
  const zone = 'Europe/Brussels';
  const t = (iso: string) => Date.parse(iso);

  it('is the rise since the first reading of the local day when that came before production', () => {
    const d = new DailyFromTotal(zone);
    expect(d.update(t('2024-06-01T02:00:00Z'), 7500, null)).toBe(0); // 04:00 local, night
    expect(d.update(t('2024-06-01T10:00:00Z'), 7512.664, 2000)).toBe(12.664);
    // local midnight (22:00 UTC in summer): a new day starts at the counter's value then
    expect(d.update(t('2024-06-01T22:00:05Z'), 7520.5, 0)).toBe(0);
    expect(d.update(t('2024-06-02T08:00:00Z'), 7521.75, 1500)).toBe(1.25);
  });

  it('stays null on a day the edge did not see begin (first reading while producing), and with no total', () => {
    const d = new DailyFromTotal(zone);
    expect(d.update(t('2024-06-01T10:00:00Z'), 7512.664, 2000)).toBeNull();
    expect(d.update(t('2024-06-01T12:00:00Z'), 7514, 1800)).toBeNull();
    expect(d.update(t('2024-06-02T01:00:00Z'), null, null)).toBeNull();
    expect(d.update(t('2024-06-02T02:00:00Z'), 7520, null)).toBe(0);
  });

  it('stops when the counter goes back (a replaced or reset inverter)', () => {
    const d = new DailyFromTotal(zone);
    expect(d.update(t('2024-06-01T02:00:00Z'), 7500, null)).toBe(0);
    expect(d.update(t('2024-06-01T09:00:00Z'), 12, 1000)).toBeNull();
  });
});
