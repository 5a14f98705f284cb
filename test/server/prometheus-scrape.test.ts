/**
 * Debian's Prometheus scrapes a running server (embedded broker, SQLite, the API) with the token in
 * its scrape config; two simulated homes publish their snapshots over MQTT as edges do. Prometheus's
 * own HTTP API must then hold each home's series with the values of its newest snapshot, and a scrape
 * job without the token must fail (`up` 0): /metrics stays protected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/core/snapshot.js';
import { parseWithSchema } from '../../src/core/validate.js';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { silentLogger } from '../../src/lib/log.js';
import { ServerApp } from '../../src/server/app.js';
import { ServerConfigSchema } from '../../src/server/config.js';
import { type PromSample, type RunningPrometheus, startPrometheus } from '../helpers/prometheus.js';
import { sampleHome } from '../helpers/snapshots.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'prometheus-scrape-token-0123456789';
const HOMES = ['home-a', 'home-b'] as const;
const OUTBOX = 'c0ffee00-0000-4000-8000-000000000001';
const dir = mkdtempSync(join(tmpdir(), 'kw-prom-scrape-'));
let app: ServerApp;
let prom: RunningPrometheus | undefined;
/** Per home, its snapshots as published, oldest first. */
const published = new Map<string, Snapshot[]>();

