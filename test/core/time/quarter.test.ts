import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  HOUR_MS,
  isQuarterStart,
  QUARTER_MS,
  quarterEnd,
  quarterIndex,
  quarterStart,
  wallClock,
} from '../../../src/core/time/index.js';

const at = (iso: string): number => Date.parse(iso);
const BRUSSELS = 'Europe/Brussels';

/** Local hh:mm in Brussels of an instant. */
function hm(ms: number): string {
  const p = wallClock(ms, BRUSSELS);
  return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}

describe('clock quarters', () => {
  it('are 15 minutes; an hour holds 4 and a 24-hour day 96', () => {
    expect(QUARTER_MS).toBe(900_000);
    expect(HOUR_MS / QUARTER_MS).toBe(4);
    expect(DAY_MS / QUARTER_MS).toBe(96);
  });

  it('start on :00, :15, :30 and :45 and end where the next begins', () => {
    expect(quarterStart(at('2026-06-01T10:14:59.999Z'))).toBe(at('2026-06-01T10:00:00Z'));
    expect(quarterStart(at('2026-06-01T10:15:00Z'))).toBe(at('2026-06-01T10:15:00Z'));
    expect(quarterEnd(at('2026-06-01T10:15:00Z'))).toBe(at('2026-06-01T10:30:00Z'));
    expect(quarterEnd(at('2026-06-01T10:44:59Z'))).toBe(at('2026-06-01T10:45:00Z'));
    expect(isQuarterStart(at('2026-06-01T10:45:00Z'))).toBe(true);
    expect(isQuarterStart(at('2026-06-01T10:45:01Z'))).toBe(false);
    // Before 1970 too (negative epoch milliseconds round down, not towards zero).
    expect(quarterStart(-1)).toBe(-QUARTER_MS);
    expect(quarterIndex(-1)).toBe(-1);
    expect(quarterIndex(at('1970-01-01T01:00:00Z'))).toBe(4);
  });

  it('run on across the spring change in Brussels: 01:45 CET is followed by 03:00 CEST', () => {
    const q = quarterStart(at('2026-03-29T00:59:59Z'));
    expect(hm(q)).toBe('01:45');
    expect(hm(quarterEnd(q))).toBe('03:00');
    expect(quarterEnd(q) - q).toBe(QUARTER_MS);
  });

  it('run on across the autumn change in Brussels: 02:45 CEST is followed by 02:00 CET', () => {
    const q = quarterStart(at('2026-10-25T00:50:00Z'));
    expect(hm(q)).toBe('02:45');
    expect(hm(quarterEnd(q))).toBe('02:00');
    expect(quarterStart(at('2026-10-25T01:07:00Z'))).toBe(at('2026-10-25T01:00:00Z'));
  });

  it('are local clock quarters even at a +05:45 offset (Asia/Kathmandu)', () => {
    const q = quarterStart(at('2026-06-01T10:20:00Z'));
    const p = wallClock(q, 'Asia/Kathmandu');
    expect([p.hour, p.minute]).toEqual([16, 0]);
  });
});
