/**
 * A store that stalls for longer than the MQTT keepalive (another connection holds a lock on the
 * readings table). The ingester's buffer fills and it stops reading (backpressure): the broker's
 * PINGRESP then waits unread, and before the fix mqtt.js called the connection dead after
 * 1.5 × keepalive, dropped it and got the same messages again on reconnect — at 10,000 homes a loop
 * that never caught up. Now the connection is kept while held, and everything is stored once.
 */
import mqtt from 'mqtt';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedBroker, type EmbeddedBroker } from '../../../src/server/broker/embedded.js';
import { createIngester, type Ingester } from '../../../src/server/ingest/ingester.js';
import { captureLogger } from '../../helpers/log.js';
import { makeSnapshot } from '../../mqtt/gen.js';
import { makeStore, PG_URL, type TestStore } from '../../mqtt/stores.js';
import { waitFor } from '../../mqtt/wait.js';

const DEVICE = 'home-held';
const COUNT = 40;
const gen = { deviceId: DEVICE, startMs: Date.now() - 60_000 };
let broker: EmbeddedBroker;
let ts: TestStore;
let ingester: Ingester;
const { log, lines } = captureLogger('info');

beforeAll(async () => {
  broker = createEmbeddedBroker({ port: 0, log: pino({ level: 'silent' }) });
  await broker.start();
  ts = await makeStore('postgres');
  ingester = createIngester({
    mqttUrl: broker.url,
    ...broker.ingesterCredentials,
    stream: () => broker.connectInProcess(),
    clientId: 'kwartier-ingester',
    prefix: 'energy',
    store: ts.store,
    log,
    flushIntervalMs: 20,
    maxBufferedRows: 5,
    keepaliveS: 1,
  });
  await ingester.start();
});

afterAll(async () => {
  await ingester?.stop();
  await broker?.stop();
  await ts?.dispose();
});

describe('backpressure longer than the keepalive', () => {
  it('keeps the connection while the store stalls, then stores every snapshot once', async () => {
    const lock = new pg.Client({ connectionString: PG_URL });
    await lock.connect();
    const schema = ts.location.schema ?? '';
    await lock.query('BEGIN');
    await lock.query(`LOCK TABLE "${schema}".energy_readings IN ACCESS EXCLUSIVE MODE`);
    const edge = await mqtt.connectAsync(broker.url, { username: DEVICE, reconnectPeriod: 0 });
    try {
      for (let i = 0; i < COUNT; i++) {
        const s = makeSnapshot(gen, i);
        edge.publish(
          `energy/${DEVICE}/realtime`,
          JSON.stringify({ ...s, seq: i + 1, outbox_id: 'held-outbox-1', floor_seq: 1 }),
          {
            qos: 1,
          },
        );
      }
      // Held well past 1.5 × keepalive (1 s) with the buffer full.
      await waitFor(() => ingester.counters.buffered_rows >= 5, 'the buffer to fill');
      await new Promise((r) => setTimeout(r, 5_000));
      expect(ingester.counters.connected).toBe(true);
    } finally {
      await lock.query('COMMIT');
      await lock.end();
    }
    await waitFor(
      async () => (await ts.store.ackedSeq(DEVICE, 'held-outbox-1')) === COUNT,
      'every snapshot acknowledged',
    );
    const stored = await ts.store.raw(DEVICE, new Date(gen.startMs - 1000), new Date(gen.startMs + 3_600_000));
    expect(stored).toHaveLength(COUNT);
    expect(lines.filter((l) => l.msg === 'disconnected from the broker; reconnecting')).toEqual([]);
    expect(ingester.counters.duplicates).toBe(0);
    await edge.endAsync();
  });
});
