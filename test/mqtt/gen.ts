/**
 * Deterministic snapshots for the MQTT path's tests and benchmark: snapshot `i` of a device is taken
 * at `startMs + i * stepMs`, and its cumulative counters grow by a fixed amount per step (in Wh,
 * so the expected energy of any interval is exact arithmetic).
 */
import { emptySnapshot, type Snapshot } from '../../src/core/snapshot.js';

export interface GenOptions {
  deviceId: string;
  startMs: number;
  stepMs?: number;
}

/** Import 0.4 Wh, export 0.1 Wh, PV 0.3 Wh per step; tariff 1 for even hours, 2 for odd. */
export function makeSnapshot(o: GenOptions, i: number): Snapshot {
  const step = o.stepMs ?? 1000;
  const t = o.startMs + i * step;
  const s = emptySnapshot(o.deviceId, new Date(t).toISOString());
  const importWh = 1_000_000 + i * 0.4;
  const exportWh = 500_000 + i * 0.1;
  s.country = 'be';
  s.grid_power_w = 1440 - 360;
  s.grid_import_t1_kwh = Math.round(importWh) / 1000;
  s.grid_import_t2_kwh = 2000;
  s.grid_export_t1_kwh = Math.round(exportWh) / 1000;
  s.grid_export_t2_kwh = 300;
  s.grid_avg_15m_w = 1100;
  s.grid_monthly_peak_w = 4200;
  s.grid_tariff = 1;
  s.voltage_l1_v = 231.4;
  s.pv_power_w = 1080;
  s.pv_total_kwh = Math.round(800_000 + i * 0.3) / 1000;
  s.battery_power_w = -250;
  s.battery_soc_pct = 55.5;
  s.load_power_w = 2000;
  s.meter_timestamp = new Date(Math.floor(t / 1000) * 1000).toISOString();
  return s;
}

export function makeSnapshots(o: GenOptions, from: number, count: number): Snapshot[] {
  const out: Snapshot[] = [];
  for (let i = from; i < from + count; i++) out.push(makeSnapshot(o, i));
  return out;
}
