/**
 * `kwartier export` through the real CLI (a child process): it reads the store a server config names
 * and writes what GET /api/v1/export answers for the same query, byte for byte, and beyond the API's
 * ranges. Exit 0 done, 2 on a usage or configuration error naming the flag.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { auth, type Seeded, seededStore, TOKENS, testApi } from '../server/api/setup.js';

let seeded: Seeded;
let app: FastifyInstance;
let config: string;

beforeAll(async () => {
  seeded = await seededStore();
  ({ app } = await testApi(seeded.store));
  config = join(seeded.dir, 'server.yaml');
  writeFileSync(config, `timezone: Europe/Brussels\nstore:\n  type: sqlite\n  path: ${join(seeded.dir, 'store.db')}\n`);
}, 60_000);
afterAll(async () => {
  await app?.close();
  await seeded?.cleanup();
});

const exportCli = (...args: string[]) => runCli(['export', '--config', config, '--device', 'home-1', ...args]);

async function viaApi(query: string): Promise<string> {
  const r = await app.inject({ url: `/api/v1/export/home-1?${query}`, headers: auth(TOKENS.home1) });
  expect(r.statusCode, r.body).toBe(200);
  return r.body;
}

describe('kwartier export', () => {
  it('csv: the same text as the API, for the DST weekend at 15 minutes', async () => {
    const r = await exportCli(
      '--start',
      '2026-03-28',
      '--end',
      '2026-03-30',
      '--resolution',
      '15min',
      '--format',
      'csv',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(await viaApi('start=2026-03-28&end=2026-03-30&resolution=15min&format=csv'));
    const lines = r.stdout.trimEnd().split('\n');
    // A header and 24 + 23 hours of quarters.
    expect(lines).toHaveLength(1 + (24 + 23) * 4);
    expect(lines[1]!.startsWith('2026-03-28T00:00:00+01:00,')).toBe(true);
    expect(lines.at(-1)!.startsWith('2026-03-29T23:45:00+02:00,')).toBe(true);
  });

  it('json and the defaults (15min, csv)', async () => {
    const j = await exportCli(
      '--start',
      '2026-03-29',
      '--end',
      '2026-03-30',
      '--resolution',
      'daily',
      '--format',
      'json',
    );
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual(
      JSON.parse(await viaApi('start=2026-03-29&end=2026-03-30&resolution=daily&format=json')),
    );
    const d = await exportCli('--start', '2026-03-29T00:00:00+01:00', '--end', '2026-03-29T03:00:00+02:00');
    expect(d.code).toBe(0);
    expect(d.stdout).toBe(await viaApi('start=2026-03-29&end=2026-03-29T01:00:00Z'));
    expect(d.stdout.trimEnd().split('\n')).toHaveLength(1 + 8);
  });

  it('beyond the API’s ranges: three hours of raw readings, each once, in order', async () => {
    const r = await exportCli(
      '--start',
      '2026-03-30T06:00:00Z',
      '--end',
      '2026-03-30T09:00:00Z',
      '--resolution',
      'raw',
    );
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    const hours = await Promise.all(
      ['06', '07', '08'].map((h) =>
        viaApi(
          `start=2026-03-30T${h}:00:00Z&end=2026-03-30T${String(Number(h) + 1).padStart(2, '0')}:00:00Z&resolution=raw`,
        ),
      ),
    );
    expect(header).toBe(hours[0]!.split('\n')[0]);
    expect(rows).toEqual(hours.flatMap((h) => h.trimEnd().split('\n').slice(1)));
    expect(rows).toHaveLength(3 * 120);
  });

  it('a usage error names the flag and exits 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['--start', 'yesterday', '--end', '2026-03-30'],
        /^kwartier export: --start: must be an ISO 8601 date-time or YYYY-MM-DD/,
      ],
      [['--start', '2026-03-29'], /^kwartier export: --end is required/],
      [['--start', '2026-03-30', '--end', '2026-03-29'], /^kwartier export: --end: must be later than --start/],
      [
        ['--start', '2026-03-29', '--end', '2026-03-30', '--format', 'xlsx'],
        /--format: must be one of csv, json, got 'xlsx'/,
      ],
      [
        ['--start', '2026-03-29', '--end', '2026-03-30', '--resolution', '5min'],
        /--resolution: must be one of raw, 1min/,
      ],
    ];
    for (const [args, re] of cases) {
      const r = await exportCli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
    const unknown = await runCli([
      'export',
      '--config',
      config,
      '--device',
      'nobody',
      '--start',
      '2026-03-29',
      '--end',
      '2026-03-30',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--device: the store holds no data of 'nobody'/);
    const noConfig = await runCli(['export', '--device', 'home-1', '--start', '2026-03-29', '--end', '2026-03-30']);
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toMatch(/--config FILE is required/);
  });

  it('--help', async () => {
    const r = await runCli(['export', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kwartier export --config FILE --device ID --start TIME --end TIME/);
  });
});
