/**
 * A Fronius inverter (GEN24, Symo, Primo, or a Datamanager in front of several) over its Solar API
 * v1 (plain HTTP, no authentication) as a device type: PV, battery (GEN24 with storage), and its
 * own grid meter (a Fronius Smart Meter: used only when the site has no fresh P1 meter).
 */
import { defineDriver, lazySource, running, unbundled } from '../definition.js';
import { type FroniusConfig, FroniusConfigSchema } from './config.js';

const source = lazySource('fronius', () => import('./source.js'));
const simulator = unbundled<typeof import('./simulator.js')>(new URL('./simulator.js', import.meta.url));

export const fronius = defineDriver<FroniusConfig>({
  type: 'fronius',
  description: 'Fronius GEN24, Symo or Primo over the Solar API v1 (HTTP): PV, battery, its Smart Meter',
  roles: ['pv', 'battery', 'grid_meter'],
  configSchema: FroniusConfigSchema,
  exampleConfig: {
    host: '127.0.0.1',
    port: 80,
    poll_interval_s: 2,
    detail_interval_s: 10,
    inverter_id: 1,
    timeout_ms: 3000,
  },
  load: source.load,
  create: (c, ctx) => source.get().createFroniusSource(c, { log: ctx.log, timezone: ctx.timezone }),
  simulator: {
    describe: 'a Fronius GEN24 with battery and Smart Meter (Solar API v1, HTTP; recorded answers)',
    async create(o) {
      const { startFroniusSimulator } = await simulator();
      const sim = await startFroniusSimulator({ host: o.host, port: o.port, log: o.log });
      return running(sim);
    },
  },
  replay: {
    // The fixture is a recorded GetPowerFlowRealtimeData answer; `serve.meter` and
    // `serve.inverter` name the meter and inverter answers of the same installation (absent: 404).
    async serve(o) {
      const { startFroniusSimulator } = await simulator();
      const json = (name: unknown): unknown =>
        typeof name === 'string' ? (JSON.parse(o.read(name).toString('utf8')) as unknown) : null;
      const sim = await startFroniusSimulator({
        host: o.host,
        port: o.port,
        log: o.log,
        answers: {
          powerFlow: JSON.parse(o.fixture.bytes.toString('utf8')) as unknown,
          meter: json(o.options.meter),
          inverter: json(o.options.inverter),
        },
      });
      return running(sim);
    },
  },
});
