/**
 * The billed value of the capacity tariff, and the comparison with the meter's own figures.
 *
 * Billed value = the average of the last 12 monthly peaks (the running month included), each month
 * first raised to the floor (2.5 kW in Flanders). That the floor applies per month, before the
 * average, is Fluvius's methodology ("Rekenkundig gemiddelde van de Max (Maandpiek (m), 2.5) voor
 * elke maand (m) … Er worden maximaal 12 maanden gebruikt", docs/tariffs.md §5.3);
 * `floor_applies_to: average` in the tariff file keeps the other reading available.
 *
 * A month of the 12 without data (before the first month with data, or a gap) is a setting,
 * `capacity.missing_month`: `skip` (the default) leaves it out, so the average is over the months
 * we have data for; `floor` counts it as the floor, so the average is always over 12 months. The
 * sources differ on which Fluvius does (docs/tariffs.md §5.3). Either way a month is never 0.
 */
import { round } from '../tariff/bucket.js';
import { addMonths, local, monthOf } from '../tariff/local-time.js';

export interface FloorRules {
  floorKw: number;
  floorAppliesTo: 'month' | 'average';
  /** A month without data: left out (`skip`, the default) or counted as the floor. */
  missingMonth?: 'skip' | 'floor';
}

export interface MonthPeak {
  month: string;
  /** Our highest quarter of the month, W; null when the month has no data. */
  peak_w: number | null;
}

/**
 * The billed 12-month value in W from the monthly peaks of up to 12 months ending with the month
 * billed (oldest first); null without any known peak. A null peak, and with `missingMonth: floor`
 * each month missing from a list shorter than 12, counts as `missingMonth` says.
 */
export function billedAverageW(peaksW: ReadonlyArray<number | null>, rules: FloorRules): number | null {
  const floorW = rules.floorKw * 1000;
  let known = peaksW.filter((p): p is number => p !== null);
  if (known.length === 0) return null;
  if (rules.missingMonth === 'floor') {
    known = [...known, ...Array<number>(Math.max(12, peaksW.length) - known.length).fill(floorW)];
  }
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
