/**
 * The quarter's energy budget (guide control.md §3.5), from the meter's counters:
 *
 *   target T   = max(floor, user target, the month's peak so far)       W
 *   budget B   = T × 900 s                                              J
 *   used   E   = import counter now − import counter at the quarter's start
 *   allowed    = (B − E) / r, r = seconds left in the quarter            W
 *
 * A month's peak already reached costs nothing to reach again, so the target follows it up; at a
 * new month it falls back to max(floor, user target). The meter's own 1-0:1.6.0 counts only when
 * the quarter it names lies in the running month (right after a month change the meter may still
 * show last month's). The quarter's start counter is the last reading of the quarter before (the
 * store's rule: a reading's delta belongs to the quarter holding the reading), or a first reading at
 * most stale_after_s into the quarter. Without either (a restart mid-quarter, a gap across the
 * boundary, a meter that counted back) the meter's own running average of the quarter (1-0:1.4.0,
 * Belgian meters) gives the energy so far, read as `meter_quarter_average` says; a meter without it
 * (Dutch meters, e-MUCS before 1.7) leaves the quarter's energy unknown until the next quarter.
 */
import { monthOf, monthRange } from '../tariff/local-time.js';
import { QUARTER_MS, quarterStart } from '../time/index.js';
import type { ControlSettings, MeterQuarterAverage } from './config.js';
import type { BudgetStatus, ControlInput, ControlState, GridReading, QuarterBudget } from './types.js';

export interface BudgetNumbers {
  budget: QuarterBudget;
  /** Energy used so far, J; null when unknown. */
  usedJ: number | null;
  /** Seconds left in the quarter (> 0). */
  remainingS: number;
}

/** The meter reading is usable: fresh, with power and counters. */
export function gridFresh(input: ControlInput, settings: ControlSettings): boolean {
  const g = input.grid;
  return (
    !g.stale &&
    g.at !== null &&
    input.now - g.at <= settings.staleAfterS * 1000 &&
    g.power_w !== null &&
    g.import_kwh !== null
  );
}

/** Moves the quarter and month bookkeeping to `now`; returns the state after it. */
export function advanceQuarter(
  state: ControlState,
  input: ControlInput,
  settings: ControlSettings,
  timezone: string,
): ControlState {
  const s = { ...state };
  const now = input.now;
  const q = quarterStart(now);
  const staleMs = settings.staleAfterS * 1000;
  const fresh = gridFresh(input, settings);
  const imp = fresh ? input.grid.import_kwh : null;

  if (q !== s.quarter) {
    const prev = s.quarter;
    if (prev !== null && q === prev + QUARTER_MS && s.quarterBaseKwh !== null && s.lastImportKwh !== null) {
      const kwh = s.lastImportKwh - s.quarterBaseKwh;
      // A quarter closing into a new month belongs to the old one, whose peak no longer matters.
      if (kwh >= 0 && s.monthEnd !== null && q < s.monthEnd)
        s.ownMonthPeakW = Math.max(s.ownMonthPeakW ?? 0, kwh * 4000);
    }
    if (s.monthEnd === null || q >= s.monthEnd || s.monthStart === null || q < s.monthStart) {
      const r = monthRange(monthOf(q, timezone), timezone);
      s.monthStart = r.start;
      s.monthEnd = r.end;
      s.ownMonthPeakW = null;
    }
    s.quarter = q;
    s.quarterBaseKwh = s.lastImportAt !== null && s.lastImportAt >= q - staleMs ? s.lastImportKwh : null;
    s.quarterBaseFrom = s.quarterBaseKwh === null ? null : 'counters';
  }
  if (imp !== null) {
    if (s.lastImportKwh !== null && imp < s.lastImportKwh) s.quarterBaseKwh = null; // meter replaced or reset
    // A first reading just after the boundary: at most stale_after_s of import goes uncounted.
    if (s.quarterBaseKwh === null && now - q <= staleMs && (s.lastImportKwh === null || imp >= s.lastImportKwh)) {
      s.quarterBaseKwh = imp;
      s.quarterBaseFrom = 'counters';
    }
    // Later in the quarter (a start or a gap mid-quarter): the meter's own average, when it sends one.
    const used = s.quarterBaseKwh === null ? meterQuarterKwh(input.grid, q, settings.meterQuarterAverage) : null;
    if (used !== null) {
      s.quarterBaseKwh = imp - used;
      s.quarterBaseFrom = 'meter_average';
    }
    if (s.quarterBaseKwh === null) s.quarterBaseFrom = null;
    s.lastImportKwh = imp;
    s.lastImportAt = input.grid.at;
  }
  return s;
}

/**
 * The energy imported so far in the quarter starting at `q`, kWh, from the meter's 1-0:1.4.0 in the
 * same telegram as the counters, read as `how` says; null when the meter sends none, the reading
 * lies outside the quarter, or `how` is off.
 */
export function meterQuarterKwh(g: GridReading, q: number, how: MeterQuarterAverage): number | null {
  if (how === 'off' || g.quarter_avg_w === null || g.at === null) return null;
  if (!Number.isFinite(g.quarter_avg_w) || g.quarter_avg_w < 0 || g.at < q || g.at >= q + QUARTER_MS) return null;
  const seconds = how === 'elapsed' ? (g.at - q) / 1000 : QUARTER_MS / 1000;
  return (g.quarter_avg_w * seconds) / 3.6e6;
}

