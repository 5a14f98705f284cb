/**
 * The server's bus (src/server/bus.ts): what the ingester commits and what the edges say reach the
 * WebSocket, the metrics and the answer cache; a consumer that throws or rejects is logged once per kind
 * of error with its name and the others go on. The real server (embedded broker, SQLite, Fastify)
 * with an edge speaking MQTT on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseWithSchema } from '../../src/core/validate.js';
import { ServerApp } from '../../src/server/app.js';
import { ServerConfigSchema } from '../../src/server/config.js';
import { captureLogger } from '../helpers/log.js';
import { makeSnapshot } from '../mqtt/gen.js';
import { waitFor } from '../mqtt/wait.js';

const TOKEN = 'bus-test-token-0123456789abcdef';
const DEVICE = 'bus-home';
const OUTBOX = 'c0ffee00-0000-4000-8000-0000000000d1';
const gen = { deviceId: DEVICE, startMs: Date.parse('2026-03-09T10:00:00Z') };
const dir = mkdtempSync(join(tmpdir(), 'kw-server-bus-'));
const { log, lines } = captureLogger('warn');
let app: ServerApp;

beforeAll(async () => {
  app = new ServerApp({
    config: parseWithSchema(
      ServerConfigSchema,
      {
        store: { type: 'sqlite', path: join(dir, 's.sqlite') },
        broker: { enabled: true, port: 0 },
        api: { port: 0, tokens: [{ name: 't', token: TOKEN, devices: ['*'] }] },
        devices: { [DEVICE]: {} },
      },
      'test',
    ),
    log,
    ingestOptions: { flushIntervalMs: 20 },
  });
  // Before the API's own consumers: they come after these in every publish.
  for (const event of ['committed', 'status', 'capacity'] as const) {
    app.bus.subscribe('broken', event, () => {
      throw new Error('broken consumer');
    });
    app.bus.subscribe('broken-async', event, async () => {
      throw new Error('exporter unreachable');
    });
  }
  await app.start();
});
afterAll(async () => {
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('server bus', () => {
  it('a throwing consumer stops neither the WebSocket, nor the metrics, nor the capacity alerts', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${app.apiAddress?.port}/ws/v1/realtime/${DEVICE}?token=${TOKEN}`);
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (m) => messages.push(JSON.parse(m.toString()) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    const edge = await mqtt.connectAsync(app.brokerUrl ?? '', { username: DEVICE, reconnectPeriod: 0 });
    const committed: number[] = [];
    app.bus.subscribe('test', 'committed', (e) => void committed.push(e.seq));
    const N = 20;
    // The ingester's subscription may follow its start by a moment: resend until the first is committed.
    for (let i = 0; i < 50 && committed.length === 0; i++) {
      const msg = { ...makeSnapshot(gen, 0), seq: 1, outbox_id: OUTBOX, floor_seq: 1 };
      await edge.publishAsync(`energy/${DEVICE}/realtime`, JSON.stringify(msg), { qos: 1 });
      await waitFor(() => committed.length > 0, 'the first commit', 200).catch(() => undefined);
    }
    for (let i = 1; i < N; i++) {
      const msg = { ...makeSnapshot(gen, i), seq: i + 1, outbox_id: OUTBOX, floor_seq: 1 };
      await edge.publishAsync(`energy/${DEVICE}/realtime`, JSON.stringify(msg), { qos: 1 });
    }
    await edge.publishAsync(
      `energy/${DEVICE}/status`,
      JSON.stringify({
        device_id: DEVICE,
        timestamp: '2026-03-09T10:01:00.000Z',
        state: 'online',
        buffer_depth: 17,
        outbox_id: OUTBOX,
        acked_seq: N,
        evicted: 0,
        sources: {},
      }),
      { qos: 1 },
    );
    await edge.publishAsync(
      `energy/${DEVICE}/capacity`,
      JSON.stringify({
        kind: 'alert',
        type: 'capacity_alert',
        quarter_start: '2026-03-09T10:00:00.000Z',
        projected_w: 4100,
        limit_w: 3000,
        reason: 'lead_time',
      }),
      { qos: 1 },
    );
    await waitFor(() => messages.some((m) => m.type === 'capacity_alert'), 'the capacity alert on the WebSocket');
    await waitFor(() => new Set(committed).size === N, 'every snapshot committed');
    // Every committed snapshot reached the WebSocket (the first one perhaps also as the latest on connect).
    const pushed = () =>
      new Set(messages.filter((m) => m.type !== 'capacity_alert').map((m) => Date.parse(String(m.timestamp))));
    await waitFor(() => pushed().size === N, 'every snapshot on the WebSocket');
    for (let i = 0; i < N; i++) expect(pushed().has(Date.parse(makeSnapshot(gen, i).timestamp))).toBe(true);
    const metrics = await fetch(`http://127.0.0.1:${app.apiAddress?.port}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    }).then((r) => r.text());
    expect(metrics).toContain(`kwartier_edge_buffer_depth{device_id="${DEVICE}"} 17`);
    expect(metrics).toMatch(new RegExp(`kwartier_ingest_snapshots_total ${committed.length}\\b`));
    // Counted each time, logged once per consumer, event and kind of error.
    const errors = app.bus.errors();
    expect(errors.broken).toBe(committed.length + 2);
    expect(errors['broken-async']).toBe(committed.length + 2);
    const logged = lines.filter((l) => typeof l.consumer === 'string').map((l) => `${l.consumer}/${l.event}`);
    expect(logged.sort()).toEqual([
      'broken-async/capacity',
      'broken-async/committed',
      'broken-async/status',
      'broken/capacity',
      'broken/committed',
      'broken/status',
    ]);
    expect(app.bus.consumers().committed?.slice(2, 6)).toEqual(['known-devices', 'cache', 'metrics', 'ws']);
    ws.close();
    await edge.endAsync();
  });
});
