/**
 * One simulated home, the single model behind every simulator (P1 telegrams, HomeWizard, Sungrow,
 * NRGkick), so what they report is coherent: grid = load − PV + battery charging, on every phase,
 * and the meter's counters, 15-minute average (1-0:1.4.0), monthly peak (1-0:1.6.0) and peak
 * history (0-0:98.1.0) follow the import.
 *
 * The EV charger's draw is an input: a charger simulator sets it (`setEvLoad`) from what it was told
 * and what its car takes, and the home's load, grid power and the meter's counters include it from
 * the next step on; so a P1 simulator and a charger simulator on one model close the loop a
 * controller acts in (the car's draw shows in the meter's import).
 *
 * Deterministic: the state is a function of (options, seconds elapsed, the EV load set when). It
 * steps in whole seconds; `advanceTo(ms)` catches up from wherever it is, so a backfill of days runs
 * fast and a live simulator just advances to `Date.now()` before answering.
 *
 * This file is the model's state and its step; its parts are each a module: the household's draw
 * (household.ts), the PV (solar.ts), the battery and its policy (battery.ts), the meter's counters
 * (meter.ts), and the local clock and random numbers (local-clock.ts, sim-math.ts). A step draws
 * from one seeded generator, in a fixed order, through all of them.
 */
import { type BatteryPolicy, type BatteryPolicyInput, batteryStep, SELF_CONSUMPTION } from './battery.js';
import { type EvLoad, Household } from './household.js';
import { LocalClock, type LocalTime } from './local-clock.js';
import { balanceGrid, CapacityRegisters, countGridEnergy, GasWaterMeters } from './meter.js';
import { prng, round3 } from './sim-math.js';
import { Solar } from './solar.js';

export type Country = 'be' | 'nl';

export interface HomeModelOptions {
  /** Start of the simulation (ms since epoch, UTC). */
  start: number;
  seed?: number;
  country?: Country;
  timezone?: string;
  /** 1 or 3 phases (default 3). */
  phases?: 1 | 3;
  /** PV peak power in W (0: no PV). Default 6000. */
  pvPeakW?: number;
  /** Usable battery capacity in kWh (0: no battery). Default 10. */
  batteryCapacityKwh?: number;
  /** Battery charge/discharge limit in W. Default 5000. */
  batteryMaxW?: number;
  /** Site latitude/longitude for the sun (default Brussels). */
  latitude?: number;
  longitude?: number;
}

export interface PeakEntry {
  /** Start of the month that follows the peak's month (as the meter stamps 98.1.0 entries), ms UTC. */
  month_start: number;
  /** Start of the peak quarter (ms UTC), null for a month without data. */
  at: number | null;
  peak_w: number;
}

export interface HomeState {
  /** Simulated instant (ms UTC). */
  at: number;
  country: Country;
  phases: 1 | 3;
  /** Household consumption (W, ≥ 0). */
  load_w: number;
  /** PV production (W, ≥ 0). */
  pv_w: number;
  /** Battery power (W): + charging, − discharging. */
  battery_w: number;
  /** Grid power (W): + import, − export. Equals load − pv + battery. */
  grid_w: number;
  /** The EV charger's draw (W, ≥ 0), part of load_w. */
  ev_w: number;
  /** Energy the EV charger drew over the simulation (kWh). */
  ev_total_kwh: number;
  /** Per-phase grid power (W, signed), length = phases. */
  phase_grid_w: number[];
  phase_voltage_v: number[];
  /** Per-phase current magnitude (A). */
  phase_current_a: number[];
  /** Active tariff with the country's meaning: BE 1 = day, 2 = night; NL 1 = low, 2 = normal. */
  tariff: 1 | 2;
  import_t1_kwh: number;
  import_t2_kwh: number;
  export_t1_kwh: number;
  export_t2_kwh: number;
  /** Running average of import in the current clock quarter (W), as 1-0:1.4.0. */
  avg_15m_w: number;
  /** Highest quarter of the month so far (W) and the start of that quarter (ms), as 1-0:1.6.0. */
  month_peak_w: number;
  month_peak_at: number | null;
  /** Past months' peaks, oldest first, at most 13, as 0-0:98.1.0. */
  peak_history: PeakEntry[];
  /** Gas and water meters: value at the last 5-minute capture, and that capture time (ms). */
  gas_m3: number;
  gas_at: number;
  water_m3: number;
  water_at: number;
  pv_daily_kwh: number;
  pv_total_kwh: number;
  mppt1_voltage_v: number;
  mppt1_current_a: number;
  mppt2_voltage_v: number;
  mppt2_current_a: number;
  battery_soc_pct: number;
  battery_temp_c: number;
  battery_daily_charge_kwh: number;
  battery_daily_discharge_kwh: number;
  battery_total_charge_kwh: number;
  battery_total_discharge_kwh: number;
  /** Load energy served today (kWh) and inverter temperature, for inverter registers. */
  load_daily_kwh: number;
  inverter_temp_c: number;
}

