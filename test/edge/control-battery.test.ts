/**
 * The edge's control of a Sungrow SH battery (src/edge/control.ts, BATTERY_WRITERS.sungrow) in the
 * real edge app, against a simulated P1 meter and a simulated Sungrow SH on ONE simulated home on
 * loopback. The Sungrow simulator steers its battery by the EMS registers written to it, so what the
 * control writes shows in the battery's power and in the meter's import (the closed loop):
 *   - a battery below hold_soc_pct with nothing to shave holds its energy: self-consumption with
 *     the smallest discharge limit (10 W, 33048 = 1), and the battery gives (almost) nothing;
 *   - a load above what the quarter allows (a car on an NRGkick the control does not steer) makes it
 *     shave: the discharge limit goes up and the battery covers part of the import;
 *   - on stop, the battery is put back to self-consumption at full power (EMS 0, stop, the limits).
 * Each write is read back from the inverter (the DeviceSource gate logs `control written` with it).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/core/snapshot.js';
import { parseWithSchema } from '../../src/core/validate.js';
import { startDsmrTcpSimulator } from '../../src/drivers/dsmr/simulator.js';
import { ModbusTcpClient } from '../../src/drivers/modbus/tcp-client.js';
import { startNrgkickSimulator } from '../../src/drivers/nrgkick/simulator.js';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { startSungrowSimulator } from '../../src/drivers/sungrow/simulator.js';
import { EdgeApp } from '../../src/edge/app.js';
import { checkEdgeConfig, type EdgeConfig, EdgeConfigSchema } from '../../src/edge/config.js';
import { silentLogger } from '../../src/lib/log.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Line = { level: number; msg: string; [k: string]: unknown };

async function holding(port: number, doc: number, count = 1): Promise<number[]> {
  const c = new ModbusTcpClient({ host: '127.0.0.1', port, unitId: 1, timeoutMs: 1000, interRequestDelayMs: 0 });
  await c.connect();
  try {
    return await c.readRegisters('holding', doc - 1, count);
  } finally {
    await c.close();
  }
}

/** A home without PV (a winter evening), a 10 kWh battery at 50 %, and optionally a car drawing 11 kW. */
async function start(withCar: boolean, target: Record<string, unknown> = { capacity_target_w: 2500 }) {
  const model = new HomeModel({ start: Date.now(), seed: 6, pvPeakW: 0, batteryCapacityKwh: 10 });
  const log = silentLogger();
  const dsmr = await startDsmrTcpSimulator({ host: '127.0.0.1', port: 0, rateHz: 1, model, log });
  cleanups.push(() => dsmr.stop());
  const inverter = await startSungrowSimulator({ host: '127.0.0.1', port: 0, model, log });
  cleanups.push(() => inverter.stop());
  const devices: unknown[] = [
    { name: 'p1', type: 'dsmr', tcp: `127.0.0.1:${dsmr.port}` },
    {
      name: 'inverter',
      type: 'sungrow',
      host: '127.0.0.1',
      port: inverter.port,
      poll_interval_s: 1,
      connect_delay_ms: 0,
      inter_register_delay_ms: 0,
      settle_ms: 20,
      control: true,
    },
  ];
  if (withCar) {
    // Not under control (no control.chargers entry): its 16 A × 3 is part of the house's load.
    const car = await startNrgkickSimulator({ host: '127.0.0.1', port: 0, model, responseS: 0, log });
    cleanups.push(() => car.stop());
    devices.push({ name: 'car', type: 'nrgkick', host: '127.0.0.1', port: car.port, poll_interval_s: 1 });
  }
  const config = {
    device_id: 'bat-home',
    devices,
    control: {
      ...target,
      min_write_interval_s: 1,
      batteries: { inverter: { hold_soc_pct: 80 } },
    },
  };
  const cfg = checkEdgeConfig(parseWithSchema(EdgeConfigSchema, config, 'edge.yaml') as EdgeConfig, 'edge.yaml');
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  const app = await EdgeApp.create({ config: cfg, log: pino({ level: 'info' }, sink) });
  await app.start();
  const snaps: Snapshot[] = [];
  app.bus.subscribe('test', 'snapshot', (s) => void snaps.push(structuredClone(s)));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.stop();
  };
  cleanups.push(stop);
  const written = (control: string) =>
    lines.filter((l) => l.msg === 'control written' && l.control === control).map((l) => l.read_back);
  return { model, inverter, snaps, lines, written, stop };
}

