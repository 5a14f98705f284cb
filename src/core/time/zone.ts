/**
 * Wall-clock time in an IANA time zone, cheap on memory: local parts of an instant, the instant of
 * local parts, the zone's UTC offset, and local days (23, 24 or 25 hours long). Drivers need it for
 * meter timestamps (they carry no zone), the edge for its capacity month, the server and the
 * simulators for local days and ISO times with offsets.
 *
 * Why not just luxon or Intl.DateTimeFormat: the first Intl.DateTimeFormat of a process (luxon makes
 * one for any named zone) costs ~8 MB of RSS, because V8 probes every ICU locale to list the
 * available ones. Date's own local-time methods use the process's time zone (ICU, the TZ variable)
 * for ~1 MB. So the edge runs in its configured zone (`useProcessTimeZone`, called by `kwartier edge`)
 * and, when the zone asked for is the process's, the Date methods answer; otherwise luxon does (tests,
 * the demo, the simulators, the server). Both give the same answers (test/core/time/zone.test.ts).
 */
import { DateTime, IANAZone } from 'luxon';
import { HOUR_MS, MINUTE_MS, QUARTER_MS, quarterIndex } from './quarter.js';

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

let canonicalZones: Set<string> | null = null;

/**
 * True when ICU knows the zone. The canonical IANA names are listed cheaply; only another name (an
 * alias such as UTC or US/Eastern) needs an Intl.DateTimeFormat, with its ~8 MB (above).
 */
export function isValidZone(zone: string): boolean {
  canonicalZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (canonicalZones.has(zone)) return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Offset of `zone` from UTC at the instant `ms`, in whole minutes (Brussels: 60 in winter, 120 in summer). */
export function offsetMinutes(ms: number, zone: string): number {
  const off = inProcessZone(zone) ? -new Date(ms).getTimezoneOffset() : IANAZone.create(zone).offset(ms);
  return off === 0 ? 0 : Math.round(off);
}

/**
 * A zone's UTC offset memoised per clock quarter, for hot paths that ask about many instants (the
 * ISO times of thousands of points in an API answer, a simulator stepping every second). One offset
 * holds for a whole quarter: every zone in use changes its offset only on a quarter-hour instant.
 */
export class ZoneOffsets {
  private readonly cache = new Map<number, number>();
  private lastKey = Number.NaN;
  private lastOffset = 0;

  constructor(
    readonly zone: string,
    private readonly maxEntries = 200_000,
  ) {}

  /** Offset from UTC at `ms`, in minutes (offsetMinutes of the quarter's start). */
  at(ms: number): number {
    const key = quarterIndex(ms);
    // Most callers walk forward in time: the quarter asked last is the likeliest answer.
    if (key === this.lastKey) return this.lastOffset;
    let off = this.cache.get(key);
    if (off === undefined) {
      off = offsetMinutes(key * QUARTER_MS, this.zone);
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(key, off);
    }
    this.lastKey = key;
    this.lastOffset = off;
    return off;
  }
}

/**
 * The instant a local date begins in `zone`: its midnight, or, where the clocks skip midnight, the
 * first instant after the jump. `day` may run past the month (32 January is 1 February) or below 1,
 * for date arithmetic.
 */
export function localDateStart(year: number, month: number, day: number, zone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  // The usual day: midnight at the offset of the hours around it, with no change of offset in the
  // three hours before (so midnight happens once). Three offset look-ups instead of localToMs's ~six.
  const off = offsetMinutes(wall, zone);
  const t = wall - off * MINUTE_MS;
  if (offsetMinutes(t, zone) === off && offsetMinutes(t - 3 * HOUR_MS, zone) === off) return t;
  const d = new Date(wall);
  const parts = {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: 0,
    minute: 0,
    second: 0,
  };
  // Null only for a date the zone skipped whole (Pacific/Apia, 30 December 2011): it lasts no time.
  return localToMs(parts, zone, 'earlier') ?? localDateStart(parts.year, parts.month, parts.day + 1, zone);
}

/** Start of the local day holding `ms`. */
export function localDayStart(ms: number, zone: string): number {
  const p = wallClock(ms, zone);
  return localDateStart(p.year, p.month, p.day, zone);
}

/** [start, end) of the local day holding `ms`: 24 hours long, or 23 and 25 on the days of a DST change. */
export function localDay(ms: number, zone: string): { start: number; end: number } {
  const p = wallClock(ms, zone);
  return { start: localDateStart(p.year, p.month, p.day, zone), end: localDateStart(p.year, p.month, p.day + 1, zone) };
}

/** Length in ms of the local day holding `ms` (Brussels, 29 March 2026: 23 hours). */
export function localDayLength(ms: number, zone: string): number {
  const d = localDay(ms, zone);
  return d.end - d.start;
}
