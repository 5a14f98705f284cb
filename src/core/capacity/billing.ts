/**
 * The billed value of the capacity tariff, and the comparison with the meter's own figures.
 *
 * Billed value = the average of the last 12 monthly peaks (the running month included), each month
 * first raised to the floor (2.5 kW in Flanders): the per-month floor of the worked example in
 * protocols.md §7. Whether the floor applies per month or to the average is to be confirmed against
 * VREG; `floor_applies_to: average` in the tariff file switches to the other reading.
 *
 * Fewer than 12 months: the average is over the months we have data for (as for a meter installed
 * less than a year ago). A month without any data is left out (null), not counted as 0 or as the
 * floor; the meter's 98.1.0 history, shown beside ours, covers such months.
 */
import { round } from '../tariff/bucket.js';
import { addMonths, local, monthOf } from '../tariff/local-time.js';

export interface FloorRules {
  floorKw: number;
  floorAppliesTo: 'month' | 'average';
}

export interface MonthPeak {
  month: string;
  /** Our highest quarter of the month, W; null when the month has no data. */
  peak_w: number | null;
}

/** The billed 12-month value in W from monthly peaks (null peaks are left out); null without any. */
export function billedAverageW(peaksW: ReadonlyArray<number | null>, rules: FloorRules): number | null {
  const known = peaksW.filter((p): p is number => p !== null);
  if (known.length === 0) return null;
  const floorW = rules.floorKw * 1000;
  if (rules.floorAppliesTo === 'month') {
    return round(known.reduce((s, p) => s + Math.max(p, floorW), 0) / known.length, 1);
  }
  return round(Math.max(known.reduce((s, p) => s + p, 0) / known.length, floorW), 1);
}

/** The 12 months ending with `month` (oldest first). */
export function last12Months(month: string): string[] {
  return Array.from({ length: 12 }, (_, i) => addMonths(month, i - 11));
}

/**
 * Billed kW per month for the cost breakdown: for each month asked, the rolling value over the
 * 12 months ending with it, from a month → peak map (months absent or null are left out).
 */
export function billedKwByMonth(
  peaksByMonth: ReadonlyMap<string, number | null>,
  months: readonly string[],
  rules: FloorRules,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of months) {
    const w = billedAverageW(
      last12Months(m).map((x) => peaksByMonth.get(x) ?? null),
      rules,
    );
    if (w !== null) out[m] = round(w / 1000, 4);
  }
  return out;
}

/** Our monthly peak next to the meter's, with the difference (ours − meter); never hidden. */
export interface MeterComparison {
  month: string;
  ours_w: number | null;
  meter_w: number | null;
  /** ours − meter, W; null when either is missing. */
  difference_w: number | null;
}

export function compareWithMeter(ours: readonly MonthPeak[], meter: readonly MonthPeak[]): MeterComparison[] {
  const months = new Set<string>([...ours.map((o) => o.month), ...meter.map((m) => m.month)]);
  const o = new Map(ours.map((x) => [x.month, x.peak_w]));
  const m = new Map(meter.map((x) => [x.month, x.peak_w]));
  return [...months].sort().map((month) => {
    const a = o.get(month) ?? null;
    const b = m.get(month) ?? null;
    return { month, ours_w: a, meter_w: b, difference_w: a === null || b === null ? null : round(a - b, 1) };
  });
}

/** One entry of the meter's 0-0:98.1.0 max-demand history as a driver decodes it. */
export interface MaxDemandEntry {
  /** The entry's first stamp: local midnight of the 1st of the month *after* the peak's month. */
  month_start: Date | number;
  /** When the peak occurred; null for an empty month (`632525252525W`). */
  occurred: Date | number | null;
  peak_kw: number;
}

/**
 * The meter's 98.1.0 history as monthly peaks. The entry stamped 2023-11-01 00:00 holds the peak of
 * October (occurred 2023-10-16 in the fixture fluvius-v171-3phase-alt), so an entry belongs to the
 * month before its month_start. An empty month has peak 0 kW on the meter; that is its value.
 */
export function meterHistoryFromMaxDemand(entries: readonly MaxDemandEntry[], tz: string): MonthPeak[] {
  return entries
    .map((e) => {
      const ms = typeof e.month_start === 'number' ? e.month_start : e.month_start.getTime();
      // One hour before the stamp lies in the previous local month.
      const month = monthOf(local(ms, tz).minus({ hours: 1 }).toMillis(), tz);
      return { month, peak_w: round(e.peak_kw * 1000, 1) };
    })
    .sort((a, b) => a.month.localeCompare(b.month));
}
