/**
 * The uplink's sending rules against the real Mosquitto (project config), observed by a subscriber
 * with the ingester's identity; the acknowledgements are published by the test itself as the server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checker, validationErrors } from '../../src/core/validate.js';
import {
  type BatchColumnsMessage,
  BatchColumnsMessageSchema,
  batchColumnsItems,
  CapacityMessageSchema,
  StatusMessageSchema,
} from '../../src/core/wire.js';
import { CapacityWatch } from '../../src/edge/capacity-watch.js';
import { Outbox } from '../../src/edge/outbox.js';
import { Uplink, type UplinkOptions } from '../../src/edge/uplink/index.js';
import { silentLogger } from '../../src/lib/log.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { makeSnapshot } from '../mqtt/gen.js';
import { waitFor } from '../mqtt/wait.js';

const DEVICE = 'home-up';
const gen = { deviceId: DEVICE, startMs: Date.parse('2026-03-09T10:00:00Z') };
let broker: Mosquitto;
let server: MqttClient;
const seen: Array<{ topic: string; body: Record<string, unknown>; bytes: number; retain: boolean }> = [];
const tmp = mkdtempSync(join(tmpdir(), 'kw-uplink-'));

function record(topic: string, p: Buffer, packet: { retain: boolean }): void {
  if (p.length === 0) return; // a cleared retained message
  seen.push({
    topic,
    body: JSON.parse(p.toString()) as Record<string, unknown>,
    bytes: p.length,
    retain: packet.retain,
  });
}
let n = 0;

beforeAll(async () => {
  broker = await Mosquitto.start({ devices: [DEVICE] });
  server = await mqtt.connectAsync(broker.url, { ...broker.clientOptions('kwartier-ingester'), reconnectPeriod: 0 });
  server.on('message', record);
  await server.subscribeAsync([`energy/${DEVICE}/+`], { qos: 1 });
});
afterAll(async () => {
  await server?.endAsync(true);
  await broker?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const running: Array<{ uplink: Uplink; outbox: Outbox }> = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.uplink.stop();
    r.outbox.stop();
  }
  // Clear the retained ack so tests do not see each other's.
  await server.publishAsync(`energy/${DEVICE}/ack`, '', { qos: 1, retain: true });
  seen.length = 0;
});

function setup(extra: Partial<UplinkOptions> = {}): { uplink: Uplink; outbox: Outbox } {
  const outbox = new Outbox({ path: join(tmp, `o${n++}.sqlite`), log: silentLogger(), now: () => gen.startMs });
  outbox.start();
  const f = broker.tlsFiles(DEVICE);
  const uplink = new Uplink({
    deviceId: DEVICE,
    outbox,
    mqtt: {
      host: '127.0.0.1',
      port: broker.port,
      tls: { ca_cert: f.ca, client_cert: f.cert, client_key: f.key },
      topic_prefix: 'energy',
      qos: 1,
    },
    log: silentLogger(),
    ...extra,
  });
  running.push({ uplink, outbox });
  return { uplink, outbox };
}

const ofTopic = (leaf: string) => seen.filter((m) => m.topic === `energy/${DEVICE}/${leaf}`);
/** A batch's snapshots (with seq), decoded from the compact form as the ingester does. */
const items = (m: { body: Record<string, unknown> }) =>
  batchColumnsItems(m.body as BatchColumnsMessage) as Array<Record<string, unknown> & { seq: number }>;

