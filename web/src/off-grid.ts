/**
 * Whether a home is off-grid (one definition, src/core/off-grid.ts, shared with `kwartier top`), and
 * the charge states of its charge controllers: pure (no DOM), so the tests run it on the merger's
 * own snapshots.
 */
export { GRID_METER_TYPES, isOffGrid } from '../../src/core/off-grid.js';

/** The charge states the drivers name (OutBack FLEXmax, Morningstar TriStar MPPT), translated. */
const CHARGE_STATES = [
  'silent',
  'start',
  'night_check',
  'disconnect',
  'night',
  'fault',
  'bulk',
  'absorption',
  'float',
  'equalize',
  'slave',
] as const;
export type ChargeState = (typeof CHARGE_STATES)[number];

/** A known charge state's name, or null (an unlisted code is shown as the device names it). */
export function chargeStateKey(name: string | null | undefined): ChargeState | null {
  return CHARGE_STATES.find((c) => c === name) ?? null;
}
