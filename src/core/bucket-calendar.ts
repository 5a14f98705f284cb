/** The bucket calendar: where the buckets of each resolution start and end, in one zone (pure). */

import type { Resolution } from './bucket-shape.js';
import { ConfigError } from './errors.js';
import { HOUR_MS, isValidZone, localDateStart, MINUTE_MS, QUARTER_MS, wallClock } from './time/index.js';

const FIXED_MS: Partial<Record<Resolution, number>> = { '1min': MINUTE_MS, '15min': QUARTER_MS, hourly: HOUR_MS };

interface LocalDay {
  start: number;
  end: number;
  week: number;
  month: number;
}

/**
 * Bucket boundaries. 1-minute, 15-minute and hourly buckets are UTC-aligned instants (15-minute ones
 * are clock quarters in local time too: core/time/quarter.ts). Daily, weekly (ISO weeks, from Monday)
 * and monthly buckets start at local midnight in `timezone` (core/time/zone.ts), so a day lasts 23,
 * 24 or 25 hours.
 *
 * A class rather than bare calls into core/time because rollups and reads ask about the same few
 * days over and over (every reading rolled up, every bucket read): it keeps the last local day it
 * computed and memoises bucket ends, for one zone.
 */
export class BucketCalendar {
  readonly timezone: string;
  private last: LocalDay | null = null;

  private readonly ends = new Map<number, number>();

  constructor(timezone: string) {
    if (!isValidZone(timezone)) throw new ConfigError(`timezone: unknown time zone '${timezone}'`);
    this.timezone = timezone;
  }

  private day(t: number): LocalDay {
    const l = this.last;
    if (l && t >= l.start && t < l.end) return l;
    const z = this.timezone;
    const { year, month, day } = wallClock(t, z);
    const sinceMonday = (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7;
    const d: LocalDay = {
      start: localDateStart(year, month, day, z),
      end: localDateStart(year, month, day + 1, z),
      week: localDateStart(year, month, day - sinceMonday, z),
      month: localDateStart(year, month, 1, z),
    };
    this.last = d;
    return d;
  }

  /** Start (ms) of the bucket holding instant `t`. */
  start(res: Resolution, t: number): number {
    const fixed = FIXED_MS[res];
    if (fixed !== undefined) return Math.floor(t / fixed) * fixed;
    const d = this.day(t);
    if (res === 'daily') return d.start;
    if (res === 'weekly') return d.week;
    return d.month;
  }

  /** End (ms, exclusive) of the bucket starting at `start`. */
  end(res: Resolution, start: number): number {
    const fixed = FIXED_MS[res];
    if (fixed !== undefined) return start + fixed;
    // Calendar arithmetic in a zone costs ~0.1 ms a call (luxon): a year of daily buckets read by
    // the API paid ~40 ms for it. The answer depends only on (res, start): memoise, bounded.
    const key = res === 'daily' ? start : res === 'weekly' ? -start - 1 : start + 0.5;
    const hit = this.ends.get(key);
    if (hit !== undefined) return hit;
    const z = this.timezone;
    const { year, month, day } = wallClock(start, z);
    // A month later keeps the day of the month, or the month's last day when it is shorter.
    const lastOfNext = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    const end =
      res === 'daily'
        ? localDateStart(year, month, day + 1, z)
        : res === 'weekly'
          ? localDateStart(year, month, day + 7, z)
          : localDateStart(year, month + 1, Math.min(day, lastOfNext), z);
    if (this.ends.size >= 100_000) this.ends.clear();
    this.ends.set(key, end);
    return end;
  }
}
