/**
 * Which local days a write raises the epoch of (DayBlockStore in types.ts), and when a day is
 * settled enough for the API to keep its block: one rule for both stores and the API.
 *
 * A write raises the days its changed buckets start in: the daily buckets' days, and the hourly
 * buckets' too, since where local midnight is not on the hour (Asia/Kolkata, +05:30) the hourly
 * bucket of a reading just after midnight starts on the day before. It raises them when they have
 * ended or end within SETTLE_MS. The API keeps a day's block only once the day's last bucket ended
 * SETTLE_MS before (settledReach). So a write that raised nothing for a day began at least
 * 2 × SETTLE_MS before any read of that day's buckets for a block: it committed long before (write
 * transactions last seconds), even with the clocks of several server processes minutes apart.
 */
import type { BucketCalendar } from '../../core/bucket-calendar.js';
import type { Resolution } from '../../core/bucket-shape.js';
import type { RollupRow } from '../../core/rollup.js';

export const SETTLE_MS = 15 * 60_000;

/** The days whose epoch a write that changes these rollup buckets raises, at `now`. */
export function daysToRaise(
  calendar: BucketCalendar,
  changes: ReadonlyMap<Resolution, readonly RollupRow[]>,
  now: number,
): number[] {
  const days = new Set<number>();
  for (const res of ['hourly', 'daily'] as const)
    for (const b of changes.get(res) ?? []) days.add(calendar.start('daily', b.start));
  return [...days].filter((day) => calendar.end('daily', day) <= now + SETTLE_MS);
}

/**
 * When the last `res` bucket starting in the local day [day, dayEnd) ends: the day's block holds
 * it, so the day is settled SETTLE_MS after that.
 */
export function dayReach(calendar: BucketCalendar, res: Resolution, dayEnd: number): number {
  return calendar.end(res, calendar.start(res, dayEnd - 1));
}
