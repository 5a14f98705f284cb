/**
 * JSON text written straight into a growing byte buffer, for answers of thousands of numbers (a
 * month at 15 minutes is ~3 000 points of 20 numbers, ~1.4 MB): no string per number, no string of
 * the whole answer to encode again. Numbers come out exactly as `String(x)` writes them (what
 * JSON.stringify writes), so an answer is byte for byte the one JSON.stringify would give.
 *
 * Why a rounded number can be written from the integer `n = Math.round(x * 10^d)`: `n / 10^d` is
 * the double nearest that decimal, and while |n| < 10^15 (|x| < 10^9 at six decimals) the decimals
 * of one step (10^-d) are much wider apart than the doubles around it, so no other decimal of as few
 * digits reaches that double: JavaScript's shortest round-trip form is n's digits with the point put
 * back and trailing zeros dropped. Beyond that, and for NaN and infinities, String() is used.
 */
import { DAY_MS } from '../../core/time/quarter.js';

/** |n| below this: the integer form is exact and its digits are the shortest form (see above). */
const FAST_LIMIT = 1e15;
const INT32_MAX = 2_147_483_647;
const MINUS = 45;
const DOT = 46;
const PLUS = 43;
const COLON = 58;
const T = 84;
const ZERO = 48;
const NULL = Uint8Array.from([110, 117, 108, 108]);

/** A constant piece of JSON (a key with its quotes, colon and comma) as bytes, encoded once. */
export function jsonPiece(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'utf8'));
}

export class JsonBytes {
  private buf: Buffer;
  private pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  /** Makes room for `n` more bytes (call before a run of writes of known most size). */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** Bytes of a piece (jsonPiece). */
  piece(p: Uint8Array): void {
    this.buf.set(p, this.pos);
    this.pos += p.length;
  }

  /** Any text, as UTF-8 (reserves its own room). */
  text(s: string): void {
    this.reserve(Buffer.byteLength(s, 'utf8'));
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** ASCII text that fits in the reserved room (timestamps, numbers from String()). */
  ascii(s: string): void {
    const buf = this.buf;
    let at = this.pos;
    for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
    this.pos = at;
  }

  /** `x` as JSON writes it: String(x), or null when it is not finite. At most 24 bytes. */
  number(x: number): void {
    if (Number.isInteger(x) && x > -FAST_LIMIT && x < FAST_LIMIT) this.integer(x);
    else this.ascii(Number.isFinite(x) ? String(x) : 'null');
  }

  /**
   * `Math.round(x * scale) / scale` as JSON writes it (scale = 10^decimals), without making that
   * double's string. At most 24 bytes.
   */
  rounded(x: number, scale: number, decimals: number): void {
    const n = Math.round(x * scale);
    if (!(n > -FAST_LIMIT && n < FAST_LIMIT)) {
      const r = n / scale;
      this.ascii(Number.isFinite(r) ? String(r) : 'null');
      return;
    }
    if (n === 0) {
      this.buf[this.pos++] = ZERO; // -0 too, as String(-0)
      return;
    }
    let a = n;
    if (a < 0) {
      this.buf[this.pos++] = MINUS;
      a = -a;
    }
    let frac = a % scale;
    this.integer((a - frac) / scale);
    if (frac === 0) return;
    let digits = decimals;
    while (frac % 10 === 0) {
      frac /= 10;
      digits--;
    }
    this.buf[this.pos++] = DOT;
    this.digits(frac, digits);
  }

  /**
   * The local time of instant `ms` at UTC offset `offsetMinutes`, as ZoneClock.iso writes it
   * (`2026-03-29T03:00:00+02:00`, milliseconds only when not zero), without its quotes. Years outside
   * 1000..9999 are not written here: the caller passes them as text. At most 29 bytes.
   */
  localTime(ms: number, offsetMinutes: number): boolean {
    const local = ms + offsetMinutes * 60_000;
    const days = Math.floor(local / DAY_MS);
    let rest = local - days * DAY_MS;
    // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil, inverted).
    const z = days + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    if (year < 1000 || year > 9999) return false;
    const hour = Math.floor(rest / 3_600_000);
    rest -= hour * 3_600_000;
    const minute = Math.floor(rest / 60_000);
    rest -= minute * 60_000;
    const second = Math.floor(rest / 1000);
    const milli = rest - second * 1000;
    this.digits(year, 4);
    this.byte(MINUS);
    this.digits(month, 2);
    this.byte(MINUS);
    this.digits(day, 2);
    this.byte(T);
    this.digits(hour, 2);
    this.byte(COLON);
    this.digits(minute, 2);
    this.byte(COLON);
    this.digits(second, 2);
    if (milli !== 0) {
      this.byte(DOT);
      this.digits(milli, 3);
    }
    const abs = Math.abs(offsetMinutes);
    this.byte(offsetMinutes < 0 ? MINUS : PLUS);
    this.digits(Math.floor(abs / 60), 2);
    this.byte(COLON);
    this.digits(abs % 60, 2);
    return true;
  }

  /** null. */
  null(): void {
    this.piece(NULL);
  }

  /**
   * The JSON written so far (the writer must not be used afterwards): a view of the buffer, or a
   * copy when more than an eighth of it is unused, so a cached answer holds no more than its size.
   */
  finish(): Buffer {
    const used = this.buf.subarray(0, this.pos);
    return this.buf.length - this.pos > this.pos / 8 ? Buffer.from(used) : used;
  }

  /** A non-negative safe integer (or a negative one, with its sign). */
  private integer(n: number): void {
    let a = n;
    if (a < 0) {
      this.buf[this.pos++] = MINUS;
      a = -a;
    }
    let width = 1;
    if (a <= INT32_MAX) for (let x = a | 0; x >= 10; x = (x / 10) | 0) width++;
    else for (let x = a; x >= 10; x = Math.floor(x / 10)) width++;
    this.digits(a, width);
  }

  /** `n` (a non-negative integer) in exactly `width` digits (leading zeros). */
  private digits(n: number, width: number): void {
    const buf = this.buf;
    let at = this.pos + width;
    this.pos = at;
    if (n <= INT32_MAX) {
      // Small integers (nearly all): 32-bit integer arithmetic, much cheaper than on doubles.
      let x = n | 0;
      for (let i = 0; i < width; i++) {
        const q = (x / 10) | 0;
        buf[--at] = ZERO + (x - q * 10);
        x = q;
      }
      return;
    }
    let x = n;
    for (let i = 0; i < width; i++) {
      const q = Math.floor(x / 10);
      buf[--at] = ZERO + (x - q * 10);
      x = q;
    }
  }
}
