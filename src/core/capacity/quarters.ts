/**
 * Quarter-hour import power and monthly peaks (Flemish capacity tariff).
 *
 * - Quarters are clock quarters (:00, :15, :30, :45) in local time; with whole-hour offsets they are
 *   UTC quarters too, and the store's 15-minute buckets are exactly these quarters.
 * - A quarter's average import power = import energy in the quarter × 4 (kWh → kW): from the
 *   counters (the bucket's import_kwh), never from sampled power. Export does not reduce it.
 * - The month's peak = the highest quarter whose start lies in the local month. A local month across
 *   a DST change has 743 or 745 hours: 2972 quarters (March) or 2980 (October), not 2976.
 *
 * Gaps. The store attributes each reading's counter delta to the bucket holding the reading, so a gap
 * *inside* a quarter loses nothing, but after a gap spanning a quarter boundary the first bucket with
 * data also holds the import of the missing time before it. Our rule:
 * - a quarter with no bucket (or no import value) has no value (null), not 0;
 * - the energy measured always counts where the store put it (it is real import, and a peak must not
 *   be under-reported), but the quarter is marked incomplete when the previous quarter has no data
 *   (its energy may include import from before the quarter) or when it has fewer than `minSamples`
 *   readings. Incomplete quarters can overstate; the meter's own 1.6.0 is shown beside ours.
 */
import { KwartierError } from '../errors.js';
import { type EnergyBucket, importKwh, round } from '../tariff/bucket.js';
import { isoLocal, monthRange } from '../tariff/local-time.js';
import { QUARTER_MS, quarterStart } from '../time/index.js';

export interface Quarter {
  /** Start, epoch ms. */
  start: number;
  /** Import energy in the quarter, kWh; null without data. */
  energy_kwh: number | null;
  /** energy × 4, in W; null without data. */
  avg_import_w: number | null;
  samples: number;
  /** False: no data, too few readings, or a gap right before (see above). */
  complete: boolean;
}

export interface QuarterOptions {
  /** A quarter with fewer readings is incomplete. Default 1. */
  minSamples?: number;
}

/** Indexes 15-minute buckets by start; rejects buckets that are not clock quarters. */
export function indexQuarterBuckets(buckets: readonly EnergyBucket[]): Map<number, EnergyBucket> {
  const m = new Map<number, EnergyBucket>();
  for (const b of buckets) {
    const s = b.start.getTime();
    if (b.end.getTime() - s !== QUARTER_MS || quarterStart(s) !== s) {
      throw new KwartierError(
        'invalid_input',
        `capacity: expected 15-minute buckets on clock quarters, got ${b.start.toISOString()}–${b.end.toISOString()}`,
      );
    }
    m.set(s, b);
  }
  return m;
}

function hasData(b: EnergyBucket | undefined): boolean {
  return b !== undefined && b.samples > 0 && importKwh(b) !== null;
}

/** Every quarter in [start, end), in order, with null where there is no data. */
export function quartersIn(
  index: ReadonlyMap<number, EnergyBucket>,
  start: number,
  end: number,
  opts: QuarterOptions = {},
): Quarter[] {
  const minSamples = opts.minSamples ?? 1;
  const out: Quarter[] = [];
  for (let t = quarterStart(start); t < end; t += QUARTER_MS) {
    if (t < start) continue;
    const b = index.get(t);
    const e = b && b.samples > 0 ? importKwh(b) : null;
    if (!b || e === null) {
      out.push({ start: t, energy_kwh: null, avg_import_w: null, samples: b?.samples ?? 0, complete: false });
      continue;
    }
    const complete = b.samples >= minSamples && hasData(index.get(t - QUARTER_MS));
    out.push({ start: t, energy_kwh: e, avg_import_w: round(e * 4000, 1), samples: b.samples, complete });
  }
  return out;
}

/** Number of quarters in a local month (2976 for 31 days; 2972 in March and 2980 in October in Brussels). */
export function quartersInMonth(month: string, tz: string): number {
  const r = monthRange(month, tz);
  return (r.end - r.start) / QUARTER_MS;
}

export interface Peak {
  peak_w: number;
  /** Start of the peak quarter, epoch ms (the earliest one on a tie). */
  start: number;
  /** Whether the peak quarter is complete (see above). */
  complete: boolean;
}

/** The highest quarter; null when no quarter has data. */
export function peakOf(quarters: readonly Quarter[]): Peak | null {
  let best: Peak | null = null;
  for (const q of quarters) {
    if (q.avg_import_w === null) continue;
    if (best === null || q.avg_import_w > best.peak_w)
      best = { peak_w: q.avg_import_w, start: q.start, complete: q.complete };
  }
  return best;
}

/** The peak of a local month from indexed quarter buckets, counting quarters that start before `until`. */
export function monthPeak(
  index: ReadonlyMap<number, EnergyBucket>,
  month: string,
  tz: string,
  until = Number.POSITIVE_INFINITY,
  opts: QuarterOptions = {},
): Peak | null {
  const r = monthRange(month, tz);
  return peakOf(quartersIn(index, r.start, Math.min(r.end, until), opts));
}

export interface CounterReading {
  time: Date | number;
  /** Cumulative import counter (t1 + t2), kWh; null when unknown. */
  import_kwh: number | null;
}

/**
 * Import energy per quarter from cumulative counter readings (e.g. raw snapshots), with the store's
 * rule: each reading's delta to the previous known reading is attributed to the quarter holding the
 * reading; a counter that drops (meter replaced, counter reset) starts a new series: that step
 * counts 0, never negative, and the next deltas are taken from the new value.
 */
export function energyByQuarter(readings: readonly CounterReading[]): Map<number, number> {
  const sorted = readings
    .map((r) => ({ t: typeof r.time === 'number' ? r.time : r.time.getTime(), v: r.import_kwh }))
    .sort((a, b) => a.t - b.t);
  const out = new Map<number, number>();
  let prev: number | null = null;
  for (const r of sorted) {
    if (r.v === null) continue;
    const q = quarterStart(r.t);
    const delta = prev === null || r.v < prev ? 0 : r.v - prev;
    out.set(q, (out.get(q) ?? 0) + delta);
    prev = r.v;
  }
  return out;
}

/** A quarter as the API shows it. */
export function quarterJson(q: Quarter, tz: string): { start: string; avg_import_w: number | null } {
  return { start: isoLocal(q.start, tz), avg_import_w: q.avg_import_w };
}
