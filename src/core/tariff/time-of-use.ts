/**
 * Time-of-use schedules: named bands with local hours per day type, as data.
 *
 * A schedule says which band each local minute of a day belongs to, for weekdays (Monday–Friday)
 * and weekends (Saturday, Sunday). A schedule may change over time (Wallonia moved its day/night
 * hours on 1 January 2026): it is a list of versions, each valid from an instant.
 *
 * Every tariff has the `day_night` schedule (bands `day` and `night`): from the file's `day_night`
 * hours, from a region preset (regions.ts), or from a `time_of_use` section whose bands are `day`
 * and `night`. A `time_of_use` section with other band names (Wallonia's peak/medium/eco) adds a
 * second schedule. A price written per band names its schedule by its band names.
 *
 * Hours are written "07-11" or "07:30-11:00" (minutes in quarters), local wall-clock time; a range
 * may wrap past midnight ("22-01"), "00-24" is the whole day. On a 23- or 25-hour DST day each
 * instant takes the band of its wall-clock time.
 */
import { ConfigError } from '../errors.js';
import { local } from './local-time.js';

export type DayType = 'weekday' | 'weekend';

/** [startMin, endMin) of a local day in minutes, and its band. */
export interface Segment {
  startMin: number;
  endMin: number;
  band: string;
}

export interface ScheduleVersion {
  /** Valid from this instant (−Infinity for the first). */
  fromMs: number;
  /** Sorted, covering [0, 1440) exactly once. */
  weekday: Segment[];
  weekend: Segment[];
}

export interface Schedule {
  /** `day_night`, a preset name (`wallonia-impact`) or `time_of_use` for a file's own bands. */
  id: string;
  /** Band names in the order they were written. */
  bands: string[];
  /** Sorted by fromMs. */
  versions: ScheduleVersion[];
  /** Where the hours come from (a regulator's document, or the tariff file). */
  source: string;
}

/** Hours per day type of one band, as written in a file or a preset. */
export interface BandHours {
  every_day?: string[];
  weekdays?: string[];
  weekends?: string[];
}

const RANGE_RE = /^(\d{1,2})(?::(\d{2}))?-(\d{1,2})(?::(\d{2}))?$/;

function minutes(h: string, m: string | undefined, key: string, text: string): number {
  const hour = Number(h);
  const min = m === undefined ? 0 : Number(m);
  if (hour > 24 || min > 59 || min % 15 !== 0 || (hour === 24 && min !== 0)) {
    throw new ConfigError(`${key}: ${JSON.stringify(text)}: hours run 00..24 and minutes in quarters (00, 15, 30, 45)`);
  }
  return hour * 60 + min;
}

/** "22-01" → [[1320, 1440], [0, 60]]: a range wrapping past midnight is two pieces. */
export function parseRange(text: string, key: string): Array<[number, number]> {
  const m = RANGE_RE.exec(text.trim());
  if (!m) throw new ConfigError(`${key}: ${JSON.stringify(text)}: write hours as "07-11" or "07:30-11:00"`);
  const from = minutes(m[1]!, m[2], key, text);
  const to = minutes(m[3]!, m[4], key, text);
  if (from === to) throw new ConfigError(`${key}: ${JSON.stringify(text)}: an empty range (write 00-24 for all day)`);
  if (from < to) return [[from, to]];
  return [
    [from, 1440],
    [0, to],
  ].filter(([a, b]) => b! > a!) as Array<[number, number]>;
}

