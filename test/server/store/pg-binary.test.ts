/**
 * The binary COPY writer against a real PostgreSQL: text in its ASCII fast path and through the
 * UTF-8 encoder, raw bytes, NULL, doubles and timestamps come back as written.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryCopyWriter, copyFrom } from '../../../src/server/store/pg-binary.js';

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
