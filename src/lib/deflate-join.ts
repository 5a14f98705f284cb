/**
 * One gzip answer joined from pieces compressed at different times: a piece is a raw deflate
 * stream ended with a sync flush (no final block, byte-aligned), with the CRC-32 and length of its
 * text. Pieces so made can follow one another (none refers back into another), so a gzip member is
 * the header, the pieces in order, an empty final block, the CRC-32 of the whole text (combined
 * from the pieces' CRCs, as zlib's crc32_combine does) and its length. Browsers and curl read it as
 * any gzip answer; RFC 1951 §3.2.3 (block framing) and RFC 1952 (member layout) are what it relies on.
 */
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw, deflateRawSync } from 'node:zlib';

const deflateRawAsync = promisify(deflateRaw);

/** A piece of text, compressed on its own. */
export interface DeflatePiece {
  /** Raw deflate data ended with a sync flush (00 00 ff ff). Empty for an empty text. */
  readonly deflate: Buffer;
  /** CRC-32 of the text. */
  readonly crc: number;
  /** Length of the text in bytes. */
  readonly bytes: number;
}

/** gzip header: deflate, no name or time, OS unknown (RFC 1952 §2.3). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** An empty final block with fixed codes: BFINAL 1, BTYPE 01, end-of-block code, padding. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

function options(level: number) {
  return { level, finishFlush: constants.Z_SYNC_FLUSH };
}

/** The text compressed as a piece (on this thread: for short texts). */
export function deflatePiece(text: Buffer, level: number): DeflatePiece {
  if (text.length === 0) return { deflate: Buffer.alloc(0), crc: 0, bytes: 0 };
  return { deflate: deflateRawSync(text, options(level)), crc: crc32(text), bytes: text.length };
}

/** The same on libuv's thread pool (for long texts; the event loop goes on meanwhile). */
export async function deflatePieceAsync(text: Buffer, level: number): Promise<DeflatePiece> {
  if (text.length === 0) return { deflate: Buffer.alloc(0), crc: 0, bytes: 0 };
  const crc = crc32(text);
  return { deflate: await deflateRawAsync(text, options(level)), crc, bytes: text.length };
}

/** The pieces as one gzip member. */
export function joinGzip(pieces: readonly DeflatePiece[]): Buffer {
  let crc = 0;
  let bytes = 0;
  const parts: Buffer[] = [GZIP_HEADER];
  for (const p of pieces) {
    if (p.bytes === 0) continue;
    crc = crc32Combine(crc, p.crc, p.bytes);
    bytes += p.bytes;
    parts.push(p.deflate);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(bytes % 2 ** 32, 4);
  parts.push(FINAL_BLOCK, trailer);
  return Buffer.concat(parts);
}

/** `vec` times the 32×32 bit matrix `mat` over GF(2). */
function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i]!;
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]!);
}

/**
 * The CRC-32 of A followed by B, from crc(A), crc(B) and B's length (zlib's crc32_combine: the
 * operator "append len2 zero bytes" applied to crc(A) by repeated squaring).
 */
export function crc32Combine(crc1: number, crc2: number, len2: number): number {
  if (len2 <= 0) return crc1 >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0xedb88320; // the CRC-32 polynomial, reflected
  for (let n = 1, row = 1; n < 32; n++, row = (row << 1) >>> 0) odd[n] = row;
  gf2Square(even, odd); // two zero bits
  gf2Square(odd, even); // four zero bits
  let crc = crc1 >>> 0;
  let len = len2;
  for (;;) {
    gf2Square(even, odd);
    if (len % 2 === 1) crc = gf2Times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len % 2 === 1) crc = gf2Times(odd, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
  }
  return (crc ^ crc2) >>> 0;
}