export class HomeModel {
  private readonly opts: Required<HomeModelOptions>;
  private readonly rnd: () => number;
  private readonly clock: LocalClock;
  private readonly household: Household;
  private readonly solar: Solar;
  private readonly capacity: CapacityRegisters;
  private readonly gasWater: GasWaterMeters;
  private t: number;
  private current: HomeState;
  private lastDay = -1;
  private batteryPolicy: BatteryPolicy = SELF_CONSUMPTION;

  constructor(options: HomeModelOptions) {
    this.opts = {
      seed: 1,
      country: 'be',
      timezone: 'Europe/Brussels',
      phases: 3,
      pvPeakW: 6000,
      batteryCapacityKwh: 10,
      batteryMaxW: 5000,
      latitude: 50.85,
      longitude: 4.35,
      ...options,
    };
    this.rnd = prng(this.opts.seed);
    this.clock = new LocalClock(this.opts.timezone);
    this.t = Math.floor(this.opts.start / 1000) * 1000;
    const r = this.rnd;
    const n = this.opts.phases;
    this.current = {
      at: this.t,
      country: this.opts.country,
      phases: n,
      load_w: 0,
      pv_w: 0,
      battery_w: 0,
      grid_w: 0,
      ev_w: 0,
      ev_total_kwh: 0,
      phase_grid_w: new Array<number>(n).fill(0),
      phase_voltage_v: new Array<number>(n).fill(230),
      phase_current_a: new Array<number>(n).fill(0),
      tariff: 1,
      import_t1_kwh: round3(2000 + r() * 3000),
      import_t2_kwh: round3(1500 + r() * 2500),
      export_t1_kwh: this.opts.pvPeakW > 0 ? round3(800 + r() * 1500) : 0,
      export_t2_kwh: this.opts.pvPeakW > 0 ? round3(100 + r() * 300) : 0,
      avg_15m_w: 0,
      month_peak_w: 0,
      month_peak_at: null,
      peak_history: [],
      gas_m3: round3(1000 + r() * 2000),
      gas_at: this.t,
      water_m3: round3(100 + r() * 400),
      water_at: this.t,
      pv_daily_kwh: 0,
      pv_total_kwh: this.opts.pvPeakW > 0 ? Math.round(5000 + r() * 10000) : 0,
      mppt1_voltage_v: 0,
      mppt1_current_a: 0,
      mppt2_voltage_v: 0,
      mppt2_current_a: 0,
      battery_soc_pct: this.opts.batteryCapacityKwh > 0 ? 50 : 0,
      battery_temp_c: 20,
      battery_daily_charge_kwh: 0,
      battery_daily_discharge_kwh: 0,
      battery_total_charge_kwh: this.opts.batteryCapacityKwh > 0 ? Math.round(500 + r() * 2000) : 0,
      battery_total_discharge_kwh: 0,
      load_daily_kwh: 0,
      inverter_temp_c: 25,
    };
    this.current.battery_total_discharge_kwh = Math.round(this.current.battery_total_charge_kwh * 0.92);
    this.household = new Household(this.rnd, n);
    this.solar = new Solar(this.rnd, this.opts);
    this.gasWater = new GasWaterMeters(this.current);
    const lt = this.clock.local(this.t);
    this.lastDay = lt.day;
    this.capacity = new CapacityRegisters(this.t, lt.month, this.opts.timezone);
    this.step(0);
    this.capacity.assumeBefore(this.current, this.t);
  }

  get now(): number {
    return this.t;
  }

  get options(): Readonly<Required<HomeModelOptions>> {
    return this.opts;
  }

