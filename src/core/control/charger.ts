/**
 * One charger's set-point from the quarter's budget (docs/control.md "How a charger is decided").
 *
 * Two quantities, with E the quarter's energy so far, r the seconds left, B = (target − margin) × 900:
 * - room      = (B − E) / max(r, 60) − house now − what earlier chargers take          W
 *   the power the car can take from now to the quarter's end. It sets the current, and a paused
 *   car starts only when room ≥ its minimum power: a start in a quarter never breaks it.
 * - run left  = (B + margin/2 × 900 − E − max(0, others) × r) / (draw + min(0, others))   s
 *   with others = the house smoothed + earlier chargers: how long the car may still run in this
 *   quarter (export earns no import back, so a PV surplus only lowers what the car adds). A
 *   running car stops only when that is down to the seconds a stop takes (judged at half the
 *   margin, so a car started on the full margin is not stopped again by a few watts more than
 *   planned). The house load is smoothed here (base_smoothing_s), so a kettle that comes and goes
 *   is paid from the quarter's energy instead of stopping the car; in the last 3 minutes the
 *   present load counts when it is higher. Because the tariff counts energy, a car that cannot go
 *   below 4.1 kW runs part of the quarter under a 2.5 kW average: it starts late in one quarter
 *   and runs on into the next while that quarter's allowance lasts, so it switches about twice
 *   per half hour, not every minute.
 * A start also needs the car to have been paused min_off_s, and the run it would make (to this
 * quarter's end and on through the next one's allowance) to last min_on_s. Stops for other reasons
 * (mode off, the PV surplus gone, a deadline's slot over) wait for min_on_s; budget stops do not.
 *
 * What a mode asks for is charger-want.ts; a set-point as a decision (following, what it takes from
 * the budget) is charger-outcome.ts.
 */

import { type ChargerContext, type ChargerOutcome, kw, kwh, minPower, outcome, powerOf } from './charger-outcome.js';
import { modeWant, type Want } from './charger-want.js';
import type { ChargerSettings } from './config.js';
import type { ChargerMemory, ChargerReading, ChargerSetpoint } from './types.js';

/** Seconds a stop takes to act (the write pacing plus the car's ramp-down). */
const STOP_LEAD_S = 10;
/** A car 1-phase-capable switches up to 3 phases only with this much room beyond the 3-phase minimum, W. */
const PHASE_UP_MARGIN_W = 300;
/** Room needed above the current's next step before the current is raised, W. */
const RAISE_MARGIN_W = 150;

export const EMPTY_CHARGER_MEMORY: ChargerMemory = {
  written: null,
  writtenAt: null,
  switchedAt: null,
  phaseSwitchedAt: null,
  surplusSince: null,
  shortSince: null,
  overSince: null,
  sessionStart: null,
  sessionKwh: 0,
  lastPowerAt: null,
  plan: null,
};

/** Tracks the plug-in session and its energy (the charger's own count, else integrated from its power). */
function trackSession(m: ChargerMemory, r: ChargerReading, now: number): number {
  const connected = r.connected !== false;
  if (!connected) {
    m.sessionStart = null;
    m.sessionKwh = 0;
    m.plan = null;
  } else if (m.sessionStart === null) {
    m.sessionStart = now;
    m.sessionKwh = 0;
    m.plan = null;
  }
  if (r.power_w !== null && m.lastPowerAt !== null && now > m.lastPowerAt) {
    m.sessionKwh += (Math.max(0, r.power_w) * Math.min(now - m.lastPowerAt, 10_000)) / 3.6e9;
  }
  m.lastPowerAt = r.power_w === null ? null : now;
  return r.session_kwh ?? m.sessionKwh;
}

/** The set-point while the quarter's energy is not known: the safe current, or a pause. */
export function safeCharger(c: ChargerContext, why: string): ChargerOutcome {
  const s = c.settings;
  const memory = { ...c.memory };
  const reading = c.reading;
  if (reading && !reading.stale) trackSession(memory, reading, c.now);
  const phases = c.memory.written?.phases ?? s.phases;
  const wantsPower = s.mode === 'min_solar' || s.mode === 'max_under_peak' || s.mode === 'deadline';
  const charge = wantsPower && s.safeCurrentA !== null && reading?.connected !== false;
  const setpoint: ChargerSetpoint = { charge, current_a: s.safeCurrentA ?? s.minCurrentA, phases };
  const what = charge ? `safe current ${setpoint.current_a} A` : 'paused';
  return outcome(c, memory, setpoint, `${why}: ${what}`, null);
}

