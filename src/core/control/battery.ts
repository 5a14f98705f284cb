/**
 * A battery's set-point on the same budget as the chargers (docs/control.md "How the battery is
 * decided"). The battery is the fast actuator: it covers what the chargers cannot (a house load
 * above what the quarter still allows), and it charges from the grid only inside the budget.
 *
 *   grid if idle = house now + the chargers' expected average draw for the rest of the quarter  W
 *   shave        = grid if idle − (target × 900 − E) / r                                   W
 *   charge room  = ((target − margin) × 900 − E) / max(r, 60) − grid if idle              W
 *
 * In order:
 * 1. At or below reserve_soc_pct it never discharges (it may still charge, from PV or in a cheap hour).
 * 2. In a cheap hour (price within cheap_band of the next 24 h's lowest, and worth it after the
 *    round trip against the 24 h's highest) it holds its energy for the expensive hours, shaves
 *    when needed, and charges from the grid up to grid_charge_soc_pct at most at the charge room.
 * 3. Below hold_soc_pct it holds and discharges only to shave.
 * 4. Otherwise self-consumption (the inverter covers the house, and a charging car, from the
 *    battery on its own). With discharge_to_chargers: false its discharge is capped, while a
 *    charger draws, at the house's own load (or the shave, when more): the car charges from the
 *    grid inside the budget and the battery is kept for the house.
 * It is never told to discharge into the grid: shaving caps the discharge of self-consumption, and
 * a battery that covers the whole house already covers any peak up to its power.
 */
import type { BudgetNumbers } from './budget.js';
import type { BatterySettings, ControlSettings } from './config.js';
import type { BatteryReading, BatterySetpoint } from './types.js';

export interface BatteryContext {
  settings: BatterySettings;
  control: ControlSettings;
  reading: BatteryReading | undefined;
  numbers: BudgetNumbers;
  /** What the chargers are expected to draw on average over the rest of the quarter, W. */
  chargersW: number;
  prices: { now: number | null; min: number | null; max: number | null } | null;
  /** The set-point last written (decreases of a shaving limit wait for a clear change). */
  written: BatterySetpoint | null;
}

export interface BatteryOutcome {
  setpoint: BatterySetpoint;
  reason: string;
}

const kw = (w: number): string => `${(w / 1000).toFixed(1)} kW`;
const eur = (x: number): string => `${x.toFixed(3)} €/kWh`;

/** Self-consumption at full power: the inverter's own behaviour, safe whatever else is unknown. */
export function selfConsumption(s: BatterySettings): BatterySetpoint {
  return { mode: 'self_consumption', max_discharge_w: s.maxDischargeW, max_charge_w: s.maxChargeW };
}

export function safeBattery(s: BatterySettings, why: string): BatteryOutcome {
  return { setpoint: selfConsumption(s), reason: `${why}: self-consumption (the inverter's own mode)` };
}

/** A shaving limit: the need rounded up a step, plus a step for the write pacing; kept while it shrinks a little. */
function holdWithShave(c: BatteryContext, shaveW: number): BatterySetpoint {
  const s = c.settings;
  const step = s.powerStepW;
  const limit = shaveW > 0 ? Math.min(s.maxDischargeW, Math.ceil(Math.round(shaveW) / step) * step + step) : 0;
  const w = c.written;
  if (
    w?.mode === 'self_consumption' &&
    limit > 0 &&
    limit < w.max_discharge_w &&
    w.max_discharge_w - limit < 5 * step
  ) {
    return w;
  }
  return { mode: 'self_consumption', max_discharge_w: limit, max_charge_w: s.maxChargeW };
}

export function decideBattery(c: BatteryContext): BatteryOutcome {
  const s = c.settings;
  const r = c.reading;
  if (r === undefined || r.stale) return safeBattery(s, 'battery stale or silent');
  if (r.soc_pct === null) return safeBattery(s, 'battery SoC unknown');
  const b = c.numbers.budget;
  const usedJ = c.numbers.usedJ as number;
  const rem = c.numbers.remainingS;
  const gridIdle = (b.base_w as number) + c.chargersW;
  const shave = Math.max(0, gridIdle - (b.target_w * 900 - usedJ) / Math.max(rem, 10));
  const chargeRoom = ((b.target_w - c.control.marginW) * 900 - usedJ) / Math.max(rem, 60) - gridIdle;
  const step = s.powerStepW;
  const soc = r.soc_pct;
  const p = c.prices;
  const cheap =
    p !== null &&
    p.now !== null &&
    p.min !== null &&
    p.max !== null &&
    p.now <= p.min + s.cheapBandEurPerKwh &&
    p.now / s.roundTripEfficiency < p.max;
  const gridCharge = cheap && soc < s.gridChargeSocPct && chargeRoom >= 2 * step;
  const chargeW = Math.min(s.maxChargeW, Math.floor(chargeRoom / step) * step);
  const shaveNote = shave > 0 ? `; the quarter needs ${kw(shave)} less from the grid` : '';

  if (gridCharge && chargeW > 0) {
    return {
      setpoint: { mode: 'charge', power_w: chargeW },
      reason: `cheap hour (${eur(p?.now as number)}, up to ${eur(p?.max as number)} in 24 h): charging from the grid at ${kw(chargeW)} to ${s.gridChargeSocPct} %, inside the budget (${kw(chargeRoom)} room)`,
    };
  }
  if (soc <= s.reserveSocPct) {
    const cannot = shave > 0 ? `; cannot shave the ${kw(shave)} the quarter needs` : '';
    return {
      setpoint: { mode: 'self_consumption', max_discharge_w: 0, max_charge_w: s.maxChargeW },
      reason: `at its reserve (${soc} % ≤ ${s.reserveSocPct} %): no discharge${cannot}`,
    };
  }
  if (cheap) {
    return {
      setpoint: holdWithShave(c, shave),
      reason: `cheap hour (${eur(p?.now as number)}): holds its energy for the expensive hours${shaveNote}`,
    };
  }
  if (soc <= s.holdSocPct) {
    return {
      setpoint: holdWithShave(c, shave),
      reason: `below ${s.holdSocPct} %: keeps its energy for peak shaving${shaveNote}`,
    };
  }
  const over = shave > s.maxDischargeW ? `; the quarter needs ${kw(shave)}, more than it can give` : shaveNote;
  if (c.chargersW > 0 && !s.dischargeToChargers) {
    const houseW = Math.max(0, b.base_w as number);
    return {
      setpoint: holdWithShave(c, Math.max(houseW, shave)),
      reason: `self-consumption for the house (${kw(houseW)}): the chargers draw from the grid, not from the battery${over}`,
    };
  }
  return { setpoint: selfConsumption(s), reason: `self-consumption${over}` };
}
