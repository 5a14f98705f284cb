/**
 * DSMR timestamps `YYMMDDhhmmssX`: local time in Belgium / the Netherlands (CET/CEST) with X = `S`
 * (summer, UTC+2) or `W` (winter, UTC+1). Some meters drop the letter; then the Europe/Brussels
 * rules decide (the repeated October hour is read as winter time, a skipped March time as summer
 * time). The placeholders `632525252525` (no reading, empty month) and `700101010000` (empty M-Bus
 * channel) mean "no time".
 */
import { localToMs, wallClock } from '../../core/time/zone.js';

// A direct-mapped cache (no allocation on a hit): a telegram repeats most of its stamps every second.
const SLOTS = 256;
const cacheKeys = new Float64Array(SLOTS).fill(-1);
const cacheValues: (string | null)[] = new Array<string | null>(SLOTS).fill(null);

/**
 * The identity of a timestamp in bytes [a, b) — 12 digits and an optional S/W — as a number, or -1
 * when the bytes do not have that shape. Pass it to `timestampIso`.
 */
export function timestampKey(u: Uint8Array, a: number, b: number): number {
  const len = b - a;
  if (len !== 12 && len !== 13) return -1;
  let date = 0;
  for (let i = a; i < a + 6; i++) {
    const c = (u[i] as number) - 0x30;
    if (!(c >= 0 && c <= 9)) return -1;
    date = date * 10 + c;
  }
  let time = 0;
  for (let i = a + 6; i < a + 12; i++) {
    const c = (u[i] as number) - 0x30;
    if (!(c >= 0 && c <= 9)) return -1;
    time = time * 10 + c;
  }
  let letter = 0;
  if (len === 13) {
    const x = u[a + 12];
    if (x === 0x53) letter = 1;
    else if (x === 0x57) letter = 2;
    else return -1;
  }
  return date * 4_000_000 + time * 3 + letter;
}

/**
 * The ISO 8601 UTC string (`2023-11-02T11:15:48Z`) of the timestamp at chars [a, b) of `s` whose key
 * is `key`, or null (placeholder, not a date, key -1).
 */
export function timestampIso(key: number, s: string, a: number, b: number): string | null {
  if (key < 0) return null;
  const slot = (Math.floor(key / 4_000_000) * 31 + (key % 4_000_000)) & (SLOTS - 1);
  if (cacheKeys[slot] === key) return cacheValues[slot] as string | null;
  const iso = convert(s.slice(a, b));
  cacheKeys[slot] = key;
  cacheValues[slot] = iso;
  return iso;
}

/** Converts `YYMMDDhhmmss[S|W]` to ISO 8601 UTC, or null (placeholder, not a date). */
export function dsmrTimestampToIso(text: string): string | null {
  return timestampIso(timestampKey(Buffer.from(text, 'latin1'), 0, text.length), text, 0, text.length);
}

function convert(t: string): string | null {
  const digits = t.slice(0, 12);
  if (digits === '632525252525' || digits === '700101010000') return null;
  const yy = Number(digits.slice(0, 2));
  const mo = Number(digits.slice(2, 4));
  const dd = Number(digits.slice(4, 6));
  const hh = Number(digits.slice(6, 8));
  const mi = Number(digits.slice(8, 10));
  const ss = Number(digits.slice(10, 12));
  const year = 2000 + yy;
  if (mo < 1 || mo > 12 || dd < 1 || dd > daysInMonth(year, mo) || hh > 23 || mi > 59 || ss > 59) return null;
  let ms: number;
  const letter = t.length === 13 ? t[12] : undefined;
  if (letter === 'S' || letter === 'W') {
    ms = Date.UTC(year, mo - 1, dd, hh, mi, ss) - (letter === 'S' ? 2 : 1) * 3_600_000;
  } else {
    const t = localToMs({ year, month: mo, day: dd, hour: hh, minute: mi, second: ss }, 'Europe/Brussels', 'later');
    if (t === null) return null;
    ms = t;
  }
  return isoSeconds(ms);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** ISO 8601 UTC without milliseconds: `2023-11-02T11:15:48Z`. */
export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** The DSMR form of an instant in CET/CEST: `YYMMDDhhmmss` + S or W (used by the simulator). */
export function msToDsmrTimestamp(ms: number): string {
  const l = wallClock(ms, 'Europe/Brussels');
  const offsetMs = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second) - Math.floor(ms / 1000) * 1000;
  const summer = offsetMs === 7_200_000;
  const p2 = (n: number) => String(n).padStart(2, '0');
  return p2(l.year % 100) + p2(l.month) + p2(l.day) + p2(l.hour) + p2(l.minute) + p2(l.second) + (summer ? 'S' : 'W');
}
