import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseWithSchema } from '../../src/core/validate.js';
import { silentLogger } from '../../src/lib/log.js';
import { ServerApp } from '../../src/server/app.js';
import { ServerConfigSchema } from '../../src/server/config.js';

const TOKEN = 'alert-test-token-0123456789';
const ADMIN = 'alert-test-admin-0123456789';
let app: ServerApp;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-alert-'));
  app = new ServerApp({
    config: parseWithSchema(
      ServerConfigSchema,
      {
        store: { type: 'sqlite', path: join(dir, 's.sqlite') },
        broker: { enabled: true, port: 0 },
        api: {
          port: 0,
          tokens: [
            { name: 't', token: TOKEN, devices: ['home-a', 'home-b'] },
            { name: 'prometheus', token: ADMIN, devices: ['*'] },
          ],
        },
        devices: { 'home-a': {}, 'home-b': {} },
      },
      'test',
    ),
    log: silentLogger(),
  });
  await app.start();
});
afterAll(async () => {
  await app.stop();
});

function wsMessages(deviceId: string): {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  open: Promise<void>;
} {
  const ws = new WebSocket(`ws://127.0.0.1:${app.apiAddress?.port}/ws/v1/realtime/${deviceId}?token=${TOKEN}`);
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (m) => messages.push(JSON.parse(m.toString()) as Record<string, unknown>));
  return { ws, messages, open: new Promise((r) => ws.once('open', () => r())) };
}

describe('capacity alerts from the edge', () => {
  it('reach the WebSocket clients of that device only, as a typed message', async () => {
    const a = wsMessages('home-a');
    const b = wsMessages('home-b');
    await Promise.all([a.open, b.open]);
    // The edge of home-a (plain embedded broker: the username is the identity).
    const edge = await mqtt.connectAsync(app.brokerUrl ?? '', { username: 'home-a', clientId: 'edge-home-a' });
    const alert = {
      kind: 'alert',
      type: 'capacity_alert',
      quarter_start: '2026-11-23T09:00:00.000Z',
      projected_w: 6066.7,
      limit_w: 3000,
      headroom_w: -3200,
      reason: 'lead_time',
    };
    // Give the server's subscription a moment after its start, then publish until it arrives.
    for (let i = 0; i < 50 && !a.messages.some((m) => m.type === 'capacity_alert'); i++) {
      await edge.publishAsync('energy/home-a/capacity', JSON.stringify(alert), { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    const got = a.messages.find((m) => m.type === 'capacity_alert');
    expect(got).toMatchObject({
      type: 'capacity_alert',
      device_id: 'home-a',
      projected_w: 6066.7,
      limit_w: 3000,
      headroom_w: -3200,
    });
    expect(b.messages.some((m) => m.type === 'capacity_alert')).toBe(false);
    // A capacity report (not an alert) is not pushed as one.
    const before = a.messages.length;
    await edge.publishAsync('energy/home-a/capacity', JSON.stringify({ kind: 'report', grid_avg_15m_w: 800 }), {
      qos: 1,
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(a.messages.slice(before).some((m) => m.type === 'capacity_alert')).toBe(false);
    await edge.endAsync();
    a.ws.close();
    b.ws.close();
  });
});

describe('what the ingester refuses shows on /metrics', () => {
  it('an invalid status and a dead-letter flood over the rate limit are counted per device', async () => {
    const edge = await mqtt.connectAsync(app.brokerUrl ?? '', { username: 'home-b', clientId: 'edge-home-b' });
    await edge.publishAsync('energy/home-b/status', JSON.stringify({ state: 42 }), { qos: 1 });
    // The default burst is 20 dead letters a device; the rest are counted, not stored.
    for (let i = 0; i < 30; i++) await edge.publishAsync('energy/home-b/realtime', `garbage ${i}`, { qos: 1 });
    await edge.endAsync();
    const port = app.apiAddress?.port;
    let text = '';
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
      text = await res.text();
      if (/kwartier_ingest_dead_letters_dropped\{device_id="home-b"\} 10\b/.test(text)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).toMatch(/kwartier_ingest_dead_letters_dropped\{device_id="home-b"\} 10\b/);
    expect(text).toMatch(/^kwartier_ingest_side_invalid 1$/m);
    expect(text).toMatch(/^kwartier_ingest_retained_cleared 0$/m);
  });
});
