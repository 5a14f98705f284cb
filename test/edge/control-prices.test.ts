/**
 * Day-ahead prices from the server in the edge (edge/prices-remote.ts → EdgeControl.setServerPrices):
 * the real edge app against a simulated P1 meter and NRGkick on one simulated home, its uplink to the
 * embedded broker on loopback, where the test publishes retained `prices` messages as the server's
 * ingester does. A deadline charger under a dynamic contract without a price file plans with them
 * (it waits for the cheap hours they give; before they come it charges now); they are kept in the
 * outbox's database across a restart with the broker gone; the tariff file's own prices come first,
 * the server's fill the rest; a bad message is refused and the prices held stay; an empty one clears.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { priceAt } from '../../src/core/tariff/prices.js';
import { parseWithSchema } from '../../src/core/validate.js';
import { type PricesMessage, pricesMessage } from '../../src/core/wire-prices.js';
import { startDsmrTcpSimulator } from '../../src/drivers/dsmr/simulator.js';
import { startNrgkickSimulator } from '../../src/drivers/nrgkick/simulator.js';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { EdgeApp } from '../../src/edge/app.js';
import { checkEdgeConfig, type EdgeConfig, EdgeConfigSchema } from '../../src/edge/config.js';
import { PricesRemote } from '../../src/edge/prices-remote.js';
import { silentLogger } from '../../src/lib/log.js';
import { createEmbeddedBroker, type EmbeddedBroker } from '../../src/server/broker/embedded.js';
import { captureLogger } from '../helpers/log.js';
import { dynamicTariffLines } from '../helpers/tariffs.js';
import { waitFor } from '../helpers/wait.js';

const HOUR = 3_600_000;
const HOME = 'px-home';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kw-ctl-prices-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A dynamic contract on the quarter index; `priceFile` names its own price file. */
function tariffFile(dir: string, priceFile?: { hours: number; eurPerKwh: number }): string {
  const lines = dynamicTariffLines();
  if (priceFile) {
    const hour = Math.floor(Date.now() / HOUR) * HOUR;
    const prices = Array.from({ length: priceFile.hours }, (_, i) => ({
      start: new Date(hour + i * HOUR).toISOString(),
      price_eur_per_kwh: priceFile.eurPerKwh,
    }));
    writeFileSync(join(dir, 'prices.json'), JSON.stringify(prices));
    lines.unshift('price_file: prices.json');
  }
  writeFileSync(join(dir, 'tariffs.yaml'), lines.join('\n'));
  return join(dir, 'tariffs.yaml');
}

/** The server's message: quarters from this clock hour on, for 12 hours, €/MWh by the hour's index. */
function serverPrices(eurPerMwh: (hour: number) => number, issuedAt = Date.now()): PricesMessage {
  const hour = Math.floor(Date.now() / HOUR) * HOUR;
  const points = Array.from({ length: 48 }, (_, i) => ({
    start: hour + i * 900_000,
    end: hour + (i + 1) * 900_000,
    eurPerMwh: eurPerMwh(Math.floor(i / 4)),
  }));
  const m = pricesMessage('BE', points, issuedAt);
  if (!m) throw new Error('no message');
  return m;
}

const deadline = (): string =>
  new Date(Date.now() + 8 * HOUR).toLocaleTimeString('en-GB', {
    timeZone: 'Europe/Brussels',
    hour: '2-digit',
    minute: '2-digit',
  });

