/**
 * Rollup arithmetic (pure): the additive content of a bucket (RollupRow), how a row change adds into
 * it and two buckets merge, how a batch's changes group into the buckets of every resolution, and
 * what a rollup row shows as a bucket (BucketValues).
 */

import type { BucketCalendar } from './bucket-calendar.js';
import { type BucketField, type Resolution, ROLLUP_RESOLUTIONS } from './bucket-shape.js';
import { BucketTableBuilder, bucketAt } from './bucket-table.js';
import { ENERGY_KEYS, MAX_POWER_FIELDS, nullVec, POWER_FIELDS, type Vec } from './counter-deltas.js';
import type { RowChange } from './insert-plan.js';

/** The additive content of one rollup bucket (what the rollup tables store). */
export interface RollupRow {
  start: number;
  samples: number;
  /** ENERGY_KEYS order; null while no reading had the counter. */
  energy: Vec;
  /** POWER_FIELDS order: sums (0 when count is 0) and counts. */
  sums: number[];
  counts: number[];
  /** MAX_POWER_FIELDS order. */
  max: Vec;
}

export function emptyRollup(start: number): RollupRow {
  return {
    start,
    samples: 0,
    energy: nullVec(ENERGY_KEYS.length),
    sums: new Array<number>(POWER_FIELDS.length).fill(0),
    counts: new Array<number>(POWER_FIELDS.length).fill(0),
    max: nullVec(MAX_POWER_FIELDS.length),
  };
}

const MAX_INDEX = MAX_POWER_FIELDS.map((f) => POWER_FIELDS.indexOf(f));

/** Adds a row change into a bucket (in place). */
export function addChange(b: RollupRow, c: RowChange): void {
  b.samples += c.samples;
  for (let e = 0; e < c.energy.length; e++) {
    const v = c.energy[e] ?? null;
    if (v !== null) b.energy[e] = (b.energy[e] ?? 0) + v;
  }
  if (c.powers) {
    for (let p = 0; p < c.powers.length; p++) {
      const v = c.powers[p] ?? null;
      if (v === null) continue;
      b.sums[p] = (b.sums[p] ?? 0) + v;
      b.counts[p] = (b.counts[p] ?? 0) + 1;
    }
    for (let m = 0; m < MAX_INDEX.length; m++) {
      const v = c.powers[MAX_INDEX[m]!] ?? null;
      const cur = b.max[m] ?? null;
      if (v !== null && (cur === null || v > cur)) b.max[m] = v;
    }
  }
}

/** Merges bucket `add` into `into` (same bucket start), as the rollup tables' upserts do. */
export function mergeRollup(into: RollupRow, add: RollupRow): void {
  into.samples += add.samples;
  for (let e = 0; e < add.energy.length; e++) {
    const v = add.energy[e] ?? null;
    if (v !== null) into.energy[e] = (into.energy[e] ?? 0) + v;
  }
  for (let p = 0; p < add.sums.length; p++) {
    into.sums[p] = (into.sums[p] ?? 0) + (add.sums[p] ?? 0);
    into.counts[p] = (into.counts[p] ?? 0) + (add.counts[p] ?? 0);
  }
  for (let m = 0; m < add.max.length; m++) {
    const v = add.max[m] ?? null;
    const cur = into.max[m] ?? null;
    if (v !== null && (cur === null || v > cur)) into.max[m] = v;
  }
}

/**
 * Groups row changes into the buckets of every resolution: what to add to each rollup table.
 * Changes go into minutes first; every other bucket is a union of whole minutes (local midnight is
 * on a whole minute in every zone in use), so the coarser levels add up the minute rows.
 */
export function rollupChanges(
  changes: readonly RowChange[],
  calendar: BucketCalendar,
  resolutions: readonly Resolution[] = ROLLUP_RESOLUTIONS,
): Map<Resolution, RollupRow[]> {
  const minutes: RollupRow[] = [];
  const byMinute = new Map<number, RollupRow>();
  let last: RollupRow | null = null;
  for (const c of changes) {
    const s = Math.floor(c.t / 60_000) * 60_000;
    let b: RollupRow | undefined = last && last.start === s ? last : byMinute.get(s);
    if (!b) {
      b = emptyRollup(s);
      byMinute.set(s, b);
      minutes.push(b);
    }
    addChange(b, c);
    last = b;
  }
  minutes.sort((a, b) => a.start - b.start);
  const out = new Map<Resolution, RollupRow[]>();
  for (const res of resolutions) {
    if (res === '1min') {
      out.set(res, minutes);
      continue;
    }
    const rows: RollupRow[] = [];
    for (const m of minutes) {
      const s = calendar.start(res, m.start);
      let b = rows[rows.length - 1];
      if (!b || b.start !== s) {
        b = emptyRollup(s);
        rows.push(b);
      }
      mergeRollup(b, m);
    }
    out.set(res, rows);
  }
  return out;
}

/**
 * One aggregate bucket, as the Store interface returns it (`Bucket` in server/store/types.ts is this
 * type): its start, end and samples, and every field of BUCKET_FIELDS (core/bucket-shape.ts), null
 * where no reading had the value.
 */
export interface BucketValues extends Record<BucketField, number | null> {
  start: Date;
  end: Date;
  samples: number;
}

/**
 * What a rollup row shows as a bucket (energy per kind, mean and peak powers): computed by
 * core/bucket-table.ts, as for a table of many buckets, so both forms come out of the same sums.
 */
export function toBucket(row: RollupRow, res: Resolution, calendar: BucketCalendar): BucketValues {
  const table = new BucketTableBuilder(1);
  table.add(row.start, [row.samples, ...row.energy, ...row.sums, ...row.counts, ...row.max]);
  return bucketAt(table.finish(), 0, res, calendar);
}
