/**
 * `status` and `capacity` are checked against their schemas (core/wire.ts) by the ingester: a valid
 * one is passed on, an invalid one is dropped and counted, never dead-lettered (they are not data).
 * Real embedded broker, real ingester, real SQLite store.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapacityMessage, StatusMessage } from '../../../src/core/wire.js';
import { silentLogger } from '../../../src/lib/log.js';
import { createEmbeddedBroker, type EmbeddedBroker } from '../../../src/server/broker/embedded.js';
import { createIngester, type Ingester, type SideMessage } from '../../../src/server/ingest/ingester.js';
import { makeStore, type TestStore } from '../../mqtt/stores.js';
import { waitFor } from '../../mqtt/wait.js';

const DEVICE = 'side-home';
const validStatus = {
  device_id: DEVICE,
  timestamp: '2026-03-09T10:00:00.000Z',
  state: 'online',
  buffer_depth: 3,
  outbox_id: 'c0ffee00-0000-4000-8000-0000000000c1',
  acked_seq: 41,
  evicted: 0,
  sources: { dsmr: { state: 'connected', last_reading_at: '2026-03-09T09:59:59.000Z', stale: false, readings: 9 } },
};
const validAlert = {
  kind: 'alert',
  type: 'capacity_alert',
  device_id: DEVICE,
  timestamp: '2026-03-09T10:10:00.000Z',
  quarter_start: '2026-03-09T10:00:00.000Z',
  elapsed_s: 600,
  avg_so_far_w: 4000,
  projected_w: 4100,
  limit_w: 3000,
  headroom_w: -1100,
  month_peak_w: 3000,
  reason: 'lead_time',
};

describe('ingester: status and capacity messages', () => {
  let broker: EmbeddedBroker;
  let ts: TestStore;
  let ingester: Ingester;
  let edge: MqttClient;
  const status: SideMessage<StatusMessage>[] = [];
  const capacity: SideMessage<CapacityMessage>[] = [];

  beforeAll(async () => {
    broker = createEmbeddedBroker({ port: 0, log: silentLogger() });
    await broker.start();
    ts = await makeStore('sqlite');
    ingester = createIngester({
      mqttUrl: broker.url,
      ...broker.ingesterCredentials,
      clientId: 'kwartier-ingester-side',
      prefix: 'energy',
      store: ts.store,
      log: silentLogger(),
      flushIntervalMs: 20,
    });
    ingester.on('status', (m) => status.push(m));
    ingester.on('capacity', (m) => capacity.push(m));
    await ingester.start();
    edge = await mqtt.connectAsync(broker.url, { username: DEVICE, reconnectPeriod: 0 });
  });
  afterAll(async () => {
    await edge?.endAsync(true);
    await ingester?.stop();
    await broker?.stop();
    await ts?.dispose();
  });

  it('drops a malformed status (counted, not dead-lettered) and passes a valid one', async () => {
    const topic = `energy/${DEVICE}/status`;
    // The ingester's subscription may follow its start by a moment: publish the valid one until it arrives.
    for (let i = 0; i < 100 && status.length === 0; i++) {
      await edge.publishAsync(topic, JSON.stringify({ ...validStatus, buffer_depth: 'lots' }), { qos: 1 });
      await edge.publishAsync(topic, JSON.stringify({ ...validStatus, state: 'sleeping' }), { qos: 1 });
      await edge.publishAsync(topic, JSON.stringify({ ...validStatus, timestamp: undefined }), { qos: 1 });
      await edge.publishAsync(topic, JSON.stringify(validStatus), { qos: 1 });
      await waitFor(() => status.length > 0 || ingester.counters.side_invalid >= 3 * (i + 1), 'the messages', 5000, 10);
    }
    await waitFor(() => status.length > 0, 'the valid status');
    expect(status.every((m) => m.message.buffer_depth === 3 && m.message.state === 'online')).toBe(true);
    expect(status[0]).toMatchObject({ deviceId: DEVICE, message: validStatus, retained: false });
    expect(ingester.counters.side_invalid).toBeGreaterThanOrEqual(3);
    expect(ingester.counters.dead_letters).toBe(0);
  });

  it('drops a capacity alert without its projection and passes a valid alert and a report', async () => {
    const topic = `energy/${DEVICE}/capacity`;
    const before = ingester.counters.side_invalid;
    const { projected_w: _, ...noProjection } = validAlert;
    await edge.publishAsync(topic, JSON.stringify(noProjection), { qos: 1 });
    await edge.publishAsync(topic, JSON.stringify({ ...validAlert, kind: 'maybe' }), { qos: 1 });
    await edge.publishAsync(topic, JSON.stringify(validAlert), { qos: 1 });
    await edge.publishAsync(topic, JSON.stringify({ kind: 'report', device_id: DEVICE, grid_avg_15m_w: 800 }), {
      qos: 1,
    });
    await waitFor(() => capacity.length >= 2, 'the valid capacity messages');
    expect(capacity.map((m) => m.message.kind)).toEqual(['alert', 'report']);
    expect(capacity[0]?.message).toEqual(validAlert);
    expect(ingester.counters.side_invalid - before).toBe(2);
    expect(ingester.counters.dead_letters).toBe(0);
  });
});
