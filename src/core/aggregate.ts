/**
 * Aggregation maths shared by every store (pure: no I/O). See docs/storage.md.
 *
 * Energy comes from cumulative counters. Each reading's delta to the previous known value of the
 * same counter (of the same device) is attributed to the bucket holding the reading, so buckets add
 * up to the meter's own difference, exactly, whatever the bucket size:
 * - a total counter that drops (meter replaced) starts a new series: delta 0 for that step;
 * - a daily counter (pv_daily_kwh, battery_daily_*) is used only when the reading has no total
 *   counter; a drop there is the midnight reset, so the delta is the new value;
 * - a reading whose counter is null has a null delta, and the next reading that has a value takes
 *   its delta from the last known value (a stale inverter loses no energy);
 * - the first value of a counter ever seen has delta 0 (what came before is unknown).
 *
 * Each raw row stores, besides its own values, its deltas and, for every counter it lacks, the last
 * known value (its "carry"). That is all the state needed to insert a reading anywhere in the series:
 * `planInsert` recomputes from the previous reading through the next one (and further while the
 * carried state differs), and returns the per-row changes that the rollups add up.
 */

import { type BucketField, type Resolution, ROLLUP_RESOLUTIONS } from './bucket-shape.js';
import { BucketTableBuilder, bucketAt } from './bucket-table.js';
import { ConfigError } from './errors.js';
import type { Snapshot } from './snapshot.js';
import { HOUR_MS, isValidZone, localDateStart, MINUTE_MS, QUARTER_MS, wallClock } from './time/index.js';

/** Cumulative counters the energy deltas come from (stored state is kept per counter). */
export const COUNTER_FIELDS = [
  'grid_import_t1_kwh',
  'grid_import_t2_kwh',
  'grid_export_t1_kwh',
  'grid_export_t2_kwh',
  'gas_total_m3',
  'water_total_m3',
  'pv_total_kwh',
  'pv_daily_kwh',
  'battery_total_charge_kwh',
  'battery_total_discharge_kwh',
  'battery_daily_charge_kwh',
  'battery_daily_discharge_kwh',
] as const;
export type CounterField = (typeof COUNTER_FIELDS)[number];

/** Energy quantities per reading and per bucket, in this order everywhere. */
export const ENERGY_KEYS = [
  'import_t1_kwh',
  'import_t2_kwh',
  'export_t1_kwh',
  'export_t2_kwh',
  'pv_kwh',
  'battery_charge_kwh',
  'battery_discharge_kwh',
  'gas_m3',
  'water_m3',
] as const;
export type EnergyKey = (typeof ENERGY_KEYS)[number];

/** Power statistics kept per bucket as sums and counts (so averages roll up), some with a max. */
export const POWER_FIELDS = [
  'grid_power_w',
  'pv_power_w',
  'load_power_w',
  'battery_power_w',
  'battery_soc_pct',
] as const;
export type PowerField = (typeof POWER_FIELDS)[number];
/** Indexes into POWER_FIELDS that also keep a maximum. */
export const MAX_POWER_FIELDS = ['grid_power_w', 'pv_power_w', 'load_power_w'] as const;

const ci = (f: CounterField): number => COUNTER_FIELDS.indexOf(f);

interface EnergySource {
  total: number;
  daily: number | null;
}
/** For each ENERGY_KEYS entry: the counter it comes from, and the daily fallback. */
const SOURCES: readonly EnergySource[] = [
  { total: ci('grid_import_t1_kwh'), daily: null },
  { total: ci('grid_import_t2_kwh'), daily: null },
  { total: ci('grid_export_t1_kwh'), daily: null },
  { total: ci('grid_export_t2_kwh'), daily: null },
  { total: ci('pv_total_kwh'), daily: ci('pv_daily_kwh') },
  { total: ci('battery_total_charge_kwh'), daily: ci('battery_daily_charge_kwh') },
  { total: ci('battery_total_discharge_kwh'), daily: ci('battery_daily_discharge_kwh') },
  { total: ci('gas_total_m3'), daily: null },
  { total: ci('water_total_m3'), daily: null },
];

export type Vec = (number | null)[];

/** Delta of a total counter: never negative; a drop (meter replaced) starts a new series. */
export function totalDelta(prev: number | null, cur: number): number {
  if (prev === null) return 0;
  return cur >= prev ? cur - prev : 0;
}

/** Delta of a daily counter: a drop is the midnight reset, so the new value is the day's energy so far. */
export function dailyDelta(prev: number | null, cur: number): number {
  if (prev === null) return 0;
  return cur >= prev ? cur - prev : cur;
}

