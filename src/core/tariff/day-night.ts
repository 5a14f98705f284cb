/**
 * Day or night: from the meter's tariff counters when present, otherwise from the region's hours.
 *
 * Meter counters (1.8.1/1.8.2, 2.8.1/2.8.2 → import_t1/t2, export_t1/t2):
 * - BE: t1 = day, t2 = night.
 * - NL: t1 = low (night), t2 = normal (day).
 * The meter knows its own switching times (DSO, municipality, holidays), so its split wins.
 *
 * Without counters: weekdays day from `day_start_hour` to `day_end_hour` local time (7–22 or 6–21
 * in Flanders), night otherwise; Saturday and Sunday night all day (when weekend_is_night).
 * Public holidays on a weekday are day (as Flemish DSOs do for meters not read continuously).
 */
import { local } from './local-time.js';
import type { Tariff } from './schema.js';

export type Band = 'day' | 'night';

/** The band of the local clock at `ms` from the configured hours. */
export function clockBand(ms: number, tariff: Pick<Tariff, 'timezone' | 'dayNight'>): Band {
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
