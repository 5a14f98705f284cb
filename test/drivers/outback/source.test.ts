/**
 * The OutBack driver against the recorded hubs served on 127.0.0.1: the MATE3S with two Radians,
 * two FLEXmax and a FLEXnet DC, and the empty AXS Port. What it reads (never past a block's
 * reported length, at most 100 registers a request), the sums and each port's own values, the
 * battery without a FLEXnet DC (nothing invented), no grid values, a hub that goes away and comes
 * back, bad configs.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import type { OutBackConfig } from '../../../src/drivers/outback/config.js';
import { outback } from '../../../src/drivers/outback/definition.js';
import { OUTBACK_RECORDINGS, outbackRecording } from '../../../src/drivers/outback/recorded.js';
import { OutBackSource } from '../../../src/drivers/outback/source.js';
import type { SourceReading, SourceState } from '../../../src/drivers/source.js';
import { parseRegisterDump, type RegisterMap } from '../../../src/drivers/sunspec/recorded.js';
import { startRegisterServer } from '../../../src/drivers/sunspec/simulator.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait.js';

const quiet = pino({ level: 'silent' });
const FILES = { 'mate3s-chinezbrun': 'mate3s-chinezbrun.json', 'axs-port-empty': 'axs-port-empty.csv' } as const;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function hub(registers: RegisterMap, port = 0) {
  const s = await startRegisterServer({ host: '127.0.0.1', port, registers, log: quiet, name: 'outback' });
  cleanups.push(() => s.stop());
  return s;
}

function config(port: number, over: Record<string, unknown> = {}): OutBackConfig {
  return parseWithSchema(
    outback.configSchema,
    { host: '127.0.0.1', port, poll_interval_s: 1, timeout_ms: 500, inter_register_delay_ms: 0, ...over },
    'test',
  ) as OutBackConfig;
}

async function source(cfg: OutBackConfig) {
  const s = new OutBackSource(cfg, { log: quiet, reconnectBaseMs: 100, reconnectMaxMs: 300 });
  const readings: SourceReading[] = [];
  const states: SourceState[] = [];
  s.onReading((r) => readings.push(r));
  s.onState((st) => states.push(st));
  await s.start();
  cleanups.push(() => s.stop());
  return { s, readings, states };
}

describe('outback recordings', () => {
  it('are the fixture files, register for register', () => {
    for (const name of OUTBACK_RECORDINGS) {
      const file = parseRegisterDump(readFileSync(fixturePath(`outback/${FILES[name]}`), 'utf8'), name);
      expect(outbackRecording(name), name).toEqual(file);
    }
  });
});

describe('outback on the recorded MATE3S', () => {
  it('reads every block within its reported length, at most 100 registers a request', async () => {
    const s = await hub(outbackRecording('mate3s-chinezbrun'));
    const h = await source(config(s.port));
    await waitFor(() => h.readings.length > 1, 'two readings');
    expect(Math.max(...s.requests.map((r) => r.count))).toBeLessThanOrEqual(100);
    // 64117 is 46 long on this MATE3S: GT_Number (Start 49) would be 40678, the next block's DID.
    // Only the walk reads there (ID and L of the 64116 that starts there).
    for (const r of s.requests.filter((x) => x.address <= 40678 && x.address + x.count > 40678)) {
      expect(r).toMatchObject({ address: 40678, count: 2 });
    }
    expect(s.requests.every((r) => r.answer === 'words')).toBe(true);
  });

  it('sums the charge controllers, keeps each port apart, and gives no grid value', async () => {
    const s = await hub(outbackRecording('mate3s-chinezbrun'));
    const h = await source(config(s.port));
    await waitFor(() => h.readings.length > 0, 'a reading');
    const f = h.readings[0]?.fields as Record<string, unknown>;
    expect(f.pv_power_w).toBe((f.cc3_pv_power_w as number) + (f.cc4_pv_power_w as number));
    expect(f).toMatchObject({ pv_power_w: 678, cc3_pv_power_w: 400, cc4_pv_power_w: 278, charge_state: 'bulk' });
    expect(f.load_power_w).toBe((f.inverter1_load_power_w as number) + (f.inverter2_load_power_w as number));
    // FLEXnet DC: net = input − output, negative while discharging, as its current.
    expect(f.battery_power_w).toBe((f.fndc_input_power_w as number) - (f.fndc_output_power_w as number));
    expect(Math.sign(f.battery_current_a as number)).toBe(Math.sign(f.battery_power_w as number));
    for (const k of Object.keys(f)) expect(k.startsWith('grid_')).toBe(false);
  });

  it('without a FLEXnet DC takes the Radian battery voltage and invents no current, power or SoC', async () => {
    const regs = outbackRecording('mate3s-chinezbrun');
    // The chain ends before the FLEXnet DC (64118 at 41144).
    regs.set(41144, 0xffff);
    regs.set(41145, 0);
    const h = await source(config((await hub(regs)).port));
    await waitFor(() => h.readings.length > 0, 'a reading');
    const f = h.readings[0]?.fields as Record<string, unknown>;
    expect(f.battery_voltage_v).toBe(50.8);
    expect(f.battery_current_a ?? null).toBeNull();
    expect(f.battery_power_w ?? null).toBeNull();
    expect(f.battery_soc_pct ?? null).toBeNull();
    expect(f.pv_power_w).toBe(678);
  });

  it('is lost when the hub goes away and reads again when it comes back', async () => {
    const s1 = await hub(outbackRecording('mate3s-chinezbrun'));
    const port = s1.port;
    const h = await source(config(port));
    await waitFor(() => h.readings.length > 0, 'a first reading');
    await s1.stop();
    await waitFor(() => h.states.includes('lost'), 'lost');
    const n = h.readings.length;
    const regs = outbackRecording('mate3s-chinezbrun');
    regs.set(40921, 512); // port 3 now makes 512 W
    await hub(regs, port);
    await waitFor(() => h.readings.length > n, 'a reading after the hub came back');
    expect(h.states.at(-1)).toBe('connected');
    expect(h.readings.at(-1)?.fields).toMatchObject({ pv_power_w: 512 + 278, cc3_pv_power_w: 512 });
  }, 60_000);
});

describe('outback on the empty AXS Port', () => {
  it('stops at the zeros and reports the hub, with every snapshot value null', async () => {
    const s = await hub(outbackRecording('axs-port-empty'));
    const h = await source(config(s.port));
    await waitFor(() => h.readings.length > 0, 'a reading');
    expect(Math.max(...s.requests.map((r) => r.address + r.count))).toBeLessThanOrEqual(40493);
    const f = h.readings[0]?.fields as Record<string, unknown>;
    expect(f).toMatchObject({ manufacturer: 'OutBack_Power', model: 'AXS_PORT', serial: 'AX1709F0100751' });
    for (const k of ['pv_power_w', 'battery_voltage_v', 'battery_power_w', 'load_power_w'])
      expect(f[k] ?? null).toBeNull();
  });
});

describe('an outback device config', () => {
  const parse = (c: Record<string, unknown>) => parseWithSchema(outback.configSchema, c, 'edge.yaml', 'devices[1]');

  it('needs the port (installers move it: 1025 in the seed system) and takes the documented defaults', () => {
    expect(() => parse({ host: 'mate3s' })).toThrow('devices[1].port');
    expect(parse({ host: 'mate3s', port: 1025 })).toMatchObject({
      port: 1025,
      unit_id: 1,
      poll_interval_s: 5,
      inter_register_delay_ms: 100,
      max_registers_per_request: 100,
    });
  });

  it('refuses what is wrong, naming the key', () => {
    expect(() => parse({ host: 'x', port: 1025, max_registers_per_request: 101 })).toThrow(
      'devices[1].max_registers_per_request',
    );
    expect(() => parse({ host: 'x', port: 1025, poll_interval_s: 0.2 })).toThrow('devices[1].poll_interval_s');
    expect(() => parse({ host: 'x', port: 1025, meter_sign: 'import' })).toThrow('devices[1].meter_sign: unknown key');
  });
});
