/**
 * Walks the lines of one P1 telegram and reads what a line is made of: its OBIS code `A-B:C.D.E`,
 * its value groups `(..)(..)`, numbers and timestamps inside them. The decoders (decoders.ts,
 * history.ts, mbus.ts) turn those into values; the parser loop (parser.ts) picks the decoder.
 *
 * Speed: per-char work reads the bytes (faster than charCodeAt) and slices come from the latin1
 * text of the same telegram (one char per byte, same indexes); nothing is sliced before it is kept.
 * Numbers are read as an integer mantissa and a count of decimals, so a unit conversion is one exact
 * multiplication or division (`0.338*kW` is exactly 338 W) and no float parsing is needed.
 */
import { timestampIso, timestampKey } from './timestamp.js';

/**
 * OBIS codes `A-B:C.D.E` as numbers, so a line's code is looked up without slicing it:
 * ((A·8 + B)·128 + C)·128 + D, then ·256 + E (below 2^30: a small integer for the Map).
 */
export function obisKey(a: number, b: number, c: number, d: number, e: number): number {
  return ((((a * 8 + b) * 128 + c) * 128 + d) * 256 + e) | 0;
}

/** The key of a written code `A-B:C.D.E` (for the tables). */
export function obisKeyOf(code: string): number {
  const m = /^(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)$/.exec(code);
  if (!m) throw new Error(`bad OBIS code ${code}`);
  return obisKey(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
}

const P10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18];

/** A line keeps at most this many groups (a 98.1.0 line of 13 months has 41). */
const MAX_GROUPS = 128;

/**
 * The [start, end) pairs of the current line's groups. One buffer for every reader, at module
 * level on purpose: a typed array allocated per telegram costs up to a third of the parser's
 * throughput (`npm run bench -- dsmr`, docs/dsmr.md "Speed"). Safe because a parse is synchronous:
 * no two readers are ever in use at once.
 */
const GROUPS = new Int32Array(MAX_GROUPS * 2);

const CR = 0x0d;
const OPEN = 0x28;
const CLOSE = 0x29;
const STAR = 0x2a;
const MINUS = 0x2d;
const DOT = 0x2e;
const COLON = 0x3a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

export class LineReader {
  /** The identification line without the `/` (`ISK5\2M550T-1012`); '' when there is none. */
  readonly header: string;
  /** The current line: chars [start, end), without its line break; never empty. */
  start = 0;
  end = 0;
  /** After readObis: the `(` that follows the code, and the first group's content [valueStart, valueEnd). */
  open = 0;
  valueStart = 0;
  valueEnd = 0;
  /** After readObis: the code's A and B, and its C.D.E as obisKey(0, 0, C, D, E). */
  obisA = 0;
  obisB = 0;
  obisCde = 0;
  /** After readNumber: the number is mantissa × 10^−decimals; its unit starts at unitAt (the range's end: none). */
  mantissa = 0;
  decimals = 0;
  unitAt = 0;

  /** Where the next line starts, and the `!` (or the text's end) where the lines stop. */
  private next = 0;
  private readonly stop: number;

  /** `text` and `bytes` are the same telegram (latin1). Anything after the `!` is ignored. */
  constructor(
    readonly text: string,
    readonly bytes: Buffer,
  ) {
    const slash = text.indexOf('/');
    let stop = text.indexOf('!', slash + 1);
    if (stop < 0) stop = text.length;
    this.stop = stop;
    const lf = text.indexOf('\n', slash + 1);
    let headerEnd = lf < 0 || lf > stop ? stop : lf;
    if (headerEnd > slash + 1 && bytes[headerEnd - 1] === CR) headerEnd--;
    this.header = slash < 0 ? '' : text.slice(slash + 1, headerEnd);
    this.next = slash < 0 || lf < 0 ? stop : lf + 1;
  }

  /** Moves to the next non-empty line; false at the end of the telegram. */
  nextLine(): boolean {
    const { text, bytes, stop } = this;
    while (this.next < stop) {
      const a = this.next;
      let lf = text.indexOf('\n', a);
      if (lf < 0 || lf > stop) lf = stop;
      let b = lf;
      if (b > a && bytes[b - 1] === CR) b--;
      this.next = lf + 1;
      if (b > a) {
        this.start = a;
        this.end = b;
        return true;
      }
    }
    return false;
  }

  /** A line that starts with `(`: the value of the line before (DSMR 2.2/3 gas readings). */
  isContinuation(): boolean {
    return this.bytes[this.start] === OPEN;
  }

