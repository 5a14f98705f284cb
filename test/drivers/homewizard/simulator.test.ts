/**
 * Simulator ↔ driver ↔ model: what the driver reads from the simulator is the simulated home's state.
 * Also the v2 WebSocket push, and the fallback to REST when the WebSocket endpoint is missing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { wallClock } from '../../../src/core/time/zone.js';
import { startHomeWizardSimulator } from '../../../src/drivers/homewizard/simulator.js';
import { HomeModel, type HomeState } from '../../../src/drivers/sim/home-model.js';
import type { SourceReading } from '../../../src/drivers/source.js';
import { silentLogger } from '../../../src/lib/log.js';
import { runSource } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** The reading against the model's state at the moment it was served. */
function expectAgreement(r: SourceReading, s: HomeState): void {
  const f = r.fields;
  expect(f.grid_power_w).toBe(s.grid_w);
  expect(f.grid_import_t1_kwh).toBe(r3(s.import_t1_kwh));
  expect(f.grid_import_t2_kwh).toBe(r3(s.import_t2_kwh));
  expect(f.grid_export_t1_kwh).toBe(r3(s.export_t1_kwh));
  expect(f.grid_export_t2_kwh).toBe(r3(s.export_t2_kwh));
  expect(f.grid_tariff).toBe(s.tariff);
  expect(f.grid_avg_15m_w).toBe(s.avg_15m_w);
  expect(f.grid_monthly_peak_w).toBe(s.month_peak_w);
  expect(f.gas_total_m3).toBe(s.gas_m3);
  expect(f.water_total_m3).toBe(s.water_m3);
  // the phases add up to the total, with the model's signs
  expect((f.power_l1_w ?? 0) + (f.power_l2_w ?? 0) + (f.power_l3_w ?? 0)).toBe(s.grid_w);
  expect(f.power_l1_w).toBe(s.phase_grid_w[0]);
  expect(Math.abs(f.current_l1_a ?? Number.NaN)).toBe(s.phase_current_a[0]);
  expect(Math.sign(f.current_l1_a ?? 0)).toBe(Math.sign(s.phase_grid_w[0] ?? 0) * (s.phase_current_a[0] === 0 ? 0 : 1));
}

describe('HomeWizard simulator and driver agree with the simulated home', () => {
  it('v1: grid power, counters, tariff, capacity figures, gas and water', async () => {
    // Start the home 40 minutes ago so a quarter has closed; without PV and battery it always imports,
    // so that quarter set the month's peak whatever the time of day.
    const model = new HomeModel({ start: Date.now() - 40 * 60_000, seed: 11, pvPeakW: 0, batteryCapacityKwh: 0 });
    const sim = await startHomeWizardSimulator({ api: 'v1', model, log: silentLogger() });
    cleanups.push(() => sim.stop());
    const run = runSource({ ip: '127.0.0.1', port: sim.port, poll_interval_s: 0.5 }, cleanups);
    const seen: Array<[SourceReading, HomeState]> = [];
    // The model only moves when the simulator answers; copy its state as the reading arrives.
    run.onReading((r) => seen.push([r, structuredClone(model.state())]));
    await run.next();
    await run.next();
    await run.next();
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const [r, s] of seen) expectAgreement(r, s);
    const [first, last] = [seen[0], seen[seen.length - 1]];
    // counters never go back
    expect(last?.[0].fields.grid_import_t1_kwh ?? 0).toBeGreaterThanOrEqual(first?.[0].fields.grid_import_t1_kwh ?? 0);
    expect(last?.[0].fields.grid_import_t2_kwh ?? 0).toBeGreaterThanOrEqual(first?.[0].fields.grid_import_t2_kwh ?? 0);
    // the month's peak and its quarter start, as the model has them
    // (none yet in a month's first quarter, 00:00–00:15 on the 1st: the model starts the month anew)
    const s = seen[0]?.[1];
    const w = wallClock(Date.now(), 'Europe/Brussels');
    if (!(w.day === 1 && w.hour === 0 && w.minute < 16)) expect(s?.month_peak_at).not.toBeNull();
    expect(first?.[0].fields.grid_monthly_peak_timestamp ?? null).toBe(
      s?.month_peak_at == null ? null : `${new Date(s.month_peak_at).toISOString().slice(0, 19)}Z`,
    );
    expect(run.source.deviceInfo?.serial).toBe(sim.serial);
  });

  it('v1 single-phase home: only L1', async () => {
    const model = new HomeModel({ start: Date.now() - 60_000, seed: 5, phases: 1 });
    const sim = await startHomeWizardSimulator({ api: 'v1', model, log: silentLogger() });
    cleanups.push(() => sim.stop());
    const run = runSource({ ip: '127.0.0.1', port: sim.port }, cleanups);
    const r = await run.next();
    expect(r.fields.power_l1_w).toBe(r.fields.grid_power_w);
    expect(r.fields).not.toHaveProperty('power_l2_w');
    expect(r.fields).not.toHaveProperty('voltage_l3_v');
  });
});

