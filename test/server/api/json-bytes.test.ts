/**
 * The history answer's bytes are written without JSON.stringify (json-bytes.ts, history.ts
 * renderBuckets): they must be exactly what JSON.stringify writes, for the simulated home's real
 * buckets and for numbers of every size and sign.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presentBucket, renderBuckets } from '../../../src/server/api/history.js';
import { JsonBytes } from '../../../src/server/api/json-bytes.js';
import { ZoneClock } from '../../../src/server/api/time.js';
import type { Bucket } from '../../../src/server/store/types.js';
import { type Seeded, seededStore } from './setup.js';

let seeded: Seeded;

beforeAll(async () => {
  seeded = await seededStore();
});

afterAll(async () => {
  await seeded?.cleanup();
});

/** A reproducible sequence in [0, 1) (xorshift32), so a failure names a value that can be replayed. */
function randoms(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4_294_967_296;
  };
}

function written(write: (out: JsonBytes) => void): string {
  const out = new JsonBytes(16);
  write(out);
  return out.finish().toString('utf8');
}

const EDGES = [
  0,
  -0,
  1,
  -1,
  0.1 + 0.2,
  1e-7,
  4.9e-7,
  5e-7,
  -5e-7,
  0.0000025,
  -0.0000025,
  0.005,
  -0.005,
  0.015,
  1.005,
  0.49999999999999994,
  123.456789,
  -1234.5678,
  12345678.1234567,
  999999999.9999995,
  1e9,
  1e15,
  1e16,
  -1e16,
  1e21,
  2 ** 53 + 2,
  1.7976931348623157e308,
  Number.MIN_VALUE,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];

describe('JsonBytes', () => {
  it('writes Math.round(x * 10^d) / 10^d as String() does, for edge values and a million random ones', () => {
    const next = randoms(19);
    const values = [...EDGES];
    for (let i = 0; i < 1_000_000; i++) {
      const magnitude = 10 ** (next() * 24 - 9); // 1e-9 … 1e15
      values.push((next() < 0.5 ? -1 : 1) * next() * magnitude);
    }
    for (const [scale, decimals] of [
      [1e6, 6],
      [100, 2],
    ] as const) {
      for (const x of values) {
        const r = Math.round(x * scale) / scale;
        const expected = Number.isFinite(r) ? String(r) : 'null';
        const got = written((out) => {
          out.reserve(32);
          out.rounded(x, scale, decimals);
        });
        if (got !== expected) expect({ x, scale, got }).toEqual({ x, scale, got: expected });
      }
    }
  });

  it('writes any number as JSON.stringify does', () => {
    const next = randoms(7);
    const values = [...EDGES, ...Array.from({ length: 10_000 }, () => Math.floor(next() * 10 ** (next() * 17)))];
    for (const x of values) {
      const got = written((out) => {
        out.reserve(32);
        out.number(x);
      });
      expect(got).toBe(JSON.stringify(x));
    }
  });
});

describe('JsonBytes.localTime', () => {
  it('writes what ZoneClock.iso writes: whole quarters and odd milliseconds, DST changes, offsets of every sign', () => {
    const next = randoms(11);
    const instants = [
      Date.parse('2026-03-29T00:59:59.999Z'),
      Date.parse('2026-03-29T01:00:00Z'),
      Date.parse('2026-10-25T00:45:00Z'),
      Date.parse('2026-10-25T01:00:00Z'),
      Date.parse('2024-02-29T23:00:00Z'),
      Date.parse('2000-02-29T12:34:56.007Z'),
      Date.parse('1970-01-01T00:00:00Z'),
      Date.parse('9999-12-31T21:59:59.999Z'),
      ...Array.from({ length: 20_000 }, (_, i) => {
        const ms = Math.floor(next() * Date.parse('2100-01-01T00:00:00Z'));
        return i % 2 === 0 ? ms - (ms % 900_000) : ms;
      }),
    ];
    for (const zone of ['Europe/Brussels', 'UTC', 'America/St_Johns', 'Asia/Kathmandu', 'Pacific/Kiritimati']) {
      const clock = new ZoneClock(zone);
      for (const ms of instants) {
        const got = written((out) => {
          out.reserve(32);
          if (!out.localTime(ms, clock.offsetMinutes(ms))) out.ascii('(not written)');
        });
        // 9999-12-31T21:59:59.999Z is already the year 10000 east of UTC+02:00.
        const expected = clock.iso(ms).startsWith('10000-') ? '(not written)' : clock.iso(ms);
        if (got !== expected) expect({ zone, ms, got }).toEqual({ zone, ms, got: expected });
      }
    }
  });

  it('leaves years outside 1000..9999 to the caller', () => {
    const out = new JsonBytes(64);
    expect(out.localTime(Date.parse('0999-12-31T00:00:00Z'), 0)).toBe(false);
    expect(out.localTime(Date.parse('+010000-01-01T00:00:00Z'), 0)).toBe(false);
    expect(out.finish().length).toBe(0);
  });
});

describe('renderBuckets', () => {
  it("is JSON.stringify of the presented buckets: the simulated home's quarters and days, and edge values", async () => {
    const clock = new ZoneClock('Europe/Brussels');
    const start = new Date('2026-03-28T00:00:00Z');
    const end = new Date('2026-03-30T12:00:00Z');
    const quarters = await seeded.store.buckets('home-1', '15min', start, end);
    const days = await seeded.store.buckets('home-1', 'daily', start, end);
    expect(quarters.length).toBeGreaterThan(200);
    const next = randoms(3);
    const odd: Bucket[] = quarters.slice(0, 400).map((b, i) => ({
      ...b,
      import_kwh: i % 7 === 0 ? null : (next() - 0.5) * 10 ** (next() * 12 - 6),
      avg_grid_power_w: (next() - 0.5) * 10 ** (next() * 10 - 3),
      gas_m3: EDGES[i % EDGES.length]!,
      max_pv_power_w: -EDGES[(i * 3) % EDGES.length]!,
    }));
    const head = '{"device_id":"h\u00e9me-1","resolution":"15min","points":';
    for (const buckets of [quarters, days, odd, []]) {
      const expected = `${head}${JSON.stringify(buckets.map((b) => presentBucket(b, clock)))}}`;
      expect(renderBuckets(head, buckets, clock).toString('utf8')).toBe(expected);
    }
  });
});
