/**
 * An edge newer than its server loses nothing (issue 14): through the real ingester, the embedded
 * broker and both real stores, a snapshot with top-level fields the server does not know (realtime,
 * `snapshots` batch items, names in a compact batch's `fields`) is stored with what the server knows
 * and the unknown fields kept in the row's `extra`, not dead-lettered; bounded (MAX_UNKNOWN_FIELDS
 * keys, MAX_UNKNOWN_BYTES), else dead-lettered with the reason. Known fields keep their strict checks.
 * An edge of the release (no added fields) is stored with them null. The control's quarter budget
 * (`control`) is kept with its reading and reads back the same whether this server or the one before
 * it (which kept it as an unknown field) stored it.
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

const OUTBOX = 'c0ffee00-0000-4000-8000-0000000000c1';
const START = Date.parse('2026-03-09T10:00:00Z');
const gen = (deviceId: string) => ({ deviceId, startMs: START });
const at = (i: number): Date => new Date(START + i * 1000);

/** What a release edge sends: the snapshot without the fields added since. */
function releaseSnapshot(deviceId: string, i: number): Record<string, unknown> {
  const s: Record<string, unknown> = { ...makeSnapshot(gen(deviceId), i) };
  for (const k of ['ev_power_w', 'battery_voltage_v', 'battery_current_a', 'charge_state']) delete s[k];
  return s;
}

