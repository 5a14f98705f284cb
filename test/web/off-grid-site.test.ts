/**
 * How the dashboard tells an off-grid home (web/src/site.ts) from the snapshots the merger makes:
 * an OutBack + TriStar site is off-grid; a site whose P1 meter is stale, or that has not sent its
 * first telegram yet, is not; an inverter whose own meter fields are null measures no grid. Its list
 * of grid-meter types is the registry's.
 */
import { describe, expect, it } from 'vitest';
import { Merger, type MergerSource } from '../../src/core/merger.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import { DRIVERS } from '../../src/drivers/registry.js';
import { chargeStateKey, GRID_METER_TYPES, isOffGrid as webIsOffGrid } from '../../web/src/off-grid.js';
import type { Snapshot as AnswerSnapshot } from '../../web/src/types.js';
import { fixtureJson } from '../helpers/fixtures.js';

const T0 = Date.parse('2026-06-15T10:00:00Z');
const MATE3S = fixtureJson<{ fields: Record<string, unknown> }>('outback/mate3s-chinezbrun.expected.json').fields;
const hub: MergerSource = {
  name: 'mate3s',
  kind: 'inverter',
  intervalMs: 5000,
  type: 'outback',
  roles: ['charge_controller', 'pv', 'battery'],
};
const p1: MergerSource = { name: 'p1', kind: 'p1', intervalMs: 1000, type: 'dsmr', roles: ['grid_meter'] };

/** The merger's snapshot as the API answers it: every field present (the merger sets each one, null when absent). */
const isOffGrid = (s: Snapshot) => webIsOffGrid(s as AnswerSnapshot);

describe('isOffGrid', () => {
  it('lists the grid-meter types of the registry', () => {
    const meters = DRIVERS.filter((d) => d.roles[0] === 'grid_meter').map((d) => d.type);
    expect([...GRID_METER_TYPES].sort()).toEqual(meters.sort());
  });

  it('an OutBack site: off-grid, its null grid fields measure nothing', () => {
    const m = new Merger('cabin', [hub], 3, T0, { perDevice: true });
    m.update({ source: 'mate3s', at: T0, fields: MATE3S }); // grid_power_w: null among them
    const s = m.snapshot(T0);
    expect(s.devices?.mate3s?.fields).toHaveProperty('grid_power_w', null);
    expect(isOffGrid(s)).toBe(true);
  });

  it('a site with a P1 meter: not off-grid while it reports, once it is stale, nor before its first telegram', () => {
    const m = new Merger('h', [p1, hub], 3, T0, { perDevice: true });
    m.update({ source: 'mate3s', at: T0, fields: MATE3S });
    expect(isOffGrid(m.snapshot(T0))).toBe(false); // no telegram yet: the dsmr device is there
    m.update({ source: 'p1', at: T0, fields: { grid_power_w: 420 } });
    expect(isOffGrid(m.snapshot(T0))).toBe(false);
    m.update({ source: 'mate3s', at: T0 + 10_000, fields: MATE3S });
    const stale = m.snapshot(T0 + 10_000);
    expect(stale.grid_power_w).toBeNull();
    expect(isOffGrid(stale)).toBe(false);
  });

  it('a snapshot without devices (a legacy single-meter config) is never off-grid', () => {
    const m = new Merger('h', [hub], 3, T0);
    m.update({ source: 'mate3s', at: T0, fields: MATE3S });
    expect(isOffGrid(m.snapshot(T0))).toBe(false);
  });
});

describe('chargeStateKey', () => {
  it('knows the drivers’ charge states and leaves an unlisted code to the device’s own name', () => {
    expect(chargeStateKey('bulk')).toBe('bulk');
    expect(chargeStateKey('night_check')).toBe('night_check');
    expect(chargeStateKey('unknown_12')).toBeNull();
    expect(chargeStateKey(null)).toBeNull();
  });
});