function fmtMin(m: number): string {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** The segments of one day type from every band's ranges; every minute in exactly one band. */
function dayTypeSegments(bands: Record<string, BandHours>, type: DayType, key: string): Segment[] {
  const segs: Segment[] = [];
  for (const [band, hours] of Object.entries(bands)) {
    const lists: Array<[string, string[] | undefined]> = [
      ['every_day', hours.every_day],
      [type === 'weekday' ? 'weekdays' : 'weekends', type === 'weekday' ? hours.weekdays : hours.weekends],
    ];
    for (const [name, list] of lists) {
      for (const [i, text] of (list ?? []).entries()) {
        for (const [a, b] of parseRange(text, `${key}.${band}.${name}[${i}]`))
          segs.push({ startMin: a, endMin: b, band });
      }
    }
  }
  segs.sort((x, y) => x.startMin - y.startMin);
  let at = 0;
  for (const s of segs) {
    if (s.startMin < at) {
      throw new ConfigError(
        `${key}: ${s.band} overlaps another band at ${fmtMin(s.startMin)} on ${type === 'weekday' ? 'weekdays' : 'weekends'}`,
      );
    }
    if (s.startMin > at) {
      throw new ConfigError(
        `${key}: no band covers ${fmtMin(at)}-${fmtMin(s.startMin)} on ${type === 'weekday' ? 'weekdays' : 'weekends'}`,
      );
    }
    at = s.endMin;
  }
  if (at < 1440) {
    throw new ConfigError(
      `${key}: no band covers ${fmtMin(at)}-24:00 on ${type === 'weekday' ? 'weekdays' : 'weekends'}`,
    );
  }
  // Adjacent pieces of one band become one segment (fewer boundaries to look up).
  const merged: Segment[] = [];
  for (const s of segs) {
    const last = merged[merged.length - 1];
    if (last && last.band === s.band && last.endMin === s.startMin) last.endMin = s.endMin;
    else merged.push({ ...s });
  }
  return merged;
}

/** A schedule version from band hours; errors name `key` and the band. */
export function scheduleVersion(bands: Record<string, BandHours>, fromMs: number, key: string): ScheduleVersion {
  if (Object.keys(bands).length < 2) throw new ConfigError(`${key}: name at least two bands`);
  return {
    fromMs,
    weekday: dayTypeSegments(bands, 'weekday', key),
    weekend: dayTypeSegments(bands, 'weekend', key),
  };
}

/** The classic day/night hours: weekdays day from `startHour` to `endHour`, weekends night or not. */
export function dayNightHours(startHour: number, endHour: number, weekendIsNight: boolean): Record<string, BandHours> {
  const pad = (h: number) => String(h).padStart(2, '0');
  const night: string[] = [];
  if (startHour > 0) night.push(`00-${pad(startHour)}`);
  if (endHour < 24) night.push(`${pad(endHour)}-24`);
  const day = [`${pad(startHour)}-${pad(endHour)}`];
  return weekendIsNight
    ? { day: { weekdays: day }, night: { weekdays: night, weekends: ['00-24'] } }
    : { day: { every_day: day }, night: { every_day: night } };
}

function versionAt(schedule: Schedule, ms: number): ScheduleVersion {
  const vs = schedule.versions;
  let v = vs[0]!;
  for (const x of vs) if (x.fromMs <= ms) v = x;
  return v;
}

/** The band of `schedule` at instant `ms` (wall-clock time in `tz`). */
export function bandAt(schedule: Schedule, ms: number, tz: string): string {
  const t = local(ms, tz);
  const segs = versionAt(schedule, t.startOf('day').toMillis())[t.weekday >= 6 ? 'weekend' : 'weekday'];
  const minute = t.hour * 60 + t.minute;
  for (const s of segs) if (minute >= s.startMin && minute < s.endMin) return s.band;
  return segs[segs.length - 1]!.band;
}

/**
 * bandAt for many instants in [start, end): the band boundaries of each local day are computed
 * once, then each lookup is a binary search. Outside the range it falls back to bandAt.
 */
export function scheduleBander(schedule: Schedule, tz: string, start: number, end: number): (ms: number) => string {
  const from: number[] = [];
  const band: string[] = [];
  if (end > start) {
    let day = local(start, tz).startOf('day');
    while (day.toMillis() < end) {
      const v = versionAt(schedule, day.toMillis());
      for (const s of v[day.weekday >= 6 ? 'weekend' : 'weekday']) {
        // Wall-clock times (set, not plus: a DST day has 23 or 25 hours).
        const at = day.set({ hour: Math.floor(s.startMin / 60), minute: s.startMin % 60 }).toMillis();
        // In the hour a spring DST change skips, two boundaries can land on one instant: the later wins.
        if (from.length > 0 && from[from.length - 1]! >= at) {
          from.pop();
          band.pop();
        }
        from.push(at);
        band.push(s.band);
      }
      day = day.plus({ days: 1 });
    }
  }
  return (ms: number): string => {
    if (ms < start || ms >= end || from.length === 0 || ms < from[0]!) return bandAt(schedule, ms, tz);
    let lo = 0;
    let hi = from.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (from[mid]! <= ms) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return band[found]!;
  };
}

/** A band's local hours on one day type: "07:00-11:00", a range past midnight as "22:00-01:00". */
function rangesOf(segs: readonly Segment[], band: string): string[] {
  const own = segs.filter((s) => s.band === band).map((s) => [s.startMin, s.endMin] as [number, number]);
  const first = own[0];
  const last = own[own.length - 1];
  // The piece ending at midnight and the one starting at midnight are one range that wraps.
  if (own.length > 1 && first && last && first[0] === 0 && last[1] === 1440) {
    own.shift();
    last[1] = first[1];
  }
  return own.map(([a, b]) => `${fmtMin(a)}-${b === 1440 ? '24:00' : fmtMin(b)}`);
}

/** Each band's local hours on weekdays and at weekends, in the version in force on the local day of `ms`. */
export function bandHoursAt(
  schedule: Schedule,
  ms: number,
  tz: string,
): Array<{ band: string; weekdays: string[]; weekends: string[] }> {
  const v = versionAt(schedule, local(ms, tz).startOf('day').toMillis());
  return schedule.bands.map((band) => ({
    band,
    weekdays: rangesOf(v.weekday, band),
    weekends: rangesOf(v.weekend, band),
  }));
}
