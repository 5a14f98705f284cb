/**
 * Inserting readings anywhere in a stored series (pure). Each raw row stores, besides its own values,
 * its deltas and, for every counter it lacks, the last known value (its "carry"): that is all the
 * state needed. `planInsert` recomputes from the previous reading through the next one (and further
 * while the carried state differs), and returns the per-row changes that the rollups add up
 * (core/rollup.ts); `continueChain` goes on over the next page of stored rows. One step of the
 * series is core/counter-deltas.ts.
 */

import {
  COUNTER_FIELDS,
  type CounterField,
  type CounterLimits,
  DEFAULT_COUNTER_LIMITS,
  knownAfter,
  nullVec,
  type StepTime,
  step,
  type Vec,
  valuesAt,
} from './counter-deltas.js';

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
