/**
 * A Huawei SUN2000 inverter over Modbus TCP (an SDongle, or the inverter's own access point) as a
 * device type: PV, the LUNA2000 battery when it has one, and its power meter (DTSU666-H /
 * DDSU666, used only when the site has no fresh P1 meter). Several inverters behind one SDongle
 * are several devices (unit_id 1, 2, …) sharing one connection.
 */
import { defineDriver, importUnbundled, loaded } from '../definition.js';
import { checkHuaweiConfig, type HuaweiConfig, HuaweiConfigSchema } from './config.js';

type SourceModule = typeof import('./source.js');
let mod: SourceModule | undefined;

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
  async load() {
    mod ??= await import('./source.js');
  },
  create: (c, ctx) => loaded(mod, 'huawei-sun2000').createHuaweiSource(c, { log: ctx.log, name: ctx.name }),
  simulator: {
    describe:
      'a Huawei SDongle: unit 1 a SUN2000 with meter and battery, unit 2 one at night (Modbus TCP; recorded answers)',
    async create(o) {
      const { startHuaweiSimulator } = await importUnbundled<typeof import('./simulator.js')>(
        new URL('./simulator.js', import.meta.url),
      );
      const sim = await startHuaweiSimulator({ host: o.host, port: o.port, log: o.log });
      return { port: sim.port, stop: () => sim.stop() };
    },
  },
  replay: {
    // The fixture is a recorded file (recorded.ts format); its unit answers, and the driver reads
    // that unit (the config's unit_id is set from the file).
    async serve(o) {
      const { startHuaweiSimulator } = await importUnbundled<typeof import('./simulator.js')>(
        new URL('./simulator.js', import.meta.url),
      );
      const { parseRecorded } = await importUnbundled<typeof import('./recorded.js')>(
        new URL('./recorded.js', import.meta.url),
      );
      const rec = parseRecorded(o.fixture.bytes.toString('utf8'), o.fixture.name);
      const sim = await startHuaweiSimulator({
        host: o.host,
        port: o.port,
        log: o.log,
        units: new Map([[rec.unit, rec.registers]]),
      });
      return { port: sim.port, stop: () => sim.stop(), config: { unit_id: rec.unit } };
    },
  },
});
