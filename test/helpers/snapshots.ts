/**
 * Realistic snapshots for tests and benchmarks: the simulated home (src/drivers/sim/home-model.ts)
 * turned into what the edge's merger would publish. Grid counters, the meter's 15-minute average
 * and monthly peak, PV, battery, gas and water all come from the one coherent model.
 *
 *   const model = new HomeModel({ start: Date.parse('2026-03-28T00:00:00Z') });
 *   const snaps = sampleHome(model, 'home-1', Date.parse('2026-03-30T00:00:00Z'), 60_000);
 */
import { derive } from '../../src/core/merger.js';
import { emptySnapshot, type Snapshot } from '../../src/core/snapshot.js';
import type { HomeModel, HomeState } from '../../src/drivers/sim/home-model.js';

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** One snapshot of the home's state as the merger would publish it (P1 + inverter, both fresh). */
export function snapshotFromState(deviceId: string, s: HomeState): Snapshot {
  const snap = emptySnapshot(deviceId, iso(s.at));
  snap.country = s.country;
  snap.meter_timestamp = iso(Math.floor(s.at / 1000) * 1000);
  snap.grid_power_w = s.grid_w;
  snap.grid_import_t1_kwh = round3(s.import_t1_kwh);
  snap.grid_import_t2_kwh = round3(s.import_t2_kwh);
  snap.grid_export_t1_kwh = round3(s.export_t1_kwh);
  snap.grid_export_t2_kwh = round3(s.export_t2_kwh);
  snap.grid_avg_15m_w = s.avg_15m_w;
  snap.grid_monthly_peak_w = s.month_peak_w;
  snap.grid_monthly_peak_timestamp = s.month_peak_at === null ? null : iso(s.month_peak_at);
  snap.grid_tariff = s.tariff;
  snap.power_l1_w = s.phase_grid_w[0] ?? null;
  snap.power_l2_w = s.phase_grid_w[1] ?? null;
  snap.power_l3_w = s.phase_grid_w[2] ?? null;
  snap.voltage_l1_v = s.phase_voltage_v[0] ?? null;
  snap.voltage_l2_v = s.phase_voltage_v[1] ?? null;
  snap.voltage_l3_v = s.phase_voltage_v[2] ?? null;
  snap.current_l1_a = s.phase_current_a[0] ?? null;
  snap.current_l2_a = s.phase_current_a[1] ?? null;
  snap.current_l3_a = s.phase_current_a[2] ?? null;
  snap.gas_total_m3 = s.gas_m3;
  snap.water_total_m3 = s.water_m3;
  snap.pv_power_w = s.pv_w;
  snap.pv_daily_kwh = round3(s.pv_daily_kwh);
  snap.pv_total_kwh = round3(s.pv_total_kwh);
  snap.mppt1_voltage_v = s.mppt1_voltage_v;
  snap.mppt1_current_a = s.mppt1_current_a;
  snap.mppt2_voltage_v = s.mppt2_voltage_v;
  snap.mppt2_current_a = s.mppt2_current_a;
  snap.battery_power_w = s.battery_w;
  snap.battery_soc_pct = Math.round(s.battery_soc_pct * 10) / 10;
  snap.battery_temp_c = Math.round(s.battery_temp_c * 10) / 10;
  snap.battery_daily_charge_kwh = round3(s.battery_daily_charge_kwh);
  snap.battery_daily_discharge_kwh = round3(s.battery_daily_discharge_kwh);
  snap.battery_total_charge_kwh = round3(s.battery_total_charge_kwh);
  snap.battery_total_discharge_kwh = round3(s.battery_total_discharge_kwh);
  derive(snap, true, false);
  return snap;
}

/**
 * Advances the model to `until` (ms, exclusive) and returns one snapshot every `everyMs`, the first
 * at the model's current instant. The model steps in 1-second increments in between, so counters
 * and peaks are exactly what the meter would show at each sample.
 */
export function sampleHome(model: HomeModel, deviceId: string, until: number, everyMs: number): Snapshot[] {
  const out: Snapshot[] = [];
  for (let t = model.now; t < until; t += everyMs) {
    out.push(snapshotFromState(deviceId, model.advanceTo(t)));
  }
  return out;
}

/** Total grid import (kWh) of a snapshot: tariff 1 + tariff 2 (null when either is unknown). */
export function importKwh(s: Snapshot): number | null {
  return s.grid_import_t1_kwh === null || s.grid_import_t2_kwh === null
    ? null
    : s.grid_import_t1_kwh + s.grid_import_t2_kwh;
}

/** Total grid export (kWh) of a snapshot: tariff 1 + tariff 2 (null when either is unknown). */
export function exportKwh(s: Snapshot): number | null {
  return s.grid_export_t1_kwh === null || s.grid_export_t2_kwh === null
    ? null
    : s.grid_export_t1_kwh + s.grid_export_t2_kwh;
}
