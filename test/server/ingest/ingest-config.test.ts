/**
 * The `ingest:` config section: its defaults, its errors by key, and ServerApp passing it to the
 * ingester (time window, dead-letter limits) and the store (counter limits).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import { silentLogger } from '../../../src/lib/log.js';
import { ServerApp } from '../../../src/server/app.js';
import { loadServerConfig, ServerConfigSchema } from '../../../src/server/config.js';
import { makeSnapshot } from '../../mqtt/gen.js';
import { waitFor } from '../../mqtt/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-ingest-config-'));
const TOKEN = 'ingest-config-token-0123456789';
const OUTBOX = 'c0ffee00-0000-4000-8000-0000000000c0';

describe('ingest config', () => {
  it('has defaults, and names a bad key by its path', () => {
    const path = join(dir, 'a.yaml');
    writeFileSync(path, `store: {type: sqlite, path: ${join(dir, 'a.sqlite')}}\n`);
    expect(loadServerConfig(path).ingest).toEqual({
      max_past_days: 3650,
      max_future_s: 86_400,
      max_power_w: 100_000,
      counter_slack_s: 60,
      dead_letter_burst: 20,
      dead_letters_per_minute: 6,
    });
    writeFileSync(path, `store: {type: sqlite, path: x.sqlite}\ningest: {max_future_s: -1, surprise: 1}\n`);
    expect(() => loadServerConfig(path)).toThrow(/ingest\.surprise: unknown key; ingest\.max_future_s: must be >= 0/);
  });
});

describe('ServerApp passes ingest: on', () => {
  let app: ServerApp;
  beforeAll(async () => {
    app = new ServerApp({
      config: parseWithSchema(
        ServerConfigSchema,
        {
          store: { type: 'sqlite', path: join(dir, 's.sqlite') },
          broker: { enabled: true, port: 0 },
          api: { port: 0, tokens: [{ name: 't', token: TOKEN, devices: ['*'] }] },
          ingest: { max_future_s: 60, max_power_w: 5000, dead_letter_burst: 2, dead_letters_per_minute: 0 },
        },
        'test',
      ),
      log: silentLogger(),
      ingestOptions: { flushIntervalMs: 20 },
    });
    await app.start();
  });
  afterAll(async () => {
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a snapshot 10 minutes ahead, limits dead letters, and keeps a 60 kW step out of the buckets', async () => {
    const edge = await mqtt.connectAsync(app.brokerUrl ?? '', { username: 'home-c', reconnectPeriod: 0 });
    const now = Date.now();
    const at = (t: number, seq: number, importKwh: number) =>
      JSON.stringify({
        ...makeSnapshot({ deviceId: 'home-c', startMs: t }, 0),
        grid_import_t1_kwh: importKwh,
        seq,
        outbox_id: OUTBOX,
        floor_seq: 1,
      });
    // 10 minutes ahead: refused with max_future_s 60 (the default 86 400 would take it).
    await edge.publishAsync('energy/home-c/realtime', at(now + 600_000, 1, 1000), { qos: 1 });
    // Two readings a minute apart, 1 kWh more (60 kW): over 5 kW × (60 s + 60 s slack).
    await edge.publishAsync('energy/home-c/realtime', at(now - 120_000, 2, 1000), { qos: 1 });
    await edge.publishAsync('energy/home-c/realtime', at(now - 60_000, 3, 1001), { qos: 1 });
    for (let i = 0; i < 3; i++) await edge.publishAsync('energy/home-c/realtime', '{"oops"', { qos: 1 });
    await waitFor(async () => (await app.store.ackedSeq('home-c', OUTBOX)) === 3, 'all three seqs acknowledged');
    await waitFor(() => app.ingester?.counters.dead_letters === 4, 'four dead letters');
    expect(app.ingester?.counters.dead_letters_dropped).toBe(2);
    await waitFor(async () => (await app.store.deadLetterCount()) === 2, 'two stored');
    const res = await fetch(`http://127.0.0.1:${app.apiAddress?.port}/api/v1/realtime/home-c`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const body = (await res.json()) as { timestamp: string };
    expect(Date.parse(body.timestamp)).toBe(now - 60_000);
    const buckets = await app.store.buckets('home-c', 'hourly', new Date(now - 7_200_000), new Date(now + 3_600_000));
    expect(buckets.reduce((s, b) => s + (b.import_t1_kwh ?? 0), 0)).toBe(0);
    await edge.endAsync();
  });
});
