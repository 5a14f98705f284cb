/**
 * A Sungrow SH hybrid inverter over Modbus TCP (WiNet-S or its LAN port) as a device type: PV and
 * battery, and its own grid meter (used only when the site has no P1 meter).
 */
import { Type } from '@sinclair/typebox';
import { defaultHomeModel, defineDriver, lazySource, mapReadings, running, unbundled } from '../definition.js';
import { type SungrowConfig, SungrowConfigSchema } from './config.js';
import { SUNGROW_CONTROLS } from './controls.js';

const { ip: _ip, slave_id: _slave, port, ...rest } = SungrowConfigSchema.properties;

/** A `devices:` entry of type sungrow: the `sungrow:` section's keys, with `host` and `unit_id`. */
export const SungrowDeviceSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: "The inverter's (or its WiNet-S dongle's) address" }),
    port,
    unit_id: Type.Integer({ default: 1, minimum: 0, maximum: 247, description: 'Modbus unit (slave) id' }),
    ...rest,
  },
  { additionalProperties: false },
);
export type SungrowDeviceConfig = Omit<SungrowConfig, 'ip' | 'slave_id'> & { host: string; unit_id: number };

const source = lazySource('sungrow', () => import('./source.js'));
const simulator = unbundled<typeof import('./simulator.js')>(new URL('./simulator.js', import.meta.url));

export const sungrow = defineDriver<SungrowDeviceConfig>({
  type: 'sungrow',
  description: 'Sungrow SH hybrid inverter over Modbus TCP (WiNet-S dongle or LAN port): PV, battery, its own meter',
  roles: ['pv', 'battery', 'grid_meter'],
  configSchema: SungrowDeviceSchema,
  exampleConfig: {
    host: '127.0.0.1',
    port: 502,
    unit_id: 1,
    poll_interval_s: 5,
    inter_register_delay_ms: 20,
    timeout_ms: 3000,
    connect_delay_ms: 1000,
    control: false,
  },
  load: source.load,
  create(c, ctx) {
    const { host, unit_id, ...others } = c;
    const inverter = source.get().createSungrowSource({ ip: host, slave_id: unit_id, ...others }, { log: ctx.log });
    // Its own meter's power (doc 5601, + import) is the device's grid_power_w: in the site it
    // counts only without a (fresh) grid meter, and devices.<name> keeps it either way.
    return mapReadings(inverter, (r) => {
      const g = (r as { inverter?: Record<string, unknown> }).inverter?.inverter_grid_power_w;
      return typeof g === 'number' && Number.isFinite(g) ? { ...r, fields: { ...r.fields, grid_power_w: g } } : r;
    });
  },
  fromLegacySection(section: SungrowConfig) {
    const { ip, slave_id, ...others } = section;
    return { host: ip, unit_id: slave_id, ...others };
  },
  simulator: {
    describe: 'a Sungrow SH hybrid inverter (Modbus TCP, unit 1)',
    async create(o) {
      const { startSungrowSimulator } = await simulator();
      const model = await defaultHomeModel(o.model);
      const sim = await startSungrowSimulator({ host: o.host, port: o.port, model, log: o.log });
      return running(sim);
    },
  },
  replay: {
    // The fixture is a register dump of a real inverter (simulator.ts parseRegisterDump).
    async serve(o) {
      const sim = await simulator();
      const registers = sim.parseRegisterDump(o.fixture.bytes.toString('utf8'), o.fixture.name);
      const replay = await sim.startSungrowReplay({ host: o.host, port: o.port, registers, log: o.log });
      return running(replay);
    },
  },
  // Written through the Modbus poller's write path (rw rows, write on change, read-back after
  // sungrow.settle_ms); nothing is written unless the device's entry says control: true.
  controls: SUNGROW_CONTROLS,
});
