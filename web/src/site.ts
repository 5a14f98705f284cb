/**
 * What kind of site the home is, from its latest snapshot (GET /api/v1/realtime). An off-grid site
 * (charge controllers, no meter at a grid connection) has no grid energy and no grid cost: the cost
 * and capacity pages say so instead of showing zeros or blanks.
 */
import { ApiError, type Params } from './api.js';
import type { Snapshot } from './types.js';

export { type ChargeState, chargeStateKey, GRID_METER_TYPES, isOffGrid } from './off-grid.js';

/** The home's latest snapshot, or null when it has none yet (404) or the server cannot say. */
export async function latestSnapshot(
  api: <A>(path: string, params?: Params) => Promise<A>,
  device: string,
): Promise<Snapshot | null> {
  try {
    return await api<Snapshot>(`realtime/${encodeURIComponent(device)}`);
  } catch (err) {
    if (err instanceof ApiError && err.kind === 'unauthorized') throw err;
    return null;
  }
}
