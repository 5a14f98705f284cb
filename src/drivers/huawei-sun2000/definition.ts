/**
 * A Huawei SUN2000 inverter over Modbus TCP (an SDongle, or the inverter's own access point) as a
 * device type: PV, the LUNA2000 battery when it has one, and its power meter (DTSU666-H /
 * DDSU666, used only when the site has no fresh P1 meter). Several inverters behind one SDongle
 * are several devices (unit_id 1, 2, …) sharing one connection.
 */
import { defineDriver, lazySource, running, unbundled } from '../definition.js';
import { checkHuaweiConfig, type HuaweiConfig, HuaweiConfigSchema } from './config.js';

const source = lazySource('huawei-sun2000', () => import('./source.js'));
const simulator = unbundled<typeof import('./simulator.js')>(new URL('./simulator.js', import.meta.url));

export const huaweiSun2000 = defineDriver<HuaweiConfig>({
  type: 'huawei-sun2000',
  description: 'Huawei SUN2000 over Modbus TCP (SDongle or the inverter access point): PV, LUNA2000 battery, its meter',
  roles: ['pv', 'battery', 'grid_meter'],
  configSchema: HuaweiConfigSchema,
  exampleConfig: {
    host: '127.0.0.1',
    port: 502,
    unit_id: 1,
    poll_interval_s: 5,
    meter_interval_s: 2,
    timeout_ms: 10_000,
    connect_delay_ms: 1500,
    inter_register_delay_ms: 50,
    busy_retries: 5,
    max_registers_per_request: 64,
    retry_unsupported_s: 3600,
  },
  check: checkHuaweiConfig,
  load: source.load,
  create: (c, ctx) => source.get().createHuaweiSource(c, { log: ctx.log, name: ctx.name }),
  simulator: {
    describe:
      'a Huawei SDongle: unit 1 a SUN2000 with meter and battery, unit 2 one at night (Modbus TCP; recorded answers)',
    async create(o) {
      const { startHuaweiSimulator } = await simulator();
      const sim = await startHuaweiSimulator({ host: o.host, port: o.port, log: o.log });
      return running(sim);
    },
  },
  replay: {
    // The fixture is a recorded file (recorded.ts format); its unit answers, and the driver reads
    // that unit (the config's unit_id is set from the file).
    async serve(o) {
      return (await simulator()).startHuaweiReplay(o);
    },
  },
});
