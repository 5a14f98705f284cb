import fc from 'fast-check';
import { DateTime } from 'luxon';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HOUR_MS,
  isValidZone,
  localDateStart,
  localDay,
  localDayLength,
  localDayStart,
  localToMs,
  offsetMinutes,
  QUARTER_MS,
  useProcessTimeZone,
  wallClock,
  ZoneOffsets,
} from '../../../src/core/time/index.js';

const BRUSSELS = 'Europe/Brussels';
const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

const savedTz = process.env.TZ;
afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

/** Runs `check` with the answers from luxon (another zone than the process's) and from Date (the process's). */
function bothWays(check: () => void): void {
  for (const inProcess of [false, true]) {
    if (inProcess) useProcessTimeZone(BRUSSELS);
    else delete process.env.TZ;
    check();
  }
}

/** The local times (hh:mm) of every quarter of the Brussels day holding `ms`. */
function quartersOfDay(ms: number): string[] {
  const { start, end } = localDay(ms, BRUSSELS);
  const out: string[] = [];
  for (let t = start; t < end; t += QUARTER_MS) {
    const p = wallClock(t, BRUSSELS);
    out.push(`${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`);
  }
  return out;
}

describe('local days in Europe/Brussels', () => {
  it('29 March 2026 lasts 23 hours: 92 quarters, 02:00–03:00 never shows', () =>
    bothWays(() => {
      const day = localDay(at('2026-03-29T12:00:00Z'), BRUSSELS);
      expect(iso(day.start)).toBe('2026-03-28T23:00:00.000Z');
      expect(iso(day.end)).toBe('2026-03-29T22:00:00.000Z');
      expect(localDayLength(at('2026-03-29T00:30:00Z'), BRUSSELS)).toBe(23 * HOUR_MS);
      const q = quartersOfDay(day.start);
      expect(q).toHaveLength(92);
      expect(q.slice(6, 10)).toEqual(['01:30', '01:45', '03:00', '03:15']);
      expect(q.some((s) => s.startsWith('02:'))).toBe(false);
    }));

  it('25 October 2026 lasts 25 hours: 100 quarters, 02:00–03:00 shows twice', () =>
    bothWays(() => {
      const day = localDay(at('2026-10-25T12:00:00Z'), BRUSSELS);
      expect(iso(day.start)).toBe('2026-10-24T22:00:00.000Z');
      expect(iso(day.end)).toBe('2026-10-25T23:00:00.000Z');
      expect(localDayLength(day.start, BRUSSELS)).toBe(25 * HOUR_MS);
      const q = quartersOfDay(day.start);
      expect(q).toHaveLength(100);
      expect(q.slice(8, 16)).toEqual(['02:00', '02:15', '02:30', '02:45', '02:00', '02:15', '02:30', '02:45']);
      // Both 02:30s belong to this day; 20:00 UTC is still 21:00 local on the 25th.
      expect(localDayStart(at('2026-10-25T00:30:00Z'), BRUSSELS)).toBe(day.start);
      expect(localDayStart(at('2026-10-25T01:30:00Z'), BRUSSELS)).toBe(day.start);
      expect(iso(localDayStart(at('2026-10-25T20:00:00Z'), BRUSSELS))).toBe('2026-10-24T22:00:00.000Z');
    }));

  it('the days around them last 24 hours; a day ends where the next begins', () =>
    bothWays(() => {
      for (const d of ['2026-03-28', '2026-03-30', '2026-10-24', '2026-10-26', '2026-06-21', '2026-12-31']) {
        const mid = at(`${d}T11:00:00Z`);
        expect(localDayLength(mid, BRUSSELS)).toBe(24 * HOUR_MS);
        expect(localDayStart(localDay(mid, BRUSSELS).end, BRUSSELS)).toBe(localDay(mid, BRUSSELS).end);
      }
    }));

  it('the skipped hour: a local 02:30 on 29 March is 03:30 CEST; the offset goes from +60 to +120 min', () =>
    bothWays(() => {
      const p = { year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 };
      expect(iso(localToMs(p, BRUSSELS, 'earlier')!)).toBe('2026-03-29T01:30:00.000Z');
      expect(iso(localToMs(p, BRUSSELS, 'later')!)).toBe('2026-03-29T01:30:00.000Z');
      expect(offsetMinutes(at('2026-03-29T00:59:59Z'), BRUSSELS)).toBe(60);
      expect(offsetMinutes(at('2026-03-29T01:00:00Z'), BRUSSELS)).toBe(120);
    }));

  it('the repeated hour: a local 02:15 on 25 October is 00:15Z (CEST) or 01:15Z (CET)', () =>
    bothWays(() => {
      const p = { year: 2026, month: 10, day: 25, hour: 2, minute: 15, second: 0 };
      expect(iso(localToMs(p, BRUSSELS, 'earlier')!)).toBe('2026-10-25T00:15:00.000Z');
      expect(iso(localToMs(p, BRUSSELS, 'later')!)).toBe('2026-10-25T01:15:00.000Z');
      expect(offsetMinutes(at('2026-10-25T00:15:00Z'), BRUSSELS)).toBe(120);
      expect(offsetMinutes(at('2026-10-25T01:15:00Z'), BRUSSELS)).toBe(60);
    }));
});

