/**
 * Buckets as columns: what a bucket shows (energy per kind, mean and peak powers: BucketValues) is
 * computed here from the additive rollup content, once for a table of buckets. A read of thousands
 * of buckets (a month at 15 minutes is 2 976) costs more in objects than in SQL when each bucket is
 * an object of boxed numbers with two Dates; as columns it is a few typed arrays. toBucket
 * (aggregate.ts) is a table of one row, so both forms come out of the same sums.
 *
 * The input row is a rollup vector: samples, the energies (ENERGY_KEYS order), the power sums and
 * counts (POWER_FIELDS order) and the maxima (MAX_POWER_FIELDS order), as the stores' rollup columns
 * hold them (server/store/common.ts ROLLUP_COLUMNS), null where a bucket has no value.
 */
import type { BucketCalendar, BucketValues, Resolution } from './aggregate.js';

/** The value fields of a bucket: everything but its start, end and samples. */
export type BucketField = Exclude<keyof BucketValues, 'start' | 'end' | 'samples'>;

export const BUCKET_TABLE_FIELDS: readonly BucketField[] = [
  'import_kwh',
  'import_t1_kwh',
  'import_t2_kwh',
  'export_kwh',
  'export_t1_kwh',
  'export_t2_kwh',
  'pv_kwh',
  'battery_charge_kwh',
  'battery_discharge_kwh',
  'gas_m3',
  'water_m3',
  'avg_grid_power_w',
  'max_grid_power_w',
  'avg_pv_power_w',
  'max_pv_power_w',
  'avg_load_power_w',
  'max_load_power_w',
  'avg_battery_power_w',
  'avg_battery_soc_pct',
];

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
const POWERS = 5;
const COUNTS_AT = SUMS_AT + POWERS;
const MAX_AT = COUNTS_AT + POWERS;
/** Length of a rollup vector. */
export const ROLLUP_VECTOR_LENGTH = MAX_AT + 3;

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
  private n = 0;
  private start: Float64Array;
  private samples: Float64Array;
  private v: Float64Array[];

  constructor(capacity = 64) {
    const size = Math.max(1, capacity);
    this.start = new Float64Array(size);
    this.samples = new Float64Array(size);
    this.v = BUCKET_TABLE_FIELDS.map(() => new Float64Array(size));
  }

  private grow(): void {
    const bigger = (a: Float64Array): Float64Array => {
      const b = new Float64Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.start = bigger(this.start);
    this.samples = bigger(this.samples);
    this.v = this.v.map(bigger);
  }

  /** The bucket starting at `start` (ms) from the rollup vector at `row[at…]`. */
  add(start: number, row: ArrayLike<Stored>, at = 0): void {
    if (this.n === this.start.length) this.grow();
    const i = this.n++;
    const v = this.v;
    this.start[i] = start;
    const samples = row[at];
    this.samples[i] = samples === null || samples === undefined || Number.isNaN(samples) ? 0 : samples;
    const e = at + ENERGY_AT;
    const it1 = kwh(row[e]);
    const it2 = kwh(row[e + 1]);
    const et1 = kwh(row[e + 2]);
    const et2 = kwh(row[e + 3]);
    // BUCKET_TABLE_FIELDS order.
    v[0]![i] = plus(it1, it2);
    v[1]![i] = it1;
    v[2]![i] = it2;
    v[3]![i] = plus(et1, et2);
    v[4]![i] = et1;
    v[5]![i] = et2;
    for (let k = 4; k < ENERGIES; k++) v[k + 2]![i] = kwh(row[e + k]);
    const s = at + SUMS_AT;
    const c = at + COUNTS_AT;
    const m = at + MAX_AT;
    v[11]![i] = avg(row[s], row[c]);
    v[12]![i] = orNaN(row[m]);
    v[13]![i] = avg(row[s + 1], row[c + 1]);
    v[14]![i] = orNaN(row[m + 1]);
    v[15]![i] = avg(row[s + 2], row[c + 2]);
    v[16]![i] = orNaN(row[m + 2]);
    v[17]![i] = avg(row[s + 3], row[c + 3]);
    v[18]![i] = avg(row[s + 4], row[c + 4]);
  }

  finish(): BucketTable {
    const n = this.n;
    const values = {} as Record<BucketField, Float64Array>;
    BUCKET_TABLE_FIELDS.forEach((f, k) => {
      values[f] = this.v[k]!.subarray(0, n);
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
  for (const f of BUCKET_TABLE_FIELDS) {
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
  for (const f of BUCKET_TABLE_FIELDS) values[f] = new Float64Array(n);
  buckets.forEach((b, i) => {
    start[i] = b.start.getTime();
    samples[i] = b.samples;
    for (const f of BUCKET_TABLE_FIELDS) values[f][i] = b[f] ?? Number.NaN;
  });
  return { length: n, start, samples, values };
}
