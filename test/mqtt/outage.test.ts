/**
 * A 2-hour uplink outage: 7200 snapshots (1 Hz timestamps) are committed while the broker is
 * unreachable; after it comes back the backlog arrives in batches, and the hourly aggregates of those
 * two hours equal the meter's counter differences.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/edge/outbox.js';
import { Uplink } from '../../src/edge/uplink/index.js';
import { silentLogger } from '../../src/lib/log.js';
import { createIngester, type Ingester } from '../../src/server/ingest/ingester.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { makeSnapshot } from './gen.js';
import { makeStore, type TestStore } from './stores.js';
import { waitFor } from './wait.js';

const H0 = Date.parse('2026-03-09T10:00:00Z'); // 11:00 in Brussels: hours align
const LIVE = 60; // snapshots before the outage: H0 − 60 s … H0 − 1 s
const OUTAGE = 7200;

describe.each(['postgres', 'sqlite'] as const)('two-hour outage into the %s store', (kind) => {
  const deviceId = `home-outage-${kind}`;
  const gen = { deviceId, startMs: H0 - LIVE * 1000 };
  const tmp = mkdtempSync(join(tmpdir(), 'kw-outage-'));
  let broker: Mosquitto;
  let ts: TestStore;
  let ingester: Ingester;
  let outbox: Outbox;
  let uplink: Uplink;

  beforeAll(async () => {
    broker = await Mosquitto.start({ devices: [deviceId] });
    ts = await makeStore(kind);
    const f = broker.tlsFiles('kwartier-ingester');
    ingester = createIngester({
      mqttUrl: broker.url,
      tls: { caCert: f.ca, clientCert: f.cert, clientKey: f.key },
      clientId: `kwartier-ingester-outage-${kind}`,
      prefix: 'energy',
      store: ts.store,
      log: silentLogger(),
    });
    await ingester.start();
    outbox = new Outbox({ path: join(tmp, 'outbox.sqlite'), log: silentLogger(), now: () => H0 + OUTAGE * 1000 });
    outbox.start();
    const d = broker.tlsFiles(deviceId);
    uplink = new Uplink({
      deviceId,
      outbox,
      mqtt: {
        host: '127.0.0.1',
        port: broker.port,
        tls: { ca_cert: d.ca, client_cert: d.cert, client_key: d.key },
        topic_prefix: 'energy',
        qos: 1,
      },
      log: silentLogger(),
      backoff: { baseMs: 100, maxMs: 500 },
      ackTimeoutMs: 5000,
    });
    await uplink.start();
  });
  afterAll(async () => {
    await uplink?.stop();
    await ingester?.stop({ leave: true });
    outbox?.stop();
    await ts?.dispose();
    await broker?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('buffers through the outage and catches up in batches', async () => {
    await waitFor(() => uplink.connected, 'the uplink to connect');
    for (let i = 0; i < LIVE; i++) outbox.append(makeSnapshot(gen, i));
    await waitFor(() => outbox.ackedSeq === LIVE, 'the live snapshots');

    await broker.stop();
    await waitFor(() => !uplink.connected, 'the uplink to notice');
    for (let i = LIVE; i < LIVE + OUTAGE; i++) outbox.append(makeSnapshot(gen, i));
    expect(outbox.depth()).toBe(OUTAGE);
    const before = { ...uplink.stats };

    await broker.restart();
    await waitFor(() => outbox.ackedSeq === LIVE + OUTAGE && outbox.depth() === 0, 'the backlog', 60_000);
    const after = uplink.stats;
    expect(after.batches_published - before.batches_published).toBeGreaterThanOrEqual(Math.ceil(OUTAGE / 2000));
    expect(after.batch_snapshots_published - before.batch_snapshots_published).toBeGreaterThanOrEqual(OUTAGE);
    expect(after.realtime_published - before.realtime_published).toBe(0);
  });

  it('stores every snapshot once, and the hourly energy equals the counter differences', async () => {
    const raw = await ts.store.raw(
      deviceId,
      new Date(H0 - LIVE * 1000),
      new Date(H0 + OUTAGE * 1000),
      LIVE + OUTAGE + 10,
    );
    expect(raw).toHaveLength(LIVE + OUTAGE);
    const s = (i: number) => makeSnapshot(gen, i);
    const hours = await ts.store.buckets(deviceId, 'hourly', new Date(H0), new Date(H0 + 2 * 3_600_000));
    expect(hours.map((h) => h.start.toISOString())).toEqual(['2026-03-09T10:00:00.000Z', '2026-03-09T11:00:00.000Z']);
    // The last reading before each hour and the last one in it (index LIVE is the first at H0).
    const cuts = [LIVE - 1, LIVE + 3599, LIVE + 7199];
    for (let h = 0; h < 2; h++) {
      const a = s(cuts[h]!);
      const b = s(cuts[h + 1]!);
      const bucket = hours[h]!;
      expect(bucket.samples).toBe(3600);
      expect(bucket.import_t1_kwh).toBeCloseTo(b.grid_import_t1_kwh! - a.grid_import_t1_kwh!, 9);
      expect(bucket.import_kwh).toBeCloseTo(
        b.grid_import_t1_kwh! + b.grid_import_t2_kwh! - a.grid_import_t1_kwh! - a.grid_import_t2_kwh!,
        9,
      );
      expect(bucket.export_kwh).toBeCloseTo(
        b.grid_export_t1_kwh! + b.grid_export_t2_kwh! - a.grid_export_t1_kwh! - a.grid_export_t2_kwh!,
        9,
      );
      expect(bucket.pv_kwh).toBeCloseTo(b.pv_total_kwh! - a.pv_total_kwh!, 9);
    }
    // 0.4 Wh a second: 1.44 kWh an hour.
    expect(hours[0]!.import_kwh).toBeCloseTo(1.44, 9);
    expect(hours[1]!.import_kwh).toBeCloseTo(1.44, 9);
  });
});
