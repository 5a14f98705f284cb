/**
 * A charger's set-point as its decision (charger.ts decides the set-point): the power it means,
 * whether the charger follows what it was last told (one drawing more is counted at what it draws),
 * and what the chargers after it and the batteries must leave it.
 */

import type { BudgetNumbers } from './budget.js';
import type { ChargerSettings, ControlSettings } from './config.js';
import type { PriceContext } from './plan.js';
import type { ChargerDecision, ChargerMemory, ChargerReading, ChargerSetpoint, DeadlineStatus } from './types.js';

/** A charger drawing more than its set-point by this share (and at least 300 W) is not following. */
const FOLLOW_TOLERANCE = 0.1;
/** Seconds after a write before the draw is compared with it. */
const FOLLOW_GRACE_S = 30;

export interface ChargerContext {
  now: number;
  settings: ChargerSettings;
  control: ControlSettings;
  reading: ChargerReading | undefined;
  memory: ChargerMemory;
  numbers: BudgetNumbers;
  /** Power the chargers before this one take, W. */
  takenW: number;
  /** Grid power without any charger's draw, W (for the PV surplus). */
  gridWithoutChargersW: number | null;
  timezone: string;
  prices: PriceContext;
}

export interface ChargerOutcome {
  decision: Omit<ChargerDecision, 'write'>;
  memory: ChargerMemory;
  /** Power this charger is expected to draw now, W: what later chargers must leave it. */
  takesW: number;
  /**
   * Its expected average draw over the rest of the quarter, W: what the battery plans with. A car
   * running at its minimum on the quarter's allowance stops when that is spent, so it is the
   * allowance spread over the rest, not its power now.
   */
  restW: number;
}

export const kw = (w: number): string => `${(w / 1000).toFixed(1)} kW`;
export const kwh = (x: number): string => `${x.toFixed(2)} kWh`;

export function powerOf(s: ChargerSettings, sp: ChargerSetpoint): number {
  return sp.charge ? s.voltageV * sp.phases * sp.current_a : 0;
}

export function minPower(s: ChargerSettings, phases: number): number {
  return s.voltageV * phases * s.minCurrentA;
}

/** The outcome of a set-point; `restW` (default its power) is what the car is expected to draw on average for the rest of the quarter. */
export function outcome(
  c: ChargerContext,
  memory: ChargerMemory,
  setpoint: ChargerSetpoint,
  reason: string,
  deadline: DeadlineStatus | null,
  restW: number = powerOf(c.settings, setpoint),
): ChargerOutcome {
  const s = c.settings;
  const measured = c.reading && !c.reading.stale ? c.reading.power_w : null;
  const setW = powerOf(s, setpoint);
  const told = memory.written === null ? null : powerOf(s, memory.written);
  let following: boolean | null = null;
  let note = '';
  if (told !== null && measured !== null && memory.writtenAt !== null) {
    const over = measured > told + Math.max(300, told * FOLLOW_TOLERANCE);
    if (!over) {
      following = true;
      memory.overSince = null;
    } else if (c.now - memory.writtenAt >= FOLLOW_GRACE_S * 1000) {
      following = false;
      memory.overSince = memory.overSince ?? c.now;
      note = `; not following: draws ${kw(measured)}${memory.written?.charge ? `, more than the ${kw(told)} set` : ' while paused'}; the budget counts what it draws`;
    }
  }
  const takesW = Math.max(setW, measured ?? 0);
  const rest = following === false ? Math.max(restW, measured ?? 0) : restW;
  return {
    decision: {
      device: s.name,
      mode: s.mode,
      setpoint,
      reason: reason + note,
      power_w: measured,
      setpoint_w: setW,
      following,
      deadline,
    },
    memory,
    takesW,
    restW: rest,
  };
}