describe('HomeWizard v2 WebSocket', () => {
  it('pushes measurements over wss://…/api/ws after authorization; they agree with the model', async () => {
    const start = Date.now() - 5 * 60_000;
    const model = new HomeModel({ start, seed: 21 });
    // The model is deterministic: a twin advanced to the pushed meter_timestamp has the state that was
    // served, whatever the simulator did since (pushes race with the test's listener).
    const twin = new HomeModel({ start, seed: 21 });
    const sim = await startHomeWizardSimulator({ api: 'v2', model, log: silentLogger(), pushIntervalMs: 200 });
    cleanups.push(() => sim.stop());
    const run = runSource(
      {
        ip: '127.0.0.1',
        port: sim.port,
        api_version: 'v2',
        token: sim.token ?? null,
        ca_cert: sim.caCertPem ?? null,
        poll_interval_s: 5,
      },
      cleanups,
    );
    const seen: Array<[SourceReading, HomeState]> = [];
    run.onReading((r) => seen.push([r, structuredClone(twin.advanceTo(Date.parse(r.fields.meter_timestamp ?? '')))]));
    await run.next();
    await run.next();
    await run.next();
    expect(run.source.transport).toBe('websocket');
    expect(run.states).toContainEqual(['connected', 'websocket']);
    // three readings although the REST poll interval is 5 s: they were pushed
    expect(sim.requests['GET /api/measurement']).toBeUndefined();
    expect(sim.requests['WS /api/ws']).toBe(1);
    for (const [r, s] of seen) {
      expectAgreement(r, s);
      expect(r.fields.meter_timestamp).toBe(`${new Date(s.at).toISOString().slice(0, 19)}Z`);
    }
  });

  it('falls back to REST polling when the WebSocket endpoint is missing', async () => {
    const model = new HomeModel({ start: Date.now() - 60_000, seed: 3 });
    const sim = await startHomeWizardSimulator({ api: 'v2', model, log: silentLogger(), websocket: false });
    cleanups.push(() => sim.stop());
    const run = runSource(
      {
        ip: '127.0.0.1',
        port: sim.port,
        api_version: 'v2',
        token: sim.token ?? null,
        ca_cert: sim.caCertPem ?? null,
        poll_interval_s: 0.5,
      },
      cleanups,
    );
    const r = await run.next();
    expect(typeof r.fields.grid_power_w).toBe('number');
    await run.next();
    expect(run.source.transport).toBe('rest');
    expect(run.states).toContainEqual(['connected', 'rest']);
    expect(sim.requests['GET /api/measurement']).toBeGreaterThanOrEqual(2);
    expect(sim.requests['WS /api/ws']).toBeUndefined();
  });

  it('a refused token on the WebSocket is a token error, not a fallback', async () => {
    const model = new HomeModel({ start: Date.now() - 60_000, seed: 3 });
    const sim = await startHomeWizardSimulator({ api: 'v2', model, log: silentLogger() });
    cleanups.push(() => sim.stop());
    const run = runSource(
      {
        ip: '127.0.0.1',
        port: sim.port,
        api_version: 'v2',
        token: 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF',
        ca_cert: sim.caCertPem ?? null,
      },
      cleanups,
    );
    // GET /api already refuses it
    expect(await run.state('lost')).toMatch(/401 user:unauthorized.*homewizard\.token/);
    expect(run.readings).toHaveLength(0);
  });
});
