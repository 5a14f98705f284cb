/**
 * The Fronius source against its simulator on 127.0.0.1 (real HTTP, recorded answers): a reading
 * with the power flow, meter and inverter values; at most one request a second, one in flight; the
 * 404 of a switched-off Solar API; a device that goes away and comes back; an answer with an error
 * status; a bad config. And the simulator serves exactly the fixtures.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import { type FroniusConfig, FroniusConfigSchema } from '../../../src/drivers/fronius/config.js';
import { FRONIUS_PROFILES, PROFILE_FIXTURES } from '../../../src/drivers/fronius/recorded.js';
import { startFroniusSimulator } from '../../../src/drivers/fronius/simulator.js';
import { type FroniusReading, FroniusSource } from '../../../src/drivers/fronius/source.js';
import type { SourceReading, SourceState } from '../../../src/drivers/source.js';
import { silentLogger } from '../../../src/lib/log.js';
import { fixtureJson } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

function config(port: number, over: Partial<FroniusConfig> = {}): FroniusConfig {
  return parseWithSchema(
    FroniusConfigSchema,
    { host: '127.0.0.1', port, poll_interval_s: 1, detail_interval_s: 5, ...over },
    'fronius',
  ) as FroniusConfig;
}

function source(port: number, over: Partial<FroniusConfig> = {}, log = silentLogger()) {
  const src = new FroniusSource(config(port, over), { log, name: 'roof' });
  const readings: FroniusReading[] = [];
  const states: Array<[SourceState, string | undefined]> = [];
  src.onReading((r: SourceReading) => readings.push(r as FroniusReading));
  src.onState((s, d) => states.push([s, d]));
  cleanup.push(() => src.stop());
  return { src, readings, states };
}

describe('Fronius simulator', () => {
  it('serves exactly the recorded fixture answers, per profile', () => {
    for (const [name, files] of Object.entries(PROFILE_FIXTURES)) {
      const p = FRONIUS_PROFILES[name as keyof typeof FRONIUS_PROFILES];
      expect(p.powerFlow, name).toEqual(fixtureJson(`fronius/${files.powerFlow}`));
      expect(p.meter, name).toEqual(fixtureJson(`fronius/${files.meter}`));
      expect(p.inverter, name).toEqual(fixtureJson(`fronius/${files.inverter}`));
    }
  });
});

describe('Fronius source', () => {
  it('reads the power flow, meter and inverter of a GEN24 with storage, one request a second at most', async () => {
    const starts: number[] = [];
    const sim = await startFroniusSimulator({
      host: '127.0.0.1',
      port: 0,
      log: silentLogger(),
      onRequest: (r) => starts.push(r.at),
    });
    cleanup.push(() => sim.stop());
    const { src, readings } = source(sim.port);
    await src.start();
    // The meter and inverter come in the slots after the first power flow; a reading then has all three.
    await waitFor(
      () => readings.some((r) => r.fields.power_l1_w !== undefined && r.fields.mppt1_voltage_v !== undefined),
      'a reading with meter and inverter values',
    );
    const r = readings.find((x) => x.fields.power_l1_w !== undefined && x.fields.mppt1_voltage_v !== undefined);
    expect(r?.source).toBe('roof');
    expect(r?.fields).toMatchObject({
      grid_power_w: 2274.9,
      power_l1_w: 317.9,
      power_l2_w: 150,
      power_l3_w: 19.6,
      voltage_l1_v: 229.4,
      grid_import_kwh: 1247.204,
      grid_export_kwh: 1705.128,
      inverter_state: 'Running',
      battery_mode: 'suspended',
    });
    expect(r?.fields.battery_power_w).toBeCloseTo(-0.1591, 4);
    expect(r?.fields.load_power_w).toBeCloseTo(2459.3092, 4);
    expect(r?.fields.battery_soc_pct).toBeCloseTo(4.6, 10);
    expect(r?.fields.mppt2_voltage_v).toBeCloseTo(318.8103, 4);
    // E_Day null on a GEN24, and the edge did not see this (producing) day begin: no daily figure.
    expect(r?.fields.pv_daily_kwh).toBeNull();
    expect(src.stats().maxInFlight).toBe(1);
    for (let i = 1; i < starts.length; i++) {
      // The client starts requests ≥ 1000 ms apart on its clock; the server sees them arrive so.
      expect((starts[i] as number) - (starts[i - 1] as number)).toBeGreaterThanOrEqual(950);
    }
  }, 30_000);

  it('says how to switch the Solar API on when the inverter answers 404, and recovers when it is on', async () => {
    const sim = await startFroniusSimulator({ host: '127.0.0.1', port: 0, log: silentLogger() });
    cleanup.push(() => sim.stop());
    sim.setSolarApi(false);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
    const { src, states, readings } = source(sim.port, {}, log);
    await src.start();
    await waitFor(() => states.some(([s]) => s === 'lost'), 'lost');
    const reason = states.find(([s]) => s === 'lost')?.[1] ?? '';
    expect(reason).toContain('/solar_api/v1/GetPowerFlowRealtimeData.fcgi: 404');
    expect(reason).toContain("Switch it on in the inverter's web interface: Communication → Solar API");
    expect(lines.some((l) => l.includes('connection lost') && l.includes('Communication → Solar API'))).toBe(true);
    expect(readings).toEqual([]);
  }, 30_000);

  it('goes lost when the inverter goes away and reads again when it comes back', async () => {
    const sim = await startFroniusSimulator({ host: '127.0.0.1', port: 0, log: silentLogger(), profile: 'symo' });
    const port = sim.port;
    const { src, states, readings } = source(port, { timeout_ms: 500 });
    await src.start();
    await waitFor(() => readings.length > 0, 'a reading');
    expect(readings[0]?.fields).toMatchObject({ pv_power_w: 1111, grid_power_w: 1703.74 });
    await sim.stop();
    await waitFor(() => states.some(([s]) => s === 'lost'), 'lost');
    const before = readings.length;
    const back = await startFroniusSimulator({ host: '127.0.0.1', port, log: silentLogger(), profile: 'symo-night' });
    cleanup.push(() => back.stop());
    await waitFor(() => readings.length > before, 'readings again', 20_000);
    expect(states.map(([s]) => s).slice(-1)).toEqual(['connected']);
    expect(readings.at(-1)?.fields.pv_power_w).toBeNull();
    expect(readings.at(-1)?.fields.grid_power_w).toBe(975.31);
  }, 40_000);

  it('takes an answer with an error status as a failure, naming it', async () => {
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ Head: { Status: { Code: 255, Reason: 'UnknownError' } }, Body: { Data: {} } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const { src, states, readings } = source((server.address() as AddressInfo).port);
    await src.start();
    await waitFor(() => states.some(([s]) => s === 'lost'), 'lost');
    expect(states.find(([s]) => s === 'lost')?.[1]).toBe('power flow: the device answered status 255 (UnknownError)');
    expect(readings).toEqual([]);
  });

  it('refuses a bad config, naming the key', () => {
    const parse = (c: Record<string, unknown>) => () =>
      parseWithSchema(FroniusConfigSchema, { host: '10.0.0.5', ...c }, 'fronius', 'devices[1]');
    expect(parse({ poll_interval_s: 0.5 })).toThrow('devices[1].poll_interval_s');
    expect(parse({ detail_interval_s: 2 })).toThrow('devices[1].detail_interval_s');
    expect(parse({ port: 70000 })).toThrow('devices[1].port');
    expect(parse({ unit_id: 1 })).toThrow('devices[1].unit_id: unknown key');
    expect(() => parseWithSchema(FroniusConfigSchema, { port: 80 }, 'fronius', 'devices[1]')).toThrow(
      'devices[1].host',
    );
  });
});
