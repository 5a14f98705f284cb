/**
 * A HomeWizard P1 meter on the LAN (local API v1 over HTTP, or v2 over HTTPS with a token) as a
 * device type. The site's grid meter.
 */
import { Type } from '@sinclair/typebox';
import { ConfigError } from '../../core/errors.js';
import { loadTlsFiles, parseCertificates } from '../../lib/tls-files.js';
import { defaultHomeModel, defineDriver, lazySource, running, unbundled } from '../definition.js';
import { type HomeWizardConfig, HomeWizardConfigSchema } from './config.js';

const { ip: _ip, ...rest } = HomeWizardConfigSchema.properties;

/** A `devices:` entry of type homewizard: the `homewizard:` section's keys, with `host` for `ip`. */
export const HomeWizardDeviceSchema = Type.Object(
  { host: Type.String({ minLength: 1, description: "The meter's address on the LAN" }), ...rest },
  { additionalProperties: false },
);
export type HomeWizardDeviceConfig = Omit<HomeWizardConfig, 'ip'> & { host: string };

const source = lazySource('homewizard', () => import('./source.js'));
const simulator = unbundled<typeof import('./simulator.js')>(new URL('./simulator.js', import.meta.url));

export const homewizard = defineDriver<HomeWizardDeviceConfig>({
  type: 'homewizard',
  description: 'HomeWizard Wi-Fi P1 meter, local API v1 (HTTP) or v2 (HTTPS, token from `kwartier homewizard pair`)',
  roles: ['grid_meter'],
  configSchema: HomeWizardDeviceSchema,
  exampleConfig: {
    host: '127.0.0.1',
    poll_interval_s: 1,
    api_version: 'v1',
    token: null,
    ca_cert: null,
    transport: 'websocket',
  },
  check(c, key) {
    if (c.api_version === 'v2' && (c.token === null || c.token === '')) {
      throw new ConfigError(
        `${key}.token: required for api_version v2; get one with \`kwartier homewizard pair ${c.host}\``,
        { key: `${key}.token` },
      );
    }
  },
  checkFiles(c, key) {
    if (c.api_version !== 'v2' || c.ca_cert === null) return;
    // Inline PEM or a file (drivers/homewizard/tls.ts).
    if (c.ca_cert.trimStart().startsWith('-----BEGIN'))
      parseCertificates({ key: `${key}.ca_cert`, path: '(inline PEM)' }, Buffer.from(c.ca_cert));
    else loadTlsFiles({ ca: { key: `${key}.ca_cert`, path: c.ca_cert } });
  },
  load: source.load,
  create(c, ctx) {
    const { host, ...others } = c;
    return source.get().createHomeWizardSource({ ip: host, ...others }, { log: ctx.log, timezone: ctx.timezone });
  },
  fromLegacySection(section: HomeWizardConfig) {
    const { ip, ...others } = section;
    return { host: ip, ...others };
  },
  simulator: {
    describe: 'a HomeWizard P1 meter (local API v1, HTTP)',
    async create(o) {
      const { startHomeWizardSimulator } = await simulator();
      const model = await defaultHomeModel(o.model);
      const sim = await startHomeWizardSimulator({ host: o.host, port: o.port, api: 'v1', model, log: o.log });
      return running(sim);
    },
  },
  replay: {
    // The fixture is a measurement (v1 /api/v1/data or v2 /api/measurement); `serve.device` names
    // the GET /api answer served beside it, `serve.api` its API version (default v1).
    async serve(o) {
      const { startHomeWizardSimulator } = await simulator();
      const api = o.options.api === 'v2' ? 'v2' : 'v1';
      const device = o.options.device;
      if (typeof device !== 'string') throw new Error(`${o.fixture.name}: serve.device must name the GET /api answer`);
      const json = (b: Buffer) => JSON.parse(b.toString('utf8')) as Record<string, unknown>;
      const sim = await startHomeWizardSimulator({
        host: o.host,
        port: o.port,
        api,
        recorded: { device: json(o.read(device)), measurement: json(o.fixture.bytes) },
        log: o.log,
      });
      const config: Record<string, unknown> =
        api === 'v2' ? { api_version: 'v2', token: sim.token, ca_cert: sim.caCertPem } : { api_version: 'v1' };
      return { port: sim.port, config, stop: () => sim.stop() };
    },
  },
});