/** Phases to use: one when the room does not hold the 3-phase minimum, back to three with margin. */
function choosePhases(c: ChargerContext, m: ChargerMemory, current: 1 | 3, roomW: number): 1 | 3 {
  const s = c.settings;
  if (!s.phaseSwitching || s.phases === 1) return s.phases;
  const since = m.phaseSwitchedAt === null ? Number.POSITIVE_INFINITY : (c.now - m.phaseSwitchedAt) / 1000;
  if (since < s.phaseSwitchIntervalS) return current;
  if (current === 3 && roomW < minPower(s, 3) && roomW >= minPower(s, 1)) return 1;
  if (current === 1 && roomW >= minPower(s, 3) + PHASE_UP_MARGIN_W) return 3;
  return current;
}

/**
 * How long a car drawing `drawW` may still run in a quarter with `leftJ` of import left and `rem`
 * seconds to go, the rest of the site drawing `othersW` (negative: PV surplus). Exported power
 * earns no import back, so a surplus only lowers what the car adds while it runs.
 */
function runLeftS(leftJ: number, othersW: number, drawW: number, rem: number): number {
  const houseJ = Math.max(0, othersW) * rem;
  const carAddsW = drawW + Math.min(0, othersW);
  return carAddsW <= 0 ? Number.POSITIVE_INFINITY : (leftJ - houseJ) / carAddsW;
}

/** The current for a power, in whole amperes, within the charger's range. */
function currentFor(s: ChargerSettings, powerW: number, phases: number): number {
  const a = Math.floor(powerW / (s.voltageV * phases));
  return Math.min(s.maxCurrentA, Math.max(s.minCurrentA, a));
}

/** What one charger's step has worked out, shared by the running and the paused branch. */
interface Step {
  c: ChargerContext;
  m: ChargerMemory;
  s: ChargerSettings;
  r: ChargerReading;
  usedJ: number;
  rem: number;
  budgetJ: number;
  smoothed: number;
  baseForRest: number;
  others: number;
  room: number;
  want: Want;
  phases: 1 | 3;
  pMin: number;
  /** What a start may take: the room with the house as it is now. */
  usable: number;
  /** What a running car may take: the room with the house smoothed (baseForRest). */
  usableRunning: number;
  ctx: string;
  /** Seconds since charging last started or stopped. */
  sinceSwitchS: number;
}

function pauseAt(k: Step, why: string): ChargerOutcome {
  const sp = { charge: false, current_a: k.m.written?.current_a ?? k.s.minCurrentA, phases: k.phases };
  return outcome(k.c, k.m, sp, why, k.want.deadline, 0);
}

function runAt(k: Step, why: string, powerW: number, restW?: number): ChargerOutcome {
  const { s, phases } = k;
  let current = currentFor(s, powerW, phases);
  const w = k.m.written;
  if (w?.charge && w.phases === phases && k.rem <= 60) {
    // The last minute: the current hardly changes the quarter, and the next one starts afresh.
    current = w.current_a;
  } else if (w?.charge && w.phases === phases && current > w.current_a) {
    // Raise only with margin beyond the next step, so noise does not toggle the current.
    current = Math.max(w.current_a, currentFor(s, powerW - RAISE_MARGIN_W, phases));
  }
  const sp = { charge: true, current_a: current, phases };
  const text = `${why}: ${current} A × ${phases} ph (${kw(powerOf(s, sp))}); ${k.ctx}`;
  return outcome(k.c, k.m, sp, text, k.want.deadline, restW ?? powerOf(s, sp));
}

/** A running car: stop when the quarter's energy is spent, or (after min_on_s) when the mode says so. */
function whileRunning(k: Step): ChargerOutcome {
  const { s, m, want, pMin } = k;
  const now = k.c.now;
  const drawW = Math.max(k.r.power_w ?? 0, pMin);
  // Judged against half the margin: a car started on the full margin is not stopped again by a
  // few watts more than planned, and runs on across the quarter's end.
  const leftS = runLeftS(k.budgetJ + (k.c.control.marginW / 2) * 900 - k.usedJ, k.others, drawW, k.rem);
  const leftJ = Math.max(0, Math.min(leftS, k.rem)) * drawW;
  if (leftS <= Math.min(STOP_LEAD_S, k.rem)) {
    const spent = `${kwh(k.usedJ / 3.6e6)} of ${kwh(k.budgetJ / 3.6e6)} with the house's ${kw(k.baseForRest)} for the rest`;
    return pauseAt(k, `${want.why}: paused, the quarter's energy is spent (${spent}); ${k.ctx}`);
  }
  const modeStop =
    want.wantW < pMin && (!want.solarOnly || (m.shortSince !== null && now - m.shortSince >= s.solarStopDelayS * 1000));
  if (modeStop && (s.mode === 'off' || k.sinceSwitchS >= s.minOnS)) return pauseAt(k, `${want.why}: paused`);
  if (k.usableRunning < pMin) {
    const note = modeStop
      ? ` (minimum on time ${s.minOnS} s)`
      : ` (${kwh(leftJ / 3.6e6)} of the quarter left for it; a load spike is paid from it)`;
    return runAt(k, `${want.why}: at the minimum${note}`, pMin, leftJ / k.rem);
  }
  return runAt(k, want.why, k.usableRunning);
}

