/**
 * decide(): one control step, every second, pure (time and readings passed in, the state passed
 * back). The edge calls it on each snapshot and writes the set-points marked `write`.
 *
 * Order: the quarter's budget from the meter's counters; the chargers in config order, each given
 * what the ones before it leave; then the batteries, which cover what the chargers could not.
 *
 * Fail safe: a stale meter, or a quarter whose energy is not known (the edge restarted mid-quarter,
 * a gap across the boundary), puts the chargers at their safe current (or paused) and the batteries
 * in self-consumption until the budget is known again.
 *
 * Writes: a set-point is marked `write` when it differs from the last one written and the device's
 * last write is at least min_write_interval_s old (the first after a start is always written: the
 * device's own set-point is unknown). A charger that draws more than it was told is told again at
 * most once a minute. With dry_run the decision is the same and says so; the edge writes nothing.
 */
import { decideBattery, safeBattery } from './battery.js';
import { advanceQuarter, type BudgetNumbers, baseLoadW, gridFresh, quarterBudget, smoothBase } from './budget.js';
import { decideCharger, EMPTY_CHARGER_MEMORY, safeCharger } from './charger.js';
import type { ChargerContext } from './charger-outcome.js';
import type { ControlSettings } from './config.js';
import { type PriceContext, priceWindow } from './plan.js';
import type {
  BatteryDecision,
  BatterySetpoint,
  ChargerDecision,
  ChargerSetpoint,
  ControlDecision,
  ControlInput,
  ControlState,
} from './types.js';

export interface ControlContext extends PriceContext {
  settings: ControlSettings;
  /** The home's IANA time zone (months, deadlines, day/night hours). */
  timezone: string;
}

/** Seconds before a charger that does not follow is told again. */
const RESEND_S = 60;

function sameCharger(a: ChargerSetpoint, b: ChargerSetpoint): boolean {
  return a.charge === b.charge && a.current_a === b.current_a && a.phases === b.phases;
}

function sameBattery(a: BatterySetpoint, b: BatterySetpoint): boolean {
  if (a.mode === 'charge' && b.mode === 'charge') return a.power_w === b.power_w;
  if (a.mode === 'self_consumption' && b.mode === 'self_consumption') {
    return a.max_discharge_w === b.max_discharge_w && a.max_charge_w === b.max_charge_w;
  }
  return false;
}

/** May a changed set-point be written now? */
function paced(now: number, writtenAt: number | null, minIntervalS: number): boolean {
  return writtenAt === null || now - writtenAt >= minIntervalS * 1000;
}

function unsafeWhy(input: ControlInput, status: 'stale' | 'unknown'): string {
  if (status === 'unknown')
    return "the quarter's energy is not known (edge restart or a gap; known from the next quarter)";
  const at = input.grid.at;
  return at === null
    ? 'meter stale (no reading)'
    : `meter stale (last reading ${Math.round((input.now - at) / 1000)} s ago)`;
}

export function decide(
  input: ControlInput,
  state: ControlState,
  ctx: ControlContext,
): { decision: ControlDecision; state: ControlState } {
  const settings = ctx.settings;
  const now = input.now;
  const s = advanceQuarter(state, input, settings, ctx.timezone);
  const fresh = gridFresh(input, settings);
  smoothBase(s, baseLoadW(input, fresh), now, settings.baseSmoothingS);
  const numbers = quarterBudget(s, input, settings);
  const status = numbers.budget.status;
  s.chargers = { ...s.chargers };
  s.batteries = { ...s.batteries };

  let chargerDraw = 0;
  for (const c of Object.values(input.chargers)) if (!c.stale && c.power_w !== null) chargerDraw += c.power_w;
  const gridWithoutChargersW = fresh ? (input.grid.power_w as number) - chargerDraw : null;

  const chargers: ChargerDecision[] = [];
  let takenW = 0;
  let restW = 0;
  for (const cs of settings.chargers) {
    const memory = s.chargers[cs.name] ?? EMPTY_CHARGER_MEMORY;
    const c: ChargerContext = {
      now,
      settings: cs,
      control: settings,
      reading: input.chargers[cs.name],
      memory,
      numbers,
      takenW,
      gridWithoutChargersW,
      timezone: ctx.timezone,
      prices: ctx,
    };
    const out = status === 'ok' ? decideCharger(c) : safeCharger(c, unsafeWhy(input, status));
    const m = out.memory;
    const sp = out.decision.setpoint;
    const changed = m.written === null || !sameCharger(m.written, sp);
    const resend = out.decision.following === false && m.writtenAt !== null && now - m.writtenAt >= RESEND_S * 1000;
    const mayWrite = paced(now, m.writtenAt, settings.minWriteIntervalS);
    const write = (changed || resend) && mayWrite && !(input.chargers[cs.name]?.stale ?? true);
    let reason = out.decision.reason;
    if (write) {
      if (m.written === null || m.written.charge !== sp.charge) m.switchedAt = now;
      if (m.written !== null && m.written.phases !== sp.phases) m.phaseSwitchedAt = now;
      m.written = sp;
      m.writtenAt = now;
      if (resend && !changed) reason += '; told again';
    } else if (changed && !mayWrite) {
      reason += `; write held (one per ${settings.minWriteIntervalS} s)`;
    }
    s.chargers[cs.name] = m;
    chargers.push({ ...out.decision, reason, write });
    takenW += out.takesW;
    restW += out.restW;
  }

  const batteries = decideBatteries(s, input, ctx, numbers, restW);
  return {
    decision: { at: now, dry_run: settings.dryRun, budget: numbers.budget, chargers, batteries },
    state: s,
  };
}

/** The batteries, after the chargers: `chargersW` is the chargers' expected draw for the rest of the quarter. */
function decideBatteries(
  s: ControlState,
  input: ControlInput,
  ctx: ControlContext,
  numbers: BudgetNumbers,
  chargersW: number,
): BatteryDecision[] {
  const settings = ctx.settings;
  const now = input.now;
  const status = numbers.budget.status;
  const window =
    settings.batteries.length > 0 && ctx.tariff !== null
      ? s.prices?.quarter === numbers.budget.quarter_start
        ? s.prices
        : { quarter: numbers.budget.quarter_start, ...priceWindow(ctx, now) }
      : null;
  s.prices = window;

  const out: BatteryDecision[] = [];
  for (const bs of settings.batteries) {
    const memory = s.batteries[bs.name] ?? { written: null, writtenAt: null };
    const reading = input.batteries[bs.name];
    const made =
      status === 'ok'
        ? decideBattery({
            settings: bs,
            control: settings,
            reading,
            numbers,
            chargersW,
            prices: window,
            written: memory.written,
          })
        : safeBattery(bs, unsafeWhy(input, status));
    const changed = memory.written === null || !sameBattery(memory.written, made.setpoint);
    const mayWrite = paced(now, memory.writtenAt, settings.minWriteIntervalS);
    const write = changed && mayWrite && reading !== undefined && !reading.stale;
    s.batteries[bs.name] = write ? { written: made.setpoint, writtenAt: now } : memory;
    const reason =
      changed && !mayWrite ? `${made.reason}; write held (one per ${settings.minWriteIntervalS} s)` : made.reason;
    out.push({ device: bs.name, setpoint: made.setpoint, write, reason, soc_pct: reading?.soc_pct ?? null });
  }

  return out;
}
