/**
 * A generic SunSpec device over Modbus TCP as a device type: an inverter (PV), its meter and
 * battery, whichever models the device reports (docs/sunspec.md).
 */
import { defineDriver, lazySource, running, unbundled } from '../definition.js';
import { type SunSpecConfig, SunSpecConfigSchema } from './config.js';

const source = lazySource('sunspec', () => import('./source.js'));
const simulator = unbundled<typeof import('./simulator.js')>(new URL('./simulator.js', import.meta.url));

export const sunspec = defineDriver<SunSpecConfig>({
  type: 'sunspec',
  description:
    'A SunSpec device over Modbus TCP: inverter (101–103, 111–113, 160), meter (201–204, 211–214), battery (802, 124)',
  roles: ['pv', 'battery', 'grid_meter'],
  configSchema: SunSpecConfigSchema,
  exampleConfig: {
    host: '127.0.0.1',
    port: 502,
    unit_id: 1,
    poll_interval_s: 5,
    meter_sign: 'import',
    battery_sign: 'discharge',
    timeout_ms: 5000,
    connect_delay_ms: 0,
    inter_register_delay_ms: 20,
    busy_retries: 2,
    max_registers_per_request: 125,
    retry_unsupported_s: 3600,
  },
  load: source.load,
  create: (c, ctx) => source.get().createSunSpecSource(c, { log: ctx.log, name: ctx.name }),
  simulator: {
    describe: 'a SunSpec inverter (a recorded Kostal Plenticore) with a 203 meter and an 802 battery (Modbus TCP)',
    async create(o) {
      const { startSunSpecSimulator } = await simulator();
      const sim = await startSunSpecSimulator({
        host: o.host,
        port: o.port,
        log: o.log,
        ...(o.model ? { model: o.model } : {}),
      });
      return running(sim);
    },
  },
  replay: {
    // A fixture is an `evcc sunspec` print (.txt) or a raw register dump (.json / .csv).
    async serve(o) {
      return (await simulator()).startSunSpecReplay(o);
    },
  },
});