describe('local dates and offsets in any zone', () => {
  it('knows the zones ICU knows: canonical names and aliases, not a misspelling', () => {
    for (const zone of [BRUSSELS, 'America/Sao_Paulo', 'UTC', 'US/Eastern', 'europe/brussels']) {
      expect(isValidZone(zone)).toBe(true);
    }
    for (const zone of ['Europe/Atlantis', 'Mars/Olympus', '', 'UTC+1']) expect(isValidZone(zone)).toBe(false);
  });

  it('a date past the month end rolls over (32 January is 1 February)', () => {
    expect(localDateStart(2026, 1, 32, BRUSSELS)).toBe(localDateStart(2026, 2, 1, BRUSSELS));
    expect(localDateStart(2026, 3, 0, BRUSSELS)).toBe(localDateStart(2026, 2, 28, BRUSSELS));
  });

  it('a date the zone skipped whole lasts no time (Pacific/Apia, 30 December 2011)', () => {
    const zone = 'Pacific/Apia';
    expect(localDateStart(2011, 12, 30, zone)).toBe(localDateStart(2011, 12, 31, zone));
    expect(iso(localDateStart(2011, 12, 31, zone))).toBe('2011-12-30T10:00:00.000Z');
    expect(localDayLength(localDateStart(2011, 12, 29, zone), zone)).toBe(24 * HOUR_MS);
  });

  it('a midnight the clocks repeat starts the day at its first occurrence (America/Havana, 1 November 2015)', () => {
    // 01:00 CDT went back to 00:00 CST: the 1st began at 00:00 CDT (04:00Z) and lasted 25 hours.
    const zone = 'America/Havana';
    const day = localDay(at('2015-11-01T12:00:00Z'), zone);
    expect(iso(day.start)).toBe('2015-11-01T04:00:00.000Z');
    expect(day.end - day.start).toBe(25 * HOUR_MS);
    expect(wallClock(day.start - 1000, zone).day).toBe(31);
  });

  // A zone west of UTC, one that shifts by 30 minutes, one without DST, a southern-hemisphere one,
  // and ones whose clocks skip midnight (the day then starts at 01:00). Not Havana: where midnight
  // repeats, luxon's startOf('day') takes the second midnight (the case above).
  const ZONES = [
    BRUSSELS,
    'America/New_York',
    'Australia/Lord_Howe',
    'Asia/Kolkata',
    'America/Sao_Paulo',
    'Asia/Beirut',
  ];
  const instant = fc
    .integer({ min: Date.parse('2000-01-01T00:00:00Z') / 1000, max: Date.parse('2040-01-01T00:00:00Z') / 1000 })
    .map((s) => s * 1000);

  for (const zone of ZONES) {
    it(`${zone}: local days and offsets agree with luxon`, () => {
      const offsets = new ZoneOffsets(zone);
      fc.assert(
        fc.property(instant, (ms) => {
          const d = DateTime.fromMillis(ms, { zone });
          expect(localDay(ms, zone)).toEqual({
            start: d.startOf('day').toMillis(),
            end: d.startOf('day').plus({ days: 1 }).startOf('day').toMillis(),
          });
          expect(offsetMinutes(ms, zone)).toBe(d.offset);
          expect(offsets.at(ms)).toBe(d.offset);
        }),
        { numRuns: 300 },
      );
    });
  }
});
