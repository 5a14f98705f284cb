/**
 * The uplink's messages besides the outbox: the `grid`, `solar` and `battery` subsets of the newest
 * snapshot, and `capacity` (the capacity-tariff fields with a report or an alert).
 */
import type { Snapshot } from '../../core/snapshot.js';
import type { CapacityMessage } from '../../core/wire.js';
import type { CapacityExtra } from './types.js';

/** Fields of the subset topics (besides device_id and timestamp). */
export const SUBSET_FIELDS = {
  grid: [
    'grid_power_w',
    'grid_import_t1_kwh',
    'grid_import_t2_kwh',
    'grid_export_t1_kwh',
    'grid_export_t2_kwh',
    'grid_tariff',
    'power_l1_w',
    'power_l2_w',
    'power_l3_w',
    'voltage_l1_v',
    'voltage_l2_v',
    'voltage_l3_v',
    'current_l1_a',
    'current_l2_a',
    'current_l3_a',
    'gas_total_m3',
    'water_total_m3',
    'meter_timestamp',
  ],
  solar: [
    'pv_power_w',
    'pv_daily_kwh',
    'pv_total_kwh',
    'mppt1_voltage_v',
    'mppt1_current_a',
    'mppt2_voltage_v',
    'mppt2_current_a',
  ],
  battery: [
    'battery_power_w',
    'battery_soc_pct',
    'battery_temp_c',
    'battery_daily_charge_kwh',
    'battery_daily_discharge_kwh',
    'battery_total_charge_kwh',
    'battery_total_discharge_kwh',
  ],
  capacity: ['grid_avg_15m_w', 'grid_monthly_peak_w', 'grid_monthly_peak_timestamp', 'country'],
} as const satisfies Record<string, ReadonlyArray<keyof Snapshot>>;

/** The leaves published every `subsetIntervalMs`. */
export const SUBSET_LEAVES = ['grid', 'solar', 'battery'] as const;

/** `{device_id, timestamp, ...fields}` of a snapshot. */
export function subsetOf(snapshot: Snapshot, fields: ReadonlyArray<keyof Snapshot>): Record<string, unknown> {
  const out: Record<string, unknown> = { device_id: snapshot.device_id, timestamp: snapshot.timestamp };
  for (const field of fields) out[field] = snapshot[field];
  return out;
}

/**
 * The `capacity` message (core/wire.ts CapacityMessageSchema): the newest snapshot's capacity-tariff
 * fields (only the device and the time before the first snapshot) plus `extra`.
 */
export function capacityMessage(latest: Snapshot | null, deviceId: string, extra: CapacityExtra): CapacityMessage {
  const base = latest
    ? subsetOf(latest, SUBSET_FIELDS.capacity)
    : { device_id: deviceId, timestamp: new Date().toISOString() };
  return { ...base, ...extra };
}

/**
 * Runs `report` every `everyMs`, just after each boundary of that period (2 s after: when the
 * meter's quarter average is fresh); its timers are pushed to `timers` for the caller to clear.
 */
export function scheduleAfterBoundaries(everyMs: number, report: () => void, timers: NodeJS.Timeout[]): void {
  const delay = everyMs - (Date.now() % everyMs) + 2000;
  const first = setTimeout(() => {
    report();
    const interval = setInterval(report, everyMs);
    interval.unref();
    timers.push(interval);
  }, delay);
  first.unref();
  timers.push(first);
}
