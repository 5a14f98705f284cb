import { randomBytes } from 'node:crypto';
import { crc32, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32Combine, deflatePiece, deflatePieceAsync, joinGzip } from '../../src/lib/deflate-join.js';
import { fixtureBytes } from '../helpers/fixtures.js';

const telegram = fixtureBytes('p1/fluvius-v17-1phase-capacity.txt');

describe('crc32Combine', () => {
  it('gives the CRC-32 of the joined text', () => {
    for (const [a, b] of [
      [0, 0],
      [0, 7],
      [5, 0],
      [1, 1],
      [13, 4096],
      [70_000, 3],
      [123_457, 98_765],
    ] as const) {
      const x = randomBytes(a);
      const y = randomBytes(b);
      expect(crc32Combine(crc32(x), crc32(y), b)).toBe(crc32(Buffer.concat([x, y])));
    }
  });
});

describe('joinGzip', () => {
  it('joins pieces compressed apart, at different levels, into one gzip member that checks', async () => {
    const texts = [
      Buffer.from('{"points":['),
      telegram,
      Buffer.alloc(0),
      Buffer.from(','),
      Buffer.concat(Array.from({ length: 40 }, () => telegram)),
      randomBytes(3000),
      Buffer.from(']}'),
    ];
    const pieces = await Promise.all(texts.map((t, i) => (i % 2 ? deflatePieceAsync(t, 6) : deflatePiece(t, 1))));
    const gz = joinGzip(pieces);
    const whole = Buffer.concat(texts);
    // gunzip checks the trailer's CRC-32 and length: a wrong one throws.
    expect(gunzipSync(gz).equals(whole)).toBe(true);
    expect(gz.length).toBeLessThan(whole.length / 2);
  });

  it('is a valid empty answer with no pieces', () => {
    expect(gunzipSync(joinGzip([])).length).toBe(0);
  });

  it('is refused by gunzip when a piece is damaged', () => {
    const p = deflatePiece(telegram, 6);
    const bad = { ...p, crc: (p.crc ^ 1) >>> 0 };
    expect(() => gunzipSync(joinGzip([bad]))).toThrow(/incorrect data check|invalid/i);
  });
});