beforeAll(async () => {
  app = new ServerApp({
    config: parseWithSchema(
      ServerConfigSchema,
      {
        store: { type: 'sqlite', path: join(dir, 's.sqlite') },
        broker: { enabled: true, port: 0 },
        api: { port: 0, tokens: [{ name: 'prometheus', token: TOKEN, devices: ['*'] }] },
        exporters: { prometheus: { per_home: true } },
      },
      'test',
    ),
    log: silentLogger(),
    ingestOptions: { flushIntervalMs: 20 },
  });
  await app.start();
  const committed = new Map<string, number>();
  app.bus.subscribe('test', 'committed', (e) => void committed.set(e.deviceId, (committed.get(e.deviceId) ?? 0) + 1));
  const start = Date.now() - 30 * 60_000;
  for (const [k, id] of HOMES.entries()) {
    const snaps = sampleHome(new HomeModel({ start, seed: 11 + k, pvPeakW: 4000 + 2000 * k }), id, Date.now(), 60_000);
    published.set(id, snaps);
    const edge = await mqtt.connectAsync(app.brokerUrl ?? '', { username: id, reconnectPeriod: 0 });
    // The ingester's subscription may follow its start by a moment: resend the first until it is committed.
    const message = (i: number) => JSON.stringify({ ...snaps[i], seq: i + 1, outbox_id: OUTBOX, floor_seq: 1 });
    for (let n = 0; n < 50 && !committed.has(id); n++) {
      await edge.publishAsync(`energy/${id}/realtime`, message(0), { qos: 1 });
      await waitFor(() => committed.has(id), 'the first commit', 200).catch(() => undefined);
    }
    for (let i = 1; i < snaps.length; i++) await edge.publishAsync(`energy/${id}/realtime`, message(i), { qos: 1 });
    await edge.publishAsync(
      `energy/${id}/status`,
      JSON.stringify({
        device_id: id,
        timestamp: new Date().toISOString(),
        state: 'online',
        buffer_depth: 7 + k,
        outbox_id: OUTBOX,
        acked_seq: snaps.length,
        evicted: 0,
        sources: {},
      }),
      { qos: 1 },
    );
    await waitFor(() => committed.get(id) === snaps.length, `every snapshot of ${id} committed`);
    await edge.endAsync();
  }
  const target = `127.0.0.1:${app.apiAddress?.port}`;
  prom = await startPrometheus(
    [
      '  - job_name: kwartier',
      '    authorization:',
      '      type: Bearer',
      `      credentials: ${TOKEN}`,
      '    static_configs:',
      `      - targets: ['${target}']`,
      '  - job_name: kwartier-no-token',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
}, 120_000);

afterAll(async () => {
  await prom?.stop();
  await app?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One sample per home of `expr` (Prometheus's own answer), as device_id → value. */
async function perHome(expr: string): Promise<Map<string, number>> {
  const result: PromSample[] = (await prom?.query(expr)) ?? [];
  return new Map(result.map((s) => [s.metric.device_id ?? '', Number(s.value[1])]));
}

const joules = (kwh: number | null) => Math.round((kwh ?? Number.NaN) * 3.6e6);

describe('Prometheus scrapes /metrics', () => {
  it("holds each home's counters and gauges with the values of its newest snapshot", async () => {
    await waitFor(
      async () => (await perHome('kwartier_grid_power_watts')).size === HOMES.length,
      'both homes in Prometheus',
      30_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; prometheus log: ${prom?.log()}`);
    });
    const up = await prom!.query('up');
    const upOf = (job: string) => up.find((s) => s.metric.job === job)?.value[1];
    expect(upOf('kwartier')).toBe('1');

    const t1 = await prom!.query('kwartier_grid_import_energy_joules_total{tariff="1"}');
    const t2 = await perHome('kwartier_grid_import_energy_joules_total{tariff="2"}');
    const exported = await perHome('sum by (device_id) (kwartier_grid_export_energy_joules_total)');
    const pv = await perHome('kwartier_pv_energy_joules_total');
    const power = await perHome('kwartier_grid_power_watts');
    const load = await perHome('kwartier_load_power_watts');
    const soc = await perHome('kwartier_battery_state_of_charge_ratio');
    const quarter = await perHome('kwartier_quarter_average_power_watts');
    const peak = await perHome('kwartier_month_peak_watts');
    const depth = await perHome('kwartier_edge_buffer_depth');
    const age = await perHome('kwartier_home_last_seen_age_seconds');
    expect(t1.map((s) => s.metric.device_id).sort()).toEqual([...HOMES]);
    expect(t1.every((s) => s.metric.job === 'kwartier' && s.metric.tariff === '1')).toBe(true);
    for (const [k, id] of HOMES.entries()) {
      const last = published.get(id)!.at(-1)!;
      expect(Number(t1.find((s) => s.metric.device_id === id)?.value[1])).toBe(joules(last.grid_import_t1_kwh));
      expect(t2.get(id)).toBe(joules(last.grid_import_t2_kwh));
      expect(exported.get(id)).toBe(joules(last.grid_export_t1_kwh) + joules(last.grid_export_t2_kwh));
      expect(pv.get(id)).toBe(joules(last.pv_total_kwh));
      expect(power.get(id)).toBe(last.grid_power_w);
      expect(load.get(id)).toBe(last.load_power_w);
      expect(soc.get(id)).toBeCloseTo((last.battery_soc_pct ?? Number.NaN) / 100, 12);
      expect(quarter.get(id)).toBe(last.grid_avg_15m_w);
      expect(peak.get(id)).toBe(last.grid_monthly_peak_w);
      expect(depth.get(id)).toBe(7 + k);
      expect(age.get(id)).toBeGreaterThanOrEqual(0);
      expect(age.get(id)).toBeLessThan(120);
    }
    // The two homes differ (a mix-up between them would show).
    expect(pv.get('home-a')).not.toBe(pv.get('home-b'));
    expect((await perHome('kwartier_metrics_homes')).get('')).toBe(2);
  });

  it('a scrape without the token fails: /metrics stays protected', async () => {
    await waitFor(
      async () => (await prom!.query('up{job="kwartier-no-token"}')).length === 1,
      'a scrape of the job without a token',
    );
    const up = await prom!.query('up{job="kwartier-no-token"}');
    expect(up[0]?.value[1]).toBe('0');
    expect(await prom!.query('kwartier_grid_power_watts{job="kwartier-no-token"}')).toEqual([]);
  });
});
