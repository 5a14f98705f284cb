/**
 * End to end through the real thing: edge outbox + uplink → Mosquitto (project config: TLS client
 * certificates, ACL) → ingester → SQLite and PostgreSQL stores. Every snapshot arrives exactly
 * once, and outbox rows become forwarded only after the server's acknowledgement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/edge/outbox.js';
import { Uplink } from '../../src/edge/uplink/index.js';
import { silentLogger } from '../../src/lib/log.js';
import { createIngester, type IngestedSnapshot, type Ingester } from '../../src/server/ingest/ingester.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { makeSnapshot } from './gen.js';
import { makeStore, type TestStore } from './stores.js';
import { waitFor } from './wait.js';

let broker: Mosquitto;
const tmp = mkdtempSync(join(tmpdir(), 'kw-e2e-'));

beforeAll(async () => {
  broker = await Mosquitto.start({ devices: ['home-sqlite', 'home-postgres'] });
});
afterAll(async () => {
  await broker?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe.each(['sqlite', 'postgres'] as const)('edge → Mosquitto → ingester → %s store', (kind) => {
  const deviceId = `home-${kind}`;
  const gen = { deviceId, startMs: Date.parse('2026-03-09T10:00:00Z') };
  let ts: TestStore;
  let outbox: Outbox;
  let uplink: Uplink;
  let ingester: Ingester | null = null;
  const events: IngestedSnapshot[] = [];

  beforeAll(async () => {
    ts = await makeStore(kind);
    outbox = new Outbox({
      path: join(tmp, kind, 'outbox.sqlite'),
      log: silentLogger(),
      now: () => gen.startMs + 86_400_000,
    });
    outbox.start();
    const f = broker.tlsFiles(deviceId);
    uplink = new Uplink({
      deviceId,
      outbox,
      mqtt: {
        host: '127.0.0.1',
        port: broker.port,
        tls: { ca_cert: f.ca, client_cert: f.cert, client_key: f.key },
        topic_prefix: 'energy',
        qos: 1,
      },
      log: silentLogger(),
      ackTimeoutMs: 1000,
      maxAckTimeoutMs: 2000,
      batchMaxSnapshots: 150,
      sources: () => ({ homewizard: { state: 'connected' } }),
    });
  });
  afterAll(async () => {
    await uplink?.stop();
    await ingester?.stop({ leave: true });
    outbox?.stop();
    await ts?.dispose();
  });

  it('holds rows unforwarded while the broker has them but no server has committed them', async () => {
    for (let i = 0; i < 400; i++) outbox.append(makeSnapshot(gen, i));
    await uplink.start();
    await waitFor(() => uplink.stats.batches_published >= 3, 'the backlog to be published');
    // Mosquitto has PUBACKed every batch; nobody has stored them: nothing is forwarded.
    await new Promise((r) => setTimeout(r, 300));
    expect(outbox.depth()).toBe(400);
    expect(outbox.ackedSeq).toBe(0);
    expect(uplink.stats.batch_snapshots_published).toBeGreaterThanOrEqual(400);
  });

  it('after the ingester commits, the ack marks exactly the committed rows forwarded; each snapshot stored once', async () => {
    const f = broker.tlsFiles('kwartier-ingester');
    ingester = createIngester({
      mqttUrl: broker.url,
      tls: { caCert: f.ca, clientCert: f.cert, clientKey: f.key },
      clientId: `kwartier-ingester-e2e-${kind}`,
      prefix: 'energy',
      store: ts.store,
      log: silentLogger(),
      flushIntervalMs: 50,
    });
    ingester.on('snapshot', (e) => events.push(e));
    await ingester.start();
    // The first batches were published before the ingester's session existed: the ack stalls and the
    // edge resends them from ack+1.
    await waitFor(() => outbox.depth() === 0, 'the backlog to be acknowledged', 30_000);
    expect(outbox.ackedSeq).toBe(400);
    expect(await ts.store.ackedSeq(deviceId, outbox.outboxId)).toBe(400);
    expect(uplink.stats.resends).toBeGreaterThanOrEqual(1);

    // Live: each new snapshot goes out as `realtime` and is acknowledged.
    const before = uplink.stats.realtime_published;
    for (let i = 400; i < 420; i++) {
      outbox.append(makeSnapshot(gen, i));
      await waitFor(() => outbox.ackedSeq === i + 1, `ack of seq ${i + 1}`);
    }
    expect(uplink.stats.realtime_published - before).toBe(20);

    const stored = await ts.store.raw(deviceId, new Date(gen.startMs), new Date(gen.startMs + 3_600_000));
    expect(stored).toHaveLength(420);
    expect(stored.map((s) => s.timestamp)).toEqual(
      Array.from({ length: 420 }, (_, i) => makeSnapshot(gen, i).timestamp),
    );
    expect(stored[7]).toEqual(makeSnapshot(gen, 7));
    expect(stored[419]).toEqual(makeSnapshot(gen, 419));
    // 'snapshot' fires after commit, for the new rows; live ones are flagged.
    const seqs = new Set(events.map((e) => e.seq));
    expect(seqs.size).toBe(420);
    expect(events.filter((e) => e.live).map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 401 + i));
    const c = ingester.counters;
    expect(c.ingested).toBe(420);
    expect(c.dead_letters).toBe(0);
    expect(c.lag_ms).not.toBeNull();
  });

  it('publishes status (retained) and the subset and capacity topics', async () => {
    // The ingester reads status and capacity itself (no second client of its identity).
    const side = new Map<string, Record<string, unknown>>();
    const ing = ingester!;
    ing.on('status', (m) => m.deviceId === deviceId && side.set('status', m.message));
    ing.on('capacity', (m) => m.deviceId === deviceId && side.set('capacity', m.message));
    expect(await uplink.publishStatus()).toBe(true);
    // An alert as the capacity watch makes it (the ingester checks it: core/wire.ts), with a key of its own.
    const alert = {
      kind: 'alert',
      type: 'capacity_alert',
      quarter_start: '2026-03-09T10:00:00.000Z',
      projected_w: 3100,
      limit_w: 2500,
      reason: 'lead_time',
    } as const;
    expect(await uplink.publishCapacity({ ...alert, threshold_w: 2500 })).toBe(true);
    await waitFor(
      () => side.get('status')?.acked_seq === 420 && side.has('capacity'),
      'status and capacity at the ingester',
    );
    expect(side.get('status')).toMatchObject({
      device_id: deviceId,
      state: 'online',
      buffer_depth: 0,
      acked_seq: 420,
      sources: { homewizard: { state: 'connected' } },
    });
    expect(side.get('capacity')).toMatchObject({
      kind: 'alert',
      threshold_w: 2500,
      grid_avg_15m_w: 1100,
      grid_monthly_peak_w: 4200,
    });
    // The subsets are for other consumers: read them with the ingester's identity once it is gone
    // (the client id is the identity, so a second connection would take over its session).
    await ing.stop({ leave: true });
    ingester = null;
    const sub = await mqtt.connectAsync(broker.url, {
      ...broker.clientOptions('kwartier-ingester'),
      reconnectPeriod: 0,
    });
    const got = new Map<string, Record<string, unknown>>();
    sub.on('message', (t, p) => p.length > 0 && got.set(t, JSON.parse(p.toString()) as Record<string, unknown>));
    await sub.subscribeAsync(`energy/${deviceId}/+`, { qos: 1 });
    await waitFor(() => got.has(`energy/${deviceId}/grid`), 'the grid subset (every 5 s)', 15_000);
    expect(got.get(`energy/${deviceId}/grid`)).toMatchObject({
      device_id: deviceId,
      grid_import_t1_kwh: makeSnapshot(gen, 419).grid_import_t1_kwh,
    });
    await waitFor(() => got.has(`energy/${deviceId}/solar`) && got.has(`energy/${deviceId}/battery`), 'the subsets');
    expect(got.get(`energy/${deviceId}/solar`)).toMatchObject({ pv_power_w: 1080 });
    expect(got.get(`energy/${deviceId}/battery`)).toMatchObject({ battery_soc_pct: 55.5 });
    await sub.endAsync();
  });
});
