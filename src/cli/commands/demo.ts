/**
 * `kwartier demo` (what `npm start` runs): the whole system on this machine, on 127.0.0.1 only.
 * One simulated home drives a P1 telegram stream (DSMR over TCP), a Sungrow inverter (Modbus TCP) and
 * an NRGkick charger (HTTP) whose evening car the edge's control charges under the capacity budget;
 * the edge reads both through the real drivers, commits to its outbox and forwards over MQTT to an
 * embedded broker; the server ingests into SQLite, acknowledges, and serves the API and dashboard.
 * Data lives in --data-dir; a second start resumes from it and the outbox replays what it holds.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeCause, KwartierError, UsageError } from '../../core/errors.js';
import { parseWithSchema } from '../../core/validate.js';
import { HomeModel } from '../../drivers/sim/home-model.js';
import { EdgeApp } from '../../edge/app.js';
import { checkEdgeConfig, EdgeConfigSchema } from '../../edge/config.js';
import { type Logger, rootLogger } from '../../lib/log.js';
import { ServerApp } from '../../server/app.js';
import { ServerConfigSchema } from '../../server/config.js';
import { type SimulatedPriceFeed, startSimulatedPriceFeed } from '../../server/prices/simulated-feed.js';
import { type Command, parseFlags, untilShutdown } from '../command.js';
import { backfill } from './demo-backfill.js';
import { startDemoSite } from './demo-site.js';
import { defaultWebRoot } from './server.js';
import type { RunningSimulator } from './simulate.js';

const usage = `Usage: kwartier demo [--port 8080] [--data-dir ./data] [--device-id demo-home] [--backfill DAYS] [--site home|multi]

Runs the whole system on this machine with simulated devices, all on 127.0.0.1: a simulated home
(P1 meter, Sungrow inverter and NRGkick charger speaking their real protocols), the edge with its
outbox and its control (the car's charging under the capacity peak), an embedded MQTT broker,
the server with SQLite and its day-ahead price feed (reading a simulated Energy-Charts
feed: no network), the API and the dashboard. Prints a link that logs you in.

Options:
  --port N          the API and dashboard port (default 8080; 0 picks a free one)
  --data-dir DIR    where the databases live (default ./data); a second start resumes from there
  --device-id ID    the simulated home's device id (default demo-home)
  --backfill DAYS   first fill the store with DAYS days of simulated history (fast, not in real
                    time) so the history, cost and capacity views have something to show
  --seed N          the simulated home's random seed (default 1; kept in the data dir)
  --site home|multi home (default): a P1 meter (dsmr), a Sungrow inverter with its battery
                    (sungrow) and an NRGkick charger (car) whose car comes home at 18:30 and
                    wants 25 kWh by 07:00 (started with the car home: 2 kWh an hour left):
                    the edge charges it under the month's capacity peak (control:
                    deadline). multi: a P1 meter (p1) and two Sungrow inverters
                    (roof, and garage: a second, PV-only inverter simulated on its own, which
                    the meter does not see). Both are devices: sites: the snapshots carry each
                    device's reading under devices

Environment:
  KWARTIER_API_TOKEN   the API token (default: generated once, kept in the data dir, printed)

Ctrl-C stops it cleanly.
`;

interface DemoState {
  device_id: string;
  seed: number;
  model_start: number;
  token: string;
}

function packageRoot(): string {
  return fileURLToPath(new URL('../../../', import.meta.url));
}

/** The demo home's tariff (a day/night contract): the server's costs and the edge's control use it. */
const DEMO_TARIFF_FILE = () => join(packageRoot(), 'config', 'tariffs.example.yaml');