/** A paused car: start only if it can run to the quarter's end, long enough, after its minimum off time. */
function whilePaused(k: Step): ChargerOutcome {
  const { s, m, want, pMin } = k;
  if (want.wantW < pMin) return pauseAt(k, `${want.why}: paused`);
  if (want.solarOnly && (m.surplusSince === null || k.c.now - m.surplusSince < s.solarStartDelayS * 1000)) {
    return pauseAt(k, `${want.why}: paused until the surplus holds ${s.solarStartDelayS} s`);
  }
  if (k.sinceSwitchS < s.minOffS) {
    return pauseAt(k, `${want.why}: paused (minimum off time, ${Math.ceil(s.minOffS - k.sinceSwitchS)} s left)`);
  }
  if (k.room < pMin) return pauseAt(k, `${want.why}: paused, needs ${kw(pMin)} to the quarter's end; ${k.ctx}`);
  const runS = k.rem + Math.max(0, runLeftS(k.budgetJ, k.smoothed + k.c.takenW, pMin, 900));
  if (runS < s.minOnS) {
    const short = `a start would run only ${Math.round(runS)} s (minimum on time ${s.minOnS} s)`;
    return pauseAt(k, `${want.why}: paused, ${short}; ${k.ctx}`);
  }
  return runAt(k, `${want.why}: start`, k.usable);
}

export function decideCharger(c: ChargerContext): ChargerOutcome {
  const s = c.settings;
  const m: ChargerMemory = { ...c.memory };
  const r = c.reading;
  if (r === undefined || r.stale) {
    const kept = m.written ?? { charge: false, current_a: s.minCurrentA, phases: s.phases };
    return outcome(c, m, kept, 'charger stale or silent: set-point kept', null);
  }
  const delivered = trackSession(m, r, c.now);
  if (r.connected === false) {
    const paused = { charge: false, current_a: s.minCurrentA, phases: s.phases };
    return outcome(c, m, paused, 'no car connected: paused', null);
  }
  const b = c.numbers.budget;
  const usedJ = c.numbers.usedJ as number;
  const rem = c.numbers.remainingS;
  const base = b.base_w as number;
  const smoothed = b.base_smoothed_w ?? base;
  const budgetJ = (b.target_w - c.control.marginW) * 900;
  const surplus = Math.max(0, -(c.gridWithoutChargersW ?? 0) - c.takenW);
  const roomWith = (houseW: number): number => (budgetJ - usedJ) / Math.max(rem, 60) - houseW - c.takenW;
  const room = roomWith(base);
  const baseForRest = rem > 180 ? smoothed : Math.max(smoothed, base);

  const want = modeWant(c, m, delivered, surplus);
  // min_solar's minimum is the lowest the charger can go: one phase when it can switch.
  const phaseRoom =
    s.mode === 'min_solar' ? Math.min(Math.max(surplus, minPower(s, 1)), room) : Math.min(want.wantW, room);
  const phases = choosePhases(c, m, m.written?.phases ?? s.phases, phaseRoom);
  const pMin = minPower(s, phases);
  if (s.mode === 'min_solar') want.wantW = Math.max(pMin, surplus);
  // Solar delays: how long the surplus has been enough, or short.
  if (want.wantW >= pMin) {
    m.surplusSince = m.surplusSince ?? c.now;
    m.shortSince = null;
  } else {
    m.shortSince = m.shortSince ?? c.now;
    m.surplusSince = null;
  }
  const k: Step = {
    c,
    m,
    s,
    r,
    usedJ,
    rem,
    budgetJ,
    smoothed,
    baseForRest,
    others: baseForRest + c.takenW,
    room,
    want,
    phases,
    pMin,
    usable: Math.min(want.wantW, room),
    usableRunning: Math.min(want.wantW, roomWith(baseForRest)),
    ctx: `${kw(b.allowed_w ?? 0)} allowed for the rest of the quarter, house ${kw(base)}`,
    sinceSwitchS: m.switchedAt === null ? Number.POSITIVE_INFINITY : (c.now - m.switchedAt) / 1000,
  };
  const on = m.written?.charge ?? (r.power_w ?? 0) > 100;
  return on ? whileRunning(k) : whilePaused(k);
}
