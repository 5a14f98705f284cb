/**
 * Streaming framer for P1 telegrams: push the bytes as they arrive (any chunking), get back complete,
 * CRC-checked telegrams and framing errors.
 *
 * A telegram runs from `/` to `!`, followed by the CRC (4 hex digits, MSB first; some meters drop
 * leading zeros, so 1–4 digits are accepted) and CR LF. DSMR 2.2/3 telegrams end in a bare `!` and
 * carry no CRC: accepted only when they have the full legacy shape and no mark of a format with a
 * CRC (a 1-3:0.2.8 or 0-0:96.1.4 line, an Iskra IE.5 identification), and only on a stream that has
 * not carried CRCs (see legacyWithoutCrc), so that a modern telegram whose CRC line was cut or
 * damaged does not pass as a legacy one: it is rejected (`dsmr_missing_crc`) and counted as a CRC
 * error.
 *
 * Resynchronisation: bytes before a `/` are dropped (a meter read mid-telegram, line noise); a `/`
 * inside a telegram in progress means the previous one was cut short (telegrams never contain `/`),
 * so the framer restarts there. The buffer is bounded: a `/` followed by more than
 * `maxTelegramBytes` without a `!` is dropped, and bytes without a `/` are never kept.
 */
import { KwartierError } from '../../core/errors.js';
import { crc16Bytes, formatCrc } from './crc.js';

export type DsmrFrameErrorCode = 'dsmr_crc' | 'dsmr_trailer' | 'dsmr_missing_crc' | 'dsmr_incomplete' | 'dsmr_overflow';

export class DsmrFrameError extends KwartierError {
  /** For `dsmr_crc`: the CRC computed over the telegram and the one its trailer carries (4 hex digits). */
  readonly expectedCrc: string | null;
  readonly receivedCrc: string | null;
  /** The telegram's identification line (`/ISK5\2M550T-1012`), when known. */
  readonly header: string | null;

  constructor(
    code: DsmrFrameErrorCode,
    message: string,
    extra: { expectedCrc?: string; receivedCrc?: string; header?: string | null } = {},
  ) {
    super(code, message);
    this.name = 'DsmrFrameError';
    this.expectedCrc = extra.expectedCrc ?? null;
    this.receivedCrc = extra.receivedCrc ?? null;
    this.header = extra.header ?? null;
  }
}

export interface FramedTelegram {
  type: 'telegram';
  /** The telegram as received (latin1), from `/` through the LF after the trailer. */
  telegram: string;
  /** The same bytes (a copy the caller owns). */
  bytes: Buffer;
  /** The CRC carried in the trailer; null for a DSMR 2.2/3 telegram without one. */
  crc: number | null;
}

export interface FrameErrorEvent {
  type: 'error';
  error: DsmrFrameError;
}

export type FrameEvent = FramedTelegram | FrameErrorEvent;

export interface FramerStats {
  telegrams: number;
  /** Telegrams rejected for their CRC: a mismatch, or a CRC missing where the format carries one. */
  crcErrors: number;
  /** Framing errors other than CRC mismatches (bad trailer, cut-off or oversize telegrams). */
  otherErrors: number;
  /** Bytes dropped outside telegrams (before the first `/`, between telegrams). */
  discardedBytes: number;
}

export interface FramerOptions {
  /** Longest telegram accepted, in bytes (default 16 KiB; real telegrams are 0.2–2 KiB). */
  maxTelegramBytes?: number;
}

const SLASH = 0x2f;
const BANG = 0x21;
const LF = 0x0a;
const CR = 0x0d;
/** After `!`: up to 4 hex digits, CR, LF. */
const MAX_TRAILER = 7;
const EMPTY = Buffer.alloc(0);

export class TelegramFramer {
  /** Bytes held: empty, or starting with the `/` of a telegram in progress. */
  private buf: Buffer = EMPTY;
  /** True when buf[0] is the `/` of a telegram in progress. */
  private inTelegram = false;
  /** Where to continue searching for `!` (or a new `/`). */
  private pos = 0;
  /** Index of the `!` once found, else -1. */
  private bang = -1;
  /** A telegram with a CRC was accepted: from then on telegrams without one are refused. */
  private sawCrc = false;
  private readonly max: number;
  private readonly counts: FramerStats = { telegrams: 0, crcErrors: 0, otherErrors: 0, discardedBytes: 0 };

  constructor(opts: FramerOptions = {}) {
    this.max = opts.maxTelegramBytes ?? 16_384;
  }