export function nullVec(n: number): Vec {
  return new Array<number | null>(n).fill(null);
}

/** A snapshot's counter values, in COUNTER_FIELDS order. */
export function counterValues(s: Snapshot): Vec {
  return COUNTER_FIELDS.map((f) => s[f]);
}

/** A snapshot's POWER_FIELDS values. */
export function powerValues(s: Snapshot): Vec {
  return POWER_FIELDS.map((f) => s[f]);
}

/**
 * The fastest a home's counters can honestly rise: the grid connection's power for energy counters
 * (kWh), a flow for gas and water (m3). A rise beyond it over the time since the counter's previous
 * value (plus a slack for clocks and slow registers) is a jump no home can make: it is flagged and
 * treated like a reset, a new series (delta 0), so no bucket and no capacity peak holds it.
 */
export interface CounterLimits {
  /** The largest power a home draws or feeds (W): `ingest.max_power_w`. */
  maxPowerW: number;
  /** Slack added to the time between two values of an energy counter (s): `ingest.counter_slack_s`. */
  slackS: number;
  /** The largest gas or water flow (m3/h). */
  maxFlowM3PerH: number;
  /** Slack for gas and water (s): a DSMR 4 meter gives the gas counter once an hour. */
  flowSlackS: number;
}

export const DEFAULT_COUNTER_LIMITS: Readonly<CounterLimits> = {
  maxPowerW: 100_000,
  slackS: 60,
  maxFlowM3PerH: 100,
  flowSlackS: 3600,
};

const IS_FLOW: readonly boolean[] = COUNTER_FIELDS.map((f) => f.endsWith('_m3'));

/** The largest honest rise of counter `i` over `dtMs`. */
export function maxRise(i: number, dtMs: number, limits: CounterLimits): number {
  const h = Math.max(0, dtMs) / 3_600_000;
  return IS_FLOW[i]
    ? limits.maxFlowM3PerH * (h + limits.flowSlackS / 3600)
    : (limits.maxPowerW / 1000) * (h + limits.slackS / 3600);
}

/** When the step happens and what is known of the counters' times (see `step`). */
export interface StepTime {
  /** The reading's time (ms). */
  t: number;
  /**
   * For every counter: the time of the previous row when that row has the counter, else null
   * (updated in place to this reading's `valuesAt`). Only the previous row counts, so the rule gives
   * the same answer whatever order and batches the readings come in.
   */
  knownAt: Vec;
  limits: CounterLimits;
}

/**
 * One step of the series: the deltas of a reading with counter `values`, given the last known value
 * of every counter before it (`known`). Returns deltas (ENERGY_KEYS order) and the carry to store
 * (for every counter the reading lacks: the last known value), and updates `known` in place.
 * With `at`, a rise faster than the limits allow (CounterLimits) over the time since the previous
 * row counts 0 and is listed in `jumps` (COUNTER_FIELDS indexes). A counter the previous row lacks
 * (a stale meter: its value carried from further back, at an unknown time) is not checked: the energy
 * of an outage is real.
 */
export function step(known: Vec, values: Vec, at?: StepTime): { delta: Vec; carry: Vec; jumps: number[] } {
  const delta: Vec = new Array<number | null>(SOURCES.length);
  const jumps: number[] = [];
  const plausible = (i: number, d: number): number => {
    if (d <= 0 || !at) return d;
    const since = at.knownAt[i] ?? null;
    if (since === null || d <= maxRise(i, at.t - since, at.limits)) return d;
    jumps.push(i);
    return 0;
  };
  for (let e = 0; e < SOURCES.length; e++) {
    const src = SOURCES[e]!;
    const cur = values[src.total] ?? null;
    if (cur !== null) {
      delta[e] = plausible(src.total, totalDelta(known[src.total] ?? null, cur));
      continue;
    }
    const daily = src.daily === null ? null : (values[src.daily] ?? null);
    delta[e] =
      daily === null || src.daily === null ? null : plausible(src.daily, dailyDelta(known[src.daily] ?? null, daily));
  }
  const carry: Vec = new Array<number | null>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? null;
    if (v === null) carry[i] = known[i] ?? null;
    else {
      carry[i] = null;
      known[i] = v;
    }
    if (at) at.knownAt[i] = v === null ? null : at.t;
  }
  return { delta, carry, jumps };
}

