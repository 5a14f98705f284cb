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

// The aggregation maths is one concern in four modules: the counters and one step of their series
// (counter-deltas.ts), inserting readings into a stored series (insert-plan.ts), the bucket calendar
// (bucket-calendar.ts) and the rollup arithmetic (rollup.ts). This file is their one import for the
// stores (server/store/), which use all four together.

export * from './bucket-calendar.js';
export * from './counter-deltas.js';
export * from './insert-plan.js';
export * from './rollup.js';
