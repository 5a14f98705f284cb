/**
 * The simulator is the driver's inverse: the driver reading the simulator must give back the
 * model's state (pv, battery sign, SoC …). The simulator's wire words are also checked by hand
 * against the vendor's conventions, so an error shared by both sides of the table cannot hide.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import { ModbusTcpClient } from '../../../src/drivers/modbus/tcp-client.js';
import { HomeModel, type HomeState } from '../../../src/drivers/sim/home-model.js';
import { SungrowConfigSchema } from '../../../src/drivers/sungrow/config.js';
import { type SungrowSimulator, startSungrowSimulator } from '../../../src/drivers/sungrow/simulator.js';
import { createSungrowSource, type SungrowReading, type SungrowSource } from '../../../src/drivers/sungrow/source.js';
import { silentLogger } from '../../../src/lib/log.js';
import { waitFor } from '../../helpers/wait.js';

const START = Date.parse('2026-06-15T00:00:00Z'); // a Monday in June
// With seed 5 (checked in the tests): at 10:30 Brussels the battery charges, at noon it is full
// and the house exports, at 22:00 the battery discharges.
const MORNING = Date.parse('2026-06-15T08:30:00Z');
const MIDDAY = Date.parse('2026-06-15T10:00:00Z');
const EVENING = Date.parse('2026-06-15T20:00:00Z');

const round1 = (x: number) => Math.round(x * 10) / 10;

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

async function setup(simOpts: { unsupported?: number[]; unknownRegisters?: 'zero' | 'exception' } = {}): Promise<{
  model: HomeModel;
  clock: { t: number };
  sim: SungrowSimulator;
  source: SungrowSource;
  readings: SungrowReading[];
}> {
  const model = new HomeModel({ start: START, seed: 5 });
  const clock = { t: MORNING };
  const sim = await startSungrowSimulator({
    host: '127.0.0.1',
    port: 0,
    model,
    now: () => clock.t,
    log: silentLogger(),
    ...simOpts,
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
    },
    'test',
  );
  const source = createSungrowSource(cfg, { log: silentLogger() });
  const readings: SungrowReading[] = [];
  source.onReading((r) => readings.push(r as SungrowReading));
  cleanup.push(() => source.stop());
  await source.start();
  return { model, clock, sim, source, readings };
}

function expectModel(r: SungrowReading | undefined, s: HomeState): void {
  expect(r?.fields).toEqual({
    pv_power_w: s.pv_w,
    pv_daily_kwh: round1(s.pv_daily_kwh),
    pv_total_kwh: round1(s.pv_total_kwh),
    mppt1_voltage_v: s.mppt1_voltage_v,
    mppt1_current_a: s.mppt1_current_a,
    mppt2_voltage_v: s.mppt2_voltage_v,
    mppt2_current_a: s.mppt2_current_a,
    battery_power_w: s.battery_w,
    battery_soc_pct: round1(s.battery_soc_pct),
    battery_temp_c: round1(s.battery_temp_c),
    battery_daily_charge_kwh: round1(s.battery_daily_charge_kwh),
    battery_daily_discharge_kwh: round1(s.battery_daily_discharge_kwh),
    battery_total_charge_kwh: round1(s.battery_total_charge_kwh),
    battery_total_discharge_kwh: round1(s.battery_total_discharge_kwh),
    load_power_w: s.load_w,
  });
  expect(r?.inverter.inverter_grid_power_w).toBe(s.grid_w);
  expect(r?.inverter.inverter_export_power_w).toBe(s.grid_w === 0 ? 0 : -s.grid_w);
  expect(r?.inverter.inverter_temp_c).toBe(s.inverter_temp_c);
  expect(r?.inverter.running_state).toBe(0x0040);
  expect(r?.inverter.ems_mode).toBe(0);
}

describe('Sungrow simulator ↔ driver', () => {
  it('round-trips the model: PV, battery sign both ways, SoC, load, counters, grid estimate', async () => {
    const { model, clock, source, readings } = await setup();
    await waitFor(() => readings.length >= 1, 'a reading');
    const morning = model.state();
    expect(morning.at).toBe(MORNING);
    expect(morning.pv_w).toBeGreaterThan(500);
    expect(morning.battery_w).toBeGreaterThan(0); // charging
    expectModel(readings[0], morning);
    // the balance holds in the driver's terms: grid = load − pv + charging
    const f = readings[0]?.fields;
    expect(readings[0]?.inverter.inverter_grid_power_w).toBe(
      (f?.load_power_w ?? 0) - (f?.pv_power_w ?? 0) + (f?.battery_power_w ?? 0),
    );
    expect(source.device).toEqual({ device_type_code: 0x0d0f, model: 'SH5.0RS', serial: 'A2300000001' });

    clock.t = EVENING;
    const n = readings.length;
    await waitFor(() => readings.length >= n + 2, 'two readings in the evening');
    const evening = model.state();
    expect(evening.at).toBe(EVENING);
    expect(evening.pv_w).toBe(0);
    expect(evening.battery_w).toBeLessThan(0); // discharging
    expectModel(readings.at(-1), evening);
    // power-flow bits follow: discharging (b2), not charging (b1), no PV (b0)
    const bits = readings.at(-1)?.inverter.power_flow_bits ?? 0;
    expect(bits & 0b111).toBe(0b100);
  });

  it('puts vendor conventions on the wire: 5214 + discharging, 5601 + import, 13010 + export, SoC ×10', async () => {
    const model = new HomeModel({ start: START, seed: 5 });
    const clock = { t: MIDDAY };
    const sim = await startSungrowSimulator({
      host: '127.0.0.1',
      port: 0,
      model,
      now: () => clock.t,
      log: silentLogger(),
    });
    cleanup.push(() => sim.stop());
    const c = new ModbusTcpClient({
      host: '127.0.0.1',
      port: sim.port,
      unitId: 1,
      timeoutMs: 1000,
      interRequestDelayMs: 0,
    });
    await c.connect();
    cleanup.push(() => c.close());
    const s32 = ([lo, hi]: number[]) => ((hi ?? 0) << 16) | (lo ?? 0); // low word first, two's complement

    const midday = model.advanceTo(MIDDAY);
    expect(midday.grid_w).toBeLessThan(-1000); // exporting
    expect(s32(await c.readRegisters('input', 5600, 2))).toBe(midday.grid_w); // negative: export
    expect(s32(await c.readRegisters('input', 13009, 2))).toBe(-midday.grid_w); // positive: export
    expect(await c.readRegisters('input', 13022, 1)).toEqual([1000]); // full: 100.0 %

    clock.t = EVENING;
    const evening = model.advanceTo(EVENING);
    expect(evening.battery_w).toBeLessThan(0);
    expect(s32(await c.readRegisters('input', 5213, 2))).toBe(-evening.battery_w); // positive: discharging
    expect(await c.readRegisters('input', 13022, 1)).toEqual([Math.round(evening.battery_soc_pct * 10)]);
    expect(await c.readRegisters('input', 4999, 1)).toEqual([0x0d0f]);
    expect(await c.readRegisters('holding', 13049, 1)).toEqual([0]);
    expect(sim.requests).toBe(7);
    expect(sim.refused).toBe(0);
  });

  it('drives the driver’s unsupported path: refused registers are null, everything else still exact', async () => {
    const { model, readings, source, sim } = await setup({ unsupported: [13025, 5008], unknownRegisters: 'exception' });
    await waitFor(() => readings.length >= 3, '3 readings');
    const s = model.state();
    const last = readings.at(-1);
    expect(last?.fields.battery_temp_c).toBeNull();
    expect(last?.inverter.inverter_temp_c).toBeNull();
    expect(last?.fields.battery_soc_pct).toBe(round1(s.battery_soc_pct));
    expect(last?.fields.battery_power_w).toBe(s.battery_w);
    expect(last?.fields.pv_power_w).toBe(s.pv_w);
    expect(last?.fields.load_power_w).toBe(s.load_w);
    expect(
      source
        .stats()
        .unsupported.map((u) => u.doc)
        .sort((a, b) => a - b),
    ).toEqual([5008, 13025]);
    // learned: the next cycle sends only requests the simulator accepts
    expect(sim.refused).toBeGreaterThan(0);
    const refusedBefore = sim.refused;
    const requestsBefore = sim.requests;
    const n = readings.length;
    await waitFor(() => readings.length > n + 1, 'two more readings');
    expect(sim.refused).toBe(refusedBefore);
    expect(sim.requests).toBeGreaterThan(requestsBefore);
  });
});
