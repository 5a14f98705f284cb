/**
 * `kwartier server replay-dead-letters` through the real CLI (issue 14): dead letters written by a
 * server that could not take them (an unknown field from a newer edge, a timestamp outside the
 * window it had then) are re-run through the ingester's checks once the cause is fixed; what now
 * passes is stored and its letter deleted, the rest stays, counted by reason. Exit 0 done, 1
 * runtime, 2 usage/config.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchColumnsHead, batchColumnsRow } from '../../src/core/wire.js';
import { silentLogger } from '../../src/lib/log.js';
import { createSqliteStore } from '../../src/server/store/sqlite.js';
import type { Store } from '../../src/server/store/types.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { makeSnapshot } from '../mqtt/gen.js';

const OUTBOX = 'c0ffee00-0000-4000-8000-0000000000d1';
const START = Date.parse('2026-03-09T10:00:00Z');
const gen = (deviceId: string, startMs = START) => ({ deviceId, startMs });

let tmp: string;
let dbPath: string;
let store: Store;
const config = (extra = ''): string => {
  const p = join(tmp, `server-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, `timezone: Europe/Brussels\nstore:\n  type: sqlite\n  path: ${dbPath}\n${extra}`);
  return p;
};
const realtime = (s: object, seq: number): string => JSON.stringify({ ...s, seq, outbox_id: OUTBOX, floor_seq: 1 });

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'kw-replay-'));
  dbPath = join(tmp, 'kw.sqlite');
  store = createSqliteStore(dbPath, { timezone: 'Europe/Brussels', logger: silentLogger() });
  await store.migrate();
  const letter = (topic: string, deviceId: string | null, reason: string, payload: string) =>
    store.addDeadLetter({ topic, deviceId, reason, payload });
  // What a release server refused from a newer edge: an unknown key (realtime) and unknown batch fields.
  await letter(
    'energy/home-a/realtime',
    'home-a',
    'schema: surprise: unknown key',
    realtime({ ...makeSnapshot(gen('home-a'), 0), surprise: 1, ev_power_w: 3700 }, 1),
  );
  const head = batchColumnsHead(OUTBOX, 1, 'home-a');
  const rows = [1, 2].map((i) => batchColumnsRow(makeSnapshot(gen('home-a'), i), i + 1));
  await letter('energy/home-a/batch', 'home-a', 'schema: fields/2: …', `${head}${rows.join(',')}]}`);
  // Refused by a time window since widened (ingest.max_past_days).
  const old = makeSnapshot(gen('home-b', Date.parse('2010-06-01T12:00:00Z')), 0);
  await letter('energy/home-b/realtime', 'home-b', 'timestamp: … more than 3650 days before', realtime(old, 1));
  // Still failing: a truncated payload, a topic that is no data topic, a bad known value.
  await letter('energy/home-a/realtime', 'home-a', 'not JSON: …', '{"device_id":"home-a","timest');
  await letter('energy/x', null, 'unexpected topic energy/x', '{}');
  await letter(
    'energy/home-b/realtime',
    'home-b',
    'schema: grid_power_w: expected union value',
    realtime({ ...makeSnapshot(gen('home-b'), 5), grid_power_w: 'lots' }, 6),
  );
  // One snapshot of the batch is already stored (the edge sent it again later): counted, not doubled.
  await store.insert({
    deviceId: 'home-a',
    outboxId: OUTBOX,
    floorSeq: 1,
    readings: [{ snapshot: makeSnapshot(gen('home-a'), 2), seq: 3 }],
  });
}, 30_000);

afterAll(async () => {
  await store?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('kwartier server replay-dead-letters', () => {
  it('--dry-run counts what would pass and changes nothing', async () => {
    const r = await runCli([
      'server',
      'replay-dead-letters',
      '--config',
      config('ingest:\n  max_past_days: 36500\n'),
      '--dry-run',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dead letters examined: 6\n');
    expect(r.stdout).toContain('would be replayed: 3 (4 snapshots; dry run: nothing stored or deleted)\n');
    expect(r.stdout).toContain('still failing: 3\n');
    expect(await store.deadLetterCount()).toBe(6);
    expect(await store.raw('home-b', new Date(0), new Date('2100-01-01'))).toEqual([]);
  });

  it('--device and --since choose the letters', async () => {
    const future = await runCli([
      'server',
      'replay-dead-letters',
      '--config',
      config(),
      '--since',
      '2999-01-01T00:00:00Z',
    ]);
    expect(future.code).toBe(0);
    expect(future.stdout).toContain('dead letters examined: 0\n');
    // home-b under the default window: its 2010 snapshot is still outside it, and the bad value stays bad.
    const r = await runCli(['server', 'replay-dead-letters', '--config', config(), '--device', 'home-b']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dead letters examined: 2\n');
    expect(r.stdout).toContain('replayed: 0 ');
    expect(r.stdout).toMatch(/ {2}1 × timestamp: .* more than 3650 days before the server's clock/);
    expect(r.stdout).toMatch(/ {2}1 × schema: grid_power_w/);
    expect(await store.deadLetterCount()).toBe(6);
  });

  it('stores what now passes, deletes those letters, keeps and counts the rest; a second run finds nothing new', async () => {
    const cfg = config('ingest:\n  max_past_days: 36500\n');
    const r = await runCli(['server', 'replay-dead-letters', '--config', cfg]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'dead letters examined: 6',
      'replayed: 3 (3 snapshots stored, 1 already stored; the letters deleted)',
      'still failing: 3',
      expect.stringMatching(/^ {2}1 × not JSON: Unterminated string in JSON/), // Node's wording
      '  1 × schema: grid_power_w: expected union value',
      '  1 × unexpected topic energy/x',
      '',
    ]);
    const a = await store.raw('home-a', new Date(0), new Date('2100-01-01'));
    expect(a.map((s) => s.timestamp)).toEqual([0, 1, 2].map((i) => new Date(START + i * 1000).toISOString()));
    expect(a[0]?.ev_power_w).toBe(3700);
    expect(await store.raw('home-b', new Date(0), new Date('2100-01-01'))).toHaveLength(1);
    expect(await store.ackedSeq('home-a', OUTBOX)).toBe(3);
    expect((await store.deadLetters({ limit: 10 })).map((l) => l.topic)).toEqual([
      'energy/home-a/realtime',
      'energy/x',
      'energy/home-b/realtime',
    ]);
    const again = await runCli(['server', 'replay-dead-letters', '--config', cfg]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('dead letters examined: 3\nreplayed: 0 ');
  });

  it('usage and configuration errors exit 2, an unreachable database 1, each with one line', async () => {
    const noConfig = await runCli(['server', 'replay-dead-letters']);
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toContain('--config FILE is required');
    const since = await runCli(['server', 'replay-dead-letters', '--config', config(), '--since', 'yesterday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain("--since: 'yesterday' is not an ISO 8601 date-time");
    const flag = await runCli(['server', 'replay-dead-letters', '--config', config(), '--everything']);
    expect(flag.code).toBe(2);
    const bad = await runCli(['server', 'replay-dead-letters', '--config', config('ingest:\n  surprise: 1\n')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ingest.surprise: unknown key');
    const port = await freePort();
    const pgCfg = join(tmp, 'pg.yaml');
    writeFileSync(pgCfg, `store:\n  type: postgres\n  url: postgres://postgres@127.0.0.1:${port}/test\n`);
    const down = await runCli(['server', 'replay-dead-letters', '--config', pgCfg]);
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toContain(`store.url: postgres://postgres@127.0.0.1:${port}/test: cannot connect`);
    const help = await runCli(['server', 'replay-dead-letters', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--dry-run');
  });
});
