/**
 * Day-ahead prices from the server's price feed to the edge's deadline plan, end to end on loopback:
 * the server in process (embedded broker, SQLite, API, and its price feed fetching from a fake
 * Energy-Charts feed on 127.0.0.1), a simulated home with a P1 meter and an NRGkick with a car
 * (`kwartier simulate`) and `kwartier edge` with a dynamic contract and no price file, its charger in
 * deadline mode. The edge's decisions are read where the server shows them (GET /api/v1/control,
 * from the edge's `control_state`).
 *
 * - While the feed fails, no prices: the plan takes the earliest quarters, the car charges now.
 * - Once the feed answers, the server stores the prices and publishes them on the home's `prices`
 *   topic; the edge plans with them and waits for the cheap hours they give (the car pauses: the
 *   simulated home has no PV surplus to take meanwhile).
 * - The server restarts (its embedded broker forgot every retained message) and the edge comes back
 *   with a new outbox (nothing kept): the server sends the stored prices again at its connection,
 *   retained, and the edge that connects after that gets them.
 *
 * The feed's clock runs a day ahead, with one day of backfill, so it fetches today and tomorrow
 * whatever the time the test runs (before 13:05 the real feed would not have tomorrow yet); the
 * publisher, on the real clock, sends today's and tomorrow's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ControlAnswer } from '../../src/core/api/control.js';
import { DAY_MS, HOUR_MS, localDay, QUARTER_MS } from '../../src/core/time/index.js';
import { parseWithSchema } from '../../src/core/validate.js';
import { silentLogger } from '../../src/lib/log.js';
import { ServerApp } from '../../src/server/app.js';
import { ServerConfigSchema } from '../../src/server/config.js';
import { childListening, childProcesses, stopChild } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { dynamicTariffLines } from '../helpers/tariffs.js';
import { until } from '../helpers/wait.js';
import { type FakeFeed, startFakeFeed } from '../server/prices/fake-feed.js';

const TOKEN = 'viewer-token-0123456789abcdef';
const HOME = 'px-e2e-home';
const TZ = 'Europe/Brussels';
const WAITS = 'cheaper quarters later, PV surplus only now';
const NOW = 'a planned (cheapest) quarter';

const dir = mkdtempSync(join(tmpdir(), 'kw-prices-e2e-'));
const children = childProcesses({ KWARTIER_LOG_LEVEL: 'warn' });
let server: ServerApp | null = null;
let feed: FakeFeed | null = null;

afterAll(async () => {
  await children.stopAll();
  await server?.stop();
  await feed?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** €/MWh of the quarter at `t`: dear until two hours after this clock hour, cheap for six, dear after. */
function price(t: number, cheapFrom: number): number {
  return t >= cheapFrom && t < cheapFrom + 6 * HOUR_MS ? 50 : 400;
}

/** Energy-Charts' answer for the local days asked (`start`..`end`, inclusive), one price a quarter. */
function answer(u: URL, cheapFrom: number): { status: number; body: string } {
  const first = localDay(Date.parse(`${u.searchParams.get('start')}T12:00:00Z`), TZ).start;
  const last = localDay(Date.parse(`${u.searchParams.get('end')}T12:00:00Z`), TZ).end;
  const unix: number[] = [];
  const prices: number[] = [];
  for (let t = first; t < last; t += QUARTER_MS) {
    unix.push(t / 1000);
    prices.push(price(t, cheapFrom));
  }
  return {
    status: 200,
    body: JSON.stringify({
      license_info: 'test',
      unix_seconds: unix,
      price: prices,
      unit: 'EUR / MWh',
      deprecated: false,
    }),
  };
}

async function startServer(brokerPort: number, apiPort: number, feedUrl: string): Promise<ServerApp> {
  const app = new ServerApp({
    config: parseWithSchema(
      ServerConfigSchema,
      {
        store: { type: 'sqlite', path: join(dir, 'server.sqlite') },
        broker: { enabled: true, port: brokerPort },
        api: { port: apiPort, dashboard: false, tokens: [{ name: 'viewer', token: TOKEN, devices: [HOME] }] },
        prices: { enabled: true, source: 'energy-charts', zone: 'BE', base_url: feedUrl, backfill_days: 1 },
        devices: { [HOME]: {} },
      },
      'test',
    ),
    log: silentLogger(),
    ingestOptions: { flushIntervalMs: 50 },
    priceFeed: { now: () => Date.now() + DAY_MS, retryMinMs: 300, retryMaxMs: 1000, requestTimeoutMs: 5000 },
  });
  await app.start();
  return app;
}

