/**
 * When to raise a "new quarter peak coming" alert: a small pure state machine, time passed in.
 *
 * Each tick gets a forecast (forecast.ts). The projection is "over" when projected_w exceeds the
 * alert limit = max(target, or else the month's peak so far, floor_w). floor_w defaults to the
 * capacity tariff's 2.5 kW minimum: a quarter below it costs nothing extra, so it is not worth an
 * alert; set 0 to alert on any new peak.
 *
 * An alert is raised when the projection is over and either
 * - at most `lead_time_s` seconds of the quarter remain (early projections are noisy: a kettle in
 *   minute 1 projects a large quarter), or
 * - `on_cross` is set and the projection has just crossed from not-over to over (or is over at the
 *   first tick seen in the quarter),
 * and never more than once per quarter. A new quarter resets the state.
 */
import { type Static, Type } from '@sinclair/typebox';

/** The alert settings as a config section (validate with core/validate.ts parseWithSchema). */
export const AlertConfigSchema = Type.Object(
  {
    lead_time_s: Type.Number({ default: 300, minimum: 0, maximum: 900 }),
    on_cross: Type.Boolean({ default: false }),
    floor_w: Type.Number({ default: 2500, minimum: 0, maximum: 1_000_000 }),
  },
  { additionalProperties: false },
);

export type AlertConfigFile = Static<typeof AlertConfigSchema>;

export interface AlertConfig {
  /** Alert only in the last this-many seconds of the quarter (unless on_cross). Default 300. */
  lead_time_s: number;
  /** Also alert at the moment the projection crosses the limit. Default false. */
  on_cross: boolean;
  /** The alert limit is never below this, W. Default 2500. */
  floor_w: number;
}

export const DEFAULT_ALERT_CONFIG: AlertConfig = { lead_time_s: 300, on_cross: false, floor_w: 2500 };

export interface AlertState {
  /** The quarter the state is about (epoch ms), null before the first tick. */
  quarterStartMs: number | null;
  alerted: boolean;
  wasOver: boolean;
}

export const INITIAL_ALERT_STATE: AlertState = { quarterStartMs: null, alerted: false, wasOver: false };

export interface AlertTick {
  quarterStartMs: number;
  remaining_s: number;
  projected_w: number | null;
  monthPeakW: number | null;
  targetW?: number | null;
}

export interface Alert {
  quarterStartMs: number;
  projected_w: number;
  limit_w: number;
  reason: 'lead_time' | 'crossed';
}

export function alertLimitW(tick: Pick<AlertTick, 'monthPeakW' | 'targetW'>, config: AlertConfig): number {
  return Math.max(tick.targetW ?? tick.monthPeakW ?? 0, config.floor_w);
}

/** One step: the next state and the alert to raise now (null: none). */
export function stepAlert(
  state: AlertState,
  tick: AlertTick,
  config: AlertConfig = DEFAULT_ALERT_CONFIG,
): { state: AlertState; alert: Alert | null } {
  const s: AlertState =
    state.quarterStartMs === tick.quarterStartMs
      ? { ...state }
      : { quarterStartMs: tick.quarterStartMs, alerted: false, wasOver: false };
  const limit = alertLimitW(tick, config);
  const over = tick.projected_w !== null && tick.projected_w > limit;
  let alert: Alert | null = null;
  if (over && !s.alerted) {
    const inLead = tick.remaining_s <= config.lead_time_s;
    const crossed = config.on_cross && !s.wasOver;
    if (inLead || crossed) {
      alert = {
        quarterStartMs: tick.quarterStartMs,
        projected_w: tick.projected_w as number,
        limit_w: limit,
        reason: inLead ? 'lead_time' : 'crossed',
      };
      s.alerted = true;
    }
  }
  s.wasOver = over;
  return { state: s, alert };
}
