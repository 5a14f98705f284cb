/**
 * The control gate of every device (DeviceSource): a device writes nothing unless its config says
 * `control: true`; the control must be one its definition offers and the value must fit its spec;
 * the driver's read-back is what the caller gets. The driver here is a stub of a device that holds
 * the values written to it (the real write paths are tested with their transports).
 */
import { describe, expect, it } from 'vitest';
import { KwartierError } from '../../src/core/errors.js';
import { parseWithSchema } from '../../src/core/validate.js';
import {
  type ControllableSource,
  type ControlResult,
  type ControlSpec,
  DeviceSource,
  isControllable,
} from '../../src/drivers/definition.js';
import { createSources, DRIVERS } from '../../src/drivers/registry.js';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { startSungrowSimulator } from '../../src/drivers/sungrow/simulator.js';
import { EdgeConfigSchema, siteDevices } from '../../src/edge/config.js';
import { silentLogger } from '../../src/lib/log.js';

const CONTROLS: readonly ControlSpec[] = [
  { name: 'charge_current_a', kind: 'number', unit: 'A', min: 6, max: 32, description: 'charge current' },
  { name: 'paused', kind: 'boolean', description: 'pause charging' },
  { name: 'mode', kind: 'enum', values: ['self', 'force_charge'], description: 'battery mode' },
];

/** A device that holds what was written, clamped to whole amperes as a charger would. */
class HoldingDevice implements ControllableSource {
  readonly name = 'stub';
  readonly kind = 'inverter' as const;
  readonly intervalMs = 1000;
  readonly held = new Map<string, unknown>();
  writes = 0;
  onReading(): void {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async control(name: string, value: unknown): Promise<ControlResult> {
    this.writes++;
    this.held.set(name, typeof value === 'number' ? Math.floor(value) : value);
    return { control: name, requested: value, readBack: this.held.get(name), at: 0 };
  }
}

function device(controlEnabled: boolean) {
  const inner = new HoldingDevice();
  const source = new DeviceSource('carport', 'stub-charger', ['ev_charger'], inner, {
    controls: CONTROLS,
    controlEnabled,
    log: silentLogger(),
  });
  return { inner, source };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KwartierError);
    return `${(err as KwartierError).code}: ${(err as Error).message}`;
  }
  return 'ok';
}

describe('the control gate', () => {
  it('is read-only by default: control_disabled, and nothing reaches the device', async () => {
    const { inner, source } = device(false);
    expect(await code(source.control('charge_current_a', 16))).toBe(
      'control_disabled: carport.control is false (the default): control "charge_current_a" refused, nothing written; set control: true in the device\'s config to allow writes',
    );
    expect(inner.writes).toBe(0);
  });

  it('with control: true writes and returns the value the device holds', async () => {
    const { inner, source } = device(true);
    const r = await source.control('charge_current_a', 16.7);
    expect(r).toMatchObject({ control: 'charge_current_a', requested: 16.7, readBack: 16 });
    expect(inner.held.get('charge_current_a')).toBe(16);
    expect((await source.control('mode', 'force_charge')).readBack).toBe('force_charge');
  });

  it('refuses a control the definition does not offer and a value outside the spec, before the device', async () => {
    const { inner, source } = device(true);
    expect(await code(source.control('export_limit_w', 0))).toBe(
      'unknown_control: carport: no control "export_limit_w" (it offers charge_current_a, paused, mode)',
    );
    expect(await code(source.control('charge_current_a', 40))).toBe(
      'bad_control_value: carport: control charge_current_a: must be <= 32',
    );
    expect(await code(source.control('paused', 'yes'))).toBe(
      'bad_control_value: carport: control paused: must be true or false',
    );
    expect(await code(source.control('mode', 'off'))).toBe(
      'bad_control_value: carport: control mode: must be one of self, force_charge',
    );
    expect(inner.writes).toBe(0);
  });

  it('every registry type with controls has a control key, false by default', () => {
    for (const d of DRIVERS) {
      if ((d.controls ?? []).length === 0) continue;
      expect(d.configSchema.properties.control, `${d.type}: controls without a control key`).toMatchObject({
        type: 'boolean',
        default: false,
      });
    }
  });

  it('a device of a read-only driver is not controllable through its driver', async () => {
    const inner = { ...new HoldingDevice(), control: undefined } as unknown as HoldingDevice;
    expect(isControllable(inner)).toBe(false);
    const source = new DeviceSource('roof', 'x', ['pv'], inner, { controls: CONTROLS, controlEnabled: true });
    expect(await code(source.control('paused', true))).toBe('not_controllable: roof: the x driver cannot write paused');
  });
});

describe('a Sungrow device of a devices: site, through the registry and the real simulator', () => {
  async function site(control: boolean) {
    const model = new HomeModel({ start: Date.now(), seed: 5 });
    const sim = await startSungrowSimulator({ host: '127.0.0.1', port: 0, model, log: silentLogger() });
    const cfg = parseWithSchema(
      EdgeConfigSchema,
      {
        device_id: 'home-ctl',
        devices: [
          {
            name: 'roof',
            type: 'sungrow',
            host: '127.0.0.1',
            port: sim.port,
            control,
            settle_ms: 50,
            connect_delay_ms: 0,
            poll_interval_s: 1,
            inter_register_delay_ms: 0,
          },
        ],
      },
      'edge.yaml',
    );
    const [source] = await createSources(siteDevices(cfg), 'Europe/Brussels', silentLogger());
    await source!.start();
    return { sim, source: source as DeviceSource };
  }

  it('offers the Sungrow controls, writes nothing by default, and writes with the read-back when allowed', async () => {
    expect(DRIVERS.find((d) => d.type === 'sungrow')?.controls?.map((c) => c.name)).toContain('battery_max_soc_pct');
    const ro = await site(false);
    try {
      expect(await code(ro.source.control('battery_max_soc_pct', 90))).toMatch(
        /^control_disabled: roof\.control is false/,
      );
    } finally {
      await ro.source.stop();
      await ro.sim.stop();
    }
    const rw = await site(true);
    try {
      const r = await rw.source.control('battery_max_soc_pct', 90);
      expect(r).toMatchObject({ control: 'battery_max_soc_pct', requested: 90, readBack: 90 });
      expect(await code(rw.source.control('battery_max_soc_pct', 101))).toMatch(/^bad_control_value: .*<= 100/);
    } finally {
      await rw.source.stop();
      await rw.sim.stop();
    }
  });
});