describe('edge control: a Sungrow SH battery', () => {
  it('holds its energy below hold_soc_pct, and goes back to self-consumption at full power on stop', async () => {
    // ---- nothing to shave: hold (10 W, the smallest limit) ----
    const calm = await start(false);
    await waitFor(() => calm.written('battery_max_discharge_power_w').includes(10), 'the hold written', 20_000);
    expect(await holding(calm.inverter.port, 13050, 2)).toEqual([0, 0xcc]); // EMS self-consumption, stop
    expect(await holding(calm.inverter.port, 33048)).toEqual([1]); // 10 W in 0.01 kW
    expect(calm.written('ems_mode')).toContain('self_consumption');
    const decision = calm.lines.find((l) => l.msg === 'control decision' && l.device === 'inverter');
    expect(String(decision?.reason)).toContain('below 80 %: keeps its energy for peak shaving');
    // The simulated battery follows: it gives at most the 10 W it may (snapshot sign: − discharging).
    const t0 = Date.now();
    await waitFor(() => calm.snaps.some((s) => Date.parse(s.timestamp) > t0 + 2000), 'snapshots after the write');
    const after = calm.snaps.filter((s) => Date.parse(s.timestamp) > t0 + 2000);
    for (const s of after) expect(s.battery_power_w, s.timestamp).toBeGreaterThanOrEqual(-10);
    expect(calm.model.state().battery_w).toBeGreaterThanOrEqual(-10);

    // ---- on stop: back to self-consumption at full power ----
    await calm.stop();
    expect(await holding(calm.inverter.port, 13050, 2)).toEqual([0, 0xcc]);
    expect(await holding(calm.inverter.port, 33048)).toEqual([500]); // 5,000 W, the default max_discharge_w
    expect(await holding(calm.inverter.port, 33047)).toEqual([500]);
  }, 60_000);

  it('shaves what exceeds the budget: the discharge limit rises and the meter sees the battery', async () => {
    // A 100 W target (no floor): whenever in the quarter the edge starts, the car's 11 kW is far above
    // what the quarter still allows, so the limit goes to the battery's 5 kW. (Under 2.5 kW a start
    // in the quarter's last minute, which the simulated home began, would leave room to spare.)
    const busy = await start(true, { capacity_target_w: 100, floor_w: 0 });
    await waitFor(() => busy.written('battery_max_discharge_power_w').includes(5000), 'the shave written', 30_000);
    expect(await holding(busy.inverter.port, 33048)).toEqual([500]);
    const shave = busy.lines.find(
      (l) => l.msg === 'control decision' && l.device === 'inverter' && String(l.reason).includes('less from the grid'),
    );
    expect(shave).toBeDefined();
    // The battery discharges at its 5 kW, and the meter's import is the house and the car less that.
    const t0 = Date.now();
    await waitFor(
      () => busy.snaps.filter((s) => Date.parse(s.timestamp) > t0 + 3000).length >= 3,
      'snapshots after the shave',
      20_000,
    );
    const s = busy.snaps.at(-1) as Snapshot;
    expect(s.battery_power_w).toBeLessThanOrEqual(-4900);
    const m = busy.model.state();
    expect(m.battery_w).toBe(-5000);
    expect(m.grid_w).toBe(Math.round(m.load_w - 5000));
    expect(s.grid_power_w).toBeLessThan((s.load_power_w as number) - 4000);
  }, 60_000);
});
