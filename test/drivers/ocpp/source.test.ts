/**
 * The OCPP 1.6J central system (the edge's driver) against the simulated charge point, on
 * 127.0.0.1 over real WebSockets: boot and meter values become the charger's fields (W and kW
 * chargers), a charging profile is set and the car follows it, pause is limit 0, a repeated
 * set-point is not sent again, a refused profile fails the write, the profiles are cleared on stop,
 * a car waiting for authorization is started with RemoteStartTransaction when a tag is configured,
 * wss with the edge's certificate (profile 2) and with client certificates (profile 3, whose CN
 * must be the charge point id or `tls.client_cn`),
 * another charge point id or a wrong password is refused, and a charger that goes away is stale
 * until it is back.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { RPCClient } from 'ocpp-rpc';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Merger } from '../../../src/core/merger.js';
import { parseWithSchema } from '../../../src/core/validate.js';
import { type OcppConfig, OcppConfigSchema } from '../../../src/drivers/ocpp/config.js';
import {
  freePort,
  type OcppChargePointSimulator,
  type OcppSimulatorOptions,
  startOcppSimulator,
} from '../../../src/drivers/ocpp/simulator.js';
import { type OcppReading, OcppSource } from '../../../src/drivers/ocpp/source.js';
import { HomeModel } from '../../../src/drivers/sim/home-model.js';
import { createCa, issueClientCert, issueServerCert } from '../../../src/lib/certs.js';
import { type Logger, silentLogger } from '../../../src/lib/log.js';
import { waitFor } from '../../helpers/wait.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

const log = silentLogger();

interface Setup {
  port: number;
  model: HomeModel;
  src: OcppSource;
  readings: OcppReading[];
  states: string[];
  sim: (over?: Partial<OcppSimulatorOptions>) => OcppChargePointSimulator;
}

async function setup(over: Partial<OcppConfig> = {}, srcLog: Logger = log): Promise<Setup> {
  const port = await freePort('127.0.0.1');
  const model = new HomeModel({ start: Date.now(), seed: 3, pvPeakW: 0, batteryCapacityKwh: 0 });
  const cfg = parseWithSchema(
    OcppConfigSchema,
    { listen: `127.0.0.1:${port}`, charge_point_id: 'CP1', meter_interval_s: 1, ...over },
    'ocpp',
  ) as OcppConfig;
  const src = new OcppSource(cfg, { log: srcLog, name: 'car' });
  const readings: OcppReading[] = [];
  const states: string[] = [];
  src.onReading((r) => readings.push(r as OcppReading));
  src.onState((s, d) => states.push(d === undefined ? s : `${s}: ${d}`));
  await src.start();
  cleanup.push(() => src.stop());
  const sim = (o: Partial<OcppSimulatorOptions> = {}) => {
    const s = startOcppSimulator({ url: `ws://127.0.0.1:${port}/ocpp`, model, responseS: 0, log, ...o });
    cleanup.push(() => s.stop());
    return s;
  };
  return { port, model, src, readings, states, sim };
}

const last = (r: OcppReading[]) => r.at(-1)?.fields;

describe('OCPP source', () => {
  it('reads boot, status and meter values (W, Wh) into the charger fields', async () => {
    const { readings, sim, model, states } = await setup();
    const cp = sim();
    await waitFor(() => readings.some((r) => r.fields.ev_power_w === 11_040), 'a reading at 11.04 kW');
    expect(states).toContain('connected');
    const f = readings.find((r) => r.fields.ev_power_w === 11_040)?.fields;
    // The default car takes 16 A on three phases; no profile set: the charger's rated 16 A.
    expect(f).toMatchObject({
      ev_state: 'charging',
      ev_ocpp_status: 'Charging',
      ev_phases: 3,
      ev_current_l1_a: 16,
      ev_current_l2_a: 16,
      ev_current_l3_a: 16,
      ev_signaled_current_a: 16,
      ev_soc_pct: 20,
      ev_current_set_a: null,
      ev_charge_pause: null,
      ev_error: null,
    });
    expect(f?.ev_total_kwh).toBeGreaterThanOrEqual(100);
    expect(f?.ev_session_kwh).toBeGreaterThanOrEqual(0);
    // Session = register − meterStart (100 000 Wh at the start).
    await waitFor(() => (last(readings)?.ev_session_kwh ?? 0) > 0, 'energy charged');
    const g = last(readings);
    expect(g?.ev_total_kwh).toBeCloseTo(100 + (g?.ev_session_kwh ?? 0), 3);
    // The home takes a new draw at its next step.
    await waitFor(() => model.state().ev_w === 11_040, 'the home at 11.04 kW of car');
    expect(cp.meterIntervalS).toBe(1); // set by the central system after boot
  });

  it('reads a charger that reports kW and kWh', async () => {
    const { readings, sim } = await setup();
    sim({ units: 'kW', car: { capacityKwh: 50, socPct: 50, maxCurrentA: 10, phases: 1 } });
    await waitFor(() => readings.some((r) => r.fields.ev_power_w === 2300), 'a reading at 2.3 kW');
    const f = readings.find((r) => r.fields.ev_power_w === 2300)?.fields;
    expect(f).toMatchObject({ ev_phases: 1, ev_current_l1_a: 10, ev_current_l2_a: 0, ev_soc_pct: 50 });
    expect(f?.ev_total_kwh).toBeGreaterThanOrEqual(100);
    expect(f?.ev_total_kwh).toBeLessThan(101);
  });

  it("leaves the charger's meter interval alone with meter_interval_s: 0", async () => {
    const { readings, sim } = await setup({ meter_interval_s: 0 });
    const cp = sim({ meterIntervalS: 2 });
    await waitFor(() => readings.length > 0, 'a reading');
    await waitFor(() => readings.length > 1, 'the next reading');
    expect(cp.meterIntervalS).toBe(2);
  });

  it('writes nothing without control: true', async () => {
    const { src, readings, sim } = await setup();
    const cp = sim();
    await waitFor(() => readings.length > 0, 'a reading');
    await expect(src.control('current_set_a', 10)).rejects.toMatchObject({ code: 'control_disabled' });
    expect(cp.profilesTaken).toBe(0);
  });

  it('sets a profile the car follows, pauses with limit 0, and sends a set-point only once', async () => {
    const { src, readings, sim, model } = await setup({ control: true });
    const cp = sim();
    await waitFor(() => last(readings)?.ev_state === 'charging', 'charging');
    const r = await src.control('current_set_a', 10);
    expect(r).toMatchObject({ control: 'current_set_a', requested: 10, readBack: 10 });
    expect(cp.limitA).toBe(10);
    await waitFor(() => last(readings)?.ev_power_w === 6900, 'a reading at 6.9 kW');
    expect(last(readings)).toMatchObject({ ev_current_set_a: 10, ev_charge_pause: 0, ev_signaled_current_a: 10 });
    await waitFor(() => model.state().ev_w === 6900, 'the home at 6.9 kW of car');

    // The same set-point again: nothing is sent.
    await src.control('current_set_a', 10);
    await src.control('current_set_a', 10.04); // 0.1 A steps: still 10
    expect(cp.profilesTaken).toBe(1);

    expect((await src.control('charge_pause', true)).readBack).toBe(true);
    expect(cp.limitA).toBe(0);
    await waitFor(() => last(readings)?.ev_state === 'paused', 'paused (SuspendedEVSE)');
    expect(last(readings)).toMatchObject({ ev_power_w: 0, ev_charge_pause: 1, ev_current_set_a: 10 });
    await src.control('charge_pause', true);
    expect(cp.profilesTaken).toBe(2);

    expect((await src.control('charge_pause', false)).readBack).toBe(false);
    await waitFor(() => last(readings)?.ev_power_w === 6900, 'charging again at 10 A');
    expect(cp.profilesTaken).toBe(3);
    await expect(src.control('current_set_a', 20)).rejects.toMatchObject({ code: 'control_value' });
    await expect(src.control('current_set_a', 5)).rejects.toThrow(/min_current_a\.\.max_current_a \(6\.\.16 A\)/);
  });

  it('starts a car that waits for authorization with RemoteStartTransaction (remote_start_id_tag)', async () => {
    // Without a tag the car keeps waiting in Preparing: the edge starts nothing.
    const a = await setup({ control: true });
    const waiting = a.sim({ waitForRemoteStart: true });
    await waitFor(() => last(a.readings)?.ev_ocpp_status === 'Preparing', 'a car waiting for authorization');
    await new Promise((r) => setTimeout(r, 1500));
    expect(waiting.transactionId).toBeNull();
    expect(waiting.remoteStarts).toEqual([]);

    // With one, the edge starts it with that tag, once; the car then draws what the profiles allow.
    const b = await setup({ control: true, remote_start_id_tag: 'KWARTIER' });
    const cp = b.sim({ waitForRemoteStart: true });
    await waitFor(() => cp.transactionId !== null, 'a transaction started remotely');
    expect(cp.remoteStarts).toEqual(['KWARTIER']);
    await waitFor(() => last(b.readings)?.ev_state === 'charging', 'charging');
    await b.src.control('current_set_a', 8);
    await waitFor(() => last(b.readings)?.ev_power_w === 5520, 'a reading at 8 A');
    expect(cp.remoteStarts).toEqual(['KWARTIER']);
  });

  it('writes a TxDefaultProfile before a transaction and clears its profiles on stop', async () => {
    const { src, readings, sim } = await setup({ control: true });
    const cp = sim({ car: null });
    await waitFor(() => last(readings)?.ev_state === 'available', 'available, no car');
    expect(last(readings)?.ev_power_w).toBe(0);
    await src.control('current_set_a', 8);
    expect(cp.limitA).toBe(8);
    await src.stop();
    expect(cp.limitA).toBeNull();
  });

  it('falls back to TxDefaultProfile when the charger refuses TxProfiles, and converts to W for a W-only charger', async () => {
    const { src, readings, sim } = await setup({ control: true });
    const cp = sim({ refuseTxProfiles: true, rateUnits: 'Power' });
    await waitFor(() => last(readings)?.ev_state === 'charging', 'charging');
    await waitFor(() => src.rateUnitInUse === 'W', "the set-up's GetConfiguration");
    await src.control('current_set_a', 7);
    expect(cp.limitA).toBeCloseTo(7, 6); // 230 V × 7 A × 3 = 4830 W, back in A
    await waitFor(() => last(readings)?.ev_power_w === 4830, 'a reading at 4.83 kW');
  });

  it('a refused profile fails the write, is logged once, and nothing is held', async () => {
    const lines: Array<{ msg: string; status?: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    const { src, readings, sim } = await setup({ control: true }, pino({ level: 'info' }, sink));
    const cp = sim({ refuseProfiles: 'NotSupported' });
    await waitFor(() => last(readings)?.ev_state === 'charging', 'charging');
    await expect(src.control('current_set_a', 10)).rejects.toThrow(
      /SetChargingProfile \(10 A\): the charger answered NotSupported/,
    );
    await expect(src.control('current_set_a', 10)).rejects.toMatchObject({ code: 'ocpp_refused' });
    expect(cp.limitA).toBeNull();
    expect(last(readings)?.ev_current_set_a).toBeNull();
    const refused = lines.filter((l) => l.msg === 'SetChargingProfile refused');
    // The TxProfile refused (then TxDefaultProfiles only), and the TxDefaultProfile: once each.
    expect(refused.map((l) => l.status)).toEqual(['NotSupported', 'NotSupported']);
  });

  it('an address in use is reported and retried, not thrown', async () => {
    const { port } = await setup();
    const cfg = parseWithSchema(
      OcppConfigSchema,
      { listen: `127.0.0.1:${port}`, charge_point_id: 'CP1' },
      'ocpp',
    ) as OcppConfig;
    const second = new OcppSource(cfg, { log, name: 'car2' });
    const states: string[] = [];
    second.onState((st, d) => states.push(`${st}: ${d}`));
    await second.start();
    cleanup.push(() => second.stop());
    expect(states).toEqual([
      expect.stringMatching(new RegExp(`^lost: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`)),
    ]);
  });

  it('a write with no charger connected fails', async () => {
    const { src } = await setup({ control: true });
    await expect(src.control('current_set_a', 10)).rejects.toMatchObject({ code: 'ocpp_not_connected' });
  });

  it('keeps the session energy after StopTransaction; no car is 0 W', async () => {
    const { readings, sim } = await setup();
    const cp = sim();
    await waitFor(() => (last(readings)?.ev_session_kwh ?? 0) > 0, 'energy charged');
    await cp.unplug();
    await waitFor(() => last(readings)?.ev_state === 'available', 'available');
    const f = last(readings);
    expect(f?.ev_power_w).toBe(0);
    expect(f?.ev_session_kwh).toBeGreaterThan(0);
    expect(f?.ev_total_kwh).toBeCloseTo(100 + (f?.ev_session_kwh ?? 0), 3);
  });

  it('refuses another charge point id and a wrong password', async () => {
    const { port, readings } = await setup({ password: 'secret-0123456789' });
    const connect = async (identity: string, password?: string) => {
      const c = new RPCClient({
        endpoint: `ws://127.0.0.1:${port}/ocpp`,
        identity,
        protocols: ['ocpp1.6'],
        reconnect: false,
        ...(password !== undefined ? { password } : {}),
      } as ConstructorParameters<typeof RPCClient>[0]);
      cleanup.push(async () => void (await c.close({ force: true }).catch(() => undefined)));
      await c.connect();
      return c;
    };
    await expect(connect('CP2', 'secret-0123456789')).rejects.toMatchObject({ code: 404 });
    await expect(connect('CP1', 'wrong')).rejects.toMatchObject({ code: 401 });
    await expect(connect('CP1')).rejects.toMatchObject({ code: 401 });
    const ok = await connect('CP1', 'secret-0123456789');
    expect(await ok.call('Heartbeat', {})).toHaveProperty('currentTime');
    expect(readings).toHaveLength(0); // the first reading waits for meter values
  });

  it('speaks wss with a certificate (profile 2: TLS and the password; profile 3: a client certificate)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-ocpp-tls-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const { ca, pem } = await createCa({ name: 'test CA' });
    const server = await issueServerCert(ca);
    const charger = await issueClientCert(ca, 'CP1');
    const other = await createCa({ name: 'another CA' });
    const stranger = await issueClientCert(other.ca, 'CP1');
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const tls = { cert: file('server.crt', server.cert), key: file('server.key', server.key) };
    const caFile = file('ca.crt', pem.cert);

    // Profile 2: wss, the charger checks the edge's certificate and sends its password.
    const two = await setup({ tls, password: 'secret-0123456789' });
    two.sim({ url: `wss://127.0.0.1:${two.port}/ocpp`, tls: { ca: pem.cert }, password: 'secret-0123456789' });
    await waitFor(() => last(two.readings)?.ev_state === 'charging', 'readings over wss');
    expect(two.states.some((st) => st.includes(`on wss://127.0.0.1:${two.port}`))).toBe(true);
    // Plain ws to the TLS port gets nowhere.
    const plain = new RPCClient({
      endpoint: `ws://127.0.0.1:${two.port}/ocpp`,
      identity: 'CP1',
      protocols: ['ocpp1.6'],
      reconnect: false,
      password: 'secret-0123456789',
    } as ConstructorParameters<typeof RPCClient>[0]);
    cleanup.push(async () => void (await plain.close({ force: true }).catch(() => undefined)));
    await expect(plain.connect()).rejects.toThrow();

    // Profile 3: only a charger whose certificate the configured CA signed gets through.
    const three = await setup({ tls: { ...tls, ca: caFile } });
    const url = `wss://127.0.0.1:${three.port}/ocpp`;
    const refused = three.sim({ url, tls: { ca: pem.cert, clientCert: stranger.cert, clientKey: stranger.key } });
    const bare = three.sim({ url, tls: { ca: pem.cert } });
    await new Promise((r) => setTimeout(r, 1500));
    expect(refused.connected || bare.connected).toBe(false);
    expect(three.readings).toHaveLength(0);
    await refused.stop();
    await bare.stop();
    three.sim({ url, tls: { ca: pem.cert, clientCert: charger.cert, clientKey: charger.key } });
    await waitFor(() => last(three.readings)?.ev_state === 'charging', 'readings with a client certificate');
  });

  it('profile 3: a certificate the CA signed for another charger is refused; tls.client_cn pins a serial', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-ocpp-cn-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const { ca, pem } = await createCa({ name: 'a maker CA' });
    const server = await issueServerCert(ca);
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const tls = { cert: file('s.crt', server.cert), key: file('s.key', server.key), ca: file('ca.crt', pem.cert) };
    const lines: Array<{ msg: string; reason?: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    const connect = async (port: number, identity: string, cert: { cert: string; key: string }) => {
      const c = new RPCClient({
        endpoint: `wss://127.0.0.1:${port}/ocpp`,
        identity,
        protocols: ['ocpp1.6'],
        reconnect: false,
        wsOpts: { ca: pem.cert, cert: cert.cert, key: cert.key },
      } as ConstructorParameters<typeof RPCClient>[0]);
      cleanup.push(async () => void (await c.close({ force: true }).catch(() => undefined)));
      await c.connect();
      return c;
    };
    const neighbour = await issueClientCert(ca, 'CP2');
    const own = await issueClientCert(ca, 'CP1');

    // The neighbour's charger holds a valid certificate of the same CA and asks for CP1: refused.
    const pinned = await setup({ tls }, pino({ level: 'info' }, sink));
    await expect(connect(pinned.port, 'CP1', neighbour)).rejects.toMatchObject({ code: 403 });
    const refused = lines.find((l) => l.msg === 'OCPP connection refused');
    expect(refused?.reason).toBe('client certificate has CN "CP2", not "CP1" (tls.client_cn)');
    const ok = await connect(pinned.port, 'CP1', own);
    expect(await ok.call('Heartbeat', {})).toHaveProperty('currentTime');

    // A charger whose certificate carries its serial number, not the id it connects with.
    const serial = await issueClientCert(ca, 'SN-4711');
    const bySerial = await setup({ tls: { ...tls, client_cn: 'SN-4711' } });
    await expect(connect(bySerial.port, 'CP1', own)).rejects.toMatchObject({ code: 403 });
    const viaSerial = await connect(bySerial.port, 'CP1', serial);
    expect(await viaSerial.call('Heartbeat', {})).toHaveProperty('currentTime');
  });

  it('a charger that goes away is stale after 3 heartbeat intervals, and fresh when it is back', async () => {
    const { src, readings, sim, states } = await setup({ heartbeat_interval_s: 1 });
    const merger = new Merger('site', [{ name: 'car', kind: 'inverter', intervalMs: src.intervalMs }], 3, Date.now());
    src.onReading((r) => merger.update(r));
    const cp = sim();
    await waitFor(() => readings.length > 0, 'a reading');
    expect(merger.isStale('car', Date.now())).toBe(false);
    await cp.stop();
    await waitFor(() => states.at(-1) === 'lost: charger disconnected', 'disconnected');
    await waitFor(() => merger.isStale('car', Date.now()), 'stale', 10_000);
    const n = readings.length;
    sim();
    await waitFor(() => readings.length > n && !merger.isStale('car', Date.now()), 'fresh again');
    expect(states.at(-1)).toBe('connected');
  });
});
