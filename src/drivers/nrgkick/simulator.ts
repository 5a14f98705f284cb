/**
 * A simulated NRGkick Gen2 on loopback, speaking its local JSON API (`GET /info`, `/values`,
 * `/control`, `/control?current_set=…&charge_pause=…&energy_limit=…&phase_count=…`, `/api`),
 * with optional HTTP Basic auth, and a simulated car plugged into it.
 *
 * The car draws what it is allowed: 230 V × min(current_set, its own maximum) × min(phase_count,
 * its phases), nothing while paused or full, and follows a new set-point after `responseS` seconds
 * (a car's charger takes a few seconds to ramp). Each second the simulator tells the simulated home
 * (sim/home-model.ts) what the car draws, so the meter simulators on the same home count it in the
 * import: a controller writing to this charger sees its effect on the P1 meter (the closed loop).
 *
 * Writes are checked as DiniTech's documentation page checks them (its own simulator's JavaScript):
 * current_set 6.0 up to the rated current, rounded to 0.1 A; charge_pause 0/1; energy_limit
 * 0–1,000,000 Wh; phase_count 1–3. A bad value answers 406 `{"Response": "Invalid …"}` and changes
 * nothing; a good write answers the values it took. A replay mode serves recorded answers instead.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { wallClock } from '../../core/time/index.js';
import { listen } from '../../lib/listen.js';
import { createLogger, type Logger } from '../../lib/log.js';
import type { HomeModel } from '../sim/home-model.js';
import { CONTROL_PATH, INFO_PATH, VALUES_PATH } from './fields.js';

export interface SimulatedCar {
  /** Usable battery, kWh. */
  capacityKwh: number;
  /** State of charge at plug-in, %. */
  socPct: number;
  /** The most current its on-board charger takes per phase, A. */
  maxCurrentA: number;
  /** Phases its on-board charger uses. */
  phases: 1 | 2 | 3;
  /**
   * When the car is home, local time (HH:MM): plugged in at `arrive`, gone at `leave` (a window may
   * run past midnight), each visit a new session starting at `socPct`. Absent: always plugged in.
   */
  visits?: { arrive: string; leave: string; timezone: string };
}

export interface NrgkickSimulatorOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The home the car's draw goes into (required unless `recorded`). */
  model?: HomeModel;
  /** The car plugged in (default a 60 kWh car at 20 %, 16 A on three phases); null: no car. */
  car?: SimulatedCar | null;
  /** The charger's rated current, A (16 or 32; default 16). */
  ratedCurrentA?: number;
  /** Seconds a car takes to follow a new set-point (default 2). */
  responseS?: number;
  /** HTTP Basic auth the charger asks for (default none). */
  auth?: { username: string; password: string };
  /** Recorded answers to serve instead of the simulation (fixture replay): by path. */
  recorded?: Partial<Record<'/info' | '/values' | '/control', unknown>>;
  log?: Logger;
}

export interface NrgkickSimulator {
  port: number;
  /** The control state the charger holds. */
  readonly control: Readonly<ControlValues>;
  /** What the car draws now, W. */
  readonly drawW: number;
  /** Writes taken so far (`GET /control?…` that changed something or not). */
  readonly writes: number;
  stop(): Promise<void>;
}

interface ControlValues {
  current_set: number;
  charge_pause: number;
  energy_limit: number;
  phase_count: number;
}

const VOLTAGE_V = 230;
const DEFAULT_CAR: SimulatedCar = { capacityKwh: 60, socPct: 20, maxCurrentA: 16, phases: 3 };

/** Applies the query of `GET /control?…` as DiniTech's page does: all or nothing. */
export function applyControlQuery(
  q: URLSearchParams,
  held: ControlValues,
  ratedA: number,
): { status: number; body: Record<string, unknown>; next: ControlValues } {
  const next = { ...held };
  const took: Record<string, unknown> = {};
  const refuse = (text: string) => ({ status: 406, body: { Response: text }, next: held });
  const cur = q.get('current_set');
  if (cur !== null) {
    const a = Number(cur);
    if (!/^[0-9][0-9.]{0,3}$/.test(cur) || !(a >= 6 && a <= ratedA))
      return refuse(`Invalid current entered, allowed 6.0A - ${ratedA.toFixed(1)}A`);
    next.current_set = took.current_set = Number(a.toFixed(1));
  }
  const pause = q.get('charge_pause');
  if (pause !== null) {
    if (pause !== '0' && pause !== '1') return refuse('Invalid state entered, allowed 0 / 1');
    next.charge_pause = took.charge_pause = Number(pause);
  }
  const limit = q.get('energy_limit');
  if (limit !== null) {
    const wh = Number(limit);
    if (!/^[0-9]{1,7}$/.test(limit) || wh > 1_000_000)
      return refuse('Invalid limit entered, value must be greater or equal than 0Wh and less or equal than 1000000Wh');
    next.energy_limit = took.energy_limit = wh;
  }
  const phases = q.get('phase_count');
  if (phases !== null) {
    if (!/^[1-3]$/.test(phases)) return refuse('Invalid phases entered, allowed 1 - 3');
    next.phase_count = took.phase_count = Number(phases);
  }
  return { status: 200, body: took, next };
}

