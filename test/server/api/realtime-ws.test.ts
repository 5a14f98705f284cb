/**
 * The WebSocket pushes what the ingester commits (its 'snapshot' events), first the latest stored
 * snapshot; slow clients lose messages (counted) instead of growing a queue; /metrics shows it all.
 */
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Snapshot } from '../../../src/core/snapshot.js';
import { HomeModel } from '../../../src/drivers/sim/home-model.js';
import { snapshotFromState } from '../../helpers/snapshots.js';
import { auth, NOW, type Seeded, seededStore, type TestEvents, TOKENS, testApi } from './setup.js';

let seeded: Seeded;
let app: FastifyInstance | null = null;
let events: TestEvents;

beforeAll(async () => {
  seeded = await seededStore();
});

afterEach(async () => {
  await app?.close();
  app = null;
});

afterAll(async () => {
  await seeded?.cleanup();
});

async function listen(over: Parameters<typeof testApi>[1] = {}): Promise<string> {
  ({ app, events } = await testApi(seeded.store, over));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr !== 'object') throw new Error('not listening');
  return `ws://127.0.0.1:${addr.port}`;
}

/** A client collecting messages; `next(n)` waits until n messages have arrived. */
function client(url: string) {
  const ws = new WebSocket(url);
  const messages: Record<string, unknown>[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (d) => {
    messages.push(JSON.parse(d.toString()) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = (n: number, timeoutMs = 5_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${n} messages`)), timeoutMs);
      const check = (): void => {
        if (messages.length >= n) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return { ws, messages, opened, next };
}

/** New snapshots of home-1 continuing after the stored data (as the ingester would emit them). */
function laterSnapshots(n: number): Snapshot[] {
  const model = new HomeModel({ start: NOW, seed: 7 });
  const out: Snapshot[] = [];
  for (let i = 1; i <= n; i++) out.push(snapshotFromState('home-1', model.advanceTo(NOW + i * 1000)));
  return out;
}

describe('WS /ws/v1/realtime/{device_id}', () => {
  it('sends the latest snapshot on connect, then each snapshot emitted on the events, in order', async () => {
    const base = await listen();
    const c = client(`${base}/ws/v1/realtime/home-1?token=${TOKENS.home1}`);
    await c.opened;
    await c.next(1);
    expect(c.messages[0]!.timestamp).toBe('2026-03-30T12:07:00+02:00');
    expect(c.messages[0]!.age_s).toBe(30);

    const later = laterSnapshots(3);
    for (const s of later) events.emit('snapshot', s);
    // Another device's snapshot is not sent to this client; an older (replayed) one is not either.
    events.emit('snapshot', { ...later[0]!, device_id: 'home-2' });
    events.emit('snapshot', { ...seeded.snaps[10]! });
    await c.next(4);
    expect(c.messages.slice(1).map((m) => m.timestamp)).toEqual([
      '2026-03-30T12:07:31+02:00',
      '2026-03-30T12:07:32+02:00',
      '2026-03-30T12:07:33+02:00',
    ]);
    expect(c.messages[3]!.grid_power_w).toBe(later[2]!.grid_power_w);
    expect(c.messages[3]!.device_id).toBe('home-1');
    // Give a wrongly routed message the chance to arrive, then check nothing else came.
    const probe = client(`${base}/ws/v1/realtime/home-1?token=${TOKENS.home1}`);
    await probe.next(1);
    expect(c.messages).toHaveLength(4);
    c.ws.close();
    probe.ws.close();
  });

  it('a slow client loses messages beyond its send buffer, and they are counted', async () => {
    const registry = new Registry();
    // A buffer smaller than one message: every message after the connect is dropped.
    const base = await listen({ ws: { maxBufferedBytes: 100 }, metrics: { registry } });
    const h = new WebSocket(`${base}/ws/v1/realtime/home-1`, { headers: auth(TOKENS.home1) });
    let received = 0;
    h.on('message', () => received++);
    await new Promise((r) => h.once('open', r));
    for (const s of laterSnapshots(5)) events.emit('snapshot', s);
    // The latest on connect and the 5 pushed: all 6 dropped (polled until counted, no timing assumed).
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = (await app!.inject({ url: '/metrics', headers: auth(TOKENS.admin) })).body;
      if (/kwartier_ws_dropped_messages_total\{device_id="home-1"\} 6$/m.test(text)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(text).toMatch(/^kwartier_ws_dropped_messages_total\{device_id="home-1"\} 6$/m);
    expect(text).toMatch(/^kwartier_ws_clients 1$/m);
    expect(received).toBe(0);
    h.close();
  });

  it('/metrics: ingest rate, lag, dead letters, buffer depth, HTTP latency per route', async () => {
    const registry = new Registry();
    let now = NOW;
    ({ app, events } = await testApi(seeded.store, {
      now: () => now,
      metrics: { registry, bufferDepth: () => ({ 'home-1': 42 }) },
    }));
    await seeded.store.addDeadLetter({ topic: 'energy/x/realtime', deviceId: null, reason: 'not JSON', payload: '{' });
    const later = laterSnapshots(2);
    now = Date.parse(later[1]!.timestamp) + 1500;
    for (const s of later) events.emit('snapshot', s);
    await app.inject({ url: '/api/v1/realtime/home-1', headers: auth(TOKENS.admin) });
    const r = await app.inject({ url: '/metrics', headers: auth(TOKENS.admin) });
    const text = r.body;
    for (const family of [
      'kwartier_ingest_snapshots_total',
      'kwartier_ingest_rate_per_second',
      'kwartier_ingest_lag_seconds',
      'kwartier_dead_letters',
      'kwartier_edge_buffer_depth',
      'kwartier_http_request_duration_seconds',
      'kwartier_ws_clients',
      'kwartier_ws_dropped_messages_total',
    ]) {
      expect(text).toContain(`# TYPE ${family} `);
    }
    expect(text).toMatch(/^kwartier_ingest_snapshots_total 2$/m);
    expect(text).toMatch(/^kwartier_ingest_lag_seconds\{device_id="home-1"\} 1.5$/m);
    expect(text).toMatch(/^kwartier_dead_letters 1$/m);
    expect(text).toMatch(/^kwartier_edge_buffer_depth\{device_id="home-1"\} 42$/m);
    expect(text).toMatch(
      /^kwartier_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/realtime\/:device_id",status_code="200"\} 1$/m,
    );
  });
});
