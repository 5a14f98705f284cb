/**
 * An NRGkick Gen2 mobile EV charger over its local JSON API (HTTP, optional Basic auth) as a device
 * type: an EV charger whose current, pause and phases a controller may set (with `control: true`).
 */
import { ConfigError } from '../../core/errors.js';
import { defaultHomeModel, defineDriver, lazySource, running, unbundled } from '../definition.js';
import { type NrgkickConfig, NrgkickConfigSchema } from './config.js';
import { NRGKICK_CONTROLS } from './controls.js';

const source = lazySource('nrgkick', () => import('./source.js'));
const simulator = unbundled<typeof import('./simulator.js')>(new URL('./simulator.js', import.meta.url));

export const nrgkick = defineDriver<NrgkickConfig>({
  type: 'nrgkick',
  description:
    'NRGkick Gen2 EV charger over its local JSON API (HTTP): power, session energy, state; current, pause, phases',
  roles: ['ev_charger'],
  configSchema: NrgkickConfigSchema,
  exampleConfig: {
    host: '127.0.0.1',
    port: 80,
    poll_interval_s: 2,
    control_interval_s: 10,
    timeout_ms: 3000,
    control: false,
    settle_ms: 1000,
  },
  check(c, key) {
    if ((c.username === undefined) !== (c.password === undefined)) {
      throw new ConfigError(
        `${key}.${c.username === undefined ? 'username' : 'password'}: Basic auth needs both username and password`,
        { key: `${key}.${c.username === undefined ? 'username' : 'password'}` },
      );
    }
  },
  load: source.load,
  create: (c, ctx) => source.get().createNrgkickSource(c, { log: ctx.log, name: ctx.name }),
  simulator: {
    describe: 'an NRGkick Gen2 with a car plugged in (local JSON API, HTTP)',
    async create(o) {
      const { startNrgkickSimulator } = await simulator();
      const model = await defaultHomeModel(o.model);
      const sim = await startNrgkickSimulator({ host: o.host, port: o.port, model, log: o.log });
      return running(sim);
    },
  },
  replay: {
    // The fixture is a recorded `GET /values` answer; `serve.control` and `serve.info` name the
    // `/control` and `/info` answers served beside it (absent: 404).
    async serve(o) {
      const { startNrgkickSimulator } = await simulator();
      const json = (name: unknown): unknown =>
        typeof name === 'string' ? (JSON.parse(o.read(name).toString('utf8')) as unknown) : undefined;
      const recorded: Record<string, unknown> = { '/values': JSON.parse(o.fixture.bytes.toString('utf8')) };
      const control = json(o.options.control);
      const info = json(o.options.info);
      if (control !== undefined) recorded['/control'] = control;
      if (info !== undefined) recorded['/info'] = info;
      const sim = await startNrgkickSimulator({ host: o.host, port: o.port, log: o.log, recorded });
      return running(sim);
    },
  },
  controls: NRGKICK_CONTROLS,
});
