/**
 * One home's bad data cannot hurt another (issue 13, bounded input), through the real ingester, the
 * embedded broker and real stores: timestamps outside the server's window, impossible values and
 * calendar dates are dead-lettered with the field and the bound (and acknowledged, so the edge does
 * not resend them forever); a device flooding dead letters is rate-limited without delaying others.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchColumnsHead, batchColumnsRow } from '../../../src/core/wire.js';
import { silentLogger } from '../../../src/lib/log.js';
import { createEmbeddedBroker, type EmbeddedBroker } from '../../../src/server/broker/embedded.js';
import { createIngester, type Ingester } from '../../../src/server/ingest/ingester.js';
import { makeSnapshot } from '../../mqtt/gen.js';
import { makeStore, type TestStore } from '../../mqtt/stores.js';
import { waitFor } from '../../mqtt/wait.js';

const OUTBOX = 'c0ffee00-0000-4000-8000-0000000000b0';
const gen = (deviceId: string) => ({ deviceId, startMs: Date.parse('2026-03-09T10:00:00Z') });

function snapshot(deviceId: string, i: number, patch: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...makeSnapshot(gen(deviceId), i), ...patch };
}
function realtime(deviceId: string, i: number, patch: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...snapshot(deviceId, i, patch), seq: i + 1, outbox_id: OUTBOX, floor_seq: 1 });
}

async function letters(ts: TestStore, deviceId: string): Promise<Array<{ reason: string; payload: string }>> {
  if (ts.kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(ts.location.path!, { readonly: true });
    const rows = db
      .prepare('SELECT reason, payload FROM dead_letters WHERE device_id = ? ORDER BY id')
      .all(deviceId) as Array<{ reason: string; payload: string }>;
    db.close();
    return rows;
  }
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: ts.location.connectionString });
  await c.connect();
  try {
    const r = await c.query<{ reason: string; payload: string }>(
      `SELECT reason, payload FROM ${ts.location.schema}.dead_letters WHERE device_id = $1 ORDER BY id`,
      [deviceId],
    );
    return r.rows;
  } finally {
    await c.end();
  }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`ingester: bounded input (${kind})`, () => {
    let broker: EmbeddedBroker;
    let ts: TestStore;
    let ingester: Ingester;
    const clients: MqttClient[] = [];
    const client = async (id: string): Promise<MqttClient> => {
      const c = await mqtt.connectAsync(broker.url, { username: id, reconnectPeriod: 0 });
      clients.push(c);
      return c;
    };

    beforeAll(async () => {
      broker = createEmbeddedBroker({ port: 0, log: silentLogger() });
      await broker.start();
      ts = await makeStore(kind);
      ingester = createIngester({
        mqttUrl: broker.url,
        ...broker.ingesterCredentials,
        clientId: `kwartier-ingester-bounds-${kind}`,
        prefix: 'energy',
        store: ts.store,
        log: silentLogger(),
        flushIntervalMs: 20,
        deadLetterLimits: { burst: 5, perMinute: 1 },
      });
      await ingester.start();
    });
    afterAll(async () => {
      for (const c of clients) await c.endAsync(true);
      await ingester?.stop({ leave: true });
      await ts?.dispose();
      await broker?.stop();
    });

    it('timestamps outside the window of the server clock are dead-lettered, in realtime and both batch forms', async () => {
      const c = await client('home-t');
      const dev = 'home-t';
      // 2099 (stored before: then /realtime showed it and nothing newer), 9999 (a database error before), 1990.
      await c.publishAsync(`energy/${dev}/realtime`, realtime(dev, 0, { timestamp: '2099-01-01T00:00:00Z' }), {
        qos: 1,
      });
      await c.publishAsync(`energy/${dev}/realtime`, realtime(dev, 1, { timestamp: '9999-12-31T23:59:59Z' }), {
        qos: 1,
      });
      await c.publishAsync(`energy/${dev}/realtime`, realtime(dev, 2, { timestamp: '1990-01-01T00:00:00Z' }), {
        qos: 1,
      });
      await c.publishAsync(`energy/${dev}/realtime`, realtime(dev, 3), { qos: 1 });
      // The `snapshots` form: the bad one refused, its neighbours stored.
      const items = [4, 5, 6].map((i) => ({
        ...snapshot(dev, i, i === 5 ? { timestamp: '2099-06-01T00:00:00Z' } : {}),
        seq: i + 1,
      }));
      await c.publishAsync(
        `energy/${dev}/batch`,
        JSON.stringify({ outbox_id: OUTBOX, floor_seq: 1, snapshots: items }),
        {
          qos: 1,
        },
      );
      // The compact form.
      const rows = [7, 8].map((i) =>
        batchColumnsRow(
          makeSnapshot({ ...gen(dev), startMs: i === 8 ? Date.parse('2099-01-01T00:00:00Z') : gen(dev).startMs }, i),
          i + 1,
        ),
      );
      await c.publishAsync(`energy/${dev}/batch`, `${batchColumnsHead(OUTBOX, 1, dev)}${rows.join(',')}]}`, { qos: 1 });

      await waitFor(async () => (await ts.store.ackedSeq(dev, OUTBOX)) === 9, 'every seq acknowledged');
      const stored = await ts.store.raw(dev, new Date('1970-01-01'), new Date('9999-12-31'));
      expect(stored.map((s) => s.timestamp)).toEqual([3, 4, 6, 7].map((i) => makeSnapshot(gen(dev), i).timestamp));
      expect((await ts.store.latest(dev))?.timestamp).toBe(makeSnapshot(gen(dev), 7).timestamp);
      await waitFor(async () => (await letters(ts, dev)).length === 5, 'five dead letters');
      const reasons = (await letters(ts, dev)).map((l) => l.reason);
      // One dead letter each; the store keeps no order among the letters of one flush.
      const expected = [
        /^timestamp: 2099-01-01T00:00:00Z is more than 86400 s after the server's clock \(ingest\.max_future_s\)$/,
        /^timestamp: 9999-12-31T23:59:59Z is more than 86400 s after/,
        /^timestamp: 1990-01-01T00:00:00Z is more than 3650 days before .*ingest\.max_past_days/,
        /^snapshots\[1\] \(seq 6\): timestamp: 2099-06-01T00:00:00Z is more than 86400 s/,
        /^rows\[1\] \(seq 9\): timestamp: 2099-01-01T00:00:08\.000Z is more than/,
      ];
      for (const re of expected)
        expect(
          reasons.filter((r) => re.test(r)),
          String(re),
        ).toHaveLength(1);
    });

    it('impossible values and dates are dead-lettered naming the field; the good ones flow', async () => {
      const c = await client('home-p');
      const dev = 'home-p';
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ grid_import_t1_kwh: -5 }, /^grid_import_t1_kwh: -5 is outside 0\.\.1000000000$/],
        [{ grid_import_t1_kwh: 1e15 }, /^grid_import_t1_kwh: 1000000000000000 is outside 0\.\.1000000000$/],
        [
          { timestamp: '2026-02-30T00:00:00Z' },
          /^timestamp: "2026-02-30T00:00:00Z": day 30 does not exist in 2026-02$/,
        ],
        [
          { meter_timestamp: 'x'.repeat(900 * 1024) },
          /^meter_timestamp: must have at most 64 characters \(has 921600\)$/,
        ],
        [
          { meter_timestamp: '2026-04-31T10:00:00Z' },
          /^meter_timestamp: "2026-04-31T10:00:00Z": day 31 does not exist/,
        ],
        [{ grid_power_w: 5e6 }, /^grid_power_w: 5000000 is outside -1000000\.\.1000000$/],
        [{ battery_soc_pct: 150 }, /^battery_soc_pct: 150 is outside 0\.\.100$/],
      ];
      for (let k = 0; k < cases.length; k++)
        await c.publishAsync(`energy/${dev}/realtime`, realtime(dev, k, cases[k]![0]), { qos: 1 });
      // Infinity: JSON has none, but 1e999 parses to it.
      await c.publishAsync(
        `energy/${dev}/realtime`,
        realtime(dev, 7).replace('"grid_power_w":1080', '"grid_power_w":1e999'),
        {
          qos: 1,
        },
      );
      await c.publishAsync(`energy/${dev}/realtime`, realtime(dev, 8), { qos: 1 });
      await waitFor(async () => (await ts.store.latest(dev)) !== null, 'the good snapshot');
      const stored = await ts.store.raw(dev, new Date('1970-01-01'), new Date('9999-12-31'));
      expect(stored.map((s) => s.timestamp)).toEqual([makeSnapshot(gen(dev), 8).timestamp]);
      // Refused snapshots are acknowledged (seq 1..7); a message the wire schema refuses (seq 8) is not
      // (its seq cannot be trusted), as before.
      expect(await ts.store.ackedSeq(dev, OUTBOX)).toBe(7);
      // Five stored (the burst), the rest counted: the limiter of the next test, here per device.
      await waitFor(async () => (await letters(ts, dev)).length === 5, 'the dead letters');
      const got = await letters(ts, dev);
      // Matched without an order: two flush lanes may write dead letters side by side (PostgreSQL ids).
      for (let k = 0; k < 5; k++) expect(got.filter((g) => cases[k]![1].test(g.reason))).toHaveLength(1);
      for (const g of got) expect(g.payload.length).toBeLessThanOrEqual(4096);
      expect(ingester.counters.dead_letters_dropped_by_device[dev]).toBe(3);
    });

    it("a device's flood of dead letters is rate-limited and counted; another device's snapshots all flow", async () => {
      const bad = await client('home-f');
      const good = await client('home-g');
      const before = ingester.counters.ingested;
      const flood = 2000;
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < flood; i++) {
        sends.push(bad.publishAsync('energy/home-f/realtime', `{"oops": ${i}`, { qos: 1 }));
        if (i % 100 === 0)
          sends.push(good.publishAsync('energy/home-g/realtime', realtime('home-g', i / 100), { qos: 1 }));
      }
      await Promise.all(sends);
      await waitFor(() => ingester.counters.ingested === before + 20, "home-g's 20 snapshots");
      await waitFor(
        async () =>
          (ingester.counters.dead_letters_dropped_by_device['home-f'] ?? 0) + (await letters(ts, 'home-f')).length ===
          flood,
        'the flood counted and its kept part stored',
      );
      expect(await ts.store.ackedSeq('home-g', OUTBOX)).toBe(20);
      const stored = (await letters(ts, 'home-f')).length;
      // The burst (5), and at most one more per minute of the test.
      expect(stored).toBeGreaterThanOrEqual(5);
      expect(stored).toBeLessThanOrEqual(7);
      expect(ingester.counters.dead_letters_dropped_by_device['home-f']).toBe(flood - stored);
    });
  });
}