  /** Advances in 1-second steps up to `ms` (never backwards) and returns the state. */
  advanceTo(ms: number): HomeState {
    while (this.t + 1000 <= ms) {
      this.t += 1000;
      this.step(1);
    }
    return this.current;
  }

  /** The state at the current simulated instant (a live object: copy it if you keep it). */
  state(): HomeState {
    return this.current;
  }

  /**
   * The EV charger's draw from the next step on (a charger simulator sets it each second). On a
   * one-phase home every phase of the charger is L1.
   */
  setEvLoad(load: EvLoad): void {
    const watts = Number.isFinite(load.watts) ? Math.max(0, load.watts) : 0;
    this.household.ev = { watts, phases: load.phases };
  }

  /**
   * Continues the meter's counters from `stored` where they are higher: a replay from the seed lacks
   * what a charger simulator added (a car's draw is not part of the seed's trajectory), and a
   * real meter never counts back. The demo calls it on resume with the last stored reading.
   */
  continueCounters(
    stored: Partial<Record<'import_t1_kwh' | 'import_t2_kwh' | 'export_t1_kwh' | 'export_t2_kwh', number | null>>,
  ): void {
    for (const k of ['import_t1_kwh', 'import_t2_kwh', 'export_t1_kwh', 'export_t2_kwh'] as const) {
      const v = stored[k];
      if (typeof v === 'number' && Number.isFinite(v) && v > this.current[k]) this.current[k] = v;
    }
  }

  /**
   * What the battery's inverter is told from the next step on (a Sungrow simulator sets it from the
   * EMS registers written to it): self-consumption within charge and discharge limits, or a forced
   * charge or discharge at a power. Both stop at `minSocPct` (default 10 %) and 100 %.
   */
  setBatteryPolicy(policy: BatteryPolicyInput): void {
    this.batteryPolicy = { ...SELF_CONSUMPTION, ...policy } as BatteryPolicy;
  }

  /** Local calendar time of an instant in the model's time zone. */
  localTime(ms: number): LocalTime {
    return this.clock.local(ms);
  }

  /** The active tariff at an instant, with the country's meaning of 1 and 2. */
  tariffAt(ms: number): 1 | 2 {
    const lt = this.clock.local(ms);
    const weekend = lt.weekday >= 6;
    if (this.opts.country === 'be') {
      // Belgium: 1 = day (weekdays 07–22), 2 = night and the whole weekend.
      return !weekend && lt.hour >= 7 && lt.hour < 22 ? 1 : 2;
    }
    // Netherlands: 1 = low (nights and weekends), 2 = normal (weekdays 07–23).
    return !weekend && lt.hour >= 7 && lt.hour < 23 ? 2 : 1;
  }

  /** One step of `dtS` seconds (0 for the first state) to `this.t`. */
  private step(dtS: number): void {
    const s = this.current;
    const t = this.t;
    const lt = this.clock.local(t);
    s.at = t;
    if (lt.day !== this.lastDay) this.startDay(lt.day);

    const hour = lt.hour + lt.minute / 60;
    const { phaseLoad, evW } = this.household.draw(t, hour, lt.weekday >= 6, dtS);
    s.ev_w = evW;
    s.ev_total_kwh += (evW * dtS) / 3_600_000;
    const load = phaseLoad.reduce((x, y) => x + y, 0);
    const pv = this.solar.powerW(t);
    const cap = this.opts.batteryCapacityKwh;
    const bat =
      cap > 0
        ? batteryStep(s, { capacityKwh: cap, maxW: this.opts.batteryMaxW }, this.batteryPolicy, pv, load, dtS)
        : 0;

    balanceGrid(s, phaseLoad, load, pv, bat, t, this.rnd);
    s.tariff = this.tariffAt(t);
    countGridEnergy(s, dtS);
    this.solar.inverterReadings(s, pv, load, dtS);
    this.capacity.step(s, t, lt, dtS);
    this.gasWater.step(s, t, this.household.gasM3(t, hour, dtS), this.household.waterM3(hour, dtS));
  }

  /** A new local day: the daily counters start again, and the day gets its clouds. */
  private startDay(day: number): void {
    const s = this.current;
    this.lastDay = day;
    s.pv_daily_kwh = 0;
    s.battery_daily_charge_kwh = 0;
    s.battery_daily_discharge_kwh = 0;
    s.load_daily_kwh = 0;
    this.solar.newDay();
  }
}