describe('Uplink', () => {
  it('sends a backlog in byte-bounded batches with outbox_id, floor_seq and every seq once', async () => {
    const { uplink, outbox } = setup({ batchMaxBytes: 64 * 1024, ackTimeoutMs: 60_000 });
    for (let i = 0; i < 500; i++) outbox.append(makeSnapshot(gen, i));
    await uplink.start();
    await waitFor(
      () => ofTopic('batch').reduce((k, m) => k + (m.body.rows as unknown[]).length, 0) === 500,
      'all 500 in batches',
    );
    const batches = ofTopic('batch');
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) {
      expect(b.bytes).toBeLessThanOrEqual(64 * 1024);
      expect(b.body).toMatchObject({ outbox_id: outbox.outboxId, floor_seq: 1, device_id: DEVICE });
      expect(checker(BatchColumnsMessageSchema).Check(b.body)).toBe(true);
    }
    const seqs = batches.flatMap((b) => items(b).map((s) => s.seq));
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    const first = items(batches[0]!)[0]!;
    const { seq, ...snap } = first;
    expect(seq).toBe(1);
    expect(snap).toEqual(makeSnapshot(gen, 0));
  });

  it('never runs more than the window ahead of the ack, sends new snapshots live meanwhile, and resumes on ack', async () => {
    const { uplink, outbox } = setup({ windowSeqs: 300, batchMaxSnapshots: 100, ackTimeoutMs: 60_000 });
    for (let i = 0; i < 1000; i++) outbox.append(makeSnapshot(gen, i));
    await uplink.start();
    await waitFor(() => uplink.stats.cursor === 301, 'the window to fill');
    await new Promise((r) => setTimeout(r, 300));
    expect(uplink.stats.cursor).toBe(301);
    expect(outbox.depth()).toBe(1000);
    // Live data goes out while the backlog waits.
    outbox.append(makeSnapshot(gen, 1000));
    await waitFor(() => ofTopic('realtime').length === 1, 'the live snapshot');
    expect(ofTopic('realtime')[0]!.body).toMatchObject({
      seq: 1001,
      outbox_id: outbox.outboxId,
      floor_seq: 1,
      timestamp: makeSnapshot(gen, 1000).timestamp,
    });
    // An ack for another outbox (an earlier installation) changes nothing.
    await server.publishAsync(`energy/${DEVICE}/ack`, JSON.stringify({ outbox_id: 'another-outbox-1234', seq: 900 }), {
      qos: 1,
      retain: true,
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(outbox.ackedSeq).toBe(0);
    // The server's ack moves the window and marks rows forwarded.
    await server.publishAsync(`energy/${DEVICE}/ack`, JSON.stringify({ outbox_id: outbox.outboxId, seq: 250 }), {
      qos: 1,
      retain: true,
    });
    await waitFor(() => uplink.stats.cursor === 551, 'the window to move');
    expect(outbox.ackedSeq).toBe(250);
    expect(outbox.depth()).toBe(751);
  });

  it('resends from ack+1 when the ack stalls, and after a reconnect', async () => {
    const { uplink, outbox } = setup({ ackTimeoutMs: 600, maxAckTimeoutMs: 600 });
    for (let i = 0; i < 50; i++) outbox.append(makeSnapshot(gen, i));
    await uplink.start();
    await waitFor(() => uplink.stats.cursor === 51, 'the first send');
    await server.publishAsync(`energy/${DEVICE}/ack`, JSON.stringify({ outbox_id: outbox.outboxId, seq: 20 }), {
      qos: 1,
      retain: true,
    });
    // Once the ack of 20 is in, the next resend starts at 21 (the stall timer may have fired before it).
    await waitFor(() => outbox.ackedSeq === 20, 'the ack of 20');
    const seen0 = ofTopic('batch').length;
    const firstSeq = (m: { body: Record<string, unknown> }) => items(m)[0]!.seq;
    await waitFor(
      () =>
        ofTopic('batch')
          .slice(seen0)
          .some((m) => firstSeq(m) === 21),
      'a resend from 21',
    );
    const from21 = ofTopic('batch').findIndex((m, i) => i >= seen0 && firstSeq(m) === 21);
    await new Promise((r) => setTimeout(r, 700)); // another stall period
    expect(
      ofTopic('batch')
        .slice(from21)
        .every((m) => firstSeq(m) === 21),
    ).toBe(true);
    await server.publishAsync(`energy/${DEVICE}/ack`, JSON.stringify({ outbox_id: outbox.outboxId, seq: 50 }), {
      qos: 1,
      retain: true,
    });
    await waitFor(() => outbox.depth() === 0, 'the ack');
    const resends = uplink.stats.resends;
    await new Promise((r) => setTimeout(r, 1500));
    expect(uplink.stats.resends).toBe(resends); // nothing outstanding: no more resends

    // Broker restart: the uplink reconnects, learns the retained ack (if kept) and sends only what is new.
    for (let i = 50; i < 60; i++) outbox.append(makeSnapshot(gen, i));
    await broker.stop();
    await broker.restart();
    await waitFor(() => uplink.stats.connects >= 2, 'the reconnect', 20_000);
    await server.endAsync(true);
    server = await mqtt.connectAsync(broker.url, { ...broker.clientOptions('kwartier-ingester'), reconnectPeriod: 0 });
    server.on('message', record);
    await server.subscribeAsync([`energy/${DEVICE}/+`], { qos: 1 });
    await server.publishAsync(`energy/${DEVICE}/ack`, JSON.stringify({ outbox_id: outbox.outboxId, seq: 60 }), {
      qos: 1,
      retain: true,
    });
    await waitFor(() => outbox.depth() === 0 && outbox.ackedSeq === 60, 'rows 51..60 acknowledged');
  });

  it('publishes status online (retained) and, when the edge dies, the last will says offline', async () => {
    const outboxPath = join(tmp, 'will.sqlite');
    const f = broker.tlsFiles(DEVICE);
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../mqtt/edge-entry.ts', import.meta.url))],
      {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env: {
          ...process.env,
          KWARTIER_LOG_LEVEL: 'silent',
          KW_EDGE: JSON.stringify({
            outboxPath,
            deviceId: DEVICE,
            startMs: gen.startMs,
            total: 5,
            intervalMs: 10,
            mqtt: {
              host: '127.0.0.1',
              port: broker.port,
              tls: { ca_cert: f.ca, client_cert: f.cert, client_key: f.key },
              topic_prefix: 'energy',
              qos: 1,
            },
          }),
        },
        stdio: 'ignore',
      },
    );
    await waitFor(() => ofTopic('status').some((m) => m.body.state === 'online'), 'online status', 20_000);
    expect(ofTopic('status').find((m) => m.body.state === 'online')!.body).toMatchObject({
      device_id: DEVICE,
      outbox_id: expect.any(String),
    });
    // What the server checks (core/wire.ts): the edge's own status matches it.
    for (const m of ofTopic('status')) expect(validationErrors(StatusMessageSchema, m.body)).toEqual([]);
    child.kill('SIGKILL');
    await waitFor(() => ofTopic('status').some((m) => m.body.state === 'offline'), 'the last will', 20_000);
    for (const m of ofTopic('status')) expect(validationErrors(StatusMessageSchema, m.body)).toEqual([]);
    expect(ofTopic('status').find((m) => m.body.state === 'offline')!.body).toMatchObject({
      device_id: DEVICE,
      state: 'offline',
      buffer_depth: null,
    });
    // Retained: a later subscription learns the device is offline. (The observer subscribes again:
    // a second client of the ingester's identity would take over its session, client id = identity.)
    const got: string[] = [];
    const onRetained = (t: string, p: Buffer, packet: { retain: boolean }): void => {
      if (t === `energy/${DEVICE}/status` && packet.retain && p.length > 0) got.push(p.toString());
    };
    server.on('message', onRetained);
    await server.subscribeAsync(`energy/${DEVICE}/status`, { qos: 1 });
    await waitFor(() => got.length > 0, 'the retained status');
    server.off('message', onRetained);
    expect(JSON.parse(got[0]!)).toMatchObject({ state: 'offline' });
    await server.unsubscribeAsync(`energy/${DEVICE}/status`);
    await server.publishAsync(`energy/${DEVICE}/status`, '', { qos: 1, retain: true });
  });

  it('publishes status and capacity (report and alert) that match the schemas the server checks', async () => {
    const { uplink, outbox } = setup({
      sources: () => ({
        dsmr: { state: 'connected', last_reading_at: '2026-03-09T10:00:00.000Z', stale: false, readings: 3 },
        sungrow: {
          state: 'error',
          detail: 'ECONNREFUSED 127.0.0.1:502',
          last_reading_at: null,
          stale: true,
          readings: 0,
        },
      }),
    });
    await uplink.start();
    await waitFor(() => uplink.connected, 'connected');
    // The capacity fields come from the newest snapshot; the alert from a real capacity watch.
    const watch = new CapacityWatch({ timezone: 'Europe/Brussels' });
    const q = Date.parse('2026-11-23T09:00:00Z');
    let alert = null;
    for (let t = q - 10_000; t < q + 900_000 && !alert; t += 10_000) {
      const snap = { ...makeSnapshot(gen, 0), timestamp: new Date(t).toISOString() };
      snap.grid_import_t1_kwh = 1000 + (6000 * (t - q)) / 3.6e9;
      snap.grid_import_t2_kwh = 0;
      snap.grid_power_w = 6000;
      snap.grid_monthly_peak_w = 3000;
      alert = watch.update(snap);
      outbox.append(snap);
    }
    expect(alert).not.toBeNull();
    expect(await uplink.publishStatus()).toBe(true);
    expect(await uplink.publishCapacity()).toBe(true);
    expect(await uplink.publishCapacity({ kind: 'alert', ...alert! })).toBe(true);
    await waitFor(() => ofTopic('capacity').length >= 2 && ofTopic('status').length >= 1, 'status and capacity');
    const capacity = ofTopic('capacity').map((m) => m.body);
    expect(capacity.map((c) => c.kind)).toEqual(['report', 'alert']);
    for (const c of capacity) expect(validationErrors(CapacityMessageSchema, c)).toEqual([]);
    for (const m of ofTopic('status')) expect(validationErrors(StatusMessageSchema, m.body)).toEqual([]);
    expect(ofTopic('status')[0]?.body.sources).toMatchObject({ sungrow: { state: 'error', stale: true } });
  });
});
