/**
 * The counters and one step of their series (pure): which cumulative counters the energy comes
 * from, the delta of one reading to the last known value of each counter, and the plausibility
 * limit that turns an impossible rise into a new series. The series as a whole (inserting readings
 * anywhere in it) is core/insert-plan.ts; the overview is in core/aggregate.ts and docs/storage.md.
 */

import type { Snapshot } from './snapshot.js';

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

// The energy quantities are a bucket's, named once in bucket-shape.ts.
export { ENERGY_KEYS, type EnergyKey } from './bucket-shape.js';

/**
 * Power statistics kept per bucket as sums and counts (so averages roll up), some with a max. New
 * ones go at the end: the stores add their columns in a migration (ROLLUP_ADDED_COLUMNS).
 */
export const POWER_FIELDS = [
  'grid_power_w',
  'pv_power_w',
  'load_power_w',
  'battery_power_w',
  'battery_soc_pct',
  'ev_power_w',
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

/** A snapshot's POWER_FIELDS values (ev_power_w, added after the first release, may be absent: null). */
export function powerValues(s: Snapshot): Vec {
  return POWER_FIELDS.map((f) => s[f] ?? null);
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