/** For every counter of a stored row: the row's time where it has a value, else null (unknown). */
export function valuesAt(row: { t: number; values: Vec }): Vec {
  return row.values.map((v) => (v === null || v === undefined ? null : row.t));
}

/** The last known value of every counter at (and including) a stored row. */
export function knownAfter(row: { values: Vec; carry: Vec }): Vec {
  return row.values.map((v, i) => v ?? row.carry[i] ?? null);
}

function sameVec(a: Vec, b: Vec): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if ((a[i] ?? null) !== (b[i] ?? null)) return false;
  return true;
}

/** The aggregation state of a raw row already stored. */
export interface StoredRow {
  t: number;
  /** Counter values, COUNTER_FIELDS order. */
  values: Vec;
  /** Stored carry, COUNTER_FIELDS order. */
  carry: Vec;
  /** Stored deltas, ENERGY_KEYS order. */
  delta: Vec;
}

export interface PlanInput {
  /** Last known counter values before the first incoming reading (from the previous raw row). */
  prevKnown: Vec | null;
  /** `valuesAt` of the previous raw row (null without one: the first rise is not checked). */
  prevAt: Vec | null;
  /** Counter rises beyond these are jumps (default DEFAULT_COUNTER_LIMITS). */
  limits?: CounterLimits;
  /** Stored rows with first ≤ t ≤ last of the incoming readings, sorted by time. */
  existing: StoredRow[];
  /** Stored rows after the last incoming reading, sorted by time (a page). */
  next: StoredRow[];
  /** Whether `next` holds every stored row after the incoming ones. */
  nextIsAll: boolean;
  /** Incoming readings, sorted by time with no duplicate time (see `dedupeSorted`). */
  incoming: { t: number; values: Vec; powers: Vec }[];
}

/** What one row adds to the buckets holding it. */
export interface RowChange {
  t: number;
  /** 1 for a new reading, 0 for a stored one whose deltas changed. */
  samples: 0 | 1;
  /** Energy to add (new reading: its deltas; changed row: new − old); null adds nothing. */
  energy: Vec;
  /** POWER_FIELDS values of a new reading (null for a changed row). */
  powers: Vec | null;
}

export interface Plan {
  /** For each incoming reading (same index): its carry and deltas, or null when its time is stored already. */
  fresh: ({ carry: Vec; delta: Vec } | null)[];
  inserted: number;
  /** Stored rows whose carry or deltas change. */
  updates: { t: number; carry: Vec; delta: Vec }[];
  /** What every new row and every changed stored row adds to its buckets, in time order. */
  changes: RowChange[];
  /** True when `next` ran out before the series converged: fetch the rows after it, see `continueChain`. */
  incomplete: boolean;
  /** Where to go on from when incomplete (null otherwise). */
  chain: ChainState | null;
  /** New readings whose counter rose faster than CounterLimits allow: counted 0 (a new series). */
  jumps: { t: number; counter: CounterField }[];
}

/** The state of the walk through stored rows after a batch: last known values, new and as stored. */
export interface ChainState {
  known: Vec;
  oldKnown: Vec;
  /** `valuesAt` of the last row walked, new and as stored: a row's check depends on the row before it. */
  knownAt: Vec;
  oldKnownAt: Vec;
  limits: CounterLimits;
}

/** Sorts readings by time and drops repeated times (the first wins). Returns the kept ones. */
export function dedupeSorted<T extends { t: number }>(rows: T[]): T[] {
  let inOrder = true;
  for (let i = 1; i < rows.length && inOrder; i++) if (!(rows[i]!.t > rows[i - 1]!.t)) inOrder = false;
  if (inOrder) return rows.slice();
  const sorted = rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.t - b.r.t || a.i - b.i)
    .map((x) => x.r);
  const out: T[] = [];
  for (const r of sorted) if (out.length === 0 || out[out.length - 1]!.t !== r.t) out.push(r);
  return out;
}

/**
 * Merges incoming readings into the stored series and recomputes every delta they affect: their
 * own, and those of the stored rows after each (up to the point where the carried state is the same
 * as before). Rows already stored at an incoming time win (the incoming one is a duplicate).
 */
