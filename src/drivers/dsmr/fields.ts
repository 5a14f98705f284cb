/**
 * Maps a parsed P1 telegram onto snapshot fields (core/snapshot.ts): grid power is import − export
 * (+ import, − export), per phase too, and a phase's current takes its power's sign. Values the
 * telegram lacks stay out (the merger makes them null).
 */
import type { SnapshotFields } from '../source.js';
import type { P1Telegram } from './telegram.js';

/** import − export; a meter that never reports export (older/1-way meters) counts as 0 export. */
function net(imp: number | null, exp: number | null): number | null {
  if (imp === null) return exp === null ? null : -exp;
  return exp === null ? imp : imp - exp;
}

/**
 * The phase current with the phase power's direction: negative while the phase exports. DSMR gives
 * magnitudes only (protocols.md §1.5); HomeWizard reports its currents signed this way, so every P1
 * source agrees. Without the phase's power the direction is unknown: the magnitude.
 */
function directed(current: number | null, power: number | null): number | null {
  if (current === null) return null;
  const a = Math.abs(current);
  return power !== null && power < 0 ? -a : a;
}

export function telegramToFields(t: P1Telegram): SnapshotFields {
  const p1 = net(t.power_l1_import_w, t.power_l1_export_w);
  const p2 = net(t.power_l2_import_w, t.power_l2_export_w);
  const p3 = net(t.power_l3_import_w, t.power_l3_export_w);
  return {
    grid_power_w: net(t.power_import_w, t.power_export_w),
    grid_import_t1_kwh: t.energy_import_t1_kwh,
    grid_import_t2_kwh: t.energy_import_t2_kwh,
    grid_export_t1_kwh: t.energy_export_t1_kwh,
    grid_export_t2_kwh: t.energy_export_t2_kwh,
    grid_avg_15m_w: t.avg_demand_15m_w,
    grid_monthly_peak_w: t.month_peak_w,
    grid_monthly_peak_timestamp: t.month_peak_timestamp,
    grid_tariff: t.tariff_indicator,
    power_l1_w: p1,
    power_l2_w: p2,
    power_l3_w: p3,
    voltage_l1_v: t.voltage_l1_v,
    voltage_l2_v: t.voltage_l2_v,
    voltage_l3_v: t.voltage_l3_v,
    current_l1_a: directed(t.current_l1_a, p1),
    current_l2_a: directed(t.current_l2_a, p2),
    current_l3_a: directed(t.current_l3_a, p3),
    gas_total_m3: t.gas_m3,
    water_total_m3: t.water_m3,
    meter_timestamp: t.meter_timestamp,
    country: t.country,
  };
}