async function broker(): Promise<{
  b: EmbeddedBroker;
  publish: (payload: string, leaf?: 'prices' | 'control') => Promise<void>;
  stop: () => Promise<void>;
}> {
  const b = createEmbeddedBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  await b.start();
  let stopped: Promise<void> | null = null;
  const stop = () => (stopped ??= b.stop());
  cleanups.push(stop);
  const ing = await new Promise<MqttClient>((resolve, reject) => {
    const c = new MqttClient(() => b.connectInProcess(), {
      ...b.ingesterCredentials,
      clientId: 'test-ingester',
      reconnectPeriod: 0,
    });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
  cleanups.push(() => ing.endAsync(true).catch(() => undefined));
  return {
    b,
    stop,
    publish: async (payload, leaf = 'prices') => {
      await ing.publishAsync(`energy/${HOME}/${leaf}`, payload, { qos: 1, retain: true });
    },
  };
}

async function home(): Promise<{ p1: number; car: number }> {
  const model = new HomeModel({ start: Date.now(), seed: 4, pvPeakW: 0, batteryCapacityKwh: 0 });
  const dsmr = await startDsmrTcpSimulator({ host: '127.0.0.1', port: 0, rateHz: 1, model, log: silentLogger() });
  cleanups.push(() => dsmr.stop());
  const car = await startNrgkickSimulator({ host: '127.0.0.1', port: 0, model, responseS: 1, log: silentLogger() });
  cleanups.push(() => car.stop());
  return { p1: dsmr.port, car: car.port };
}

function config(
  dir: string,
  ports: { p1: number; car: number; broker: number },
  control: Record<string, unknown>,
): EdgeConfig {
  const raw = {
    device_id: HOME,
    devices: [
      { name: 'p1', type: 'dsmr', tcp: `127.0.0.1:${ports.p1}` },
      {
        name: 'car',
        type: 'nrgkick',
        host: '127.0.0.1',
        port: ports.car,
        poll_interval_s: 1,
        control_interval_s: 1,
        settle_ms: 50,
        control: true,
      },
    ],
    control: {
      capacity_target_w: 6000,
      chargers: { car: { mode: 'deadline', energy_kwh: 5, deadline: deadline(), min_on_s: 0, min_off_s: 0 } },
      ...control,
    },
    buffer: { db_path: join(dir, 'outbox.sqlite') },
    mqtt: { host: '127.0.0.1', port: ports.broker, tls: null },
  };
  return checkEdgeConfig(parseWithSchema(EdgeConfigSchema, raw, 'edge.yaml') as EdgeConfig, 'edge.yaml');
}

async function run(cfg: EdgeConfig) {
  const { log, lines } = captureLogger('debug');
  const app = await EdgeApp.create({
    config: cfg,
    log,
    uplinkOptions: { backoff: { baseMs: 100, maxMs: 500 } },
  });
  await app.start();
  let stopped: Promise<void> | null = null;
  const stop = () => (stopped ??= app.stop());
  cleanups.push(stop);
  const reason = () => app.control?.decision?.chargers[0]?.reason ?? '';
  return { app, lines, reason, stop };
}

const WAITS = 'cheaper quarters later, PV surplus only now';
const NOW = 'a planned (cheapest) quarter';

describe('edge control: day-ahead prices from the server', () => {
  it('a deadline plans with them (and charges now before they come); they are kept across a restart', async () => {
    const dir = tmp();
    const { b, publish, stop } = await broker();
    const ports = { ...(await home()), broker: b.port };
    const cfg = config(dir, ports, { tariff_file: tariffFile(dir) });
    const edge = await run(cfg);
    expect(edge.app.pricesRemote).not.toBeNull();

    // No prices: a dynamic contract prices nothing, so the plan takes the earliest quarters.
    await waitFor(() => edge.reason().includes(NOW), 'a decision charging now');
    expect(edge.app.control?.plannedPrices).toBeNull();

    // The server's prices: this hour and the next dear, the six after cheap (5 kWh need 5 of their
    // 24 quarters: (6000 − 100 − 500) W × 15 min × 0.8 = 1.08 kWh each).
    const m = serverPrices((h) => (h < 2 ? 400 : h < 8 ? 50 : 400));
    await publish(JSON.stringify(m));
    await waitFor(() => edge.reason().includes(WAITS), 'the plan waiting for the cheap hours');
    const d = edge.app.control?.decision?.chargers[0]?.deadline;
    expect(d).toMatchObject({ energy_kwh: 5, feasible: true, charging_slot: false });
    const planned = edge.app.control?.plannedPrices;
    expect(planned && priceAt(planned, Date.now())).toBe(0.4);
    expect(planned && priceAt(planned, Date.now() + 3 * HOUR)).toBe(0.05);
    expect(edge.lines.find((l) => l.msg === 'day-ahead prices from the server applied')).toMatchObject({
      zone: 'BE',
      issued_at: m.issued_at,
      prices: 48,
    });

    // The edge restarts while the broker is gone: the prices kept in its outbox's database apply.
    await edge.stop();
    await stop();
    const again = await run(cfg);
    await waitFor(() => again.reason() !== '', 'a decision');
    expect(again.reason()).toContain(WAITS);
    expect(
      again.lines.some((l) => l.msg === 'day-ahead prices from the server applied (kept from before the restart)'),
    ).toBe(true);
    expect(again.app.pricesRemote?.message).toEqual(m);
  }, 60_000);

  it('the server’s control settings are kept across a restart too (the outbox’s database)', async () => {
    const dir = tmp();
    const { b, publish, stop } = await broker();
    const cfg = config(dir, { ...(await home()), broker: b.port }, {});
    const edge = await run(cfg);
    await waitFor(() => edge.reason() !== '', 'a decision');
    const message = {
      revision: 3,
      issued_at: new Date().toISOString(),
      settings: { chargers: { car: { mode: 'off' } } },
    };
    await publish(JSON.stringify(message), 'control');
    await waitFor(() => edge.app.control?.settings.chargers[0]?.mode === 'off', 'the server’s mode applied');

    // The edge restarts while the broker is gone: it goes on with the server's settings, not its file's.
    await edge.stop();
    await stop();
    const again = await run(cfg);
    expect(again.app.control?.settings.chargers[0]?.mode).toBe('off');
    expect(again.app.controlRemote?.state()).toMatchObject({
      revision: 3,
      settings: { chargers: { car: { mode: 'off' } } },
    });
    expect(
      again.lines.find((l) => l.msg === 'control settings from the server applied (kept from before the restart)'),
    ).toMatchObject({ revision: 3 });
    await waitFor(() => again.reason() !== '', 'a decision');
    expect(again.app.control?.decision?.chargers[0]?.setpoint.charge).toBe(false);
  }, 60_000);

  it('the tariff file’s own prices come first; the server’s fill the quarters it has none for', async () => {
    const dir = tmp();
    const { b, publish } = await broker();
    const ports = { ...(await home()), broker: b.port };
    // The file: this hour and the next at 0.40 €/kWh, nothing after. Alone, those are the only
    // priced quarters, so the plan charges now.
    const edge = await run(config(dir, ports, { tariff_file: tariffFile(dir, { hours: 2, eurPerKwh: 0.4 }) }));
    await waitFor(() => edge.reason().includes(NOW), 'a decision charging now (the file alone)');

    // The server says this hour and the next are cheap (5 €/MWh) and the rest 50 €/MWh. Were the
    // server's first, now would be cheapest; the file's 0.40 stands, so the plan waits for later.
    await publish(JSON.stringify(serverPrices((h) => (h < 2 ? 5 : 50))));
    await waitFor(() => edge.reason().includes(WAITS), 'the plan waiting for the later, server-priced hours');
    const planned = edge.app.control?.plannedPrices;
    expect(planned && priceAt(planned, Date.now())).toBe(0.4);
    expect(planned && priceAt(planned, Date.now() + 3 * HOUR)).toBe(0.05);
  }, 60_000);

  it('an edge whose tariff is not dynamic, or that has none, does not read the prices', async () => {
    const dir = tmp();
    const ports = { p1: 1, car: 2, broker: 3 };
    writeFileSync(
      join(dir, 'fixed.yaml'),
      [
        'periods:',
        "  - valid_from: '2026-01-01'",
        '    vat_pct: 6',
        '    electricity: { import: { single: 0.12 }, network_eur_per_kwh: 0.05, levies_eur_per_kwh: 0.02 }',
        '',
      ].join('\n'),
    );
    for (const control of [{ tariff_file: join(dir, 'fixed.yaml') }, {}]) {
      const app = await EdgeApp.create({ config: config(dir, ports, control), log: silentLogger() });
      expect(app.control).not.toBeNull();
      expect(app.pricesRemote).toBeNull();
    }
  });
});

describe('PricesRemote: what it applies, refuses, keeps', () => {
  function setup(kept: string | null = null) {
    const { log, lines } = captureLogger('debug');
    const applied: Array<number[] | null> = [];
    const store = new Map<string, string>();
    if (kept !== null) store.set('server_prices', kept);
    let read: ((p: Buffer) => void) | undefined;
    const remote = new PricesRemote({
      control: { setServerPrices: (s) => void applied.push(s ? s.prices : null) },
      channel: { attach: (c) => (read = c.read.prices) },
      keep: {
        keptState: (k) => store.get(k) ?? null,
        keepState: (k, v) => (v === null ? store.delete(k) : store.set(k, v)),
      },
      log,
    });
    remote.start();
    const deliver = (p: string) => read?.(Buffer.from(p));
    return { remote, applied, store, lines, deliver };
  }

  it('refuses a bad message naming the field, and keeps the prices it holds', () => {
    const { remote, applied, store, lines, deliver } = setup();
    const m = serverPrices(() => 80);
    deliver(JSON.stringify(m));
    expect(applied).toEqual([Array(48).fill(0.08)]);
    expect(store.get('server_prices')).toBe(JSON.stringify(m));
    const bad = structuredClone(m) as unknown as { prices: Array<Record<string, unknown>> };
    bad.prices[7]!.minutes = 'fifteen';
    deliver(JSON.stringify(bad));
    deliver('not json');
    expect(applied).toHaveLength(1);
    expect(remote.message).toEqual(m);
    const refused = lines.filter(
      (l) => l.msg === 'day-ahead prices from the server refused; the prices held before stay',
    );
    expect(refused.map((l) => l.reason)).toEqual([
      'prices[7].minutes: must be an integer',
      expect.stringMatching(/^not JSON: /),
    ]);
  });

  it('the newer message wins: an older one (a stale retained copy) is ignored, the same one not applied again', () => {
    const kept = serverPrices(() => 80, Date.parse('2026-03-29T12:00:00Z'));
    const { remote, applied, deliver } = setup(JSON.stringify(kept));
    expect(applied).toEqual([Array(48).fill(0.08)]);
    deliver(JSON.stringify(serverPrices(() => 60, Date.parse('2026-03-28T12:00:00Z'))));
    deliver(JSON.stringify(kept));
    expect(applied).toHaveLength(1);
    const newer = serverPrices(() => 90, Date.parse('2026-03-29T12:00:01Z'));
    deliver(JSON.stringify(newer));
    expect(applied.at(-1)).toEqual(Array(48).fill(0.09));
    expect(remote.message).toEqual(newer);
  });

  it('an empty message (the topic cleared) drops the server’s prices and what was kept; a bad kept one is ignored', () => {
    const { applied, store, deliver } = setup(JSON.stringify(serverPrices(() => 80)));
    deliver('');
    expect(applied).toEqual([Array(48).fill(0.08), null]);
    expect(store.has('server_prices')).toBe(false);
    const again = setup('{"version":1,"zone":"BE"}');
    expect(again.applied).toEqual([]);
    expect(again.lines.find((l) => l.msg === 'the day-ahead prices kept before the restart are ignored')?.reason).toBe(
      'unit: is required',
    );
  });
});
