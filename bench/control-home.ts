/**
 * The home the control benchmark runs: the simulated home's house load and PV (src/drivers/sim/
 * home-model.ts, one-second steps, its own battery off), a 10 kWh / 5 kW battery and a car on a
 * 3-phase charger of 6–16 A, both modelled here because the strategies drive them.
 *
 * - Battery: self-consumption (covers the house and the car from the battery, down to a 5 % floor,
 *   charges from PV), with caps on discharge and charge; or a forced charge from the grid. 95 % each
 *   way. A new set-point acts one second after it is written.
 * - Car: plugged in for a session, draws 230 V × phases × the current it was told (two seconds
 *   after the write) until the session's energy is in, then nothing.
 * - Sessions: each weekday the car comes home between 17:00 and 19:30 wanting 6–20 kWh by 07:00;
 *   on Saturday and Sunday it is home from 10:00–12:00 to 17:00 wanting 4–12 kWh, no deadline.
 */
import { DateTime } from 'luxon';
import { HomeModel } from '../src/drivers/sim/home-model.js';
import { prng } from '../src/drivers/sim/sim-math.js';

export const TZ = 'Europe/Brussels';

export interface Trace {
  start: number;
  seconds: number;
  /** House load and PV per second, W. */
  load: Float32Array;
  pv: Float32Array;
}

export function homeTrace(month: string, seed: number): Trace {
  const start = DateTime.fromISO(`${month}-01`, { zone: TZ }).toMillis();
  const end = DateTime.fromISO(`${month}-01`, { zone: TZ }).plus({ months: 1 }).toMillis();
  const seconds = (end - start) / 1000;
  const model = new HomeModel({ start, seed, batteryCapacityKwh: 0, pvPeakW: 6000 });
  const load = new Float32Array(seconds);
  const pv = new Float32Array(seconds);
  for (let i = 0; i < seconds; i++) {
    const s = model.advanceTo(start + i * 1000);
    load[i] = s.load_w;
    pv[i] = s.pv_w;
  }
  return { start, seconds, load, pv };
}

export interface Session {
  arrive: number;
  leave: number;
  needKwh: number;
  /** The deadline (= leave) for weekday sessions; null at weekends. */
  deadline: number | null;
}

export function carSessions(trace: Trace, seed: number): Session[] {
  const rnd = prng(seed);
  const out: Session[] = [];
  let day = DateTime.fromMillis(trace.start, { zone: TZ }).startOf('day');
  const end = trace.start + trace.seconds * 1000;
  while (day.toMillis() < end) {
    const weekend = day.weekday >= 6;
    const arrive = weekend
      ? day.set({ hour: 10 }).plus({ minutes: Math.round(rnd() * 120) })
      : day.set({ hour: 17 }).plus({ minutes: Math.round(rnd() * 150) });
    const leave = weekend ? day.set({ hour: 17 }) : day.plus({ days: 1 }).set({ hour: 7 });
    const needKwh = Math.round((weekend ? 4 + rnd() * 8 : 6 + rnd() * 14) * 2) / 2;
    if (leave.toMillis() <= end) {
      out.push({
        arrive: arrive.toMillis(),
        leave: leave.toMillis(),
        needKwh,
        deadline: weekend ? null : leave.toMillis(),
      });
    }
    day = day.plus({ days: 1 });
  }
  return out;
}

export type BatteryCommand =
  | { mode: 'self_consumption'; max_discharge_w: number; max_charge_w: number }
  | { mode: 'charge'; power_w: number };

export interface CarCommand {
  charge: boolean;
  current_a: number;
  phases: 1 | 3;
}

const CAPACITY_KWH = 10;
const BATTERY_MAX_W = 5000;
const EFFICIENCY = 0.95;
const FLOOR_PCT = 5;

/** The devices' physical state, stepped one second at a time. */
export class Plant {
  soc = 50;
  battery: BatteryCommand = { mode: 'self_consumption', max_discharge_w: BATTERY_MAX_W, max_charge_w: BATTERY_MAX_W };
  car: CarCommand = { charge: false, current_a: 6, phases: 3 };
  private pendingCar: { at: number; cmd: CarCommand } | null = null;
  private pendingBattery: { at: number; cmd: BatteryCommand } | null = null;
  session: Session | null = null;
  delivered = 0;
  /** The last second's powers, W. */
  gridW = 0;
  carW = 0;
  batteryW = 0;
  importKwh = 1000;

  tellCar(now: number, cmd: CarCommand): void {
    this.pendingCar = { at: now + 2000, cmd };
  }

  tellBattery(now: number, cmd: BatteryCommand): void {
    this.pendingBattery = { at: now + 1000, cmd };
  }

  /** One second [now, now + 1 s) with the house's load and PV. */
  step(now: number, loadW: number, pvW: number): void {
    if (this.pendingCar && this.pendingCar.at <= now) {
      this.car = this.pendingCar.cmd;
      this.pendingCar = null;
    }
    if (this.pendingBattery && this.pendingBattery.at <= now) {
      this.battery = this.pendingBattery.cmd;
      this.pendingBattery = null;
    }
    const s = this.session;
    const full = s === null || this.delivered >= s.needKwh;
    this.carW = !full && this.car.charge ? 230 * this.car.phases * this.car.current_a : 0;
    const net = loadW - pvW + this.carW;
    const roomW = (((100 - this.soc) / 100) * CAPACITY_KWH * 3.6e6) / EFFICIENCY;
    const availW = ((this.soc - FLOOR_PCT) / 100) * CAPACITY_KWH * 3.6e6 * EFFICIENCY;
    const b = this.battery;
    let bat: number;
    if (b.mode === 'charge') bat = Math.min(b.power_w, BATTERY_MAX_W, roomW);
    else if (net > 0) bat = -Math.min(net, b.max_discharge_w, BATTERY_MAX_W, Math.max(0, availW));
    else bat = Math.min(-net, b.max_charge_w, BATTERY_MAX_W, roomW);
    this.soc +=
      bat > 0 ? ((bat * EFFICIENCY) / (CAPACITY_KWH * 3.6e6)) * 100 : (bat / EFFICIENCY / (CAPACITY_KWH * 3.6e6)) * 100;
    this.batteryW = bat;
    this.gridW = net + bat;
    if (this.gridW > 0) this.importKwh += this.gridW / 3.6e6;
    this.delivered += this.carW / 3.6e6;
  }
}