/**
 * Which reading of 1-0:1.4.0 the meter's figure fits, given the quarter's energy from the counters
 * (`usedKwh`, `elapsedS` into the quarter): 'elapsed', 'quarter', 'neither' (off by more than 15 %
 * both ways), or 'unclear' when the two cannot be told apart: under 5 minutes or 50 Wh into the
 * quarter (the counters' 1 Wh steps and the meter's rounding blur them), or both fit.
 */
export function meterAverageFits(
  usedKwh: number,
  elapsedS: number,
  avgW: number,
): 'elapsed' | 'quarter' | 'neither' | 'unclear' {
  if (elapsedS < 300 || usedKwh < 0.05) return 'unclear';
  const close = (x: number) => Math.abs(x - avgW) <= 0.15 * Math.max(x, avgW);
  const elapsed = (usedKwh * 3.6e6) / elapsedS;
  const quarter = usedKwh * 4000;
  if (close(elapsed) && !close(quarter)) return 'elapsed';
  if (close(quarter) && !close(elapsed)) return 'quarter';
  return close(elapsed) ? 'unclear' : 'neither';
}

/** The uncontrolled load: grid − chargers − batteries, W; null without a fresh meter. */
export function baseLoadW(input: ControlInput, fresh: boolean): number | null {
  if (!fresh || input.grid.power_w === null) return null;
  let w = input.grid.power_w;
  for (const c of Object.values(input.chargers)) if (!c.stale && c.power_w !== null) w -= c.power_w;
  for (const b of Object.values(input.batteries)) if (!b.stale && b.power_w !== null) w -= b.power_w;
  return w;
}

/** The smoothed base load (exponential, time constant base_smoothing_s); updates the state. */
export function smoothBase(s: ControlState, baseW: number | null, now: number, tauS: number): void {
  if (baseW === null) return;
  if (s.baseSmoothedW === null || s.baseSmoothedAt === null || now <= s.baseSmoothedAt) {
    s.baseSmoothedW = s.baseSmoothedW ?? baseW;
  } else {
    const dt = Math.min(now - s.baseSmoothedAt, 60_000) / 1000;
    s.baseSmoothedW += (baseW - s.baseSmoothedW) * (1 - Math.exp(-dt / tauS));
  }
  s.baseSmoothedAt = now;
}

/** The month's peak so far: ours, or the meter's 1.6.0 when it names a quarter of this month. */
export function monthPeakW(s: ControlState, input: ControlInput): number | null {
  const g = input.grid;
  const meterOk =
    g.month_peak_w !== null &&
    g.month_peak_at !== null &&
    s.monthStart !== null &&
    s.monthEnd !== null &&
    g.month_peak_at >= s.monthStart &&
    g.month_peak_at < s.monthEnd;
  const meter = meterOk ? g.month_peak_w : null;
  if (meter === null) return s.ownMonthPeakW;
  return Math.max(meter as number, s.ownMonthPeakW ?? 0);
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** The budget numbers at `input.now` from the advanced state. */
export function quarterBudget(s: ControlState, input: ControlInput, settings: ControlSettings): BudgetNumbers {
  const fresh = gridFresh(input, settings);
  const q = s.quarter ?? quarterStart(input.now);
  const elapsedS = (input.now - q) / 1000;
  const remainingS = Math.max(1, 900 - elapsedS);
  const peak = monthPeakW(s, input);
  const userW = settings.targetW;
  const floorOrUser = Math.max(settings.floorW, userW ?? 0);
  const target = Math.max(floorOrUser, peak ?? 0);
  const source: QuarterBudget['target_source'] =
    peak !== null && peak > floorOrUser ? 'month_peak' : userW !== null && userW > settings.floorW ? 'target' : 'floor';
  const usedKwh =
    fresh && s.quarterBaseKwh !== null && s.lastImportKwh !== null ? s.lastImportKwh - s.quarterBaseKwh : null;
  const usedJ = usedKwh === null ? null : usedKwh * 3.6e6;
  const status: BudgetStatus = !fresh ? 'stale' : usedJ === null ? 'unknown' : 'ok';
  const base = baseLoadW(input, fresh);
  const grid = fresh ? (input.grid.power_w as number) : null;
  return {
    usedJ,
    remainingS,
    budget: {
      status,
      target_w: target,
      target_source: source,
      month_peak_w: peak === null ? null : r1(peak),
      quarter_start: q,
      elapsed_s: elapsedS,
      remaining_s: remainingS,
      budget_kwh: r3(target / 4000),
      used_kwh: usedKwh === null ? null : r3(usedKwh),
      allowed_w: usedJ === null ? null : r1((target * 900 - usedJ) / remainingS),
      base_w: base,
      base_smoothed_w: s.baseSmoothedW === null ? null : r1(s.baseSmoothedW),
      projected_w: usedJ === null || grid === null ? null : r1((usedJ + Math.max(0, grid) * remainingS) / 900),
    },
  };
}
