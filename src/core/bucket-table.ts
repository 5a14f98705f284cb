/**
 * Buckets as columns: what a bucket shows (energy per kind, mean and peak powers: BucketValues) is
 * computed here from the additive rollup content, once for a table of buckets. A read of thousands
 * of buckets (a month at 15 minutes is 2 976) costs more in objects than in SQL when each bucket is
 * an object of boxed numbers with two Dates; as columns it is a few typed arrays. toBucket
 * (rollup.ts) is a table of one row, so both forms come out of the same sums.
 *
 * The input row is a rollup vector: samples, the energies (ENERGY_KEYS order), the power sums and
 * counts (POWER_FIELDS order) and the maxima (MAX_POWER_FIELDS order), as the stores' rollup columns
 * hold them (server/store/common.ts ROLLUP_COLUMNS), null where a bucket has no value.
 */
import type { BucketCalendar } from './bucket-calendar.js';
import { BUCKET_FIELDS, type BucketField, type Resolution } from './bucket-shape.js';
import type { BucketValues } from './rollup.js';

/** Buckets, oldest first, one array per field; NaN where a bucket has no value (null in a Bucket). */
export interface BucketTable {
  readonly length: number;
  /** Start of each bucket, ms since the epoch. */
  readonly start: Float64Array;
  readonly samples: Float64Array;
  readonly values: Readonly<Record<BucketField, Float64Array>>;
}

/** Where the parts of a rollup vector start (see the file's header). */
const ENERGY_AT = 1;
const ENERGIES = 9;
const SUMS_AT = ENERGY_AT + ENERGIES;
const POWERS = 6;
const COUNTS_AT = SUMS_AT + POWERS;
const MAX_AT = COUNTS_AT + POWERS;
/** Length of a rollup vector. */
export const ROLLUP_VECTOR_LENGTH = MAX_AT + 3;

/**
 * The table's columns are in BUCKET_FIELDS order. The rollup vector's energies (ENERGY_KEYS order)
 * are bucket fields of the same names, which BUCKET_FIELDS lists in that order from import_t1_kwh
 * on (test/core/bucket-table.test.ts checks every field by name).
 */
const col = (f: BucketField): number => BUCKET_FIELDS.indexOf(f);
const IMPORT = col('import_kwh');
const EXPORT = col('export_kwh');
const FIRST_ENERGY = col('import_t1_kwh');
const AVG_GRID = col('avg_grid_power_w');
const MAX_GRID = col('max_grid_power_w');
const AVG_PV = col('avg_pv_power_w');
const MAX_PV = col('max_pv_power_w');
const AVG_LOAD = col('avg_load_power_w');
const MAX_LOAD = col('max_load_power_w');
const AVG_BATTERY = col('avg_battery_power_w');
const AVG_SOC = col('avg_battery_soc_pct');
const AVG_EV = col('avg_ev_power_w');

/** A stored value: null, undefined and NaN are none. */
type Stored = number | null | undefined;

/** Energy rounded to 1e-9 (µWh): hides float noise, far below the Wh. NaN: no value. */
function kwh(x: Stored): number {
  return x === null || x === undefined ? Number.NaN : Math.round(x * 1e9) / 1e9;
}

/** The sum of two energies, either of which may be missing; missing (NaN) when both are. */
function plus(a: number, b: number): number {
  if (Number.isNaN(a) && Number.isNaN(b)) return Number.NaN;
  return kwh((Number.isNaN(a) ? 0 : a) + (Number.isNaN(b) ? 0 : b));
}

/** The mean of `count` values summing to `sum`; NaN without values. */
function avg(sum: Stored, count: Stored): number {
  return count && count > 0 ? (sum === null || sum === undefined || Number.isNaN(sum) ? 0 : sum) / count : Number.NaN;
}

const orNaN = (x: Stored): number => (x === null || x === undefined ? Number.NaN : x);

/**
 * Fills a BucketTable one rollup row at a time (its arrays grow as needed). A row's missing values
 * are null or NaN.
 */
export class BucketTableBuilder {
  private count = 0;
  private start: Float64Array;
  private samples: Float64Array;
  private columns: Float64Array[];

