/**
 * A generic SunSpec device over Modbus TCP as a device type: an inverter (PV), its meter and
 * battery, whichever models the device reports (docs/sunspec.md).
 */
import { defineDriver, importUnbundled, loaded } from '../definition.js';
import { type SunSpecConfig, SunSpecConfigSchema } from './config.js';

type SourceModule = typeof import('./source.js');
let mod: SourceModule | undefined;

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
  async load() {
    mod ??= await import('./source.js');
  },
  create: (c, ctx) => loaded(mod, 'sunspec').createSunSpecSource(c, { log: ctx.log, name: ctx.name }),
  simulator: {
    describe: 'a SunSpec inverter (a recorded Kostal Plenticore) with a 203 meter and an 802 battery (Modbus TCP)',
    async create(o) {
      const { startSunSpecSimulator } = await importUnbundled<typeof import('./simulator.js')>(
        new URL('./simulator.js', import.meta.url),
      );
      const sim = await startSunSpecSimulator({
        host: o.host,
        port: o.port,
        log: o.log,
        ...(o.model ? { model: o.model } : {}),
      });
      return { port: sim.port, stop: () => sim.stop() };
    },
  },
  replay: {
    // A fixture is an `evcc sunspec` print (.txt) or a raw register dump (.json / .csv).
    async serve(o) {
      const sim = await importUnbundled<typeof import('./simulator.js')>(new URL('./simulator.js', import.meta.url));
      const rec = await importUnbundled<typeof import('./recorded.js')>(new URL('./recorded.js', import.meta.url));
      const { SUNSPEC_LAYOUTS } = await importUnbundled<typeof import('./models.js')>(
        new URL('./models.js', import.meta.url),
      );
      const text = o.fixture.bytes.toString('utf8');
      const registers = o.fixture.name.endsWith('.txt')
        ? rec.encodeDecodedDump(rec.parseDecodedDump(text), SUNSPEC_LAYOUTS, 40000, o.fixture.name)
        : rec.parseRegisterDump(text, o.fixture.name);
      const server = await sim.startRegisterServer({ host: o.host, port: o.port, registers, log: o.log });
      return { port: server.port, stop: () => server.stop() };
    },
  },
});
