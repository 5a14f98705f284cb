/**
 * The DSMR / e-MUCS P1 port as a device type: a raw telegram stream over TCP (ser2net, a
 * P1-to-network bridge) or a serial port. The site's grid meter.
 */
import { ConfigError, errorMessage } from '../../core/errors.js';
import { parseHostPort } from '../../core/host-port.js';
import { defaultHomeModel, defineDriver, lazySource, running, unbundled } from '../definition.js';
import { type DsmrConfig, DsmrConfigSchema } from './config.js';

const source = lazySource('dsmr', () => import('./source.js'));
const simulator = unbundled<typeof import('./simulator.js')>(new URL('./simulator.js', import.meta.url));

export const dsmr = defineDriver<DsmrConfig>({
  type: 'dsmr',
  description: 'DSMR 4/5 or e-MUCS P1 port, as a telegram stream over TCP (ser2net, a P1 bridge) or serial',
  roles: ['grid_meter'],
  configSchema: DsmrConfigSchema,
  exampleConfig: { tcp: '127.0.0.1:2001', baudrate: 115200, parity: 'none', data_bits: 8, stop_bits: 1 },
  check(c, key) {
    const n = Number(c.tcp !== undefined) + Number(c.serial !== undefined);
    if (n !== 1) throw new ConfigError(`${key}: set exactly one of ${key}.tcp or ${key}.serial`);
    if (c.tcp !== undefined) {
      try {
        parseHostPort(c.tcp, `${key}.tcp`);
      } catch (err) {
        throw new ConfigError(errorMessage(err), { key: `${key}.tcp` });
      }
    }
  },
  load: source.load,
  create(c, ctx) {
    return source.get().createDsmrSource(c, { log: ctx.log });
  },
  fromLegacySection(section: DsmrConfig) {
    return section;
  },
  simulator: {
    describe: 'P1 telegrams (DSMR over TCP, 1 a second)',
    async create(o) {
      const { startDsmrTcpSimulator } = await simulator();
      const model = await defaultHomeModel(o.model);
      const sim = await startDsmrTcpSimulator({ host: o.host, port: o.port, rateHz: 1, model, log: o.log });
      return running(sim);
    },
  },
  replay: {
    // Recorded telegrams (exact bytes, CRLF) live in test/fixtures/p1/.
    fixtures: 'p1',
    async serve(o) {
      const { startDsmrTcpSimulator } = await simulator();
      const sim = await startDsmrTcpSimulator({
        host: o.host,
        port: o.port,
        rateHz: 1,
        telegram: o.fixture.bytes,
        log: o.log,
      });
      return running(sim);
    },
  },
});
