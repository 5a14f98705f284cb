/**
 * An EV charger speaking OCPP 1.6J (Wallbox, Alfen, Zaptec, Easee and most others) as a device
 * type: the edge is the central system the charger connects to; it reads status and meter values,
 * and sets the current with charging profiles (with `control: true`).
 */
import { ConfigError, KwartierError } from '../../core/errors.js';
import { isLoopbackHost, parseHostPort } from '../../core/host-port.js';
import { loadTlsFiles } from '../../lib/tls-files.js';
import { defaultHomeModel, defineDriver, importUnbundled, lazySource, unbundled } from '../definition.js';
import { type OcppConfig, OcppConfigSchema } from './config.js';
import { OCPP_CONTROLS } from './controls.js';
import { ocppTlsFiles } from './listener.js';

const source = lazySource('ocpp', () => import('./source.js'));
const simulator = unbundled<typeof import('./simulator.js')>(new URL('./simulator.js', import.meta.url));

/** The URL of a client simulator: ws://host:port + path, path `/ocpp/CP1` by default. */
function target(host: string, port: number, path: string | undefined): { url: string; identity: string } {
  const parts = (path ?? '/ocpp/CP1').split('/').filter((p) => p !== '');
  const identity = decodeURIComponent(parts.pop() ?? 'CP1');
  return { url: `ws://${host.includes(':') ? `[${host}]` : host}:${port}/${parts.join('/')}`, identity };
}

export const ocpp = defineDriver<OcppConfig>({
  type: 'ocpp',
  description:
    'EV charger over OCPP 1.6J (the edge is the central system it connects to): power, session energy, state; current and pause by charging profile',
  roles: ['ev_charger'],
  configSchema: OcppConfigSchema,
  exampleConfig: {
    listen: '127.0.0.1:8887',
    insecure: false,
    charge_point_id: 'CP1',
    connector: 1,
    phases: 3,
    min_current_a: 6,
    max_current_a: 16,
    heartbeat_interval_s: 60,
    meter_interval_s: 10,
    profile_kind_relative: false,
    stack_level: 0,
    control: false,
    timeout_ms: 10_000,
  },
  check(c, key) {
    let host: string;
    try {
      ({ host } = parseHostPort(c.listen, `${key}.listen`, 8887));
    } catch (err) {
      throw new ConfigError(err instanceof KwartierError ? err.message : String(err), { key: `${key}.listen` });
    }
    if (c.tls) loadTlsFiles(ocppTlsFiles(c.tls, key));
    if (c.tls?.client_cn !== undefined && c.tls.ca === undefined) {
      throw new ConfigError(
        `${key}.tls.client_cn: a client certificate is only asked for with ${key}.tls.ca (OCPP security profile 3)`,
        { key: `${key}.tls.client_cn` },
      );
    }
    const authenticated = c.password !== undefined || c.tls?.ca !== undefined;
    if (!isLoopbackHost(host) && c.tls && !authenticated && !c.insecure) {
      throw new ConfigError(
        `${key}.password: over wss beyond loopback the charger must still prove who it is: give it a password ` +
          `(OCPP security profile 2) or set ${key}.tls.ca to ask for a client certificate (profile 3)`,
        { key: `${key}.password` },
      );
    }
    if (!isLoopbackHost(host) && !c.tls && !c.insecure) {
      throw new ConfigError(
        `${key}.listen: ${JSON.stringify(c.listen)} is not a loopback address: the charger speaks plain ws, so its ` +
          'traffic (and password) cross the network unencrypted, and anything on it can try to connect. ' +
          `Set ${key}.insecure: true to listen there anyway (and give the charger a password)`,
        { key: `${key}.listen` },
      );
    }
    if (c.remote_start_id_tag !== undefined && !c.control) {
      throw new ConfigError(
        `${key}.remote_start_id_tag: starting a session is a write; it needs ${key}.control: true`,
        { key: `${key}.remote_start_id_tag` },
      );
    }
    if (c.min_current_a > c.max_current_a) {
      throw new ConfigError(`${key}.max_current_a: must be >= min_current_a (${c.min_current_a})`, {
        key: `${key}.max_current_a`,
      });
    }
  },
  load: source.load,
  create: (c, ctx) => source.get().createOcppSource(c, { log: ctx.log, name: ctx.name }),
  simulator: {
    describe: 'an OCPP 1.6J charge point with a car, connecting to the central system (ws://HOST:PORT/ocpp/CP1)',
    client: true,
    async create(o) {
      const { startOcppSimulator, freePort } = await simulator();
      const model = await defaultHomeModel(o.model);
      const port = o.port === 0 ? await freePort(o.host) : o.port;
      const sim = startOcppSimulator({ ...target(o.host, port, o.path), model, log: o.log });
      return { port, stop: () => sim.stop() };
    },
  },
  replay: {
    // The fixture is a JSON list of recorded OCPP-J frames; their CALLs are sent to the driver in
    // order by a client that stands in for the charger. `serve.identity` names its id (default CP1).
    async serve(o) {
      const { freePort } = await simulator();
      const { startOcppReplay } = await importUnbundled<typeof import('./replay.js')>(
        new URL('./replay.js', import.meta.url),
      );
      const frames = JSON.parse(o.fixture.bytes.toString('utf8')) as unknown;
      if (!Array.isArray(frames)) throw new Error(`${o.fixture.name}: not a JSON list of OCPP-J frames`);
      const identity = typeof o.options.identity === 'string' ? o.options.identity : 'CP1';
      const port = o.port === 0 ? await freePort(o.host) : o.port;
      const replay = startOcppReplay({ ...target(o.host, port, `/ocpp/${identity}`), frames, log: o.log });
      return {
        port,
        config: { listen: `${o.host}:${port}`, charge_point_id: identity, meter_interval_s: 1 },
        stop: () => replay.stop(),
      };
    },
  },
  controls: OCPP_CONTROLS,
});
