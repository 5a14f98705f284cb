/**
 * The history route's range helpers: the longest range per resolution, and the end of an answer's
 * last bucket (the answer cache keeps an answer until a reading at or after it arrives), across the
 * Brussels DST changes.
 */
import { describe, expect, it } from 'vitest';
import { BucketCalendar } from '../../../src/core/bucket-calendar.js';
import { checkHistoryRange, lastBucketEnd } from '../../../src/server/api/history.js';
import { ZoneClock } from '../../../src/server/api/time.js';

const cal = new BucketCalendar('Europe/Brussels');
const clock = new ZoneClock('Europe/Brussels');
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('lastBucketEnd', () => {
  it('ends fixed buckets at the next boundary, and raw ranges at their end', () => {
    expect(iso(lastBucketEnd(at('2026-03-29T01:07:00Z'), '15min', cal))).toBe('2026-03-29T01:15:00.000Z');
    expect(iso(lastBucketEnd(at('2026-03-29T01:15:00Z'), '15min', cal))).toBe('2026-03-29T01:15:00.000Z');
    expect(iso(lastBucketEnd(at('2026-03-29T01:00:00.001Z'), 'hourly', cal))).toBe('2026-03-29T02:00:00.000Z');
    expect(iso(lastBucketEnd(at('2026-03-29T01:00:30Z'), '1min', cal))).toBe('2026-03-29T01:01:00.000Z');
    expect(lastBucketEnd(at('2026-03-29T01:07:00Z'), 'raw', cal)).toBe(at('2026-03-29T01:07:00Z'));
  });

  it('ends days, weeks and months at local midnight, 23 or 25 hours long on DST days', () => {
    // The spring-forward day (23 h): asked up to 12:00 local, its last bucket ends at the next midnight.
    expect(iso(lastBucketEnd(at('2026-03-29T10:00:00Z'), 'daily', cal))).toBe('2026-03-29T22:00:00.000Z');
    // An end at local midnight: the day before is the last bucket.
    expect(iso(lastBucketEnd(at('2026-10-25T23:00:00Z'), 'daily', cal))).toBe('2026-10-25T23:00:00.000Z');
    // ISO weeks start on Monday: Sunday 2026-03-29 is the last day of its week.
    expect(iso(lastBucketEnd(at('2026-03-29T10:00:00Z'), 'weekly', cal))).toBe('2026-03-29T22:00:00.000Z');
    expect(iso(lastBucketEnd(at('2026-10-26T10:00:00Z'), 'weekly', cal))).toBe('2026-11-01T23:00:00.000Z');
    expect(iso(lastBucketEnd(at('2026-03-15T10:00:00Z'), 'monthly', cal))).toBe('2026-03-31T22:00:00.000Z');
    expect(iso(lastBucketEnd(at('2026-10-31T22:59:59Z'), 'monthly', cal))).toBe('2026-10-31T23:00:00.000Z');
  });
});

describe('checkHistoryRange', () => {
  it('names end and the limit when a range is too long, and refuses an empty one', () => {
    expect(() => checkHistoryRange(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z'), '15min', clock)).toThrow(
      'end: must be later than start',
    );
    expect(() => checkHistoryRange(at('2025-12-31T23:00:00Z'), at('2026-04-04T22:00:00Z'), '15min', clock)).toThrow(
      /^end: a 15min range is at most 93 days \(asked: 93\.96 days\)/,
    );
    expect(() =>
      checkHistoryRange(at('2025-12-31T23:00:00Z'), at('2026-04-03T22:00:00Z'), '15min', clock),
    ).not.toThrow();
    expect(() => checkHistoryRange(at('2026-01-01T00:00:00Z'), at('2026-01-01T01:00:01Z'), 'raw', clock)).toThrow(
      /at most 1 h \(asked: 1 h\)/,
    );
  });
});
