/**
 * GET /api/v1/export/{device_id}: a device's buckets or raw readings as CSV or JSON, streamed from the
 * store. Checked against the store's own buckets and the snapshots that went in (the simulated home,
 * across the 23-hour DST day 2026-03-29), with history's auth, ranges and 400s.
 */
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET_FIELDS } from '../../../src/core/bucket-shape.js';
import { SNAPSHOT_NUMERIC_FIELDS } from '../../../src/core/snapshot.js';
import { csvText, exportChunks } from '../../../src/server/api/export.js';
import { presentBucket } from '../../../src/server/api/history.js';
import { ZoneClock } from '../../../src/server/api/time.js';
import { importKwh } from '../../helpers/snapshots.js';
import { auth, lastBefore, type Seeded, seededStore, TOKENS, testApi } from './setup.js';

let seeded: Seeded;
let app: FastifyInstance;
const clock = new ZoneClock('Europe/Brussels');

beforeAll(async () => {
  seeded = await seededStore();
  ({ app } = await testApi(seeded.store));
});
afterAll(async () => {
  await app?.close();
  await seeded?.cleanup();
});

async function get(path: string, token: string | null = TOKENS.home1, headers: Record<string, string> = {}) {
  return app.inject({ url: path, headers: { ...(token ? auth(token) : {}), ...headers } });
}

