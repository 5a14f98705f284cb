/**
 * The simulated home's battery (home-model.ts): what its inverter is told (a policy, set from the
 * EMS registers a Sungrow simulator is written), and one step of it within its power and SoC limits.
 */
import type { HomeState } from './home-model.js';

/** What the battery's inverter is told (HomeModel.setBatteryPolicy). */
export type BatteryPolicy =
  | { mode: 'self_consumption'; maxChargeW: number; maxDischargeW: number; minSocPct: number }
  | { mode: 'forced'; command: 'charge' | 'discharge' | 'stop'; powerW: number; minSocPct: number };

export type BatteryPolicyInput =
  | { mode: 'self_consumption'; maxChargeW?: number; maxDischargeW?: number; minSocPct?: number }
  | { mode: 'forced'; command: 'charge' | 'discharge' | 'stop'; powerW: number; minSocPct?: number };

/** The inverter's own default: self-consumption at full power, down to 10 %. */
export const SELF_CONSUMPTION: BatteryPolicy = {
  mode: 'self_consumption',
  maxChargeW: Number.POSITIVE_INFINITY,
  maxDischargeW: Number.POSITIVE_INFINITY,
  minSocPct: 10,
};

export interface BatterySpec {
  /** Usable capacity (kWh, > 0). */
  capacityKwh: number;
  /** Charge/discharge limit (W). */
  maxW: number;
}

/**
 * One step of `dtS` s of the battery, as its inverter is told (`policy`): by default charge on
 * surplus, discharge on demand; always within its power and SoC limits. Updates the battery's SoC,
 * counters and temperature in `s` and returns its power (W): + charging, − discharging.
 */
export function batteryStep(
  s: HomeState,
  spec: BatterySpec,
  policy: BatteryPolicy,
  pv: number,
  load: number,
  dtS: number,
): number {
  let bat = 0;
  const cap = spec.capacityKwh;
  const surplus = pv - load;
  const maxW = spec.maxW;
  const floor = policy.minSocPct;
  const roomW = () => (((100 - s.battery_soc_pct) / 100) * cap * 3_600_000) / Math.max(dtS, 1) / 0.95;
  const availW = () => ((((s.battery_soc_pct - floor) / 100) * cap * 3_600_000) / Math.max(dtS, 1)) * 0.95;
  if (policy.mode === 'forced') {
    if (policy.command === 'charge' && s.battery_soc_pct < 100) bat = Math.min(policy.powerW, maxW, roomW());
    if (policy.command === 'discharge' && s.battery_soc_pct > floor) bat = -Math.min(policy.powerW, maxW, availW());
  } else if (surplus > 30 && s.battery_soc_pct < 100) {
    bat = Math.min(surplus, maxW, policy.maxChargeW, roomW());
  } else if (surplus < -30 && s.battery_soc_pct > floor) {
    bat = -Math.min(-surplus, maxW, policy.maxDischargeW, availW());
  }
  const kwh = (Math.abs(bat) * dtS) / 3_600_000;
  if (bat > 0) {
    s.battery_soc_pct = Math.min(100, s.battery_soc_pct + ((kwh * 0.95) / cap) * 100);
    s.battery_daily_charge_kwh += kwh;
    s.battery_total_charge_kwh += kwh;
  } else if (bat < 0) {
    s.battery_soc_pct = Math.max(0, s.battery_soc_pct - (kwh / 0.95 / cap) * 100);
    s.battery_daily_discharge_kwh += kwh;
    s.battery_total_discharge_kwh += kwh;
  }
  s.battery_temp_c += ((18 + (Math.abs(bat) / maxW) * 10 - s.battery_temp_c) * dtS) / 600;
  return bat;
}
