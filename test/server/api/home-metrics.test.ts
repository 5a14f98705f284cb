/**
 * Per-home series on /metrics (exporters.prometheus): each home's meter counters in joules, its power
 * gauges, the quarter average and month peak from its newest snapshot; bounded by max_homes (the rest
 * counted as left out) and expired when silent; unknown values absent, never 0. Real API, real SQLite
 * store, snapshots of the simulated home announced on the server's bus as the ingester does.
 */
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../src/core/snapshot.js';
import type { ServerBus } from '../../../src/server/bus.js';
import { auth, NOW, type Seeded, seededStore, TOKENS, testApi, testConfig } from './setup.js';

let seeded: Seeded;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  seeded = await seededStore();
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await seeded?.cleanup();
});

/** `name{labels}` → value, from the Prometheus text format. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

interface Running {
  app: FastifyInstance;
  bus: ServerBus;
  clock: { now: number };
  scrape(): Promise<Map<string, number>>;
  commit(s: Snapshot): void;
}

async function start(prometheus: Record<string, unknown> | undefined): Promise<Running> {
  const clock = { now: NOW };
  const config = testConfig(prometheus === undefined ? {} : { exporters: { prometheus } });
  const { app, bus } = await testApi(seeded.store, {
    config,
    now: () => clock.now,
    metrics: { registry: new Registry() },
  });
  apps.push(app);
  let seq = 0;
  return {
    app,
    bus,
    clock,
    scrape: async () => {
      const r = await app.inject({ url: '/metrics', headers: auth(TOKENS.admin) });
      expect(r.statusCode).toBe(200);
      return samples(r.body);
    },
    commit: (snapshot) =>
      bus.publish('committed', {
        deviceId: snapshot.device_id,
        outboxId: 'test-outbox',
        seq: ++seq,
        snapshot,
        live: true,
        committedAt: clock.now,
      }),
  };
}

const as = (s: Snapshot, deviceId: string, timestamp = s.timestamp): Snapshot => ({
  ...s,
  device_id: deviceId,
  timestamp,
});

describe('/metrics per home', () => {
  it('off by default: no per-home families; the bound is there', async () => {
    const r = await start(undefined);
    r.commit(seeded.snaps.at(-1)!);
    const text = (await r.app.inject({ url: '/metrics', headers: auth(TOKENS.admin) })).body;
    expect(text).not.toContain('kwartier_grid_import_energy_joules_total');
    expect(text).not.toContain('kwartier_grid_power_watts');
    const m = samples(text);
    expect(m.get('kwartier_metrics_homes')).toBe(1);
    expect(m.get('kwartier_metrics_homes_max')).toBe(10_000);
    expect(m.get('kwartier_ingest_lag_seconds{device_id="home-1"}')).toBeTypeOf('number');
  });

  it("a home's counters in joules, its gauges in watts and as a ratio, from its newest snapshot", async () => {
    const r = await start({ per_home: true });
    const last = seeded.snaps.at(-1)!;
    const older = seeded.snaps.at(-200)!;
    r.commit(last);
    // A backlog snapshot committed later does not take the newest one's place.
    r.commit(older);
    const m = await r.scrape();
    const h = 'device_id="home-1"';
    const j = (kwh: number | null) => Math.round((kwh ?? Number.NaN) * 3.6e6);
    expect(last.pv_total_kwh).not.toBe(older.pv_total_kwh);
    expect(last.load_power_w).not.toBe(older.load_power_w);
    expect(m.get(`kwartier_grid_import_energy_joules_total{${h},tariff="1"}`)).toBe(j(last.grid_import_t1_kwh));
    expect(m.get(`kwartier_grid_import_energy_joules_total{${h},tariff="2"}`)).toBe(j(last.grid_import_t2_kwh));
    expect(m.get(`kwartier_grid_export_energy_joules_total{${h},tariff="1"}`)).toBe(j(last.grid_export_t1_kwh));
    expect(m.get(`kwartier_grid_export_energy_joules_total{${h},tariff="2"}`)).toBe(j(last.grid_export_t2_kwh));
    expect(m.get(`kwartier_pv_energy_joules_total{${h}}`)).toBe(j(last.pv_total_kwh));
    expect(m.get(`kwartier_gas_volume_cubic_meters_total{${h}}`)).toBe(last.gas_total_m3);
    expect(m.get(`kwartier_grid_power_watts{${h}}`)).toBe(last.grid_power_w);
    expect(m.get(`kwartier_pv_power_watts{${h}}`)).toBe(last.pv_power_w);
    expect(m.get(`kwartier_load_power_watts{${h}}`)).toBe(last.load_power_w);
    expect(m.get(`kwartier_battery_power_watts{${h}}`)).toBe(last.battery_power_w);
    expect(m.get(`kwartier_battery_state_of_charge_ratio{${h}}`)).toBeCloseTo(
      (last.battery_soc_pct ?? Number.NaN) / 100,
      12,
    );
    expect(m.get(`kwartier_quarter_average_power_watts{${h}}`)).toBe(last.grid_avg_15m_w);
    expect(m.get(`kwartier_month_peak_watts{${h}}`)).toBe(last.grid_monthly_peak_w);
    expect(m.get(`kwartier_home_last_seen_timestamp_seconds{${h}}`)).toBe(NOW / 1000);
    expect(m.get(`kwartier_home_last_seen_age_seconds{${h}}`)).toBe(0);
    r.clock.now = NOW + 42_500;
    expect((await r.scrape()).get(`kwartier_home_last_seen_age_seconds{${h}}`)).toBe(42.5);
  });

  it('an unknown value has no sample (never 0); a status gives the buffer depth and counts as heard', async () => {
    const r = await start({ per_home: true });
    const s: Snapshot = {
      ...as(seeded.snaps.at(-1)!, 'home-x'),
      pv_power_w: null,
      pv_total_kwh: null,
      battery_soc_pct: null,
    };
    r.commit(s);
    r.clock.now = NOW + 30_000;
    r.bus.publish('status', {
      deviceId: 'home-x',
      retained: false,
      message: {
        device_id: 'home-x',
        timestamp: new Date(NOW).toISOString(),
        state: 'online',
        buffer_depth: 12,
        outbox_id: null,
        acked_seq: null,
        evicted: null,
        sources: {},
      },
    });
    const m = await r.scrape();
    const h = 'device_id="home-x"';
    expect(m.has(`kwartier_pv_power_watts{${h}}`)).toBe(false);
    expect(m.has(`kwartier_pv_energy_joules_total{${h}}`)).toBe(false);
    expect(m.has(`kwartier_battery_state_of_charge_ratio{${h}}`)).toBe(false);
    expect(m.get(`kwartier_grid_power_watts{${h}}`)).toBe(s.grid_power_w);
    expect(m.get(`kwartier_edge_buffer_depth{${h}}`)).toBe(12);
    expect(m.get(`kwartier_home_last_seen_age_seconds{${h}}`)).toBe(0);
  });

  it('a retained status (replayed at start) says when the edge was heard from, not now', async () => {
    const r = await start({ per_home: true });
    const sent = NOW - 3_600_000;
    r.bus.publish('status', {
      deviceId: 'home-r',
      retained: true,
      message: {
        device_id: 'home-r',
        timestamp: new Date(sent).toISOString(),
        state: 'offline',
        buffer_depth: 3,
        outbox_id: null,
        acked_seq: null,
        evicted: null,
        sources: {},
      },
    });
    const m = await r.scrape();
    expect(m.get('kwartier_home_last_seen_age_seconds{device_id="home-r"}')).toBe(3600);
    expect(m.get('kwartier_edge_buffer_depth{device_id="home-r"}')).toBe(3);
  });

  it('at most max_homes homes have series; the others are counted; silent homes expire and free their place', async () => {
    const r = await start({ per_home: true, max_homes: 2, expire_after_s: 60 });
    const base = seeded.snaps.at(-1)!;
    r.commit(as(base, 'home-a'));
    r.commit(as(base, 'home-b'));
    r.commit(as(base, 'home-c'));
    r.commit(as(base, 'home-c')); // counted once
    let m = await r.scrape();
    expect(m.has('kwartier_grid_power_watts{device_id="home-a"}')).toBe(true);
    expect(m.has('kwartier_grid_power_watts{device_id="home-b"}')).toBe(true);
    expect(m.has('kwartier_grid_power_watts{device_id="home-c"}')).toBe(false);
    expect(m.has('kwartier_ingest_lag_seconds{device_id="home-c"}')).toBe(false);
    expect(m.get('kwartier_metrics_homes')).toBe(2);
    expect(m.get('kwartier_metrics_homes_left_out')).toBe(1);
    expect(m.get('kwartier_metrics_homes_left_out_total')).toBe(1);

    // home-b keeps talking, home-a falls silent for more than 60 s: home-a expires, home-c takes its place.
    r.clock.now = NOW + 40_000;
    r.commit(as(base, 'home-b'));
    r.clock.now = NOW + 61_000;
    m = await r.scrape();
    expect(m.has('kwartier_grid_power_watts{device_id="home-a"}')).toBe(false);
    expect(m.get('kwartier_metrics_homes')).toBe(1);
    expect(m.get('kwartier_metrics_homes_left_out')).toBe(0);
    r.commit(as(base, 'home-c'));
    m = await r.scrape();
    expect(m.has('kwartier_grid_power_watts{device_id="home-c"}')).toBe(true);
    expect(m.get('kwartier_metrics_homes')).toBe(2);
    expect(m.get('kwartier_metrics_homes_left_out_total')).toBe(1);
  });

  it('the config refuses a bad bound, naming the key', () => {
    expect(() => testConfig({ exporters: { prometheus: { max_homes: 0 } } })).toThrow(
      /exporters\.prometheus\.max_homes/,
    );
    expect(() => testConfig({ exporters: { prometheus: { per_homes: true } } })).toThrow(/exporters\.prometheus/);
  });
});
