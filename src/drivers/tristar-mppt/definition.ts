/**
 * A Morningstar TriStar MPPT solar charge controller over Modbus TCP as a device type: a charge
 * controller whose output is the site's PV (its power and energy summed with the other PV
 * devices'), with the battery's voltage and the charge state. Off-grid sites run several, each a
 * device at its own address.
 */
import { defineDriver, lazySource, running, unbundled } from '../definition.js';
import { type TristarConfig, TristarConfigSchema } from './config.js';

const source = lazySource('tristar-mppt', () => import('./source.js'));
const simulator = unbundled<typeof import('./simulator.js')>(new URL('./simulator.js', import.meta.url));

export const tristarMppt = defineDriver<TristarConfig>({
  type: 'tristar-mppt',
  description:
    'Morningstar TriStar MPPT charge controller over Modbus TCP: PV into the battery, battery voltage, charge state',
  // The main role says what it is; `pv` puts its output power and energy in the site's PV sums.
  roles: ['charge_controller', 'pv'],
  configSchema: TristarConfigSchema,
  exampleConfig: {
    host: '127.0.0.1',
    port: 502,
    unit_id: 1,
    poll_interval_s: 5,
    timeout_ms: 2000,
    encoding: 'auto',
    retry_unsupported_s: 3600,
  },
  load: source.load,
  create: (c, ctx) => source.get().createTristarSource(c, { log: ctx.log, name: ctx.name }),
  simulator: {
    describe:
      'two TriStar MPPT controllers at night, unit 1 scaled by V_PU/I_PU, unit 2 in half-floats (Modbus TCP, closes after each answer; recorded answers)',
    async create(o) {
      const { startTristarSimulator } = await simulator();
      const sim = await startTristarSimulator({ host: o.host, port: o.port, log: o.log });
      return running(sim);
    },
  },
  replay: {
    // The fixture is a recorded file (recorded.ts format); its unit answers, and the driver reads
    // that unit (the config's unit_id is set from the file).
    async serve(o) {
      return (await simulator()).startTristarReplay(o);
    },
  },
});
