import { describe, expect, it } from 'vitest';
import { demoCarEnergyKwh } from '../../src/cli/commands/demo-site.js';

const at = (iso: string): number => Date.parse(iso);
const TZ = 'Europe/Brussels';

describe("the demo car's energy by 07:00", () => {
  it('is 25 kWh when the car comes home at 18:30 or is away at the start', () => {
    expect(demoCarEnergyKwh(at('2026-12-06T12:00:00+01:00'), TZ)).toBe(25);
    expect(demoCarEnergyKwh(at('2026-12-06T07:00:00+01:00'), TZ)).toBe(25);
    expect(demoCarEnergyKwh(at('2026-12-06T18:29:00+01:00'), TZ)).toBe(25);
    expect(demoCarEnergyKwh(at('2026-12-06T18:30:00+01:00'), TZ)).toBe(25);
  });

  it('is what the hours left give at 2 kWh an hour when the car is already home', () => {
    expect(demoCarEnergyKwh(at('2026-12-06T20:00:00+01:00'), TZ)).toBe(22); // 11 h
    expect(demoCarEnergyKwh(at('2026-12-07T00:00:00+01:00'), TZ)).toBe(14); // 7 h
    expect(demoCarEnergyKwh(at('2026-12-07T05:00:00+01:00'), TZ)).toBe(4); // 2 h
    expect(demoCarEnergyKwh(at('2026-12-07T06:50:00+01:00'), TZ)).toBe(1); // at least 1
    // Local time, not UTC: 05:00 in Brussels in summer is 03:00Z.
    expect(demoCarEnergyKwh(at('2026-07-01T03:00:00Z'), TZ)).toBe(4);
  });
});
