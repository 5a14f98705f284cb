/**
 * Acks after a lost connection. The ingester's acks are retained QoS 0 watermarks: one lost with
 * the connection is superseded by the next commit's, and the edge resends what stays unacknowledged.
 * At QoS 1 mqtt.js kept each until its PUBACK and, after a reconnect, re-sent them one at a time
 * (each waiting for its PUBACK behind the broker's queue) before any newer ack: stale acks first,
 * and with thousands of homes an ingester that fell further behind at every reconnect.
 */
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngester, type Ingester } from '../../../src/server/ingest/ingester.js';
import { Mosquitto } from '../../helpers/mosquitto.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import { makeSnapshot } from '../../mqtt/gen.js';
import { makeStore, type TestStore } from '../../mqtt/stores.js';
import { waitFor } from '../../mqtt/wait.js';

const DEVICE = 'home-reconnect';
const OUTBOX = 'reconnect-outbox-1';
const gen = { deviceId: DEVICE, startMs: Date.now() - 120_000 };
let broker: Mosquitto;
let proxy: TcpProxy;
let ts: TestStore;
let ingester: Ingester;

beforeAll(async () => {
  broker = await Mosquitto.start({ tls: false, devices: [DEVICE] });
  proxy = await TcpProxy.start(broker.port);
  ts = await makeStore('sqlite');
  ingester = createIngester({
    mqttUrl: `mqtt://127.0.0.1:${proxy.port}`,
    ...broker.clientOptions('kwartier-ingester'),
    clientId: 'kwartier-ingester',
    prefix: 'energy',
    store: ts.store,
    log: pino({ level: 'silent' }),
    flushIntervalMs: 10,
    keepaliveS: 60,
  });
  await ingester.start();
});

afterAll(async () => {
  await ingester?.stop();
  await proxy?.stop();
  await broker?.stop();
  await ts?.dispose();
});

async function send(edge: mqtt.MqttClient, from: number, to: number): Promise<void> {
  for (let seq = from; seq <= to; seq++) {
    const s = makeSnapshot(gen, seq - 1);
    await edge.publishAsync(
      `energy/${DEVICE}/realtime`,
      JSON.stringify({ ...s, seq, outbox_id: OUTBOX, floor_seq: 1 }),
      { qos: 1 },
    );
    await new Promise((r) => setTimeout(r, 25)); // one commit (and ack) per snapshot
  }
}

describe('acks after the ingester lost its connection', () => {
  it('sends no stale ack again, and the newest ack arrives once the messages are redelivered', async () => {
    const edge = await mqtt.connectAsync(broker.url, { ...broker.clientOptions(DEVICE), reconnectPeriod: 0 });
    const watcher = edge; // the edge reads its own ack topic, as a real edge does
    const seen: number[] = [];
    watcher.on('message', (_t, payload) => {
      if (payload.length > 0) seen.push((JSON.parse(payload.toString()) as { seq: number }).seq);
    });
    await watcher.subscribeAsync(`energy/${DEVICE}/ack`, { qos: 1 });
    try {
      await send(edge, 1, 20);
      await waitFor(() => seen.includes(20), 'the ack of seq 20');

      // The ingester's packets are swallowed: it stores 21..60 and publishes their acks, which never
      // reach the broker (nor do its PUBACKs: the broker keeps 21..60 in flight for its session).
      proxy.dropUpstream = true;
      await send(edge, 21, 60);
      await waitFor(() => ingester.counters.ingested >= 60, 'seq 21..60 stored');
      const beforeCut = seen.length;
      expect(Math.max(...seen)).toBe(20);

      proxy.dropUpstream = false;
      proxy.cut();
      await waitFor(() => seen.includes(60), 'the ack of seq 60 after the reconnect');
      await new Promise((r) => setTimeout(r, 500));
      const afterCut = seen.slice(beforeCut);
      // Only watermarks at the newest commit: nothing of 21..59 re-sent.
      expect(afterCut.filter((s) => s < 60)).toEqual([]);
      expect(await ts.store.ackedSeq(DEVICE, OUTBOX)).toBe(60);
      const stored = await ts.store.raw(DEVICE, new Date(gen.startMs - 1000), new Date(gen.startMs + 3_600_000));
      expect(stored).toHaveLength(60);
      expect(ingester.counters.ingested).toBe(60);
    } finally {
      await edge.endAsync();
    }
  });
});
