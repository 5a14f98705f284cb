/**
 * A ControlInput from a snapshot, so the edge can feed decide() from what it already publishes.
 *
 * - The meter: grid_power_w, the import counters (1.8.1 + 1.8.2), 1.6.0 and its quarter, 1.4.0, stamped
 *   with meter_timestamp (else the snapshot's time). It is stale when the snapshot lists the meter
 *   among stale_sources or its power is null.
 * - A charger `car`: `devices.car.fields` — ev_power_w, ev_session_kwh and ev_state (text: standby,
 *   available, disconnected or unplugged mean no car; connected, charging, suspended, paused, wakeup
 *   and finished mean a car; anything else is unknown).
 * - A battery: `devices.<name>.fields` battery_power_w and battery_soc_pct; a site of the legacy
 *   sections (no `devices`) with one battery configured uses the snapshot's own battery fields.
 * - The chargers together draw at most what the site can supply now: the grid's import, the PV and
 *   the batteries' discharge of the same snapshot. The meter and a charger are read at different
 *   instants (a telegram a second, the charger's API every few seconds), so for a second or two
 *   after a car's draw changes the charger can report a draw the meter does not show yet; the
 *   house's load (grid − chargers) would then look negative, like a PV surplus, and the room for the
 *   car too large (seen in the closed-loop test: 16 A decided where 9 A fit). Their powers are scaled
 *   down to that supply then. The other way round (the meter ahead of the charger) only makes the
 *   house look larger for a moment, the safe side.
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

/** Scales the chargers' powers down to what the site supplies in the same snapshot (see the top). */
function clampToSupply(chargers: Record<string, ChargerReading>, snap: Snapshot): void {
  if (snap.grid_power_w === null) return;
  const supply = snap.grid_power_w + Math.max(0, snap.pv_power_w ?? 0) + Math.max(0, -(snap.battery_power_w ?? 0));
  let drawn = 0;
  for (const c of Object.values(chargers)) if (!c.stale && c.power_w !== null && c.power_w > 0) drawn += c.power_w;
  if (drawn <= supply || drawn <= 0) return;
  const share = Math.max(0, supply) / drawn;
  for (const c of Object.values(chargers)) {
    if (!c.stale && c.power_w !== null && c.power_w > 0) c.power_w = Math.round(c.power_w * share);
  }
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
  clampToSupply(chargers, snap);
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
      quarter_avg_w: snap.grid_avg_15m_w,
      stale,
    },
    chargers,
    batteries,
  };
}
