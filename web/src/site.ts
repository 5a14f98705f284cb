/**
 * What kind of site the home is, from its latest snapshot (GET /api/v1/realtime). An off-grid site
 * (charge controllers, no meter at a grid connection) has no grid energy and no grid cost: the cost
 * and capacity pages say so instead of showing zeros or blanks.
 */
import { ApiError, type Params } from './api.js';
import type { Snapshot } from './types.js';

/** The snapshot's grid fields: all null on a site without a grid meter. */
const GRID_FIELDS = [
  'grid_power_w',
  'grid_import_t1_kwh',
  'grid_import_t2_kwh',
  'grid_export_t1_kwh',
  'grid_export_t2_kwh',
] as const;

/**
 * True when the home is off-grid: its snapshot's grid fields are null and none of its devices
 * reports a grid field at all. A device's fields list every field it reports, null while it is
 * stale, so a grid meter that is down still names its `grid_*` fields and the home is not taken for
 * off-grid. A snapshot without `devices` (a single-meter home of the legacy config) is never off-grid.
 */
export function isOffGrid(s: Snapshot | null | undefined): boolean {
  if (!s) return false;
  if (GRID_FIELDS.some((k) => s[k] !== null && s[k] !== undefined)) return false;
  const devices = s.devices ? Object.values(s.devices) : [];
  if (devices.length === 0) return false;
  return !devices.some((d) => Object.keys(d.fields).some((k) => k.startsWith('grid_')));
}

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
