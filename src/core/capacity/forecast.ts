/**
 * Forecast of the running quarter (pure; time passed in).
 *
 * Let t = elapsed seconds in the quarter (0 ≤ t < 900), r = 900 − t, E = import energy so far in the
 * quarter (J, from the counters), P = current import power (W; max(0, grid_power_w): export is
 * zero import) and L = the limit: the user's target if given, else the month's peak so far.
 *
 * - avg_so_far_w  = E / t: the average import power over the elapsed part (null at t = 0).
 * - projected_w   = (E + P·r) / 900: the quarter's average at its end if P holds.
 * - headroom_w    = (L·900 − E) / r: the constant import power for the rest of the quarter that ends
 *                   it exactly at L. ≥ 0: you may import up to this much. 0: import must stop now.
 *                   < 0: the limit is already exceeded by the energy imported so far; nothing keeps
 *                   it (the value is how far below zero the import would have to go). null without L.
 * - new_peak_expected = projected_w > month's peak (true when the month has no peak yet and
 *                   projected_w > 0). Independent of the target.
 */
import { round } from '../tariff/bucket.js';
import { isoLocal } from '../tariff/local-time.js';
import { QUARTER_MS, quarterStart } from '../time/index.js';

export interface ForecastInput {
  now: number;
  /** Import energy since the quarter's start, kWh; null when unknown. */
  energySoFarKwh: number | null;
  /** Current grid power, W (+ import, − export); null when unknown. */
  gridPowerW: number | null;
  /** The month's peak so far (completed quarters), W; null when none yet. */
  monthPeakW: number | null;
  /** A user-set target, W; when given, the headroom is computed against it instead of the peak. */
  targetW?: number | null;
}

export interface Forecast {
  quarterStartMs: number;
  elapsed_s: number;
  remaining_s: number;
  avg_so_far_w: number | null;
  projected_w: number | null;
  headroom_w: number | null;
  new_peak_expected: boolean;
  /** The L used for the headroom. */
  limit_w: number | null;
}

export function forecastQuarter(input: ForecastInput): Forecast {
  const q = quarterStart(input.now);
  const elapsedMs = input.now - q;
  const t = elapsedMs / 1000;
  const r = (QUARTER_MS - elapsedMs) / 1000;
  const e = input.energySoFarKwh === null ? null : input.energySoFarKwh * 3.6e6;
  const p = input.gridPowerW === null ? null : Math.max(0, input.gridPowerW);
  const limit = input.targetW ?? input.monthPeakW ?? null;
  const avg = e !== null && t > 0 ? round(e / t, 1) : null;
  const projected = e !== null && p !== null ? round((e + p * r) / 900, 1) : null;
  const headroom = e !== null && limit !== null ? round((limit * 900 - e) / r, 1) : null;
  const newPeak = projected !== null && (input.monthPeakW === null ? projected > 0 : projected > input.monthPeakW);
  return {
    quarterStartMs: q,
    elapsed_s: t,
    remaining_s: r,
    avg_so_far_w: avg,
    projected_w: projected,
    headroom_w: headroom,
    new_peak_expected: newPeak,
    limit_w: limit,
  };
}

/** The forecast as the capacity-tariff endpoint shows it. */
export interface ForecastJson {
  quarter_start: string;
  elapsed_s: number;
  avg_so_far_w: number | null;
  projected_w: number | null;
  headroom_w: number | null;
  new_peak_expected: boolean;
}

export function forecastJson(f: Forecast, tz: string): ForecastJson {
  return {
    quarter_start: isoLocal(f.quarterStartMs, tz),
    elapsed_s: round(f.elapsed_s, 3),
    avg_so_far_w: f.avg_so_far_w,
    projected_w: f.projected_w,
    headroom_w: f.headroom_w,
    new_peak_expected: f.new_peak_expected,
  };
}