function authorized(req: IncomingMessage, auth: NrgkickSimulatorOptions['auth']): boolean {
  if (!auth) return true;
  const want = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  return req.headers.authorization === want;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** The charger and its car: the control state, the car's draw and energy, the API's answers. */
class SimulatedCharger {
  control: ControlValues;
  /** The set-point the car follows (the latest one, `responseMs` after it was written). */
  private following: ControlValues;
  private changedAt = 0;
  drawW = 0;
  writes = 0;
  private socKwh: number;
  private sessionStartKwh: number;
  /** The car is plugged in now (its visits), updated each tick. */
  private present: boolean;

  constructor(
    private readonly model: HomeModel | undefined,
    private readonly car: SimulatedCar | null,
    private readonly ratedA: number,
    private readonly responseMs: number,
  ) {
    this.control = { current_set: ratedA, charge_pause: 0, energy_limit: 0, phase_count: 3 };
    this.following = { ...this.control };
    this.socKwh = car ? (car.capacityKwh * car.socPct) / 100 : 0;
    this.sessionStartKwh = model?.state().ev_total_kwh ?? 0;
    this.present = carHome(car, Date.now());
  }

  /** The car plugged in now, or null. */
  private get plugged(): SimulatedCar | null {
    return this.present ? this.car : null;
  }

  private get sessionKwh(): number {
    return (this.model?.state().ev_total_kwh ?? 0) - this.sessionStartKwh;
  }

  private get phases(): 1 | 2 | 3 {
    const car = this.plugged;
    return car ? (Math.min(this.following.phase_count, car.phases) as 1 | 2 | 3) : 3;
  }

  /** Advances the home to now and sets the car's draw from the set-point it follows. */
  tick(): void {
    const model = this.model;
    if (!model) return;
    const before = model.state().ev_total_kwh;
    model.advanceTo(Date.now());
    this.socKwh += model.state().ev_total_kwh - before;
    const home = carHome(this.car, Date.now());
    if (home && !this.present && this.car) {
      // A new visit: a new session, the car back at its arrival charge.
      this.socKwh = (this.car.capacityKwh * this.car.socPct) / 100;
      this.sessionStartKwh = model.state().ev_total_kwh;
    }
    this.present = home;
    if (Date.now() - this.changedAt >= this.responseMs) this.following = { ...this.control };
    const f = this.following;
    const car = this.plugged;
    const full = car === null || this.socKwh >= car.capacityKwh;
    const limitHit = f.energy_limit > 0 && this.sessionKwh * 1000 >= f.energy_limit;
    const amps = car ? Math.min(f.current_set, car.maxCurrentA) : 0;
    this.drawW = full || limitHit || f.charge_pause === 1 ? 0 : Math.round(VOLTAGE_V * amps * this.phases);
    model.setEvLoad({ watts: this.drawW, phases: this.phases });
  }

  /** `GET /control?…`: the answer; a good write changes the set-point the car follows next. */
  write(q: URLSearchParams): { status: number; body: unknown } {
    const r = applyControlQuery(q, this.control, this.ratedA);
    if (r.status === 200) {
      this.writes++;
      this.tick();
      this.control = r.next;
      this.changedAt = Date.now();
    }
    return r;
  }

  values(): unknown {
    this.tick();
    const sessionWh = Math.round(this.sessionKwh * 1000);
    const { drawW, control } = this;
    const phases = this.plugged ? this.phases : 0;
    const phase = (i: number) => {
      const on = i < phases && drawW > 0;
      const w = on ? round(drawW / phases, 0) : 0;
      return {
        voltage: VOLTAGE_V,
        current: on ? round(drawW / VOLTAGE_V / phases, 2) : 0,
        active_power: w,
        reactive_power: 0,
        apparent_power: w,
        power_factor: on ? 1 : 0,
      };
    };
    return {
      energy: { total_charged_energy: TOTAL_BASE_WH + sessionWh, charged_energy: sessionWh },
      powerflow: {
        charging_voltage: VOLTAGE_V,
        charging_current: control.charge_pause === 1 ? 0 : control.current_set,
        grid_frequency: 50,
        peak_power: drawW,
        total_active_power: drawW,
        total_reactive_power: 0,
        total_apparent_power: drawW,
        total_power_factor: drawW > 0 ? 1 : 0,
        l1: phase(0),
        l2: phase(1),
        l3: phase(2),
        n: { current: 0 },
      },
      general: {
        charging_rate: 0,
        vehicle_connect_time: 0,
        vehicle_charging_time: 0,
        status: this.plugged === null ? 'STANDBY' : drawW > 0 ? 'CHARGING' : 'CONNECTED',
        charge_permitted: control.charge_pause === 1 ? 0 : 1,
        relay_state: drawW > 0 ? 'N, L1, L2, L3' : 'NO_RELAY',
        charge_count: 6120,
        rcd_trigger: 'NO_FAULT',
        warning_code: 'NO_WARNING',
        error_code: 'NO_ERROR',
      },
    };
  }

  info(): unknown {
    return {
      general: {
        serial_number: 'SIM0000000000000000S1',
        model_type: 'NRGkick Gen2 SIM',
        device_name: 'NRGkick (Kwartier simulator)',
        rated_current: this.ratedA,
      },
      connector: { phase_count: 3, max_current: this.ratedA, type: 'TYPE2', serial: 'SIM00001' },
      grid: { voltage: VOLTAGE_V, frequency: 50, phases: 'L1, L2, L3' },
    };
  }
}

/** Whether the car is plugged in at `ms` (its visits' window, local time); always without visits. */
export function carHome(car: SimulatedCar | null, ms: number): boolean {
  if (car === null) return false;
  if (!car.visits) return true;
  const l = wallClock(ms, car.visits.timezone);
  const m = l.hour * 60 + l.minute;
  const [arrive, leave] = [car.visits.arrive, car.visits.leave].map((t) => {
    const [h, mm] = t.split(':').map(Number);
    return (h as number) * 60 + (mm as number);
  }) as [number, number];
  return arrive <= leave ? m >= arrive && m < leave : m >= arrive || m < leave;
}

/** The charger's lifetime count before this car, Wh (DiniTech's example answer's). */
const TOTAL_BASE_WH = 14_187;

export async function startNrgkickSimulator(opts: NrgkickSimulatorOptions): Promise<NrgkickSimulator> {
  const log = opts.log ?? createLogger('nrgkick-sim');
  const model = opts.model;
  if (!model && !opts.recorded) throw new Error('startNrgkickSimulator: a home model or recorded answers');
  const car = opts.car === undefined ? { ...DEFAULT_CAR } : opts.car;
  const charger = new SimulatedCharger(model, car, opts.ratedCurrentA ?? 16, (opts.responseS ?? 2) * 1000);
  charger.tick();
  const timer = setInterval(() => charger.tick(), 1000);
  timer.unref();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { Response: 'Method not allowed' });
    if (!authorized(req, opts.auth)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="NRGkick"' });
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://nrgkick.invalid');
    if (opts.recorded) {
      const body = opts.recorded[url.pathname as '/info' | '/values' | '/control'];
      return body === undefined ? send(404, { Response: 'Not found' }) : send(200, body);
    }
    switch (url.pathname) {
      case VALUES_PATH:
        return send(200, charger.values());
      case INFO_PATH:
        return send(200, charger.info());
      case '/api':
        return send(200, { json: true, modbus: false });
      case CONTROL_PATH: {
        if ([...url.searchParams.keys()].length === 0) return send(200, charger.control);
        const r = charger.write(url.searchParams);
        if (r.status === 200) log.info({ control: charger.control }, 'control written');
        return send(r.status, r.body);
      }
      default:
        return send(404, { Response: 'Not found' });
    }
  });
  server.keepAliveTimeout = 5000;
  const port = await listen(server, opts.port, opts.host);
  log.info({ host: opts.host, port, car: car !== null }, 'NRGkick simulator listening');
  return {
    port,
    get control() {
      return charger.control;
    },
    get drawW() {
      return charger.drawW;
    },
    get writes() {
      return charger.writes;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        model?.setEvLoad({ watts: 0, phases: 3 });
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
