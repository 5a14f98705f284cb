/**
 * The InfluxDB exporter (src/server/exporters/influxdb.ts) against Debian's InfluxDB 1.x started
 * on a free loopback port: the whole server (embedded broker, SQLite, the ingester) with two homes
 * publishing over MQTT; InfluxDB is stopped and started again mid-run, and every snapshot is in it
 * exactly once, with its own values and millisecond timestamp.
 *
 * InfluxDB 1.6 (Debian 12's package) has no /api/v2/write (InfluxDB 1.8 and 2.x have), so the v2
 * request is checked against a loopback server holding InfluxDB's documented contract (path, org,
 * bucket, precision, `Authorization: Token`, 204), as are the exporter's failure rules.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../src/core/snapshot.js';
import { parseWithSchema } from '../../../src/core/validate.js';
import { HomeModel } from '../../../src/drivers/sim/home-model.js';
import { silentLogger } from '../../../src/lib/log.js';
import { ServerApp } from '../../../src/server/app.js';
import { ServerBus } from '../../../src/server/bus.js';
import { ServerConfigSchema } from '../../../src/server/config.js';
import { InfluxDbExporterSchema } from '../../../src/server/exporters/config.js';
import { InfluxDbExporter } from '../../../src/server/exporters/influxdb.js';
import { snapshotLine } from '../../../src/server/exporters/line-protocol.js';
import { InfluxDb, influxdAvailable } from '../../helpers/influxdb.js';
import { sampleHome } from '../../helpers/snapshots.js';
import { waitFor } from '../../helpers/wait.js';

const START = Date.parse('2026-05-12T09:00:00Z');

function homeSnapshots(deviceId: string, count: number): Snapshot[] {
  const model = new HomeModel({ start: START });
  // The model's snapshots fall on whole seconds; 123 ms later checks that the milliseconds survive.
  return sampleHome(model, deviceId, START + count * 1000, 1000).map((s) => ({
    ...s,
    timestamp: new Date(Date.parse(s.timestamp) + 123).toISOString(),
  }));
}

describe('line protocol', () => {
  it('one point per snapshot: the home as tag, non-null fields as floats, ms timestamp', () => {
    const [snap] = homeSnapshots('home-1', 1);
    const s = { ...snap!, gas_total_m3: null, charge_state: 'float "bulk"' };
    const line = snapshotLine('kwartier', s, Date.parse(s.timestamp));
    expect(line).not.toBeNull();
    // measurement+tags, fields, timestamp: separated by the spaces outside quoted strings.
    const [, head, fields, ts] = /^(\S+) (.*) (\d+)$/.exec(line!) ?? [];
    expect(head).toBe('kwartier,device_id=home-1');
    expect(ts).toBe(String(Date.parse(s.timestamp)));
    expect(fields).toContain(`grid_power_w=${s.grid_power_w}`);
    expect(fields).toContain(`grid_import_t1_kwh=${s.grid_import_t1_kwh}`);
    expect(fields).not.toContain('gas_total_m3');
    // The string field keeps its space inside the quotes: the line still splits in three.
    expect(line).toContain('charge_state="float \\"bulk\\""');
    expect(snapshotLine('a b,c', { ...s, device_id: 'x' }, 1)?.startsWith('a\\ b\\,c,device_id=x ')).toBe(true);
  });
});

describe.skipIf(!influxdAvailable)('InfluxDB exporter against InfluxDB 1.x (v1 /write)', () => {
  const influx = new InfluxDb();
  const dir = mkdtempSync(join(tmpdir(), 'kw-influx-exp-'));
  let app: ServerApp;
  const DB = 'kwartier_test';

  beforeAll(async () => {
    await influx.start();
    await influx.query(`CREATE DATABASE ${DB}`);
    app = new ServerApp({
      config: parseWithSchema(
        ServerConfigSchema,
        {
          store: { type: 'sqlite', path: join(dir, 's.sqlite') },
          broker: { enabled: true, port: 0 },
          api: { port: 0, dashboard: false },
          exporters: {
            influxdb: {
              url: influx.url,
              database: DB,
              username: influx.user,
              password: influx.password,
              batch_size: 200,
              flush_interval_ms: 50,
            },
          },
        },
        'test',
      ),
      log: silentLogger(),
      ingestOptions: { flushIntervalMs: 20 },
    });
    await app.start();
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await influx.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every snapshot of two homes arrives once, also across an InfluxDB restart', async () => {
    const homes = ['home-a', 'home-b'];
    const N = 400;
    const snaps = Object.fromEntries(homes.map((h) => [h, homeSnapshots(h, N)]));
    const committed = new Set<string>();
    app.bus.subscribe('test', 'committed', (e) => void committed.add(`${e.deviceId}/${e.seq}`));
    const edges = await Promise.all(
      homes.map((h) => mqtt.connectAsync(app.brokerUrl ?? '', { username: h, reconnectPeriod: 0 })),
    );
    const outbox = (i: number): string => `c0ffee00-0000-4000-8000-00000000000${i}`;
    const publish = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++)
        for (let h = 0; h < homes.length; h++) {
          const msg = { ...snaps[homes[h]!]![i]!, seq: i + 1, outbox_id: outbox(h), floor_seq: 1 };
          await edges[h]!.publishAsync(`energy/${homes[h]}/realtime`, JSON.stringify(msg), { qos: 1 });
        }
    };
    const count = async (): Promise<number> => {
      const rows = await influx.select(`SELECT count(grid_power_w) FROM kwartier`, DB);
      return Number(rows[0]?.count ?? 0);
    };
    // The ingester's subscription may follow its start by a moment: resend the first until it is committed.
    for (let i = 0; i < 50 && committed.size === 0; i++) {
      await publish(0, 1);
      await waitFor(() => committed.size > 0, 'the first commit', 200).catch(() => undefined);
    }
    await publish(1, 150);
    await waitFor(async () => (await count()) === 300, '300 points in InfluxDB');

    await influx.stop();
    await publish(150, 300);
    await waitFor(() => committed.size === 600, 'the snapshots committed while InfluxDB is down');
    const exporter = app.exporters.find((e) => e.name === 'influxdb')!;
    await waitFor(() => exporter.stats().failures > 0, 'a failed write while InfluxDB is down');
    expect(exporter.stats().queued).toBeGreaterThan(0);
    await influx.start();
    await publish(300, N);
    await waitFor(async () => (await count()) === 2 * N, `${2 * N} points in InfluxDB`, 60_000);
    await Promise.all(edges.map((e) => e.endAsync()));

    for (const h of homes) {
      const rows = await influx.select(
        `SELECT grid_power_w, pv_power_w, grid_import_t1_kwh, voltage_l1_v FROM kwartier WHERE device_id = '${h}' ORDER BY time`,
        DB,
      );
      expect(rows).toHaveLength(N);
      rows.forEach((r, i) => {
        const s = snaps[h]![i]!;
        expect(r.time).toBe(Date.parse(s.timestamp));
        expect(r.grid_power_w).toBe(s.grid_power_w);
        expect(r.pv_power_w).toBe(s.pv_power_w);
        expect(r.grid_import_t1_kwh).toBe(s.grid_import_t1_kwh);
        expect(r.voltage_l1_v).toBe(s.voltage_l1_v);
      });
    }
    // InfluxDB has the points before the exporter has read its answer and counted them.
    await waitFor(() => exporter.stats().sent === 2 * N, 'the exporter counting the points written', 10_000);
    expect(exporter.stats()).toMatchObject({ queued: 0, sent: 2 * N, dropped: 0 });
    const metrics = await fetch(`http://127.0.0.1:${app.apiAddress?.port}/metrics`).then((r) => r.status);
    expect(metrics).toBe(401); // the metrics need a token: the exporter adds no open door
  }, 120_000);
});

/** A loopback HTTP server standing in for InfluxDB 2's /api/v2/write, answering as told. */
async function fakeInflux(answer: (req: IncomingMessage, body: string) => number): Promise<{
  server: Server;
  url: string;
  requests: Array<{ url: string; auth: string | undefined; lines: string[] }>;
}> {
  const requests: Array<{ url: string; auth: string | undefined; lines: string[] }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      const status = answer(req, body);
      if (status === 204)
        requests.push({ url: req.url ?? '', auth: req.headers.authorization, lines: body.split('\n') });
      res.statusCode = status;
      res.end(status === 204 ? '' : JSON.stringify({ code: 'unavailable', message: 'test says no' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function exporterFor(url: string, extra: Record<string, unknown>): InfluxDbExporter {
  const config = parseWithSchema(InfluxDbExporterSchema, { url, ...extra }, 'test');
  return new InfluxDbExporter({ config, log: silentLogger(), backoff: { baseMs: 20, maxMs: 100 } });
}

function commit(bus: ServerBus, snaps: Snapshot[]): void {
  for (const [i, s] of snaps.entries())
    bus.publish('committed', {
      deviceId: s.device_id,
      outboxId: 'o',
      seq: i + 1,
      snapshot: s,
      live: true,
      committedAt: 0,
    });
}

describe('InfluxDB exporter: the v2 API and the failure rules', () => {
  it('writes to /api/v2/write with org, bucket, precision=ms and the token', async () => {
    const fake = await fakeInflux(() => 204);
    const bus = new ServerBus({ log: silentLogger() });
    const exp = exporterFor(fake.url, { bucket: 'energy', org: 'home', token: 'secret-token', flush_interval_ms: 20 });
    exp.start(bus);
    const snaps = homeSnapshots('home-v2', 50);
    commit(bus, snaps);
    await waitFor(() => exp.stats().sent === 50, 'the 50 points written');
    await exp.stop();
    fake.server.close();
    const req = fake.requests[0]!;
    const u = new URL(req.url, fake.url);
    expect(u.pathname).toBe('/api/v2/write');
    expect(Object.fromEntries(u.searchParams)).toEqual({ org: 'home', bucket: 'energy', precision: 'ms' });
    expect(req.auth).toBe('Token secret-token');
    const lines = fake.requests.flatMap((r) => r.lines);
    expect(lines).toHaveLength(50);
    expect(lines.map((l) => Number(l.split(' ')[2]))).toEqual(snaps.map((s) => Date.parse(s.timestamp)));
  });

  it('keeps points through 503s and retries; drops the oldest beyond max_buffered_points, counted', async () => {
    let up = false;
    const fake = await fakeInflux(() => (up ? 204 : 503));
    const bus = new ServerBus({ log: silentLogger() });
    const exp = exporterFor(fake.url, {
      database: 'k',
      flush_interval_ms: 20,
      batch_size: 10,
      max_buffered_points: 30,
    });
    exp.start(bus);
    const snaps = homeSnapshots('home-bounded', 100);
    commit(bus, snaps);
    await waitFor(() => exp.stats().failures >= 2, 'two failed writes');
    expect(exp.stats().queued).toBe(30);
    expect(exp.stats().dropped).toBe(70);
    up = true;
    await waitFor(() => exp.stats().sent === 30, 'the 30 kept points written');
    await exp.stop();
    fake.server.close();
    // What arrived are the newest 30, in order: the oldest were the ones dropped.
    const times = fake.requests.flatMap((r) => r.lines).map((l) => Number(l.split(' ')[2]));
    expect(times).toEqual(snaps.slice(70).map((s) => Date.parse(s.timestamp)));
  });

  it('a 400 (InfluxDB refuses the data) drops that batch and goes on', async () => {
    let calls = 0;
    const fake = await fakeInflux(() => (++calls === 1 ? 400 : 204));
    const bus = new ServerBus({ log: silentLogger() });
    const exp = exporterFor(fake.url, { database: 'k', flush_interval_ms: 20, batch_size: 5 });
    exp.start(bus);
    commit(bus, homeSnapshots('home-400', 5));
    await waitFor(() => exp.stats().dropped === 5, 'the refused batch dropped');
    commit(bus, homeSnapshots('home-400b', 5));
    await waitFor(() => exp.stats().sent === 5, 'the next batch written');
    await exp.stop();
    fake.server.close();
  });
});
