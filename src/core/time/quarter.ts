/**
 * Clock quarters: the unit of the capacity tariff, of dynamic prices and of the 15-minute buckets.
 *
 * A local clock quarter (:00, :15, :30, :45) starts on a UTC quarter whenever the zone's offset is a
 * whole number of quarter hours, which holds for every zone in use (Europe/Brussels: +1 h / +2 h;
 * even Asia/Kathmandu's +5:45). So quarters are plain arithmetic on epoch milliseconds, no zone
 * needed, and they run on across a DST change: the 23-hour day has 92 quarters, the 25-hour day 100.
 *
 * Pure and dependency-free, so the dashboard bundle may import it.
 */

export const MINUTE_MS = 60_000;
export const QUARTER_MS = 15 * MINUTE_MS;
export const HOUR_MS = 60 * MINUTE_MS;
/** A day of 24 hours; a local day may last 23 or 25 (zone.ts: localDay). */
export const DAY_MS = 24 * HOUR_MS;

/** Start of the clock quarter holding `ms`. */
export function quarterStart(ms: number): number {
  return ms - (((ms % QUARTER_MS) + QUARTER_MS) % QUARTER_MS);
}

/** End (exclusive) of the clock quarter holding `ms`: the start of the next one. */
export function quarterEnd(ms: number): number {
  return quarterStart(ms) + QUARTER_MS;
}

/** The number of the quarter holding `ms`, counted from 1970-01-01T00:00Z (a key for caches). */
export function quarterIndex(ms: number): number {
  return Math.floor(ms / QUARTER_MS);
}

/** True when `ms` starts a clock quarter. */
export function isQuarterStart(ms: number): boolean {
  return quarterStart(ms) === ms;
}
