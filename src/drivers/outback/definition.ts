/**
 * An OutBack MATE3 / MATE3s or AXS Port as a device type: its FLEXmax charge controllers (PV), its
 * FLEXnet DC battery monitor and its Radian / FX inverters (the load), one device with each port's
 * values kept apart (docs/outback.md).
 */
import { defineDriver, lazySource, running, unbundled } from '../definition.js';
import { type OutBackConfig, OutBackConfigSchema } from './config.js';

const source = lazySource('outback', () => import('./source.js'));
const simulator = unbundled<typeof import('./simulator.js')>(new URL('./simulator.js', import.meta.url));

export const outback = defineDriver<OutBackConfig>({
  type: 'outback',
  description: 'OutBack MATE3s / AXS Port (SunSpec + OutBack blocks): FLEXmax PV, FLEXnet DC battery, Radian/FX load',
  roles: ['charge_controller', 'pv', 'battery'],
  configSchema: OutBackConfigSchema,
  exampleConfig: {
    host: '127.0.0.1',
    port: 502,
    unit_id: 1,
    poll_interval_s: 5,
    timeout_ms: 5000,
    connect_delay_ms: 0,
    inter_register_delay_ms: 100,
    busy_retries: 2,
    max_registers_per_request: 100,
    retry_unsupported_s: 3600,
  },
  load: source.load,
  create: (c, ctx) => source.get().createOutBackSource(c, { log: ctx.log, name: ctx.name }),
  simulator: {
    describe: 'an OutBack MATE3S with two Radians, two FLEXmax and a FLEXnet DC (Modbus TCP; a recorded hub)',
    async create(o) {
      const { startOutBackSimulator } = await simulator();
      const sim = await startOutBackSimulator({ host: o.host, port: o.port, log: o.log });
      return running(sim);
    },
  },
  replay: {
    // A fixture is a raw register dump (.json as adamcharnock/mate3 keeps them, or .csv).
    async serve(o) {
      return (await simulator()).startOutBackReplay(o);
    },
  },
});