  /**
   * Reads the line's `A-B:C.D.E` (a `*255`-style suffix is skipped) up to its `(`. False when the
   * line does not start with a code in range (A ≤ 7, B ≤ 255, C and D ≤ 127, E ≤ 255) and a `(`.
   */
  readObis(): boolean {
    const u = this.bytes;
    const end = this.end;
    let f0 = 0;
    let f1 = 0;
    let f2 = 0;
    let f3 = 0;
    let v = 0;
    let field = 0;
    let digits = 0;
    let i = this.start;
    for (; i < end; i++) {
      const c = u[i] as number;
      if (c >= DIGIT_0 && c <= DIGIT_9) {
        v = v * 10 + (c - DIGIT_0);
        if (++digits > 3) return false;
        continue;
      }
      if (digits === 0) return false;
      const want = field === 0 ? MINUS : field === 1 ? COLON : field < 4 ? DOT : -1;
      if (c === want) {
        if (field === 0) f0 = v;
        else if (field === 1) f1 = v;
        else if (field === 2) f2 = v;
        else f3 = v;
        field++;
        digits = 0;
        v = 0;
        continue;
      }
      if (field !== 4) return false;
      if (c === STAR) {
        const p = this.text.indexOf('(', i);
        i = p < 0 || p >= end ? -1 : p;
      }
      break;
    }
    if (i < 0 || i >= end || u[i] !== OPEN || field !== 4 || digits === 0) return false;
    if (f0 > 7 || f1 > 255 || f2 > 127 || f3 > 127 || v > 255) return false;
    this.obisA = f0;
    this.obisB = f1;
    this.obisCde = obisKey(0, 0, f2, f3, v);
    this.open = i;
    this.valueStart = i + 1;
    let close = this.text.indexOf(')', i + 1);
    if (close < 0 || close > end) close = end;
    this.valueEnd = close;
    return true;
  }

  /**
   * Splits `(..)(..)…` from `from` (a `(`) to the line's end; returns the number of groups, whose
   * bounds groupStart / groupEnd then give. A group without its `)` ends at the line's end.
   */
  splitGroups(from: number): number {
    const end = this.end;
    let p = from;
    let n = 0;
    while (p < end && this.bytes[p] === OPEN && n < MAX_GROUPS) {
      let close = this.text.indexOf(')', p + 1);
      if (close < 0 || close > end) close = end;
      GROUPS[2 * n] = p + 1;
      GROUPS[2 * n + 1] = close;
      n++;
      p = close + 1;
    }
    return n;
  }

  groupStart(i: number): number {
    return GROUPS[2 * i] as number;
  }

  groupEnd(i: number): number {
    return GROUPS[2 * i + 1] as number;
  }

  /** Whether group i holds an OBIS reference (`(1-0:1.6.0)` in 98.1.0 and 99.97.0). */
  isObisRef(i: number): boolean {
    const c = this.text.indexOf(':', this.groupStart(i));
    return c >= 0 && c < this.groupEnd(i);
  }

  /**
   * Reads `[-]digits[.digits][*unit]` in chars [a, b) into mantissa / decimals / unitAt. False when
   * it is not a number (then those are left as they were).
   */
  readNumber(a: number, b: number): boolean {
    const u = this.bytes;
    let i = a;
    let neg = false;
    if (i < b && u[i] === MINUS) {
      neg = true;
      i++;
    }
    let m = 0;
    let d = -1;
    let digits = 0;
    for (; i < b; i++) {
      const c = u[i] as number;
      if (c >= DIGIT_0 && c <= DIGIT_9) {
        m = m * 10 + (c - DIGIT_0);
        digits++;
        if (d >= 0) d++;
      } else if (c === DOT && d < 0) {
        d = 0;
      } else break;
    }
    if (digits === 0) return false;
    if (i < b && u[i] !== STAR) return false;
    this.unitAt = i < b ? i + 1 : b;
    const decimals = Math.max(d, 0);
    this.decimals = decimals;
    if (digits > 15) {
      // Beyond exact integers: let the engine round the decimal once.
      const v = Number(this.text.slice(neg ? a + 1 : a, i));
      m = v * (P10[decimals] ?? 10 ** decimals);
    }
    this.mantissa = neg ? -m : m;
    return true;
  }

  /** The number read last × 10^e: exact when the result is an integer, correctly rounded otherwise. */
  scaled(e: number): number {
    if (e >= 0) return this.mantissa * (P10[e] ?? 10 ** e);
    return this.mantissa / (P10[-e] ?? 10 ** -e);
  }

  /** The number read last as sent (its decimals applied). */
  value(): number {
    return this.scaled(-this.decimals);
  }

  /** Whether the number read last had no unit, its range ending at b. */
  noUnit(b: number): boolean {
    return this.unitAt === b;
  }

  /** Whether the unit of the number read last, its range ending at b, is exactly `unit`. */
  unitIs(b: number, unit: string): boolean {
    return b - this.unitAt === unit.length && this.text.startsWith(unit, this.unitAt);
  }

  /** The unit of the number read last, its range ending at b, or null. */
  unit(b: number): string | null {
    return this.unitAt < b ? this.text.slice(this.unitAt, b) : null;
  }

  /** The identity of a timestamp in [a, b), or -1 when it has not that shape (timestamp.ts). */
  timestampKey(a: number, b: number): number {
    return timestampKey(this.bytes, a, b);
  }

  /** The timestamp in [a, b) whose key is `key` as ISO 8601 UTC, or null (placeholder, not a date). */
  timestampIso(key: number, a: number, b: number): string | null {
    return timestampIso(key, this.text, a, b);
  }

  /** The timestamp in [a, b) as ISO 8601 UTC, or null. */
  timestamp(a: number, b: number): string | null {
    return timestampIso(timestampKey(this.bytes, a, b), this.text, a, b);
  }

  /** Whether the char after the group that closes at `close` opens another group. */
  opensGroupAfter(close: number): boolean {
    return close + 1 < this.end && this.bytes[close + 1] === OPEN;
  }

  /** The last `)` of the line at or after `from`, plus one; `from` when there is none. */
  endOfLastGroup(from: number): number {
    let end = this.end;
    while (end > from && this.bytes[end - 1] !== CLOSE) end--;
    return end;
  }
}