export const command: Command = {
  name: 'demo',
  summary: 'Run the whole system with simulated devices',
  usage,
  async run(args, io) {
    const parsed = parseFlags(this, args, {
      port: { type: 'string', short: 'p' },
      'data-dir': { type: 'string' },
      'device-id': { type: 'string' },
      backfill: { type: 'string' },
      seed: { type: 'string' },
      site: { type: 'string' },
    });
    if (!parsed) {
      io.stdout.write(usage);
      return 0;
    }
    const v = parsed.values;
    const port = v.port === undefined ? 8080 : Number(v.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`kwartier demo: --port: must be 0..65535, got ${JSON.stringify(v.port)}`);
    const backfillDays = v.backfill === undefined ? 0 : Number(v.backfill);
    if (!Number.isFinite(backfillDays) || backfillDays < 0 || backfillDays > 800) {
      throw new UsageError(
        `kwartier demo: --backfill: must be a number of days 0..800, got ${JSON.stringify(v.backfill)}`,
      );
    }
    const deviceId = v['device-id'] ?? 'demo-home';
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(deviceId))
      throw new UsageError(`kwartier demo: --device-id: not a valid id: ${JSON.stringify(deviceId)}`);
    const seedArg = v.seed === undefined ? undefined : Number(v.seed);
    if (seedArg !== undefined && (!Number.isInteger(seedArg) || seedArg < 0))
      throw new UsageError('kwartier demo: --seed: must be a whole number');
    const site = v.site ?? 'home';
    if (site !== 'home' && site !== 'multi')
      throw new UsageError(`kwartier demo: --site: must be home or multi, got ${JSON.stringify(site)}`);
    const dataDir = resolve(v['data-dir'] ?? 'data');
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (err) {
      const cause = (err as { code?: unknown }).code === 'EEXIST' ? 'a file is in its place' : describeCause(err);
      throw new UsageError(`kwartier demo: --data-dir: ${dataDir}: cannot create the directory: ${cause}`);
    }

    const log = rootLogger(); // the apps name their components
    const now = Date.now();
    const state = loadState(dataDir, deviceId, seedArg, now - backfillDays * 86_400_000);
    const token = process.env.KWARTIER_API_TOKEN || state.token;

    const demo = await startDemo({
      dataDir,
      deviceId,
      port,
      token,
      state,
      backfillDays,
      site,
      log,
      print: (l) => io.stdout.write(`${l}\n`),
    });
    const why = await untilShutdown();
    log.info({ signal: why }, 'demo stopping');
    await demo.stop();
    return 0;
  },
};

