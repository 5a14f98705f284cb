import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../../src/core/errors.js';
import { parseTariffFile, periodAt } from '../../../src/core/tariff/schema.js';
import { at } from './buckets.js';

const EXAMPLE = new URL('../../../config/tariffs.example.yaml', import.meta.url);

function minimal(periods: unknown[], extra: Record<string, unknown> = {}): unknown {
  return { periods, ...extra };
}

const P = (valid_from: string, more: Record<string, unknown> = {}) => ({
  valid_from,
  vat_pct: 6,
  electricity: { import: { single: 0.3 } },
  ...more,
});

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('tariff file', () => {
  it('accepts config/tariffs.example.yaml and resolves its two periods', () => {
    const doc = parseYaml(readFileSync(EXAMPLE, 'utf8'));
    const t = parseTariffFile(doc, 'tariffs.example.yaml');
    expect(t.timezone).toBe('Europe/Brussels');
    expect(t.country).toBe('be');
    expect(t.dayNight).toEqual({ dayStartHour: 7, dayEndHour: 22, weekendIsNight: true });
    expect(t.capacity).toEqual({ floorKw: 2.5, floorAppliesTo: 'month' });
    expect(t.periods).toHaveLength(2);
    // The first period ends where the second begins: 2026-01-01 00:00 Brussels = 2025-12-31T23:00Z.
    expect(t.periods[0]!.toMs).toBe(Date.parse('2025-12-31T23:00:00Z'));
    expect(t.periods[1]!.toMs).toBe(Number.POSITIVE_INFINITY);
    expect(t.periods[0]!.importPrice).toEqual({ kind: 'day_night', day: 0.115, night: 0.095 });
    expect(t.periods[0]!.capacityEurPerKwYear).toBe(40.4);
    // Gas priced per kWh: 0.045 €/kWh × 10.5 kWh/m3 = 0.4725 €/m3.
    expect(t.periods[0]!.gas!.eurPerM3).toBeCloseTo(0.4725, 10);
    expect(periodAt(t, at('2025-12-31T23:59:59'))!.label).toBe('Variable day/night 2025');
    expect(periodAt(t, at('2026-01-01T00:00:00'))!.label).toBe('Variable day/night 2026');
    expect(periodAt(t, at('2024-12-31T12:00:00'))).toBeNull();
  });

  it('fills timezone and country from the household defaults when the file has none', () => {
    const t = parseTariffFile(minimal([P('2026-01-01')]), 't.yaml', { timezone: 'Europe/Amsterdam', country: 'nl' });
    expect(t.timezone).toBe('Europe/Amsterdam');
    expect(t.country).toBe('nl');
    // Local midnight in Amsterdam (+01:00 in January).
    expect(t.periods[0]!.fromMs).toBe(Date.parse('2025-12-31T23:00:00Z'));
  });

  it('names the key of every problem', () => {
    expect(errorOf(() => parseTariffFile(minimal([P('2026-01-01', { vat: 6 })]), 't.yaml'))).toContain(
      'periods[0].vat: unknown key',
    );
    expect(
      errorOf(() =>
        parseTariffFile(minimal([P('2026-01-01', { electricity: { import: { single: 0.3, day: 0.4 } } })]), 't.yaml'),
      ),
    ).toBe('t.yaml: periods[0].electricity.import: set exactly one of single, day + night, or dynamic');
    expect(
      errorOf(() => parseTariffFile(minimal([P('2026-01-01', { electricity: { import: { day: 0.4 } } })]), 't.yaml')),
    ).toBe('t.yaml: periods[0].electricity.import.night: is required with day');
    expect(errorOf(() => parseTariffFile(minimal([{ valid_from: '2026-01-01', electricity: {} }]), 't.yaml'))).toMatch(
      /periods\[0\]\.vat_pct: is required/,
    );
    expect(errorOf(() => parseTariffFile(minimal([P('2026-02-01'), P('2026-01-01')]), 't.yaml'))).toBe(
      't.yaml: periods[1].valid_from: must be later than periods[0].valid_from',
    );
    expect(
      errorOf(() => parseTariffFile(minimal([P('2026-01-01', { valid_to: '2026-03-01' }), P('2026-02-01')]), 't.yaml')),
    ).toBe('t.yaml: periods[0].valid_to: overlaps periods[1] (valid_to after its valid_from)');
    expect(errorOf(() => parseTariffFile(minimal([P('2026-01-01T10:00:00')]), 't.yaml'))).toContain(
      'periods[0].valid_from: a date-time needs a UTC offset',
    );
    expect(
      errorOf(() => parseTariffFile(minimal([P('2026-01-01', { gas: { price_eur_per_kwh: 0.05 } })]), 't.yaml')),
    ).toBe('t.yaml: periods[0].gas.kwh_per_m3: is required when gas is priced per kWh');
    expect(errorOf(() => parseTariffFile(minimal([P('2026-01-01')], { timezone: 'Europe/Bruxelles' }), 't.yaml'))).toBe(
      't.yaml: timezone: unknown time zone "Europe/Bruxelles"',
    );
    expect(
      errorOf(() =>
        parseTariffFile(minimal([P('2026-01-01')], { day_night: { day_start_hour: 22, day_end_hour: 7 } }), 't.yaml'),
      ),
    ).toBe('t.yaml: day_night.day_end_hour: must be later than day_start_hour');
  });

  it('leaves a gap between an explicit valid_to and the next period without a contract', () => {
    const t = parseTariffFile(minimal([P('2026-01-01', { valid_to: '2026-02-01' }), P('2026-03-01')]), 't.yaml');
    expect(periodAt(t, at('2026-01-31T23:45'))!.index).toBe(0);
    expect(periodAt(t, at('2026-02-15T12:00'))).toBeNull();
    expect(periodAt(t, at('2026-03-01T00:00'))!.index).toBe(1);
  });

  it('accepts a contract change at a date-time with offset', () => {
    const t = parseTariffFile(minimal([P('2026-01-01'), P('2026-03-15T10:30:00+01:00')]), 't.yaml');
    expect(t.periods[0]!.toMs).toBe(Date.parse('2026-03-15T09:30:00Z'));
  });
});