/** A CSV answer as its header and rows of cells (these exports hold no quoted text). */
function csv(body: string): { header: string[]; rows: string[][] } {
  expect(body.endsWith('\n')).toBe(true);
  const lines = body.slice(0, -1).split('\n');
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

const num = (cell: string | undefined): number | null => (cell === '' || cell === undefined ? null : Number(cell));

describe('GET /api/v1/export', () => {
  it('401 without a token, 404 for a device the token does not hold or that does not exist', async () => {
    const q = 'start=2026-03-29&end=2026-03-30';
    const none = await get(`/api/v1/export/home-1?${q}`, null);
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({ error: 'unauthorized', message: 'a bearer token is required' });
    const other = await get(`/api/v1/export/home-1?${q}`, TOKENS.home2);
    expect(other.statusCode).toBe(404);
    const unknown = await get(`/api/v1/export/nobody?${q}`, TOKENS.admin);
    expect(unknown.statusCode).toBe(404);
    expect(other.json()).toEqual({ error: 'not_found', message: 'unknown device: home-1' });
  });

  it('400 naming the bad parameter', async () => {
    const cases: Array<[string, RegExp]> = [
      ['start=2026-03-29&end=2026-03-30&format=xlsx', /^format: must be one of csv, json$/],
      ['start=yesterday&end=2026-03-30', /^start: must be an ISO 8601 date-time or YYYY-MM-DD$/],
      ['start=2026-03-29&end=2026-02-30', /^end: must be an ISO 8601 date-time or YYYY-MM-DD$/],
      ['end=2026-03-30', /^start: is required$/],
      ['start=2026-03-29&end=2026-03-30&resolution=5min', /^resolution: must be one of raw, 1min, 15min/],
      ['start=2026-03-29&end=2026-03-30&resolution=raw', /^end: a raw range is at most 1 h/],
      ['start=2026-03-30&end=2026-03-29', /^end: must be later than start$/],
    ];
    for (const [q, re] of cases) {
      const r = await get(`/api/v1/export/home-1?${q}`);
      expect(r.statusCode, q).toBe(400);
      expect(r.json().error, q).toBe('bad_request');
      expect(r.json().message, q).toMatch(re);
    }
  });

  it('csv, 15 min, the 23-hour DST day: a header row, 92 rows in local time, the store’s values', async () => {
    const r = await get('/api/v1/export/home-1?start=2026-03-29&end=2026-03-30&resolution=15min&format=csv');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
    expect(r.headers['content-disposition']).toBe('attachment; filename="home-1_15min_2026-03-29.csv"');
    const { header, rows } = csv(r.body);
    expect(header).toEqual(['timestamp', ...BUCKET_FIELDS, 'samples']);
    expect(rows).toHaveLength(23 * 4);
    expect(rows[0]![0]).toBe('2026-03-29T00:00:00+01:00');
    // 02:00 local does not exist that night: 01:45+01:00 is followed by 03:00+02:00.
    expect(rows[7]![0]).toBe('2026-03-29T01:45:00+01:00');
    expect(rows[8]![0]).toBe('2026-03-29T03:00:00+02:00');
    expect(rows.at(-1)![0]).toBe('2026-03-29T23:45:00+02:00');

    const buckets = await seeded.store.buckets(
      'home-1',
      '15min',
      new Date('2026-03-28T23:00:00Z'),
      new Date('2026-03-29T22:00:00Z'),
    );
    expect(buckets).toHaveLength(92);
    buckets.forEach((b, i) => {
      const p = presentBucket(b, clock);
      const row = rows[i]!;
      expect(row[0]).toBe(p.timestamp);
      BUCKET_FIELDS.forEach((k, c) => {
        expect(num(row[c + 1]), `${p.timestamp} ${k}`).toBe(p[k]);
      });
      expect(Number(row.at(-1))).toBe(b.samples);
    });
    // The day's import is the meter's own difference over the 23 hours.
    const imported = rows.reduce((s, row) => s + Number(row[header.indexOf('import_kwh')]), 0);
    const meter =
      importKwh(lastBefore(seeded.snaps, Date.parse('2026-03-29T22:00:00Z')))! -
      importKwh(lastBefore(seeded.snaps, Date.parse('2026-03-28T23:00:00Z')))!;
    expect(imported).toBeCloseTo(meter, 5);
  });

  it('json: the history answer for the same query, point for point', async () => {
    for (const q of [
      'start=2026-03-29&end=2026-03-30&resolution=hourly',
      'start=2026-03-28&end=2026-03-31&resolution=daily',
      'start=2026-03-30T09:00:00Z&end=2026-03-30T10:00:00Z&resolution=raw',
    ]) {
      const r = await get(`/api/v1/export/home-1?${q}&format=json`);
      expect(r.statusCode, q).toBe(200);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      const history = await get(`/api/v1/history/home-1?${q}`);
      expect(r.json(), q).toEqual(history.json());
    }
    const hourly = (
      await get('/api/v1/export/home-1?start=2026-03-29&end=2026-03-30&resolution=hourly&format=json')
    ).json();
    expect(hourly.points).toHaveLength(23);
  });

  it('csv, raw: one row per reading, its values, null as an empty field', async () => {
    const r = await get('/api/v1/export/home-1?start=2026-03-30T09:00:00Z&end=2026-03-30T10:00:00Z&resolution=raw');
    expect(r.statusCode).toBe(200);
    const { header, rows } = csv(r.body);
    expect(header.slice(0, 2)).toEqual(['timestamp', 'meter_timestamp']);
    expect(header.slice(-4)).toEqual(['grid_monthly_peak_timestamp', 'country', 'charge_state', 'stale_sources']);
    const inRange = seeded.snaps.filter(
      (s) => s.timestamp >= '2026-03-30T09:00:00.000Z' && s.timestamp < '2026-03-30T10:00:00.000Z',
    );
    expect(rows).toHaveLength(inRange.length);
    expect(rows).toHaveLength(120);
    inRange.forEach((s, i) => {
      const row = rows[i]!;
      expect(row).toHaveLength(header.length);
      expect(row[0]).toBe(clock.iso(Date.parse(s.timestamp)));
      for (const k of SNAPSHOT_NUMERIC_FIELDS) expect(num(row[header.indexOf(k)]), k).toBe(s[k] ?? null);
      expect(row[header.indexOf('country')]).toBe(s.country ?? '');
    });
    expect(rows[0]![0]).toBe('2026-03-30T11:00:00+02:00');
    // Fields the simulated home never has are empty on every row.
    const ev = header.indexOf('ev_power_w');
    expect(inRange.every((s) => (s.ev_power_w ?? null) === null)).toBe(true);
    expect(rows.every((row) => row[ev] === '')).toBe(true);
  });

  it('gzip when asked for: the same bytes compressed', async () => {
    const q = '/api/v1/export/home-1?start=2026-03-29&end=2026-03-30&resolution=1min';
    const plain = await get(q);
    const gz = await get(q, TOKENS.home1, { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(plain.body);
    expect(csv(plain.body).rows).toHaveLength(23 * 60);
  });

  it('no data in the range: the header only (csv), no points (json)', async () => {
    const r = await get('/api/v1/export/home-1?start=2026-02-01&end=2026-02-02&resolution=hourly');
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe(`timestamp,${BUCKET_FIELDS.join(',')},samples\n`);
    const j = await get('/api/v1/export/home-1?start=2026-02-01&end=2026-02-02&resolution=hourly&format=json');
    expect(j.json().points).toEqual([]);
  });
});

describe('exportChunks', () => {
  it('reads page after page: every reading once, in order, whatever the page size', async () => {
    const q = {
      deviceId: 'home-1',
      resolution: 'raw' as const,
      start: Date.parse('2026-03-29T00:00:00Z'),
      end: Date.parse('2026-03-29T12:00:00Z'),
      format: 'csv' as const,
    };
    const pieces: string[] = [];
    for await (const piece of exportChunks({ store: seeded.store, clock, pageRows: 50 }, q)) pieces.push(piece);
    const whole: string[] = [];
    for await (const piece of exportChunks({ store: seeded.store, clock, pageRows: 100_000 }, q)) whole.push(piece);
    expect(whole).toHaveLength(1);
    // 12 h every 30 s = 1 440 readings, in 29 pages of at most 50.
    expect(pieces).toHaveLength(29);
    expect(pieces.join('')).toBe(whole.join(''));
    const { rows } = csv(whole.join(''));
    expect(rows.map((r) => r[0])).toEqual(
      seeded.snaps
        .filter((s) => s.timestamp >= '2026-03-29T00:00:00.000Z' && s.timestamp < '2026-03-29T12:00:00.000Z')
        .map((s) => clock.iso(Date.parse(s.timestamp))),
    );
  });

  it('buckets in slices: a week of minutes is read a day at a time, each bucket once', async () => {
    const q = {
      deviceId: 'home-1',
      resolution: '1min' as const,
      start: Date.parse('2026-03-27T00:00:00Z'),
      end: Date.parse('2026-04-01T00:00:00Z'),
      format: 'json' as const,
    };
    const pieces: string[] = [];
    for await (const piece of exportChunks({ store: seeded.store, clock }, q)) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(2);
    const doc = JSON.parse(pieces.join('')) as { points: Array<{ timestamp: string }> };
    const all = await seeded.store.buckets('home-1', '1min', new Date(q.start), new Date(q.end));
    expect(doc.points.map((p) => p.timestamp)).toEqual(all.map((b) => clock.iso(b.start.getTime())));
  });
});

describe('csvText', () => {
  it('quotes what must be quoted and defuses formulas', () => {
    expect(csvText('float')).toBe('float');
    expect(csvText('a,b')).toBe('"a,b"');
    expect(csvText('say "hi"')).toBe('"say ""hi"""');
    expect(csvText('two\nlines')).toBe('"two\nlines"');
    expect(csvText('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvText('+1')).toBe("'+1");
    expect(csvText('@SUM(A1)')).toBe("'@SUM(A1)");
  });
});