function loadState(dataDir: string, deviceId: string, seed: number | undefined, start: number): DemoState {
  const file = join(dataDir, 'demo.json');
  if (existsSync(file)) {
    try {
      const s = JSON.parse(readFileSync(file, 'utf8')) as DemoState;
      if (s.device_id === deviceId && Number.isFinite(s.model_start) && typeof s.token === 'string') return s;
    } catch {
      // a damaged state file: start a new simulated home below (the stores keep their data)
    }
  }
  const s: DemoState = {
    device_id: deviceId,
    seed: seed ?? 1,
    model_start: Math.floor(start / 60_000) * 60_000,
    token: randomBytes(24).toString('base64url'),
  };
  writeFileSync(file, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
  return s;
}

export interface DemoOptions {
  dataDir: string;
  deviceId: string;
  port: number;
  token: string;
  state: DemoState;
  backfillDays: number;
  log: Logger;
  print: (line: string) => void;
  /** Telegrams per second of the simulated meter (default 1, as a real one). */
  rateHz?: number;
  /** `home` (default): P1 + one Sungrow in the legacy sections; `multi`: a devices: site of P1 + two Sungrows. */
  site?: 'home' | 'multi';
}

export interface RunningDemo {
  server: ServerApp;
  /** The simulated day-ahead price feed the server's price feed reads. */
  priceFeed: SimulatedPriceFeed;
  edge: EdgeApp;
  simulators: RunningSimulator[];
  url: string;
  stop(): Promise<void>;
}

export async function startDemo(o: DemoOptions): Promise<RunningDemo> {
  const timezone = 'Europe/Brussels';
  // The price feed reads a simulated Energy-Charts on loopback: the demo makes no request beyond this machine.
  const priceFeed = await startSimulatedPriceFeed({ timezone });
  const server = await startServer(o, timezone, priceFeed);
  const started: Array<() => Promise<void>> = [() => priceFeed.stop(), () => server.stop()];
  const stopAll = async () => {
    for (const stop of started.reverse()) await stop().catch(() => {});
  };

  try {
    const model = await resumeModel(server, o, timezone);
    const simulators: RunningSimulator[] = [];
    started.push(async () => {
      await Promise.allSettled(simulators.map((s) => s.stop()));
    });
    const devices = await startDemoSite(model, simulators, {
      site: o.site ?? 'home',
      seed: o.state.seed,
      modelStart: o.state.model_start,
      timezone,
      rateHz: o.rateHz ?? 1,
      tariffFile: DEMO_TARIFF_FILE(),
      log: o.log,
    });
    const brokerPort = Number(new URL(server.brokerUrl ?? 'mqtt://127.0.0.1:1883').port);
    const edge = await startEdge(o, timezone, devices, brokerPort);
    started.push(() => edge.stop());

    const addr = server.apiAddress;
    const url = `http://127.0.0.1:${addr?.port ?? o.port}/#token=${encodeURIComponent(o.token)}&device=${encodeURIComponent(o.deviceId)}`;
    o.print(`kwartier demo: running. Open ${url}`);
    o.print(
      `kwartier demo: API http://127.0.0.1:${addr?.port ?? o.port}/api/docs (Authorization: Bearer ${o.token}); data in ${o.dataDir}; Ctrl-C stops`,
    );
    o.print(`kwartier demo: MQTT broker ${server.brokerUrl} (plain, loopback only; the username is the device id)`);
    return { server, priceFeed, edge, simulators, url, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The server: SQLite in the data dir, the embedded broker, the API on --port, the simulated price feed. */
async function startServer(o: DemoOptions, timezone: string, priceFeed: SimulatedPriceFeed): Promise<ServerApp> {
  const serverConfig = parseWithSchema(
    ServerConfigSchema,
    {
      timezone,
      store: { type: 'sqlite', path: join(o.dataDir, 'kwartier.sqlite') },
      broker: { enabled: true, host: '127.0.0.1', port: 0 },
      mqtt: { client_id: 'kwartier-demo-ingester' },
      // A token that may write: the Control page can change the car's mode (loopback only).
      api: {
        host: '127.0.0.1',
        port: o.port,
        tokens: [{ name: 'demo', token: o.token, devices: [o.deviceId], scope: 'write' }],
      },
      devices: { [o.deviceId]: { country: 'be', tariffs: 'tariffs.example.yaml' } },
      prices: { enabled: true, source: 'energy-charts', zone: 'BE', base_url: priceFeed.url, backfill_days: 35 },
    },
    'demo server config',
  );
  const webRoot = defaultWebRoot();
  const server = new ServerApp({
    config: serverConfig,
    configPath: join(packageRoot(), 'config', 'server.example.yaml'),
    log: o.log.child({ part: 'server' }),
    ...(webRoot ? { webRoot } : {}),
    ingestOptions: { flushIntervalMs: 20 },
  });
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    await priceFeed.stop();
    // The API's port is --port here (exit 1, as `kwartier server` for api.port).
    if (err instanceof KwartierError && err.key === 'api.port')
      throw new KwartierError(
        err.code,
        `kwartier demo: --port: ${err.message.slice('api.port: '.length)}; choose another with --port`,
        { cause: err, retriable: err.retriable },
      );
    throw err;
  }
  return server;
}

/**
 * The simulated home, resumed along the same trajectory (same seed and start) as before, its
 * history backfilled when asked, and advanced to now.
 */
async function resumeModel(server: ServerApp, o: DemoOptions, timezone: string): Promise<HomeModel> {
  const model = new HomeModel({ start: o.state.model_start, seed: o.state.seed, country: 'be', timezone });
  // The car's draw of earlier runs is not in the seed's trajectory: the meter goes on from what
  // the store last holds, never back.
  const latest = await server.store.latest(o.deviceId);
  if (latest) {
    model.advanceTo(Date.parse(latest.timestamp));
    model.continueCounters({
      import_t1_kwh: latest.grid_import_t1_kwh,
      import_t2_kwh: latest.grid_import_t2_kwh,
      export_t1_kwh: latest.grid_export_t1_kwh,
      export_t2_kwh: latest.grid_export_t2_kwh,
    });
  }
  const backfilled = await backfill(server.store, model, o);
  if (backfilled > 0)
    o.print(`kwartier demo: backfilled ${backfilled.toLocaleString('en-US')} snapshots of simulated history`);
  model.advanceTo(Date.now());
  return model;
}

/** The edge: the site's devices, its outbox in the data dir, forwarding to the embedded broker. */
async function startEdge(
  o: DemoOptions,
  timezone: string,
  devices: Record<string, unknown>,
  brokerPort: number,
): Promise<EdgeApp> {
  const edgeConfig = checkEdgeConfig(
    parseWithSchema(
      EdgeConfigSchema,
      {
        device_id: o.deviceId,
        timezone,
        ...devices,
        buffer: { db_path: join(o.dataDir, 'edge-buffer.sqlite') },
        mqtt: { host: '127.0.0.1', port: brokerPort, tls: null },
      },
      'demo edge config',
    ),
    'demo edge config',
  );
  const edge = await EdgeApp.create({ config: edgeConfig, log: o.log.child({ part: 'edge' }) });
  await edge.start();
  return edge;
}
