/**
 * The binary COPY writer against a real PostgreSQL: text in its ASCII fast path and through the
 * UTF-8 encoder, raw bytes, NULL, doubles and timestamps come back as written; and the binary COPY
 * reader (COPY … TO STDOUT) gives back what a query selects.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryCopyWriter, copyFloat8Rows, copyFrom } from '../../../src/server/store/pg-binary.js';

const URL = process.env.KWARTIER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
let c: pg.Client;

beforeAll(async () => {
  c = new pg.Client({ connectionString: URL });
  await c.connect();
  await c.query('CREATE TEMP TABLE copy_t (i int8, s text, b text, x float8, t timestamptz)');
});
afterAll(async () => {
  await c?.end();
});

describe('BinaryCopyWriter', () => {
  it('round-trips text (ASCII, UTF-8, 64 and 65 characters, empty), bytes, NULL, doubles and instants', async () => {
    const texts: Array<string | null> = [
      '2026-03-01T12:00:00.000Z',
      'home-a',
      'café ☀ 🔋',
      'a'.repeat(64),
      'b'.repeat(65),
      `${'c'.repeat(63)}é`,
      '',
      null,
    ];
    const w = new BinaryCopyWriter(16); // tiny on purpose: the buffer must grow
    const outbox = Buffer.from('outbox-ü-1', 'utf8');
    texts.forEach((s, i) => {
      w.row(5);
      w.int8(i);
      w.text(s);
      w.bytes(i % 2 === 0 ? outbox : null);
      w.float8(i === 7 ? null : i + 0.25);
      w.timestamptz(Date.UTC(2026, 2, 1, 12, 0, i, 500));
    });
    expect(await copyFrom(c, 'copy_t (i, s, b, x, t)', w.finish())).toBe(texts.length);
    const r = await c.query<{ i: string; s: string | null; b: string | null; x: number | null; t: Date }>(
      'SELECT i, s, b, x, t FROM copy_t ORDER BY i',
    );
    expect(r.rows.map((x) => x.s)).toEqual(texts);
    expect(r.rows.map((x) => x.b)).toEqual(texts.map((_, i) => (i % 2 === 0 ? 'outbox-ü-1' : null)));
    expect(r.rows.map((x) => x.x)).toEqual(texts.map((_, i) => (i === 7 ? null : i + 0.25)));
    expect(r.rows.map((x) => x.t.getTime())).toEqual(texts.map((_, i) => Date.UTC(2026, 2, 1, 12, 0, i, 500)));
  });
});

/** The rows copyFloat8Rows hands over, kept (its array is reused), NaN (NULL) as null. */
async function rowsOf(select: string): Promise<(number | null)[][]> {
  const rows: (number | null)[][] = [];
  const n = await copyFloat8Rows(c, select, (row) => rows.push(Array.from(row, (x) => (Number.isNaN(x) ? null : x))));
  expect(n).toBe(rows.length);
  return rows;
}

describe('copyFloat8Rows', () => {
  it('reads a query as binary COPY: doubles exactly, NULLs, integers cast to float8, no rows', async () => {
    const values = [0.1 + 0.2, -0, 1e-300, 1.7976931348623157e308, -1234.5678, 2 ** 53];
    const rows = await rowsOf(
      `SELECT x, CASE WHEN i % 2 = 0 THEN NULL ELSE x END, i::float8
         FROM unnest(ARRAY[${values.map((v) => `${Object.is(v, -0) ? '-0' : v}::float8`).join(', ')}, 'Infinity'::float8])
         WITH ORDINALITY AS u(x, i) ORDER BY i`,
    );
    const all = [...values, Number.POSITIVE_INFINITY];
    expect(rows).toEqual(all.map((x, k) => [x, (k + 1) % 2 === 0 ? null : x, k + 1]));
    expect(Object.is(rows[1]![0], -0)).toBe(true);
    expect(await rowsOf('SELECT 1::float8 WHERE false')).toEqual([]);
  });

  it('refuses a column that is not float8, and passes on a query error', async () => {
    await expect(rowsOf('SELECT 1::int4')).rejects.toThrow(/a field of 4 bytes/);
    await expect(rowsOf('SELECT no_such_column')).rejects.toThrow(/no_such_column/);
    // The connection is usable afterwards.
    expect(await rowsOf('SELECT 2::float8')).toEqual([[2]]);
  });
});