async function extraOf(ts: TestStore, deviceId: string, t: Date): Promise<unknown> {
  if (ts.kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(ts.location.path!, { readonly: true });
    const v = db
      .prepare('SELECT extra FROM energy_readings WHERE device_id = ? AND time = ?')
      .pluck()
      .get(deviceId, t.getTime()) as string | null;
    db.close();
    return v === null ? null : JSON.parse(v);
  }
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: ts.location.connectionString });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT extra FROM ${ts.location.schema}.energy_readings WHERE device_id = $1 AND time = $2`,
      [deviceId, t.toISOString()],
    );
    return r.rows[0]?.extra ?? null;
  } finally {
    await c.end();
  }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`ingester: an edge newer than its server (${kind})`, () => {
    let broker: EmbeddedBroker;
    let ts: TestStore;
    let ingester: Ingester;
    let c: MqttClient;
    const dev = 'home-new';

    beforeAll(async () => {
      broker = createEmbeddedBroker({ port: 0, log: silentLogger() });
      await broker.start();
      ts = await makeStore(kind);
      ingester = createIngester({
        mqttUrl: broker.url,
        ...broker.ingesterCredentials,
        clientId: `kwartier-ingester-skew-${kind}`,
        prefix: 'energy',
        store: ts.store,
        log: silentLogger(),
        flushIntervalMs: 20,
      });
      await ingester.start();
      c = await mqtt.connectAsync(broker.url, { username: dev, reconnectPeriod: 0 });
    });
    afterAll(async () => {
      await c?.endAsync(true);
      await ingester?.stop({ leave: true });
      await ts?.dispose();
      await broker?.stop();
    });

    const realtime = (s: Record<string, unknown>, i: number): string =>
      JSON.stringify({ ...s, seq: i + 1, outbox_id: OUTBOX, floor_seq: 1 });

    it('realtime: unknown top-level fields are kept in extra; the added fields and devices are stored', async () => {
      const s = {
        ...makeSnapshot(gen(dev), 0),
        ev_power_w: 7200,
        battery_voltage_v: 52.1,
        battery_current_a: -3.5,
        charge_state: 'float',
        devices: { garage: { type: 'ev-charger', stale: false, fields: { ev_power_w: 7200, ev_state: 'charging' } } },
        heat_pump_power_w: 1800,
        tomorrow: { nested: [1, 'two', null] },
      };
      await c.publishAsync(`energy/${dev}/realtime`, realtime(s, 0), { qos: 1 });
      await waitFor(() => ingester.counters.ingested === 1, 'the snapshot stored');
      const { heat_pump_power_w, tomorrow, ...known } = s;
      expect(await ts.store.latest(dev)).toEqual(known);
      expect(await extraOf(ts, dev, at(0))).toEqual({ heat_pump_power_w, tomorrow });
      expect(ingester.counters.dead_letters).toBe(0);
    });

    it("a release edge's snapshot (no added fields) is stored with them null", async () => {
      await c.publishAsync(`energy/${dev}/realtime`, realtime(releaseSnapshot(dev, 1), 1), { qos: 1 });
      await waitFor(() => ingester.counters.ingested === 2, 'the snapshot stored');
      expect(await ts.store.latest(dev)).toEqual(makeSnapshot(gen(dev), 1));
      expect(await extraOf(ts, dev, at(1))).toBeNull();
    });

    it('batch items and compact batch names the server does not know are kept, row by row', async () => {
      const items = [2, 3].map((i) => ({ ...releaseSnapshot(dev, i), seq: i + 1, future_field: i * 10 }));
      await c.publishAsync(
        `energy/${dev}/batch`,
        JSON.stringify({ outbox_id: OUTBOX, floor_seq: 1, snapshots: items, future_envelope: 'ignored' }),
        { qos: 1 },
      );
      await waitFor(() => ingester.counters.ingested === 4, 'the batch stored');
      expect(await extraOf(ts, dev, at(3))).toEqual({ future_field: 30 });

      // The compact form with two names this server does not know, after the ones it does.
      const head = batchColumnsHead(OUTBOX, 1, dev).replace('"fields":[', '"fields":["future_a","future_b",');
      const rows = [4, 5].map((i) =>
        batchColumnsRow(makeSnapshot(gen(dev), i), i + 1).replace('[', `[${i},${JSON.stringify({ k: `v${i}` })},`),
      );
      await c.publishAsync(`energy/${dev}/batch`, `${head}${rows.join(',')}]}`, { qos: 1 });
      await waitFor(() => ingester.counters.ingested === 6, 'the compact batch stored');
      expect(await ts.store.raw(dev, at(4), at(6))).toEqual([makeSnapshot(gen(dev), 4), makeSnapshot(gen(dev), 5)]);
      expect(await extraOf(ts, dev, at(5))).toEqual({ future_a: 5, future_b: { k: 'v5' } });
      expect(ingester.counters.dead_letters).toBe(0);
      expect(await ts.store.ackedSeq(dev, OUTBOX)).toBe(6);
    });

    it('known fields keep their checks; too many or too large unknown fields are dead-lettered', async () => {
      const many = Object.fromEntries(Array.from({ length: 65 }, (_, k) => [`f${k}`, k]));
      const bad = [
        { ...makeSnapshot(gen(dev), 10), ev_power_w: 'lots' },
        { ...makeSnapshot(gen(dev), 11), charge_state: 'x'.repeat(33) },
        { ...makeSnapshot(gen(dev), 12), devices: { Garage: { type: 'x', stale: false, fields: {} } } },
        { ...makeSnapshot(gen(dev), 13), ...many },
        { ...makeSnapshot(gen(dev), 14), big: 'x'.repeat(17 * 1024) },
      ];
      for (const [k, s] of bad.entries())
        await c.publishAsync(`energy/${dev}/realtime`, realtime(s, 10 + k), { qos: 1 });
      await waitFor(async () => (await ts.store.deadLetterCount()) === 5, 'five dead letters');
      // Matched without an order: two flush lanes may write dead letters side by side.
      const reasons = (await ts.store.deadLetters({ deviceId: dev, limit: 10 })).map((l) => l.reason);
      for (const re of [
        /^schema: ev_power_w/,
        /^schema: charge_state/,
        /^schema: devices/,
        /^unknown fields: 65 are more than the 64 kept$/,
        /^unknown fields: \d+ bytes are more than the 16384 kept$/,
      ])
        expect(
          reasons.filter((r) => re.test(r)),
          String(re),
        ).toHaveLength(1);
      expect(ingester.counters.ingested).toBe(6);
    });

    it("the compact batch carries each device's reading; a row without one reads back without", async () => {
      const devices = { roof: { type: 'sungrow', stale: false, fields: { pv_power_w: 3120, battery_power_w: -450 } } };
      const s20 = { ...makeSnapshot(gen(dev), 20), ev_power_w: 11_000, devices };
      const rows = [batchColumnsRow(s20, 21), batchColumnsRow(makeSnapshot(gen(dev), 21), 22)];
      await c.publishAsync(`energy/${dev}/batch`, `${batchColumnsHead(OUTBOX, 1, dev)}${rows.join(',')}]}`, { qos: 1 });
      await waitFor(() => ingester.counters.ingested === 8, 'the compact batch stored');
      expect(await ts.store.raw(dev, at(20), at(22))).toEqual([s20, makeSnapshot(gen(dev), 21)]);
    });
    it("the control budget: kept with its reading (in extra), read back whole, from either server's rows", async () => {
      const control = {
        status: 'ok' as const,
        target_w: 2500,
        target_source: 'target' as const,
        quarter_start: '2026-03-09T10:00:00.000Z',
        remaining_s: 870,
        budget_kwh: 0.625,
        used_kwh: 0.021,
        allowed_w: 2499.3,
        projected_w: 1980.4,
        dry_run: false,
        chargers: { car: { charge: true, current_a: 6, phases: 3 as const, setpoint_w: 4140 } },
      };
      // Realtime and the compact batch (a row with it, a row without).
      const s30 = { ...makeSnapshot(gen(dev), 30), control };
      await c.publishAsync(`energy/${dev}/realtime`, realtime(s30, 30), { qos: 1 });
      await waitFor(() => ingester.counters.ingested === 9, 'the realtime stored');
      expect(await ts.store.latest(dev)).toEqual(s30);
      expect(await extraOf(ts, dev, at(30))).toEqual({ control });
      const s31 = { ...makeSnapshot(gen(dev), 31), control: { ...control, remaining_s: 869 } };
      const rows = [batchColumnsRow(s31, 32), batchColumnsRow(makeSnapshot(gen(dev), 32), 33)];
      await c.publishAsync(`energy/${dev}/batch`, `${batchColumnsHead(OUTBOX, 1, dev)}${rows.join(',')}]}`, { qos: 1 });
      await waitFor(() => ingester.counters.ingested === 11, 'the compact batch stored');
      expect(await ts.store.raw(dev, at(31), at(33))).toEqual([s31, makeSnapshot(gen(dev), 32)]);
      // A server of the release before `control` kept it as an unknown field: the same row reads back.
      await ts.store.insert({
        deviceId: 'home-older-server',
        outboxId: null,
        floorSeq: null,
        readings: [{ snapshot: makeSnapshot(gen('home-older-server'), 0), seq: null, extra: { control } }],
      });
      expect(await ts.store.latest('home-older-server')).toEqual({
        ...makeSnapshot(gen('home-older-server'), 0),
        control,
      });
      // A bad budget is refused by its schema, naming it.
      await c.publishAsync(
        `energy/${dev}/realtime`,
        realtime({ ...makeSnapshot(gen(dev), 40), control: { ...control, status: 'fine' } }, 40),
        { qos: 1 },
      );
      await waitFor(async () => (await ts.store.deadLetterCount()) === 6, 'a dead letter');
      const reasons = (await ts.store.deadLetters({ deviceId: dev, limit: 10 })).map((l) => l.reason);
      expect(reasons.some((r) => /^schema: control/.test(r))).toBe(true);
    });
  });
}
