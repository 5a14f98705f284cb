/**
 * Sungrow control against the project's simulator on 127.0.0.1: nothing is written without
 * `control: true`; with it a control is written once per change and reported as read back.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import { ModbusTcpClient } from '../../../src/drivers/modbus/tcp-client.js';
import { HomeModel } from '../../../src/drivers/sim/home-model.js';
import { type SungrowConfig, SungrowConfigSchema } from '../../../src/drivers/sungrow/config.js';
import { type SungrowSimulator, startSungrowSimulator } from '../../../src/drivers/sungrow/simulator.js';
import { createSungrowSource, type SungrowReading, type SungrowSource } from '../../../src/drivers/sungrow/source.js';
import { silentLogger } from '../../../src/lib/log.js';
import { waitFor } from '../../helpers/wait.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

async function setup(over: Partial<SungrowConfig> = {}): Promise<{
  sim: SungrowSimulator;
  source: SungrowSource;
  readings: SungrowReading[];
  lines: Array<Record<string, unknown>>;
}> {
  const model = new HomeModel({ start: Date.parse('2026-06-15T00:00:00Z'), seed: 5 });
  const sim = await startSungrowSimulator({
    host: '127.0.0.1',
    port: 0,
    model,
    now: () => Date.parse('2026-06-15T10:00:00Z'),
    log: silentLogger(),
  });
  cleanup.push(() => sim.stop());
  const cfg = parseWithSchema(
    SungrowConfigSchema,
    {
      ip: '127.0.0.1',
      port: sim.port,
      poll_interval_s: 1,
      inter_register_delay_ms: 0,
      connect_delay_ms: 0,
      timeout_ms: 1000,
      settle_ms: 20,
      ...over,
    },
    'sungrow',
  );
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  const source = createSungrowSource(cfg, { log });
  const readings: SungrowReading[] = [];
  source.onReading((r) => readings.push(r as SungrowReading));
  cleanup.push(() => source.stop());
  await source.start();
  await waitFor(() => readings.length >= 1, 'a reading');
  return { sim, source, readings, lines };
}

/** Holding registers as the simulator holds them, read with a client of our own. */
async function holding(port: number, doc: number, count = 1): Promise<number[]> {
  const c = new ModbusTcpClient({ host: '127.0.0.1', port, unitId: 1, timeoutMs: 1000, interRequestDelayMs: 0 });
  await c.connect();
  try {
    return await c.readRegisters('holding', doc - 1, count);
  } finally {
    await c.close();
  }
}

describe('Sungrow control', () => {
  it('refuses every control without control: true and writes nothing', async () => {
    const { sim, source, readings } = await setup();
    await expect(source.control('ems_mode', 'forced')).rejects.toMatchObject({
      code: 'control_disabled',
      key: 'sungrow.control',
    });
    await expect(source.control('battery_max_discharge_power_w', 10)).rejects.toThrow(
      /sungrow\.control is false \(the default\)/,
    );
    expect(await holding(sim.port, 13050, 2)).toEqual([0, 0xcc]);
    expect(readings[0]?.settings).toBeUndefined(); // read-only: the settings are not even polled
    expect(readings[0]?.inverter.ems_mode).toBe(0);
  });

  it('writes a control once per change and reports the value the inverter holds', async () => {
    const { sim, source, readings, lines } = await setup({ control: true });
    expect(readings[0]?.settings).toMatchObject({ battery_forced_command: 0xcc, battery_max_discharge_power_w: 5000 });
    const r1 = await source.control('ems_mode', 'forced');
    expect(r1).toMatchObject({ control: 'ems_mode', requested: 'forced', readBack: 'forced' });
    const r2 = await source.control('battery_command', 'charge');
    expect(r2.readBack).toBe('charge');
    expect(await holding(sim.port, 13050, 2)).toEqual([2, 0xaa]);
    // evcc's "hold": 10 W (raw 1 in 0.01 kW)
    const r3 = await source.control('battery_max_discharge_power_w', 10);
    expect(r3.readBack).toBe(10);
    expect(await holding(sim.port, 33048)).toEqual([1]);
    // the same value again: read, not written
    await source.control('ems_mode', 'forced');
    const written = lines.filter((l) => l.msg === 'register written');
    expect(written.map((l) => l.field)).toEqual([
      'ems_mode',
      'battery_forced_command',
      'battery_max_discharge_power_w',
    ]);
    expect(written[0]).toMatchObject({ register: 13050, requested: 2, was: 0, read_back: 2 });
    const before = readings.length;
    await waitFor(() => readings.length > before, 'a new reading');
    expect(readings.at(-1)?.inverter.ems_mode).toBe(2);
    expect(readings.at(-1)?.settings?.battery_max_discharge_power_w).toBe(10);
  });

  it('names what is wrong: unknown controls, bad values, and controls that need a setting', async () => {
    const { source } = await setup({ control: true });
    await expect(source.control('turbo', 1)).rejects.toMatchObject({ code: 'control_unknown' });
    await expect(source.control('ems_mode', 'party')).rejects.toThrow(/self_consumption, forced/);
    await expect(source.control('battery_min_soc_pct', 120)).rejects.toMatchObject({ code: 'control_value' });
    // unit of 13052 unverified on SH-RS: off until sungrow.forced_power_unit says W or %
    await expect(source.control('battery_forced_power', 2000)).rejects.toMatchObject({ code: 'control_unavailable' });
  });

  it('writes the forced power in the unit the config declares', async () => {
    const { sim, source } = await setup({ control: true, forced_power_unit: 'w' });
    const r = await source.control('battery_forced_power', 2500);
    expect(r.readBack).toBe(2500);
    expect(await holding(sim.port, 13052)).toEqual([2500]);
  });
});
