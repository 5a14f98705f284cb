/**
 * A ControlInput from a snapshot, so the edge can feed decide() from what it already publishes.
 *
 * - The meter: grid_power_w, the import counters (1.8.1 + 1.8.2), 1.6.0 and its quarter, stamped
 *   with meter_timestamp (else the snapshot's time). It is stale when the snapshot lists the meter
 *   among stale_sources or its power is null.
 * - A charger `car`: `devices.car.fields` — ev_power_w, ev_session_kwh and ev_state (text: standby,
 *   available, disconnected or unplugged mean no car; connected, charging, suspended, paused, wakeup
 *   and finished mean a car; anything else is unknown).
 * - A battery: `devices.<name>.fields` battery_power_w and battery_soc_pct; a site of the legacy
 *   sections (no `devices`) with one battery configured uses the snapshot's own battery fields.
 */
import type { Snapshot } from '../snapshot.js';
import type { ControlSettings } from './config.js';
import type { BatteryReading, ChargerReading, ControlInput } from './types.js';

const NO_CAR = new Set(['standby', 'available', 'disconnected', 'unplugged']);
const CAR = new Set(['connected', 'charging', 'suspended', 'paused', 'wakeup', 'finished']);

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function ms(iso: string | null): number | null {
  if (iso === null) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

export function inputFromSnapshot(
  snap: Snapshot,
  settings: ControlSettings,
  opts: { now: number; gridDevice?: string | null },
): ControlInput {
  const t1 = snap.grid_import_t1_kwh;
  const t2 = snap.grid_import_t2_kwh;
  const stale = snap.grid_power_w === null || (opts.gridDevice != null && snap.stale_sources.includes(opts.gridDevice));
  const devices = snap.devices ?? null;
  const chargers: Record<string, ChargerReading> = {};
  for (const c of settings.chargers) {
    const d = devices?.[c.name];
    if (!d) continue;
    const state = typeof d.fields.ev_state === 'string' ? d.fields.ev_state.toLowerCase() : null;
    chargers[c.name] = {
      stale: d.stale,
      power_w: num(d.fields.ev_power_w),
      connected: state === null ? null : NO_CAR.has(state) ? false : CAR.has(state) ? true : null,
      session_kwh: num(d.fields.ev_session_kwh),
    };
  }
  const batteries: Record<string, BatteryReading> = {};
  for (const b of settings.batteries) {
    const d = devices?.[b.name];
    if (d) {
      batteries[b.name] = {
        stale: d.stale,
        power_w: num(d.fields.battery_power_w),
        soc_pct: num(d.fields.battery_soc_pct),
      };
    } else if (devices === null && settings.batteries.length === 1) {
      batteries[b.name] = {
        stale: snap.battery_power_w === null,
        power_w: snap.battery_power_w,
        soc_pct: snap.battery_soc_pct,
      };
    }
  }
  return {
    now: opts.now,
    grid: {
      at: ms(snap.meter_timestamp) ?? ms(snap.timestamp),
      power_w: snap.grid_power_w,
      import_kwh: t1 === null || t2 === null ? null : t1 + t2,
      month_peak_w: snap.grid_monthly_peak_w,
      month_peak_at: ms(snap.grid_monthly_peak_timestamp),
      stale,
    },
    chargers,
    batteries,
  };
}
