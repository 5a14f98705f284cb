/**
 * Realistic snapshots for tests and benchmarks: the simulated home (src/drivers/sim/home-model.ts)
 * turned into what the edge's merger would publish. Grid counters, the meter's 15-minute average
 * and monthly peak, PV, battery, gas and water all come from the one coherent model.
 *
 *   const model = new HomeModel({ start: Date.parse('2026-03-28T00:00:00Z') });
 *   const snaps = sampleHome(model, 'home-1', Date.parse('2026-03-30T00:00:00Z'), 60_000);
 */
import type { Snapshot } from '../../src/core/snapshot.js';
import type { HomeModel } from '../../src/drivers/sim/home-model.js';
import { snapshotFromState } from '../../src/drivers/sim/snapshot.js';

export { snapshotFromState } from '../../src/drivers/sim/snapshot.js';

/**
 * Advances the model to `until` (ms, exclusive) and returns one snapshot every `everyMs`, the first
 * at the model's current instant. The model steps in 1-second increments in between, so counters
 * and peaks are exactly what the meter would show at each sample.
 */
export function sampleHome(model: HomeModel, deviceId: string, until: number, everyMs: number): Snapshot[] {
  const out: Snapshot[] = [];
  for (let t = model.now; t < until; t += everyMs) {
    out.push(snapshotFromState(deviceId, model.advanceTo(t)));
  }
  return out;
}

/** Total grid import (kWh) of a snapshot: tariff 1 + tariff 2 (null when either is unknown). */
export function importKwh(s: Snapshot): number | null {
  return s.grid_import_t1_kwh === null || s.grid_import_t2_kwh === null
    ? null
    : s.grid_import_t1_kwh + s.grid_import_t2_kwh;
}

/** Total grid export (kWh) of a snapshot: tariff 1 + tariff 2 (null when either is unknown). */
export function exportKwh(s: Snapshot): number | null {
  return s.grid_export_t1_kwh === null || s.grid_export_t2_kwh === null
    ? null
    : s.grid_export_t1_kwh + s.grid_export_t2_kwh;
}