describe('the price feed → the server → MQTT → the edge’s deadline plan', () => {
  it('the edge plans with the prices the server stored, also after the server restarts', async () => {
    const [p1Port, kickPort, brokerPort, apiPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    feed = await startFakeFeed();
    const f = feed;
    f.answer = () => ({ status: 503, body: '{"detail":"maintenance"}' });
    server = await startServer(brokerPort, apiPort, f.url);
    const api = `http://127.0.0.1:${apiPort}/api/v1/control/${HOME}`;
    const get = async (): Promise<ControlAnswer> =>
      (await fetch(api, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as Promise<ControlAnswer>;
    const lastCar = async (after = 0) => {
      const a = await get();
      const car = a.decisions.filter((d) => d.device === 'car' && Date.parse(d.at) > after).at(-1);
      return car ?? null;
    };

    const sim = children.start([
      'simulate',
      '--device',
      'dsmr',
      `127.0.0.1:${p1Port}`,
      '--device',
      'nrgkick',
      `127.0.0.1:${kickPort}`,
    ]);
    await childListening(sim, /nrgkick: an NRGkick/);
    writeFileSync(join(dir, 'tariffs.yaml'), dynamicTariffLines().join('\n'));
    const by = new Date(Date.now() + 8 * HOUR_MS).toLocaleTimeString('en-GB', {
      timeZone: TZ,
      hour: '2-digit',
      minute: '2-digit',
    });
    const cfg = join(dir, 'edge.yaml');
    const writeEdgeConfig = (outbox: string) =>
      writeFileSync(
        cfg,
        [
          `device_id: ${HOME}`,
          'devices:',
          `  - {name: p1, type: dsmr, tcp: "127.0.0.1:${p1Port}"}`,
          `  - {name: car, type: nrgkick, host: 127.0.0.1, port: ${kickPort}, poll_interval_s: 1, control_interval_s: 1, control: true, settle_ms: 100}`,
          'control:',
          '  capacity_target_w: 6000',
          '  min_write_interval_s: 1',
          '  tariff_file: tariffs.yaml',
          '  chargers:',
          `    car: {mode: deadline, energy_kwh: 5, deadline: "${by}", min_off_s: 0, min_on_s: 0, solar_stop_delay_s: 0}`,
          'buffer:',
          `  db_path: ${join(dir, outbox)}`,
          'mqtt:',
          '  host: 127.0.0.1',
          `  port: ${brokerPort}`,
          '  tls: null',
          '',
        ].join('\n'),
      );
    writeEdgeConfig('outbox-1.sqlite');
    let edge = children.start(['edge', '--config', cfg]);

    // The feed fails: no prices stored or sent; a dynamic contract prices nothing; the car charges now.
    const before = await until(
      async () => {
        const car = await lastCar();
        return car?.reason.includes(NOW) ? car : null;
      },
      'a decision charging now, without prices',
      60_000,
    );
    expect(before).toMatchObject({ setpoint: { charge: true }, deadline: { charging_slot: true, feasible: true } });
    expect(server.pricePublisher?.message).toBeNull();

    // The feed answers: this hour and the next dear, the six after cheap (5 kWh fit in 5 of their
    // quarters under 6 kW). Stored, sent to the home, and the edge's plan waits for the cheap hours.
    const cheapFrom = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + 2 * HOUR_MS;
    f.answer = (u) => answer(u, cheapFrom);
    const waits = await until(
      async () => {
        const car = await lastCar();
        return car?.reason.includes(WAITS) && car.setpoint.charge === false ? car : null;
      },
      'the edge to plan with the server’s prices (the car paused: no PV here)',
      60_000,
    );
    expect(waits).toMatchObject({ setpoint: { charge: false }, deadline: { charging_slot: false, feasible: true } });
    const sent = server.pricePublisher?.message;
    const today = localDay(Date.now(), TZ);
    expect(sent).toMatchObject({ version: 1, zone: 'BE', unit: 'EUR/MWh' });
    expect(sent?.prices[0]?.start).toBe(new Date(today.start).toISOString());
    expect(sent?.prices.length).toBe(((localDay(today.end, TZ).end - today.start) / QUARTER_MS) | 0);
    expect(sent?.prices.find((p) => Date.parse(p.start) === cheapFrom)?.price).toBe(50);
    expect(server.pricePublisher?.counters.published).toBe(1);

    // The server restarts: its embedded broker starts empty, the feed has nothing new to fetch, and
    // the publisher sends the stored prices at its connection. The edge comes back with a new outbox
    // (nothing kept from before): it gets them retained, and plans with them again.
    await stopChild(edge);
    await server.stop();
    server = await startServer(brokerPort, apiPort, f.url);
    await until(
      async () => (server?.pricePublisher?.counters.published === 1 ? true : null),
      'the prices sent',
      30_000,
    );
    writeEdgeConfig('outbox-2.sqlite');
    const restartedAt = Date.now();
    edge = children.start(['edge', '--config', cfg]);
    const again = await until(
      async () => {
        const car = await lastCar(restartedAt);
        return car?.reason.includes(WAITS) ? car : null;
      },
      'the restarted edge to plan with the prices the restarted server sent',
      60_000,
    );
    expect(again.deadline).toMatchObject({ charging_slot: false, feasible: true });
    await stopChild(edge);
  }, 240_000);
});
