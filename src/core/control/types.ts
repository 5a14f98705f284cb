/**
 * What the decision reads and what it returns. Plain data: the edge builds a ControlInput from each
 * snapshot (inputFromSnapshot in input.ts), keeps the ControlState between calls (it is JSON, so it
 * can be logged or persisted), and turns each `write: true` set-point into device writes.
 *
 * Units and signs as in the snapshot: W, kWh, A; grid + import, battery + charging, EV + charging.
 */
import type { ChargerMode } from './config.js';

export interface GridReading {
  /** When the meter produced this reading (its own timestamp, else the snapshot's), ms. */
  at: number | null;
  power_w: number | null;
  /** Import counter total (1.8.1 + 1.8.2), kWh. */
  import_kwh: number | null;
  /** The meter's 1-0:1.6.0 and when that quarter started; trusted only inside the running month. */
  month_peak_w: number | null;
  month_peak_at: number | null;
  /**
   * The meter's running average import of this clock quarter (1-0:1.4.0, Belgian meters), W; null
   * when the meter does not send it. Read only to learn the quarter's energy after a start mid-quarter.
   */
  quarter_avg_w: number | null;
  /** The edge marked the meter stale. */
  stale: boolean;
}

export interface ChargerReading {
  stale: boolean;
  /** Power drawn now, W. */
  power_w: number | null;
  /** A car is plugged in; null when the charger does not say. */
  connected: boolean | null;
  /** Energy of this session (since plug-in), kWh. */
  session_kwh: number | null;
}

export interface BatteryReading {
  stale: boolean;
  /** + charging, − discharging, W. */
  power_w: number | null;
  soc_pct: number | null;
}

export interface ControlInput {
  /** The edge's clock, ms. */
  now: number;
  grid: GridReading;
  /** By charger name (the `control.chargers` keys); a charger without a reading is treated as stale. */
  chargers: Readonly<Record<string, ChargerReading>>;
  batteries: Readonly<Record<string, BatteryReading>>;
}

/** What a charger is told: charge at `current_a` on `phases`, or pause. */
export interface ChargerSetpoint {
  charge: boolean;
  /** The current to hold (also while paused, as NRGkick keeps one), A. */
  current_a: number;
  phases: 1 | 3;
}

/**
 * What a battery is told.
 * - self_consumption: the inverter's own mode (Sungrow EMS 0), discharge capped at max_discharge_w
 *   (0 = hold: it then covers no load) and PV charging capped at max_charge_w.
 * - charge: forced charge from the grid at power_w (Sungrow EMS 2 + 0xAA + power).
 */
export type BatterySetpoint =
  | { mode: 'self_consumption'; max_discharge_w: number; max_charge_w: number }
  | { mode: 'charge'; power_w: number };

export type BudgetStatus = 'ok' | 'stale' | 'unknown';

export interface QuarterBudget {
  /** ok: the quarter's energy is known; stale: the meter is stale; unknown: no counter at the quarter's start (restart, gap). */
  status: BudgetStatus;
  target_w: number;
  target_source: 'floor' | 'target' | 'month_peak';
  /** The month's highest quarter so far, W (ours or the meter's 1.6.0, the higher). */
  month_peak_w: number | null;
  quarter_start: number;
  elapsed_s: number;
  remaining_s: number;
  /** target × 15 min, kWh. */
  budget_kwh: number;
  /** Imported so far in this quarter, from the counters, kWh. */
  used_kwh: number | null;
  /** The average import allowed for the rest of the quarter to end it at the target, W (< 0: already over). */
  allowed_w: number | null;
  /** The uncontrolled load now: grid − chargers − battery, W (< 0: PV surplus). */
  base_w: number | null;
  /** The same smoothed over base_smoothing_s, W. */
  base_smoothed_w: number | null;
  /** The quarter's average if the present import holds, W. */
  projected_w: number | null;
}

export interface DeadlineStatus {
  energy_kwh: number;
  delivered_kwh: number;
  /** The deadline, ms. */
  by: number;
  /** The energy the budget allows by then (planning estimate), kWh. */
  possible_kwh: number;
  feasible: boolean;
  /** This quarter is one of the cheapest ones the plan charges in. */
  charging_slot: boolean;
}

export interface ChargerDecision {
  device: string;
  mode: ChargerMode;
  setpoint: ChargerSetpoint;
  /** The set-point differs from the last one written and may be written now. */
  write: boolean;
  reason: string;
  /** Measured power, W. */
  power_w: number | null;
  /** Power the set-point allows, W (0 when paused). */
  setpoint_w: number;
  /** false: the charger draws clearly more than it was told; null: not known yet. */
  following: boolean | null;
  deadline: DeadlineStatus | null;
}

export interface BatteryDecision {
  device: string;
  setpoint: BatterySetpoint;
  write: boolean;
  reason: string;
  soc_pct: number | null;
}

export interface ControlDecision {
  at: number;
  dry_run: boolean;
  budget: QuarterBudget;
  chargers: ChargerDecision[];
  batteries: BatteryDecision[];
}

export interface ChargerMemory {
  /** The last set-point written (null before the first write: the device's own is unknown). */
  written: ChargerSetpoint | null;
  writtenAt: number | null;
  /** When charging last started or stopped (by a write), ms. */
  switchedAt: number | null;
  /** When the phases were last switched, ms. */
  phaseSwitchedAt: number | null;
  /** Solar modes: since when the surplus has been enough (or short), ms. */
  surplusSince: number | null;
  shortSince: number | null;
  /** Since when the charger has drawn more than its set-point allows, ms. */
  overSince: number | null;
  /** Session: when the car was plugged in, energy integrated from power when the charger gives none. */
  sessionStart: number | null;
  sessionKwh: number;
  lastPowerAt: number | null;
  /** Deadline plan, made once a quarter. */
  plan: { quarter: number; by: number; chargeNow: boolean; possibleKwh: number; feasible: boolean } | null;
}

export interface BatteryMemory {
  written: BatterySetpoint | null;
  writtenAt: number | null;
}

export interface ControlState {
  quarter: number | null;
  /** The import counter at the quarter's start, kWh; null: unknown for this quarter. */
  quarterBaseKwh: number | null;
  /** Where quarterBaseKwh came from: the counters at the boundary, or the meter's 1-0:1.4.0 (a start mid-quarter). */
  quarterBaseFrom: 'counters' | 'meter_average' | null;
  lastImportKwh: number | null;
  lastImportAt: number | null;
  /** The local month holding `quarter`: [monthStart, monthEnd), ms. */
  monthStart: number | null;
  monthEnd: number | null;
  /** The highest complete quarter of the month we measured, W. */
  ownMonthPeakW: number | null;
  baseSmoothedW: number | null;
  baseSmoothedAt: number | null;
  /** Prices around now for the battery, computed once a quarter. */
  prices: { quarter: number; now: number | null; min: number | null; max: number | null } | null;
  chargers: Record<string, ChargerMemory>;
  batteries: Record<string, BatteryMemory>;
}

/** The state of a fresh start (an edge restart): nothing known, every set-point to be written. */
export const INITIAL_CONTROL_STATE: ControlState = {
  quarter: null,
  quarterBaseKwh: null,
  quarterBaseFrom: null,
  lastImportKwh: null,
  lastImportAt: null,
  monthStart: null,
  monthEnd: null,
  ownMonthPeakW: null,
  baseSmoothedW: null,
  baseSmoothedAt: null,
  prices: null,
  chargers: {},
  batteries: {},
};
