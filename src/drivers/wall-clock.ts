/**
 * Wall-clock time in an IANA time zone, cheap on memory: local parts of an instant, and the instant
 * of local parts. Drivers need it for meter timestamps (they carry no zone), the edge for its
 * capacity month.
 *
 * Why not just luxon or Intl.DateTimeFormat: the first Intl.DateTimeFormat of a process (luxon makes
 * one for any named zone) costs ~8 MB of RSS, because V8 probes every ICU locale to list the
 * available ones. Date's own local-time methods use the process's time zone (ICU, the TZ variable)
 * for ~1 MB. So the edge runs in its configured zone (`useProcessTimeZone`, called by `kwartier edge`)
 * and, when the zone asked for is the process's, the Date methods answer; otherwise luxon does (tests,
 * the demo, the simulators). Both give the same answers (test/drivers/wall-clock.test.ts).
 */
import { DateTime } from 'luxon';

export interface WallClockParts {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * Runs this process in `zone` (sets TZ; Node applies it at once) when it is a canonical IANA name:
 * Date's local-time methods then follow the zone, and wallClock/localToMs for `zone` use them.
 * Returns false (and changes nothing) for another name: TZ is case-sensitive and an unknown TZ
 * silently means UTC, so aliases (UTC, US/Eastern) and other spellings stay with luxon. For a process
 * that owns its clock (the edge).
 */
export function useProcessTimeZone(zone: string): boolean {
  if (!Intl.supportedValuesOf('timeZone').includes(zone)) return false;
  process.env.TZ = zone;
  return true;
}

function inProcessZone(zone: string): boolean {
  return process.env.TZ === zone;
}

function localParts(d: Date): WallClockParts {
  return {
    year: d.getFullYear(),
    month: d.getMonth() + 1,
    day: d.getDate(),
    hour: d.getHours(),
    minute: d.getMinutes(),
    second: d.getSeconds(),
  };
}

/** The local date and time (whole seconds) in `zone` of the instant `ms`. */
export function wallClock(ms: number, zone: string): WallClockParts {
  if (inProcessZone(zone)) return localParts(new Date(ms));
  const dt = DateTime.fromMillis(ms, { zone });
  return { year: dt.year, month: dt.month, day: dt.day, hour: dt.hour, minute: dt.minute, second: dt.second };
}

function sameWallClock(a: WallClockParts, b: WallClockParts): boolean {
  return (
    a.year === b.year &&
    a.month === b.month &&
    a.day === b.day &&
    a.hour === b.hour &&
    a.minute === b.minute &&
    a.second === b.second
  );
}

/**
 * The instant (ms UTC) of a local date and time in `zone`, or null when it is not a date
 * (month 13, 31 June…). A time the clocks skip (spring) moves forward by the jump; a time the
 * clocks repeat (autumn) is its `earlier` (summer time) or `later` (winter time) occurrence.
 */
export function localToMs(parts: WallClockParts, zone: string, repeated: 'earlier' | 'later'): number | null {
  const { year, month, day, hour, minute, second } = parts;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  if (inProcessZone(zone)) {
    // Date takes the earlier occurrence of a repeated time and moves a skipped one forward.
    const d = new Date(year, month - 1, day, hour, minute, second);
    const t = d.getTime();
    if (Number.isNaN(t) || d.getDate() !== day) return null;
    if (repeated === 'earlier') return t;
    // The later occurrence: as far after `t` as the offset falls back within the next day.
    const shiftMs = (new Date(t + 86_400_000).getTimezoneOffset() - d.getTimezoneOffset()) * 60_000;
    if (shiftMs <= 0) return t;
    const later = t + shiftMs;
    return sameWallClock(localParts(new Date(later)), localParts(d)) ? later : t;
  }
  const dt = DateTime.fromObject({ year, month, day, hour, minute, second }, { zone });
  if (!dt.isValid || dt.day !== day) return null;
  const candidates = dt.getPossibleOffsets().map((c) => c.toMillis());
  if (candidates.length === 0) return dt.toMillis();
  return repeated === 'earlier' ? Math.min(...candidates) : Math.max(...candidates);
}
