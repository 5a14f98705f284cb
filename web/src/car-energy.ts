/** The EV chargers' energy over a day, from the history points' mean power (pure: tested in test/web). */
import type { HistoryAnswer } from './types.js';

/** Seconds of a point's bucket that have passed: the running bucket holds its elapsed part only. */
export function elapsedS(history: HistoryAnswer, timestamp: string, nowMs: number): number {
  const step = history.resolution === '1min' ? 60 : 900;
  return Math.max(1, Math.min(step, (nowMs - Date.parse(timestamp)) / 1000));
}

/** Whether the day has an EV charger's power (a site without one has none: no series, no total). */
export const hasCar = (history: HistoryAnswer) => history.points.some((p) => p.avg_ev_power_w != null);

/**
 * The energy the EV chargers took over the day, kWh: each bucket's mean power over its elapsed
 * time. Null when no bucket has the chargers' power.
 */
export function carEnergyKwh(history: HistoryAnswer, nowMs: number): number | null {
  if (!hasCar(history)) return null;
  let kwh = 0;
  for (const p of history.points)
    if (p.avg_ev_power_w != null) kwh += (p.avg_ev_power_w * elapsedS(history, p.timestamp, nowMs)) / 3_600_000;
  return kwh;
}