export function planInsert(input: PlanInput): Plan {
  const n = COUNTER_FIELDS.length;
  const known = input.prevKnown ? input.prevKnown.slice() : nullVec(n);
  const knownAt = input.prevKnown && input.prevAt ? input.prevAt.slice() : nullVec(n);
  const limits = input.limits ?? DEFAULT_COUNTER_LIMITS;
  const jumps: Plan['jumps'] = [];
  const fresh: Plan['fresh'] = new Array(input.incoming.length).fill(null);
  const updates: Plan['updates'] = [];
  const changes: RowChange[] = [];
  let inserted = 0;

  const restate = (row: StoredRow): void => restateRow(known, { t: row.t, knownAt, limits }, row, updates, changes);

  // Merge incoming and stored rows in [first, last].
  let e = 0;
  const ex = input.existing;
  for (let i = 0; i < input.incoming.length; i++) {
    const inc = input.incoming[i]!;
    while (e < ex.length && ex[e]!.t < inc.t) restate(ex[e++]!);
    if (e < ex.length && ex[e]!.t === inc.t) {
      restate(ex[e++]!);
      continue; // duplicate: the stored row wins
    }
    const st = step(known, inc.values, { t: inc.t, knownAt, limits });
    for (const j of st.jumps) jumps.push({ t: inc.t, counter: COUNTER_FIELDS[j]! });
    fresh[i] = { carry: st.carry, delta: st.delta };
    changes.push({ t: inc.t, samples: 1, energy: st.delta, powers: inc.powers });
    inserted++;
  }
  while (e < ex.length) restate(ex[e++]!);

  // Stored rows after the batch: recompute while the state entering them differs from before.
  const lastEx = ex[ex.length - 1];
  const oldKnown: Vec = lastEx ? knownAfter(lastEx) : input.prevKnown ? input.prevKnown.slice() : nullVec(n);
  const oldKnownAt: Vec = lastEx
    ? valuesAt(lastEx)
    : input.prevKnown && input.prevAt
      ? input.prevAt.slice()
      : nullVec(n);
  const chain = walk({ known, oldKnown, knownAt, oldKnownAt, limits }, input.next, updates, changes);
  const incomplete = chain !== null && !input.nextIsAll;
  return { fresh, inserted, updates, changes, incomplete, chain: incomplete ? chain : null, jumps };
}

/** Recomputes a stored row from the state before it; records what changes. Updates `known`. */
function restateRow(known: Vec, at: StepTime, row: StoredRow, updates: Plan['updates'], changes: RowChange[]): void {
  const { delta, carry } = step(known, row.values, at);
  if (sameVec(delta, row.delta) && sameVec(carry, row.carry)) return;
  updates.push({ t: row.t, carry, delta });
  const energy: Vec = delta.map((d, e) => {
    const old = row.delta[e] ?? null;
    if (d === null || old === null || d === old) return null;
    return d - old;
  });
  if (energy.some((x) => x !== null)) changes.push({ t: row.t, samples: 0, energy, powers: null });
}

/** Walks stored rows while the state entering them differs from before; null once converged. */
function walk(
  state: ChainState,
  rows: readonly StoredRow[],
  updates: Plan['updates'],
  changes: RowChange[],
): ChainState | null {
  const known = state.known;
  const knownAt = state.knownAt;
  let oldKnown = state.oldKnown;
  let oldKnownAt = state.oldKnownAt;
  if (sameVec(known, oldKnown) && sameVec(knownAt, oldKnownAt)) return null;
  for (const row of rows) {
    restateRow(known, { t: row.t, knownAt, limits: state.limits }, row, updates, changes);
    oldKnown = knownAfter(row);
    oldKnownAt = valuesAt(row);
    if (sameVec(known, oldKnown) && sameVec(knownAt, oldKnownAt)) return null;
  }
  return { known, oldKnown, knownAt, oldKnownAt, limits: state.limits };
}

/**
 * Goes on where an incomplete plan stopped, with the next page of stored rows (in time order):
 * returns their updates and changes, and the state to go on from (null when converged or when
 * `isAll`). A late reading that brings a counter value the following rows lack rewrites their
 * carry up to the next row that has the counter: paging keeps that bounded in memory.
 */
export function continueChain(
  state: ChainState,
  rows: readonly StoredRow[],
  isAll: boolean,
): { updates: Plan['updates']; changes: RowChange[]; chain: ChainState | null } {
  const updates: Plan['updates'] = [];
  const changes: RowChange[] = [];
  const next = walk(
    {
      known: state.known.slice(),
      oldKnown: state.oldKnown,
      knownAt: state.knownAt.slice(),
      oldKnownAt: state.oldKnownAt,
      limits: state.limits,
    },
    rows,
    updates,
    changes,
  );
  return { updates, changes, chain: isAll ? null : next };
}

// ----------------------------------------------------------------------------------------------
// Buckets

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
