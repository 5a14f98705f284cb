/**
 * What a charger's mode asks for before the budget (charger.ts then fits it in): nothing, the PV
 * surplus, the minimum plus the surplus, as much as the budget allows, or, for a deadline, the
 * plan's cheapest quarters (plan.ts) until the energy is delivered.
 */

import type { ChargerContext } from './charger-outcome.js';
import { kw, kwh } from './charger-outcome.js';
import { nextLocalTime, planDeadline } from './plan.js';
import type { ChargerMemory, DeadlineStatus } from './types.js';

function hhmm(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

export interface Want {
  /** Power the mode asks for, W (before the budget). */
  wantW: number;
  /** The mode asks only for the PV surplus (delays apply). */
  solarOnly: boolean;
  why: string;
  deadline: DeadlineStatus | null;
}

function deadlineWant(
  c: ChargerContext,
  m: ChargerMemory,
  delivered: number,
  surplus: number,
  perQuarterKwh: number,
): Want {
  const s = c.settings;
  const energy = s.energyKwh as number;
  const minutes = s.deadlineMinutes as number;
  const q = c.numbers.budget.quarter_start;
  if (m.plan === null || m.plan.quarter !== q) {
    const by = m.plan?.by ?? nextLocalTime(m.sessionStart ?? c.now, minutes, c.timezone);
    const p = planDeadline({ now: c.now, by, neededKwh: energy - delivered, perQuarterKwh, ctx: c.prices });
    m.plan = { quarter: q, by, chargeNow: p.chargeNow, possibleKwh: p.possibleKwh, feasible: p.feasible };
  }
  const plan = m.plan;
  const status: DeadlineStatus = {
    energy_kwh: energy,
    delivered_kwh: Math.round(delivered * 1000) / 1000,
    by: plan.by,
    possible_kwh: Math.round(plan.possibleKwh * 1000) / 1000,
    feasible: plan.feasible,
    charging_slot: plan.chargeNow,
  };
  const head = `deadline ${kwh(energy)} by ${hhmm(minutes)}, ${kwh(delivered)} delivered`;
  const maxW = s.voltageV * s.phases * s.maxCurrentA;
  if (delivered >= energy)
    return { wantW: surplus, solarOnly: true, why: `${head}: done, PV surplus only`, deadline: status };
  if (c.now >= plan.by) {
    return {
      wantW: maxW,
      solarOnly: false,
      why: `${head}: deadline passed, charging as the budget allows`,
      deadline: status,
    };
  }
  if (!plan.feasible) {
    const why = `${head}: cannot be met under the target (at most ${kwh(plan.possibleKwh)} more by then); charging as fast as the budget allows, the target is not raised`;
    return { wantW: maxW, solarOnly: false, why, deadline: status };
  }
  if (plan.chargeNow)
    return { wantW: maxW, solarOnly: false, why: `${head}: a planned (cheapest) quarter`, deadline: status };
  return {
    wantW: surplus,
    solarOnly: true,
    why: `${head}: cheaper quarters later, PV surplus only now`,
    deadline: status,
  };
}

export function modeWant(c: ChargerContext, m: ChargerMemory, delivered: number, surplus: number): Want {
  const s = c.settings;
  const maxW = s.voltageV * s.phases * s.maxCurrentA;
  switch (s.mode) {
    case 'off':
      return { wantW: 0, solarOnly: false, why: 'mode off', deadline: null };
    case 'solar':
      return { wantW: surplus, solarOnly: true, why: `solar: ${kw(surplus)} PV surplus`, deadline: null };
    case 'min_solar':
      return { wantW: surplus, solarOnly: false, why: `min_solar: minimum + ${kw(surplus)} surplus`, deadline: null };
    case 'max_under_peak':
      return { wantW: maxW, solarOnly: false, why: 'max_under_peak', deadline: null };
    case 'deadline': {
      const perQuarter =
        (Math.min(maxW, c.numbers.budget.target_w - c.control.marginW - c.control.planningBaseW) * 0.25) / 1000;
      return deadlineWant(c, m, delivered, surplus, Math.max(0, perQuarter));
    }
  }
}
