import { describe, expect, it } from 'vitest';
import { Merger } from '../../src/core/merger.js';

const T0 = Date.parse('2026-06-15T10:00:00Z');
const sources = [
  { name: 'dsmr', kind: 'p1' as const, intervalMs: 1000 },
  { name: 'sungrow', kind: 'inverter' as const, intervalMs: 5000 },
];

describe('Merger', () => {
  it('merges P1 grid values with the inverter and derives load, self-consumption and self-sufficiency', () => {
    const m = new Merger('home-01', sources, 3, T0);
    m.update({
      source: 'sungrow',
      at: T0,
      fields: { pv_power_w: 3000, battery_power_w: 500, battery_soc_pct: 80, load_power_w: null },
    });
    m.update({
      source: 'dsmr',
      at: T0 + 200,
      fields: { grid_power_w: -1200, grid_import_t1_kwh: 100.5, meter_timestamp: '2026-06-15T10:00:00.000Z' },
    });
    const s = m.snapshot(T0 + 250);
    expect(s.device_id).toBe('home-01');
    expect(s.timestamp).toBe('2026-06-15T10:00:00.250Z');
    expect(s.grid_power_w).toBe(-1200);
    expect(s.grid_import_t1_kwh).toBe(100.5);
    expect(s.pv_power_w).toBe(3000);
    // load = grid + pv − battery charging = −1200 + 3000 − 500
    expect(s.load_power_w).toBe(1300);
    // self-consumption = pv − export = 3000 − 1200
    expect(s.self_consumption_w).toBe(1800);
    // nothing imported: the home is self-sufficient
    expect(s.self_sufficiency_pct).toBe(100);
    expect(s.stale_sources).toEqual([]);
    expect(s.gas_total_m3).toBeNull();
  });

  it('uses the inverter load when it reports one, and computes self-sufficiency from the import', () => {
    const m = new Merger('h', sources, 3, T0);
    m.update({ source: 'sungrow', at: T0, fields: { pv_power_w: 500, battery_power_w: -200, load_power_w: 2000 } });
    m.update({ source: 'dsmr', at: T0, fields: { grid_power_w: 1300 } });
    const s = m.snapshot(T0);
    expect(s.load_power_w).toBe(2000);
    // (2000 − 1300) / 2000 = 35 %
    expect(s.self_sufficiency_pct).toBe(35);
    expect(s.self_consumption_w).toBe(500);
  });

  it('nulls a stale inverter after 3 poll intervals, names it, and restores it when it reports again', () => {
    const m = new Merger('h', sources, 3, T0);
    m.update({ source: 'sungrow', at: T0, fields: { pv_power_w: 1000, battery_soc_pct: 50 } });
    m.update({ source: 'dsmr', at: T0 + 15_000, fields: { grid_power_w: 200 } });
    expect(m.snapshot(T0 + 15_000).pv_power_w).toBe(1000); // exactly 3 × 5 s: still fresh
    m.update({ source: 'dsmr', at: T0 + 15_001, fields: { grid_power_w: 210 } });
    const stale = m.snapshot(T0 + 15_001);
    expect(stale.pv_power_w).toBeNull();
    expect(stale.battery_soc_pct).toBeNull();
    expect(stale.load_power_w).toBeNull();
    expect(stale.self_sufficiency_pct).toBeNull();
    expect(stale.stale_sources).toEqual(['sungrow']);
    expect(stale.grid_power_w).toBe(210);
    m.update({ source: 'sungrow', at: T0 + 20_000, fields: { pv_power_w: 900, battery_soc_pct: 51 } });
    expect(m.snapshot(T0 + 20_000).stale_sources).toEqual(['dsmr']); // no telegram for 5 s: the meter too
    m.update({ source: 'dsmr', at: T0 + 20_000, fields: { grid_power_w: 220 } });
    const back = m.snapshot(T0 + 20_000);
    expect(back.pv_power_w).toBe(900);
    expect(back.stale_sources).toEqual([]);
  });

  it('counts a source that never reported as stale once its window has passed', () => {
    const m = new Merger('h', sources, 3, T0);
    m.update({ source: 'dsmr', at: T0 + 1000, fields: { grid_power_w: 100 } });
    expect(m.snapshot(T0 + 1000).stale_sources).toEqual([]);
    m.update({ source: 'dsmr', at: T0 + 16_000, fields: { grid_power_w: 100 } });
    expect(m.snapshot(T0 + 16_000).stale_sources).toEqual(['sungrow']);
  });

  it('lets the meter win over the inverter for the same field and ignores non-finite values', () => {
    const m = new Merger('h', sources, 3, T0);
    m.update({ source: 'sungrow', at: T0, fields: { grid_power_w: 999, pv_power_w: Number.NaN } });
    m.update({ source: 'dsmr', at: T0, fields: { grid_power_w: 450 } });
    const s = m.snapshot(T0);
    expect(s.grid_power_w).toBe(450);
    expect(s.pv_power_w).toBeNull();
  });

  it('leaves self-sufficiency null when the load is zero or unknown (P1 only)', () => {
    const m = new Merger('h', [sources[0]!], 3, T0);
    m.update({ source: 'dsmr', at: T0, fields: { grid_power_w: 800 } });
    const s = m.snapshot(T0);
    expect(s.load_power_w).toBeNull();
    expect(s.self_sufficiency_pct).toBeNull();
    expect(s.self_consumption_w).toBeNull();
  });
});

describe('Merger with a learnt interval', () => {
  it('keeps a meter that sends every 10 s fresh between telegrams once its interval is known', () => {
    const m = new Merger('h', [{ name: 'dsmr', kind: 'p1', intervalMs: 1000 }], 3, T0);
    m.update({ source: 'dsmr', at: T0, fields: { grid_power_w: 100 } });
    expect(m.isStale('dsmr', T0 + 5000)).toBe(true); // declared 1 s: stale after 3 s
    m.setIntervalMs('dsmr', 10_000);
    expect(m.isStale('dsmr', T0 + 29_000)).toBe(false);
    expect(m.isStale('dsmr', T0 + 30_001)).toBe(true);
    m.setIntervalMs('dsmr', 200); // never below the declared interval
    expect(m.isStale('dsmr', T0 + 2999)).toBe(false);
    expect(m.isStale('dsmr', T0 + 3001)).toBe(true);
  });
});
