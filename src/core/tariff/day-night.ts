/**
 * Day or night: from the meter's tariff counters when present, otherwise from the tariff's
 * day/night schedule (time-of-use.ts: the file's `day_night` hours, or its region's).
 *
 * Meter counters (1.8.1/1.8.2, 2.8.1/2.8.2 → import_t1/t2, export_t1/t2):
 * - BE: t1 = day, t2 = night.
 * - NL: t1 = low (night), t2 = normal (day).
 * The meter knows its own switching times (DSO, municipality, holidays), so its split wins.
 *
 * Without counters: with the file's `day_night` keys, weekdays day from `day_start_hour` to
 * `day_end_hour` local time (7–22 or 6–21 in Flanders), night otherwise; Saturday and Sunday night
 * all day (when weekend_is_night). Public holidays on a weekday are day (as Flemish DSOs do for
 * meters not read continuously).
 */
import { local } from './local-time.js';
import type { Tariff } from './schema.js';
import { bandAt, scheduleBander } from './time-of-use.js';

export type Band = 'day' | 'night';

type DayNightTariff = Pick<Tariff, 'timezone' | 'dayNight'> & Partial<Pick<Tariff, 'schedules'>>;

/** The band of the local clock at `ms` from the configured hours. */
export function clockBand(ms: number, tariff: DayNightTariff): Band {
  const schedule = tariff.schedules?.[0];
  if (schedule) return bandAt(schedule, ms, tariff.timezone) as Band;
  const t = local(ms, tariff.timezone);
  const dn = tariff.dayNight;
  if (dn.weekendIsNight && t.weekday >= 6) return 'night';
  const minutes = t.hour * 60 + t.minute;
  return minutes >= dn.dayStartHour * 60 && minutes < dn.dayEndHour * 60 ? 'day' : 'night';
}

/** The day and night energy from a pair of tariff counters; null unless both are present. */
export function splitByMeter(
  t1: number | null,
  t2: number | null,
  country: 'be' | 'nl',
): { day: number; night: number } | null {
  if (t1 === null || t2 === null) return null;
  return country === 'be' ? { day: t1, night: t2 } : { day: t2, night: t1 };
}

/**
 * clockBand for many instants in [start, end): the day's band boundaries are computed once per
 * local day, then each lookup is a binary search. Outside the range it falls back to clockBand.
 */
export function clockBander(tariff: DayNightTariff, start: number, end: number): (ms: number) => Band {
  const schedule = tariff.schedules?.[0];
  if (schedule) return scheduleBander(schedule, tariff.timezone, start, end) as (ms: number) => Band;
  const dn = tariff.dayNight;
  const from: number[] = [];
  const to: number[] = [];
  if (end > start) {
    let day = local(start, tariff.timezone).startOf('day');
    while (day.toMillis() < end) {
      if (!(dn.weekendIsNight && day.weekday >= 6)) {
        // Wall-clock hours (set, not plus: a DST day has 23 or 25 hours).
        from.push(day.set({ hour: dn.dayStartHour }).toMillis());
        to.push((dn.dayEndHour === 24 ? day.plus({ days: 1 }) : day.set({ hour: dn.dayEndHour })).toMillis());
      }
      day = day.plus({ days: 1 });
    }
  }
  return (ms: number): Band => {
    if (ms < start || ms >= end) return clockBand(ms, tariff);
    let lo = 0;
    let hi = from.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (from[mid]! <= ms) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found >= 0 && ms < to[found]! ? 'day' : 'night';
  };
}