  /** Feeds received bytes (a Buffer, or a latin1 string); returns the telegrams and errors completed. */
  push(chunk: Uint8Array | string): FrameEvent[] {
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'latin1')
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: FrameEvent[] = [];
    if (bytes.length === 0) return out;
    this.buf = this.buf.length === 0 ? bytes : Buffer.concat([this.buf, bytes]);
    this.scan(out, false);
    // Keep no view into the caller's buffer (it may be reused): copy the few bytes still pending.
    if (this.buf.length > 0 && this.buf.buffer === bytes.buffer) this.buf = Buffer.from(this.buf);
    return out;
  }

  /** End of input: a telegram whose trailer lacks only its final CR LF is completed; a cut-off one is reported. */
  end(): FrameEvent[] {
    const out: FrameEvent[] = [];
    this.scan(out, true);
    if (this.inTelegram && this.buf.length > 0) {
      this.fail(
        out,
        'dsmr_incomplete',
        `telegram ${this.headerOf()} cut off at end of input (${this.buf.length} bytes)`,
      );
    }
    this.clear();
    return out;
  }

  /** Drops any partial telegram (e.g. after a reconnect). What the stream told about CRCs is kept. */
  clear(): void {
    this.buf = EMPTY;
    this.inTelegram = false;
    this.pos = 0;
    this.bang = -1;
  }

  get stats(): Readonly<FramerStats> {
    return this.counts;
  }

  /** Bytes held waiting for the rest of a telegram. */
  get pendingBytes(): number {
    return this.buf.length;
  }

  private scan(out: FrameEvent[], final: boolean): void {
    for (;;) {
      if (this.bang < 0) {
        if (!this.inTelegram) {
          const start = this.buf.indexOf(SLASH);
          if (start < 0) {
            this.counts.discardedBytes += this.buf.length;
            this.buf = EMPTY;
            this.pos = 0;
            return;
          }
          this.drop(start);
          this.inTelegram = true;
          this.pos = 1;
        }
        const e = this.buf.indexOf(BANG, this.pos);
        // A later `/` means the telegram in progress was cut short: restart at the last one.
        const limit = e < 0 ? this.buf.length : e;
        let restart = -1;
        for (let i = this.buf.indexOf(SLASH, this.pos); i >= 0 && i < limit; i = this.buf.indexOf(SLASH, i + 1)) {
          restart = i;
        }
        if (restart > 0) {
          this.fail(out, 'dsmr_incomplete', `telegram ${this.headerOf()} cut short by the start of the next one`);
          this.drop(restart);
        }
        if (e < 0) {
          if (this.buf.length > this.max) {
            this.fail(
              out,
              'dsmr_overflow',
              `no end of telegram (!) within ${this.max} bytes after ${this.headerOf()}: dropped`,
            );
            this.consume(this.buf.length);
            continue;
          }
          this.pos = this.buf.length;
          return;
        }
        this.bang = e - Math.max(restart, 0);
        if (this.bang + 1 > this.max) {
          this.fail(out, 'dsmr_overflow', `telegram ${this.headerOf()} longer than ${this.max} bytes: dropped`);
          this.consume(this.bang + 1);
          continue;
        }
      }
      // The trailer: `!`, up to 4 hex digits, CR LF.
      const e = this.bang;
      const buf = this.buf;
      let n = buf.indexOf(LF, e + 1);
      let complete = true;
      if (n < 0 || n - e >= MAX_TRAILER) {
        if (n >= 0 || buf.length - e >= MAX_TRAILER) {
          this.fail(out, 'dsmr_trailer', `telegram ${this.headerOf()}: malformed CRC line after "!"`);
          this.consume(e + 1);
          continue;
        }
        if (!final) return;
        n = buf.length;
        complete = false;
      }
      let tEnd = n;
      if (tEnd > e + 1 && buf[tEnd - 1] === CR) tEnd--;
      const stop = Math.min(n + 1, buf.length);
      this.finish(out, e, tEnd, stop, complete);
      this.consume(stop);
    }
  }

  /** Checks the trailer bytes [e+1, tEnd) against the telegram [0, e] and emits buf[0, stop) if valid. */
  private finish(out: FrameEvent[], e: number, tEnd: number, stop: number, complete: boolean): void {
    const buf = this.buf;
    const digits = tEnd - e - 1;
    if (digits === 0) {
      if (this.legacyWithoutCrc(e, complete)) {
        this.counts.telegrams++;
        out.push(this.emit(stop, null));
      } else {
        // A telegram of a format that carries a CRC, without it, is rejected like a bad CRC: it has
        // no integrity check, and reading it as DSMR 2.2 would take damaged values for good ones.
        const format = crcFormat(buf.subarray(0, e));
        const why =
          format !== null
            ? `though its format carries one (${format})`
            : this.sawCrc
              ? 'after telegrams with one on this stream'
              : 'and is not a complete DSMR 2.2/3 telegram';
        this.counts.crcErrors++;
        out.push({
          type: 'error',
          error: new DsmrFrameError('dsmr_missing_crc', `telegram ${this.headerOf()} has no CRC after "!" ${why}`, {
            header: this.headerOf(),
          }),
        });
      }
      return;
    }
    let received = 0;
    for (let i = e + 1; i < tEnd; i++) {
      const c = buf[i] as number;
      const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (v < 0 || digits > 4) {
        this.fail(out, 'dsmr_trailer', `telegram ${this.headerOf()}: malformed CRC ${printable(buf, e + 1, tEnd)}`);
        return;
      }
      received = (received << 4) | v;
    }
    const computed = crc16Bytes(buf, 0, e + 1);
    if (computed !== received) {
      const expectedCrc = formatCrc(computed);
      this.counts.crcErrors++;
      out.push({
        type: 'error',
        error: new DsmrFrameError(
          'dsmr_crc',
          `CRC mismatch in telegram ${this.headerOf()}: expected ${expectedCrc}, received ${printable(buf, e + 1, tEnd)}`,
          { expectedCrc, receivedCrc: formatCrc(received), header: this.headerOf() },
        ),
      });
      return;
    }
    this.counts.telegrams++;
    this.sawCrc = true;
    out.push(this.emit(stop, received));
  }

  private emit(stop: number, crc: number | null): FramedTelegram {
    const bytes = Buffer.from(this.buf.subarray(0, stop));
    return { type: 'telegram', telegram: bytes.toString('latin1'), bytes, crc };
  }

  /**
   * Whether a telegram without CRC may pass as DSMR 2.2/3. It has no integrity check, so everything
   * else must look right: an identification line `/XXXn…`, the empty line after it, data lines, the
   * `!` at the start of a line and followed by CR LF (not cut off at the end of input), no DSMR 4+ /
   * e-MUCS marker, and no telegram with a CRC seen before on this stream (a meter does not change
   * its protocol between telegrams; a modern telegram that lost its CRC must not get through).
   */
  private legacyWithoutCrc(e: number, complete: boolean): boolean {
    const buf = this.buf;
    if (!complete || this.sawCrc || e < 8 || buf[e - 1] !== LF) return false;
    for (let i = 1; i <= 3; i++) {
      const c = (buf[i] as number) | 0x20;
      if (c < 0x61 || c > 0x7a) return false;
    }
    const baud = buf[4] as number;
    if (baud < 0x30 || baud > 0x39) return false;
    const body = buf.subarray(0, e);
    const firstLf = body.indexOf(LF);
    if (firstLf < 0 || body[firstLf + 1] !== CR || body[firstLf + 2] !== LF) return false;
    if (body.indexOf(0x28, firstLf) < 0) return false;
    return crcFormat(body) === null;
  }

  /** The identification line of the telegram in progress, printable chars only, for messages. */
  private headerOf(): string {
    if (this.buf[0] !== SLASH) return '(unknown)';
    let end = 0;
    const lim = Math.min(this.buf.length, 48);
    while (end < lim) {
      const c = this.buf[end];
      if (c === CR || c === LF || c === BANG) break;
      end++;
    }
    return printable(this.buf, 0, end);
  }

  private fail(out: FrameEvent[], code: DsmrFrameErrorCode, message: string): void {
    this.counts.otherErrors++;
    out.push({ type: 'error', error: new DsmrFrameError(code, message, { header: this.headerOf() }) });
  }

  /** Drops n leading bytes that are not part of a telegram. */
  private drop(n: number): void {
    if (n <= 0) return;
    this.counts.discardedBytes += n;
    this.buf = this.buf.subarray(n);
  }

  /** Consumes n leading bytes (a telegram handled or dropped) and starts looking for the next one. */
  private consume(n: number): void {
    this.buf = n >= this.buf.length ? EMPTY : this.buf.subarray(n);
    this.inTelegram = false;
    this.pos = 0;
    this.bang = -1;
  }
}

/**
 * Why a telegram (its bytes up to the `!`) is of a format that carries a CRC, or null: a
 * `1-3:0.2.8` line (DSMR 4 and 5), a `0-0:96.1.4` line (e-MUCS), or the identification of an Iskra
 * IE.5 (`/ISk5\2MIE5T-200`), a Belgian meter with neither line that sends a CRC (test/fixtures/p1/iskra-ie5*).
 */
function crcFormat(body: Buffer): string | null {
  if (body.indexOf('1-3:0.2.8(') >= 0) return 'a 1-3:0.2.8 line: DSMR 4+';
  if (body.indexOf('0-0:96.1.4(') >= 0) return 'a 0-0:96.1.4 line: e-MUCS';
  const headerEnd = body.indexOf(LF);
  const ie5 = body.indexOf('MIE5');
  if (ie5 > 0 && (headerEnd < 0 || ie5 < headerEnd)) return 'an Iskra IE.5';
  return null;
}

function printable(buf: Uint8Array, a: number, b: number): string {
  let s = '';
  for (let i = a; i < b; i++) {
    const c = buf[i] as number;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}
