/**
 * An NRGkick Gen2 mobile EV charger over its local JSON API (HTTP, optional Basic auth) as a device
 * type: an EV charger whose current, pause and phases a controller may set (with `control: true`).
 */
import { ConfigError } from '../../core/errors.js';
import { defaultHomeModel, defineDriver, importUnbundled, loaded } from '../definition.js';
import { type NrgkickConfig, NrgkickConfigSchema } from './config.js';
import { NRGKICK_CONTROLS } from './controls.js';

type SourceModule = typeof import('./source.js');
let mod: SourceModule | undefined;

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
  async load() {
    mod ??= await import('./source.js');
  },
  create: (c, ctx) => loaded(mod, 'nrgkick').createNrgkickSource(c, { log: ctx.log, name: ctx.name }),
  simulator: {
    describe: 'an NRGkick Gen2 with a car plugged in (local JSON API, HTTP)',
    async create(o) {
      const { startNrgkickSimulator } = await importUnbundled<typeof import('./simulator.js')>(
        new URL('./simulator.js', import.meta.url),
      );
      const model = await defaultHomeModel(o.model);
      const sim = await startNrgkickSimulator({ host: o.host, port: o.port, model, log: o.log });
      return { port: sim.port, stop: () => sim.stop() };
    },
  },
  replay: {
    // The fixture is a recorded `GET /values` answer; `serve.control` and `serve.info` name the
    // `/control` and `/info` answers served beside it (absent: 404).
    async serve(o) {
      const { startNrgkickSimulator } = await importUnbundled<typeof import('./simulator.js')>(
        new URL('./simulator.js', import.meta.url),
      );
      const json = (name: unknown): unknown =>
        typeof name === 'string' ? (JSON.parse(o.read(name).toString('utf8')) as unknown) : undefined;
      const recorded: Record<string, unknown> = { '/values': JSON.parse(o.fixture.bytes.toString('utf8')) };
      const control = json(o.options.control);
      const info = json(o.options.info);
      if (control !== undefined) recorded['/control'] = control;
      if (info !== undefined) recorded['/info'] = info;
      const sim = await startNrgkickSimulator({ host: o.host, port: o.port, log: o.log, recorded });
      return { port: sim.port, stop: () => sim.stop() };
    },
  },
  controls: NRGKICK_CONTROLS,
});
