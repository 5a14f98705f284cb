import { describe, expect, it } from 'vitest';
import { calendarProblem, snapshotProblem } from '../../src/core/plausibility.js';
import { emptySnapshot } from '../../src/core/snapshot.js';

describe('calendarProblem', () => {
  it('accepts real date-times in every ISO form the edges send', () => {
    for (const s of [
      '2026-03-09T10:00:00Z',
      '2026-03-09T10:00:00.123Z',
      '2026-03-09T10:00:00.123456789+01:00',
      '2024-02-29T23:59:59-05:30',
      '2000-02-29T00:00:00Z',
      '2026-12-31T23:59:59z',
    ])
      expect(calendarProblem(s, true), s).toBeNull();
  });
  it('refuses dates and times that do not exist, naming the part', () => {
    expect(calendarProblem('2026-02-30T00:00:00Z', true)).toBe('day 30 does not exist in 2026-02');
    expect(calendarProblem('2026-02-29T00:00:00Z', true)).toBe('day 29 does not exist in 2026-02');
    expect(calendarProblem('1900-02-29T00:00:00Z', true)).toBe('day 29 does not exist in 1900-02');
    expect(calendarProblem('2026-04-31T00:00:00Z', true)).toBe('day 31 does not exist in 2026-04');
    expect(calendarProblem('2026-13-01T00:00:00Z', true)).toBe('month 13 does not exist');
    expect(calendarProblem('2026-01-01T24:00:00Z', true)).toBe('time 24:00:00 does not exist');
    expect(calendarProblem('2026-01-01T23:59:60Z', true)).toBe('time 23:59:60 does not exist');
    expect(calendarProblem('2026-01-01T10:00:00+24:00', true)).toBe('offset +24:00 does not exist');
  });
  it('leaves text that is not an ISO date-time alone unless strict', () => {
    expect(calendarProblem('yesterday', false)).toBeNull();
    expect(calendarProblem('yesterday', true)).toBe('must be an ISO 8601 date-time');
  });
});

describe('snapshotProblem', () => {
  const now = Date.parse('2026-12-05T12:00:00Z');
  const snap = (patch: Record<string, unknown>) => ({ ...emptySnapshot('d', '2026-12-05T11:59:59Z'), ...patch });
  it('accepts a snapshot of nulls and one of ordinary values', () => {
    expect(snapshotProblem(snap({}), now)).toBeNull();
    expect(
      snapshotProblem(
        snap({
          grid_power_w: -9000,
          grid_import_t1_kwh: 0,
          battery_soc_pct: 100,
          battery_temp_c: -20,
          mppt1_voltage_v: 600,
        }),
        now,
      ),
    ).toBeNull();
  });
  it('names the field and the bound', () => {
    expect(snapshotProblem(snap({ timestamp: '2026-12-06T12:00:01Z' }), now)).toMatch(/ingest\.max_future_s/);
    expect(snapshotProblem(snap({ timestamp: '2026-12-06T12:00:00Z' }), now)).toBeNull();
    expect(snapshotProblem(snap({ timestamp: '2016-12-01T00:00:00Z' }), now)).toMatch(/3650 days before/);
    expect(
      snapshotProblem(snap({ timestamp: '2016-12-01T00:00:00Z' }), now, { maxPastDays: 4000, maxFutureS: 0 }),
    ).toBeNull();
    expect(snapshotProblem(snap({ pv_total_kwh: -0.001 }), now)).toBe('pv_total_kwh: -0.001 is outside 0..1000000000');
    expect(snapshotProblem(snap({ gas_total_m3: Number.NaN }), now)).toBe('gas_total_m3: must be a finite number');
    expect(snapshotProblem(snap({ load_power_w: Number.POSITIVE_INFINITY }), now)).toBe(
      'load_power_w: must be a finite number',
    );
    expect(snapshotProblem(snap({ self_sufficiency_pct: 100.5 }), now)).toBe(
      'self_sufficiency_pct: 100.5 is outside 0..100',
    );
    expect(snapshotProblem(snap({ grid_monthly_peak_timestamp: 'x'.repeat(65) }), now)).toBe(
      'grid_monthly_peak_timestamp: must have at most 64 characters (has 65)',
    );
  });
});