  constructor(capacity = 64) {
    const size = Math.max(1, capacity);
    this.start = new Float64Array(size);
    this.samples = new Float64Array(size);
    this.columns = BUCKET_FIELDS.map(() => new Float64Array(size));
  }

  private grow(): void {
    const bigger = (a: Float64Array): Float64Array => {
      const b = new Float64Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.start = bigger(this.start);
    this.samples = bigger(this.samples);
    this.columns = this.columns.map(bigger);
  }

  /** The bucket starting at `start` (ms) from the rollup vector at `row[at…]`. */
  add(start: number, row: ArrayLike<Stored>, at = 0): void {
    if (this.count === this.start.length) this.grow();
    const i = this.count++;
    const v = this.columns;
    this.start[i] = start;
    const samples = row[at];
    this.samples[i] = samples === null || samples === undefined || Number.isNaN(samples) ? 0 : samples;
    const e = at + ENERGY_AT;
    const it1 = kwh(row[e]);
    const it2 = kwh(row[e + 1]);
    const et1 = kwh(row[e + 2]);
    const et2 = kwh(row[e + 3]);
    v[IMPORT]![i] = plus(it1, it2);
    v[EXPORT]![i] = plus(et1, et2);
    v[FIRST_ENERGY]![i] = it1;
    v[FIRST_ENERGY + 1]![i] = it2;
    v[FIRST_ENERGY + 2]![i] = et1;
    v[FIRST_ENERGY + 3]![i] = et2;
    for (let k = 4; k < ENERGIES; k++) v[FIRST_ENERGY + k]![i] = kwh(row[e + k]);
    const s = at + SUMS_AT;
    const c = at + COUNTS_AT;
    const m = at + MAX_AT;
    v[AVG_GRID]![i] = avg(row[s], row[c]);
    v[MAX_GRID]![i] = orNaN(row[m]);
    v[AVG_PV]![i] = avg(row[s + 1], row[c + 1]);
    v[MAX_PV]![i] = orNaN(row[m + 1]);
    v[AVG_LOAD]![i] = avg(row[s + 2], row[c + 2]);
    v[MAX_LOAD]![i] = orNaN(row[m + 2]);
    v[AVG_BATTERY]![i] = avg(row[s + 3], row[c + 3]);
    v[AVG_SOC]![i] = avg(row[s + 4], row[c + 4]);
    v[AVG_EV]![i] = avg(row[s + 5], row[c + 5]);
  }

  finish(): BucketTable {
    const n = this.count;
    const values = {} as Record<BucketField, Float64Array>;
    BUCKET_FIELDS.forEach((f, k) => {
      values[f] = this.columns[k]!.subarray(0, n);
    });
    return { length: n, start: this.start.subarray(0, n), samples: this.samples.subarray(0, n), values };
  }
}

/** Bucket `i` of a table as an object (null for NaN), its end from the calendar. */
export function bucketAt(table: BucketTable, i: number, res: Resolution, calendar: BucketCalendar): BucketValues {
  const start = table.start[i]!;
  const b = {
    start: new Date(start),
    end: new Date(calendar.end(res, start)),
    samples: table.samples[i]!,
  } as BucketValues;
  for (const f of BUCKET_FIELDS) {
    const x = table.values[f][i]!;
    b[f] = Number.isNaN(x) ? null : x;
  }
  return b;
}

/** Every bucket of a table as objects. */
export function bucketsOf(table: BucketTable, res: Resolution, calendar: BucketCalendar): BucketValues[] {
  const out: BucketValues[] = new Array(table.length);
  for (let i = 0; i < table.length; i++) out[i] = bucketAt(table, i, res, calendar);
  return out;
}

/** Buckets given as objects, as a table (null as NaN). */
export function tableOf(buckets: readonly BucketValues[]): BucketTable {
  const n = buckets.length;
  const start = new Float64Array(n);
  const samples = new Float64Array(n);
  const values = {} as Record<BucketField, Float64Array>;
  for (const f of BUCKET_FIELDS) values[f] = new Float64Array(n);
  buckets.forEach((b, i) => {
    start[i] = b.start.getTime();
    samples[i] = b.samples;
    for (const f of BUCKET_FIELDS) values[f][i] = b[f] ?? Number.NaN;
  });
  return { length: n, start, samples, values };
}
