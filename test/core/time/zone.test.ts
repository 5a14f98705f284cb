import fc from 'fast-check';
import { DateTime } from 'luxon';
import { afterEach, describe, expect, it } from 'vitest';
import { localToMs, useProcessTimeZone, type WallClockParts, wallClock } from '../../../src/core/time/zone.js';

// Brussels and Amsterdam (the meters' zones), a zone west of UTC, one that shifts by 30 minutes, one
// without DST, and a southern-hemisphere one.
const ZONES = [
  'Europe/Brussels',
  'Europe/Amsterdam',
  'America/New_York',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'America/Sao_Paulo',
];

const savedTz = process.env.TZ;
afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

/** The oracle: luxon's reading of the same instant. */
function luxonParts(ms: number, zone: string): WallClockParts {
  const d = DateTime.fromMillis(ms, { zone });
  return { year: d.year, month: d.month, day: d.day, hour: d.hour, minute: d.minute, second: d.second };
}

/** luxon's instants for local parts: every occurrence, or the moved-forward one in a gap. */
function luxonInstants(p: WallClockParts, zone: string): number[] {
  const d = DateTime.fromObject(p, { zone });
  const all = d.getPossibleOffsets().map((c) => c.toMillis());
  return all.length > 0 ? all : [d.toMillis()];
}

const instant = fc
  .integer({ min: Date.parse('2000-01-01T00:00:00Z') / 1000, max: Date.parse('2040-01-01T00:00:00Z') / 1000 })
  .map((s) => s * 1000);

/** Local times on the days the clocks change (and any other day), at quarter-hour steps. */
const localTime = fc.record({
  year: fc.integer({ min: 2000, max: 2039 }),
  month: fc.constantFrom(2, 3, 4, 9, 10, 11),
  day: fc.integer({ min: 1, max: 31 }),
  hour: fc.integer({ min: 0, max: 23 }),
  minute: fc.constantFrom(0, 15, 30, 45, 59),
  second: fc.constantFrom(0, 30),
});

describe('wall clock in a zone (the process zone through Date, any other through luxon)', () => {
  for (const zone of ZONES) {
    it(`${zone}: local parts of an instant agree with luxon, in and out of the process zone`, () => {
      fc.assert(
        fc.property(instant, (ms) => {
          delete process.env.TZ;
          const other = wallClock(ms, zone);
          useProcessTimeZone(zone);
          const own = wallClock(ms, zone);
          const want = luxonParts(ms, zone);
          expect(own).toEqual(want);
          expect(other).toEqual(want);
        }),
        { numRuns: 300 },
      );
    });

    it(`${zone}: the instant of local parts is luxon's (earlier or later occurrence, gaps forward)`, () => {
      fc.assert(
        fc.property(localTime, (p) => {
          const valid = DateTime.fromObject(p, { zone });
          const expected = valid.isValid && valid.day === p.day ? luxonInstants(p, zone) : null;
          for (const inProcess of [false, true]) {
            if (inProcess) useProcessTimeZone(zone);
            else delete process.env.TZ;
            const earlier = localToMs(p, zone, 'earlier');
            const later = localToMs(p, zone, 'later');
            if (expected === null) {
              expect(earlier).toBeNull();
              expect(later).toBeNull();
            } else {
              expect(earlier).toBe(Math.min(...expected));
              expect(later).toBe(Math.max(...expected));
            }
          }
        }),
        { numRuns: 400 },
      );
    });
  }

  it('takes the process zone only by a canonical name (TZ is case-sensitive; an unknown one means UTC)', () => {
    delete process.env.TZ;
    for (const alias of ['europe/brussels', 'US/Eastern', 'UTC', 'Mars/Olympus']) {
      expect(useProcessTimeZone(alias)).toBe(false);
      expect(process.env.TZ).toBeUndefined();
    }
    // A lower-case alias still reads right, through luxon.
    expect(wallClock(Date.parse('2024-07-01T10:00:00Z'), 'europe/brussels').hour).toBe(12);
    expect(useProcessTimeZone('Europe/Amsterdam')).toBe(true);
    expect(process.env.TZ).toBe('Europe/Amsterdam');
    expect(new Date(Date.parse('2024-07-01T10:00:00Z')).getHours()).toBe(12);
  });

  it('Brussels: the repeated October hour, the skipped March hour, and dates that do not exist', () => {
    for (const inProcess of [false, true]) {
      if (inProcess) useProcessTimeZone('Europe/Brussels');
      else delete process.env.TZ;
      const at = (month: number, day: number, hour: number, minute: number) => ({
        year: 2024,
        month,
        day,
        hour,
        minute,
        second: 0,
      });
      // 27 October 2024: 02:00–03:00 happens twice (CEST, then CET).
      expect(localToMs(at(10, 27, 2, 30), 'Europe/Brussels', 'earlier')).toBe(Date.parse('2024-10-27T00:30:00Z'));
      expect(localToMs(at(10, 27, 2, 30), 'Europe/Brussels', 'later')).toBe(Date.parse('2024-10-27T01:30:00Z'));
      expect(localToMs(at(10, 27, 3, 0), 'Europe/Brussels', 'later')).toBe(Date.parse('2024-10-27T02:00:00Z'));
      // 31 March 2024: 02:00–03:00 does not exist; 02:30 moves forward to 03:30 CEST.
      expect(localToMs(at(3, 31, 2, 30), 'Europe/Brussels', 'earlier')).toBe(Date.parse('2024-03-31T01:30:00Z'));
      expect(localToMs(at(3, 31, 2, 30), 'Europe/Brussels', 'later')).toBe(Date.parse('2024-03-31T01:30:00Z'));
      expect(localToMs(at(2, 30, 12, 0), 'Europe/Brussels', 'earlier')).toBeNull();
      expect(localToMs(at(13, 1, 12, 0), 'Europe/Brussels', 'earlier')).toBeNull();
      expect(wallClock(Date.parse('2024-10-27T00:30:00Z'), 'Europe/Brussels')).toEqual(at(10, 27, 2, 30));
      expect(wallClock(Date.parse('2024-10-27T01:30:00Z'), 'Europe/Brussels')).toEqual(at(10, 27, 2, 30));
    }
  });
});
