/**
 * `kwartier demo`, as `npm start` runs it: simulators → edge (outbox) → embedded broker → server
 * (SQLite) → API and WebSocket, in one process on 127.0.0.1. Stops cleanly and resumes.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { demoCarEnergyKwh } from '../../src/cli/commands/demo-site.js';
import type { ControlAnswer } from '../../src/core/api/control.js';
import { isoLocal } from '../../src/core/tariff/local-time.js';
import { localDayStart } from '../../src/core/time/zone.js';
import { simulatedPrice } from '../../src/server/prices/simulated-feed.js';
import { spawnCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';

const TOKEN = 'e2e-demo-token-0123456789';
const dataDir = mkdtempSync(join(tmpdir(), 'kw-demo-'));
let child: ChildProcess | null = null;

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
  }
});

function startDemo(port: number, extra: string[] = []): Promise<{ child: ChildProcess; stdout: () => string }> {
  const c = spawnCli(['demo', '--port', String(port), '--data-dir', dataDir, ...extra], {
    env: { KWARTIER_API_TOKEN: TOKEN, KWARTIER_LOG_LEVEL: 'warn' },
  });
  child = c;
  let out = '';
  let err = '';
  c.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  c.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`demo did not start: ${out} ${err}`)), 60_000);
    const check = setInterval(() => {
      if (out.includes('kwartier demo: running')) {
        clearTimeout(t);
        clearInterval(check);
        resolve({ child: c, stdout: () => out });
      }
    }, 100);
    c.once('exit', (code) => {
      clearTimeout(t);
      clearInterval(check);
      reject(new Error(`demo exited with ${code}: ${out} ${err}`));
    });
  });
}

async function api<T>(port: number, path: string, token: string | null = TOKEN): Promise<{ status: number; body: T }> {
  const res = await fetch(
    `http://127.0.0.1:${port}${path}`,
    token ? { headers: { authorization: `Bearer ${token}` } } : {},
  );
  return { status: res.status, body: (await res.json().catch(() => null)) as T };
}

async function until<T>(fn: () => Promise<T | null | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 250));
  }
}

function stopGracefully(c: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    c.once('exit', (code) => resolve(code));
    c.kill('SIGINT');
  });
}

interface Realtime {
  timestamp: string;
  age_s: number;
  grid_power_w: number | null;
  grid_import_t1_kwh: number | null;
  grid_import_t2_kwh: number | null;
  pv_power_w: number | null;
  battery_soc_pct: number | null;
  load_power_w: number | null;
}

describe('kwartier demo', () => {
  it('runs the whole system: live data through the real protocols, backfilled history, a WebSocket, a clean stop and a resume', async () => {
    const port = await freePort();
    const demoStarted = Date.now();
    const { child: c, stdout } = await startDemo(port, ['--backfill', '2']);
    expect(stdout()).toContain(`http://127.0.0.1:${port}/#token=${TOKEN}&device=demo-home`);
    expect(stdout()).toMatch(/backfilled [\d,]+ snapshots/);

    // Live: the simulated meter's telegrams reach the API through edge, outbox, broker and ingester.
    const live = await until(async () => {
      const r = await api<Realtime>(port, '/api/v1/realtime/demo-home');
      return r.status === 200 && r.body.age_s < 5 && r.body.pv_power_w !== null ? r.body : null;
    });
    expect(typeof live.grid_power_w).toBe('number');
    expect(live.grid_import_t1_kwh).toBeGreaterThan(0);
    expect(live.battery_soc_pct).not.toBeNull();
    expect(live.load_power_w).not.toBeNull();

    // The car: an NRGkick on the same home, its deadline (25 kWh by 07:00) applied by the edge's
    // control, the quarter's budget reported, and the demo's token may change it.
    const control = await until(async () => {
      const r = await api<ControlAnswer>(port, '/api/v1/control/demo-home');
      return r.status === 200 && r.body.applied !== null && r.body.budget !== null ? r.body : null;
    });
    expect(control.can_write).toBe(true);
    expect(control.applied?.settings.chargers.car).toMatchObject({ mode: 'deadline', deadline: '07:00' });
    // 25 kWh, or what the hours left give when the demo starts with the car home (demo-car.test.ts).
    expect([
      demoCarEnergyKwh(demoStarted, 'Europe/Brussels'),
      demoCarEnergyKwh(Date.now(), 'Europe/Brussels'),
    ]).toContain(control.applied?.settings.chargers.car?.energy_kwh);
    expect(control.budget?.target_w).toBeGreaterThanOrEqual(2500);
    expect(Object.keys(control.budget?.chargers ?? {})).toEqual(['car']);
    // The home battery shares the budget: its settings applied, and a decision of its own.
    expect(control.applied?.settings.batteries.sungrow).toMatchObject({ reserve_soc_pct: 10, hold_soc_pct: 30 });
    const battery = await until(async () => {
      const r = await api<ControlAnswer>(port, '/api/v1/control/demo-home');
      return r.body.decisions.find((d) => d.device === 'sungrow') ?? null;
    });
    expect(battery.kind).toBe('battery');

    // No token: 401. Another device: 404.
    expect((await api(port, '/api/v1/realtime/demo-home', null)).status).toBe(401);
    expect((await api(port, '/api/v1/realtime/other-home')).status).toBe(404);

    // History from the backfill: yesterday's daily bucket has the day's energy.
    // The local day before today's (not 24 hours ago, which on a day of a clock change is another day).
    const y = new Date(localDayStart(Date.now(), 'Europe/Brussels') - 1).toLocaleDateString('en-CA', {
      timeZone: 'Europe/Brussels',
    });
    const t = new Date().toLocaleDateString('en-CA', { timeZone: 'Europe/Brussels' });
    const hist = await api<{
      points: Array<{ timestamp: string; import_kwh: number | null; pv_kwh: number | null; samples: number }>;
    }>(port, `/api/v1/history/demo-home?start=${y}&end=${t}&resolution=daily`);
    expect(hist.status).toBe(200);
    expect(hist.body.points).toHaveLength(1);
    expect(hist.body.points[0]!.import_kwh).toBeGreaterThan(0);
    expect(hist.body.points[0]!.samples).toBeGreaterThan(2000); // a 30-s backfill gives 2880 a day

    // The price feed read the simulated Energy-Charts feed on loopback and stored today's and
    // yesterday's day-ahead prices: every quarter priced, as the feed answered them.
    type Prices = {
      date: string;
      resolution_minutes: number;
      points: Array<{ start: string; spot_eur_per_kwh: number | null; energy_eur_per_kwh: number | null }>;
    };
    for (const day of [t, y]) {
      const prices = await until(async () => {
        const r = await api<Prices>(port, `/api/v1/prices/demo-home?date=${day}`);
        return r.status === 200 && r.body.points.every((p) => p.spot_eur_per_kwh !== null) ? r.body : null;
      });
      expect(prices.date).toBe(day);
      expect(prices.resolution_minutes).toBe(15);
      expect([92, 96, 100]).toContain(prices.points.length);
      const first = Date.parse(prices.points[0]!.start);
      expect(prices.points[0]!.start).toBe(isoLocal(first, 'Europe/Brussels'));
      prices.points.forEach((p, i) => {
        expect(p.spot_eur_per_kwh).toBeCloseTo(simulatedPrice(first + i * 900_000, 'Europe/Brussels') / 1000, 6);
        // tariffs.example.yaml: a day/night contract, so the energy price is known whatever the spot.
        expect([0.108, 0.089]).toContain(p.energy_eur_per_kwh);
      });
    }

    // The WebSocket pushes snapshots as they are ingested.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/v1/realtime/demo-home?token=${TOKEN}`);
    const pushed = await new Promise<Realtime[]>((resolve, reject) => {
      const got: Realtime[] = [];
      const timer = setTimeout(() => reject(new Error(`only ${got.length} pushes`)), 20_000);
      ws.on('message', (m) => {
        got.push(JSON.parse(m.toString()) as Realtime);
        if (got.length >= 3) {
          clearTimeout(timer);
          resolve(got);
        }
      });
      ws.on('error', reject);
    });
    ws.close();
    expect(Date.parse(pushed[2]!.timestamp)).toBeGreaterThan(Date.parse(pushed[1]!.timestamp));

    // Ctrl-C stops it cleanly.
    expect(await stopGracefully(c)).toBe(0);

    // A second start resumes from the same data: the same home, counters going on.
    const again = await startDemo(port);
    const resumed = await until(async () => {
      const r = await api<Realtime>(port, '/api/v1/realtime/demo-home');
      return r.status === 200 && Date.parse(r.body.timestamp) > Date.parse(pushed[2]!.timestamp) && r.body.age_s < 5
        ? r.body
        : null;
    });
    expect(resumed.grid_import_t1_kwh! + resumed.grid_import_t2_kwh!).toBeGreaterThanOrEqual(
      live.grid_import_t1_kwh! + live.grid_import_t2_kwh!,
    );
    const histAgain = await api<{ points: Array<{ import_kwh: number | null }> }>(
      port,
      `/api/v1/history/demo-home?start=${y}&end=${t}&resolution=daily`,
    );
    expect(histAgain.body.points[0]!.import_kwh).toBe(hist.body.points[0]!.import_kwh);
    expect(await stopGracefully(again.child)).toBe(0);
  }, 180_000);
});
