/**
 * `kwartier demo --backfill DAYS` (demo.ts): the simulated home's history written straight into the
 * store, so the history, cost and capacity views have something to show.
 */
import { QUARTER_MS, quarterEnd } from '../../core/time/index.js';
import type { HomeModel } from '../../drivers/sim/home-model.js';
import { snapshotFromState } from '../../drivers/sim/snapshot.js';
import type { Logger } from '../../lib/log.js';
import type { Store } from '../../server/store/types.js';

const BACKFILL_STEP_MS = 30_000;
const BACKFILL_BATCH = 2000;

/**
 * Fills the store with the simulated home's history up to `now`, one snapshot every 30 s (energy
 * comes from the counters, so energy totals are exact whatever the sampling), plus one at the last
 * second of every clock quarter. Kwartier attributes a reading's counter delta to the quarter
 * holding the reading, as the meter (and the model, which steps once a second) attribute each
 * second's energy to the quarter that second ends in: with readings only every 30 s, up to 29 s of
 * a quarter's energy went into the next one, and the backfilled month peak differed from the
 * meter's by tens of watts. Only what the store lacks: from the later of the model's start and the
 * last stored reading.
 */
export async function backfill(
  store: Store,
  model: HomeModel,
  o: { backfillDays: number; deviceId: string; log: Logger },
  now = Date.now(),
): Promise<number> {
  if (o.backfillDays <= 0) return 0;
  const latest = await store.latest(o.deviceId);
  const wantFrom = now - o.backfillDays * 86_400_000;
  let from = Math.max(model.now, wantFrom);
  if (latest) from = Math.max(from, Date.parse(latest.timestamp) + BACKFILL_STEP_MS);
  if (wantFrom < model.now - 60_000) {
    o.log.warn(
      { history_from: new Date(model.now).toISOString() },
      'the simulated home in this data dir starts later; backfill starts there',
    );
  }
  let count = 0;
  let batch = [];
  let lastAt = Number.NaN;
  for (const t of backfillTimes(from, now - 5_000, model.now)) {
    const state = model.advanceTo(t);
    if (state.at === lastAt) continue; // t fell on the same model second as the quarter's last reading
    lastAt = state.at;
    batch.push({ snapshot: snapshotFromState(o.deviceId, state), seq: null });
    if (batch.length >= BACKFILL_BATCH) {
      await store.insert({ deviceId: o.deviceId, outboxId: null, floorSeq: null, readings: batch });
      count += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) {
    await store.insert({ deviceId: o.deviceId, outboxId: null, floorSeq: null, readings: batch });
    count += batch.length;
  }
  return count;
}

/**
 * The backfill's reading times in [from, until): every BACKFILL_STEP_MS, and the model's last step
 * of each clock quarter (the model steps whole seconds from `modelAt`), in order.
 */
export function* backfillTimes(from: number, until: number, modelAt: number): Generator<number> {
  // The model's steps are modelAt + k s: the last one before each quarter boundary.
  const lastStepBefore = (boundary: number): number =>
    boundary - 1 - ((((boundary - 1 - modelAt) % 1000) + 1000) % 1000);
  let boundary = quarterEnd(from);
  for (let t = from; t < until; t += BACKFILL_STEP_MS) {
    while (boundary <= t) {
      const q = lastStepBefore(boundary);
      if (q > t - BACKFILL_STEP_MS && q < t && q >= from) yield q;
      boundary += QUARTER_MS;
    }
    yield t;
  }
}
