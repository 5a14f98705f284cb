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
 */
import { DAY_MS, HOUR_MS, localDateStart, quarterStart, ZoneOffsets } from '../../core/time/index.js';

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

interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number; // 1 = Monday … 7 = Sunday
  /** Offset from UTC in minutes. */
  offsetMin: number;
}

/** mulberry32: a small, good-enough seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Local calendar time in a zone: the model asks every simulated second, so offsets are memoised. */
class LocalClock {
  private readonly offsets: ZoneOffsets;

  constructor(timeZone: string) {
    this.offsets = new ZoneOffsets(timeZone, 10_000);
  }

  local(ms: number): LocalTime {
    const offsetMin = this.offsets.at(ms);
    const d = new Date(ms + offsetMin * 60_000);
    const wd = d.getUTCDay();
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      weekday: wd === 0 ? 7 : wd,
      offsetMin,
    };
  }
}

/** What the battery's inverter is told (HomeModel.setBatteryPolicy). */
export type BatteryPolicy =
  | { mode: 'self_consumption'; maxChargeW: number; maxDischargeW: number; minSocPct: number }
  | { mode: 'forced'; command: 'charge' | 'discharge' | 'stop'; powerW: number; minSocPct: number };

export type BatteryPolicyInput =
  | { mode: 'self_consumption'; maxChargeW?: number; maxDischargeW?: number; minSocPct?: number }
  | { mode: 'forced'; command: 'charge' | 'discharge' | 'stop'; powerW: number; minSocPct?: number };

/** The inverter's own default: self-consumption at full power, down to 10 %. */
const SELF_CONSUMPTION: BatteryPolicy = {
  mode: 'self_consumption',
  maxChargeW: Number.POSITIVE_INFINITY,
  maxDischargeW: Number.POSITIVE_INFINITY,
  minSocPct: 10,
};

/** What a charger draws: W in total, spread evenly over its phases (starting at L1). */
export interface EvLoad {
  watts: number;
  phases: 1 | 2 | 3;
}

interface Appliance {
  until: number;
  watts: number;
  phase: number;
}

export class HomeModel {
  private readonly opts: Required<HomeModelOptions>;
  private readonly rnd: () => number;
  private readonly clock: LocalClock;
  private t: number;
  private s: HomeState;
  private appliances: Appliance[] = [];
  private cloud = 0.8;
  private dayCloudBase = 0.8;
  private lastDay = -1;
  private lastMonth = -1;
  private quarterStart: number;
  private quarterImportKwh = 0;
  private gasLive = 0;
  private waterLive = 0;
  private fridgePhase = 0;
  private ev: EvLoad = { watts: 0, phases: 3 };
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
    this.quarterStart = quarterStart(this.t);
    const r = this.rnd;
    const n = this.opts.phases;
    this.s = {
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
    this.s.battery_total_discharge_kwh = Math.round(this.s.battery_total_charge_kwh * 0.92);
    this.gasLive = this.s.gas_m3;
    this.waterLive = this.s.water_m3;
    const lt = this.clock.local(this.t);
    this.lastDay = lt.day;
    this.lastMonth = lt.month;
    this.step(0);
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
    return this.s;
  }

  /** The state at the current simulated instant (a live object: copy it if you keep it). */
  state(): HomeState {
    return this.s;
  }

  /**
   * The EV charger's draw from the next step on (a charger simulator sets it each second). On a
   * one-phase home every phase of the charger is L1.
   */
  setEvLoad(load: EvLoad): void {
    const watts = Number.isFinite(load.watts) ? Math.max(0, load.watts) : 0;
    this.ev = { watts, phases: load.phases };
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
      if (typeof v === 'number' && Number.isFinite(v) && v > this.s[k]) this.s[k] = v;
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

  private step(dtS: number): void {
    const s = this.s;
    const r = this.rnd;
    const lt = this.clock.local(this.t);
    s.at = this.t;

    if (lt.day !== this.lastDay) {
      this.lastDay = lt.day;
      s.pv_daily_kwh = 0;
      s.battery_daily_charge_kwh = 0;
      s.battery_daily_discharge_kwh = 0;
      s.load_daily_kwh = 0;
      this.dayCloudBase = 0.25 + r() * 0.75;
    }

    // ---- load: base, fridge, time-of-day profile, appliances -------------------------------------
    const hour = lt.hour + lt.minute / 60;
    this.fridgePhase = (this.fridgePhase + dtS) % 2700;
    const fridge = this.fridgePhase < 900 ? 110 : 0;
    const profile = 150 * gauss(hour, 7.5, 1) + 350 * gauss(hour, 19, 2) + 120 * gauss(hour, 12.5, 1.5);
    if (dtS > 0) this.maybeStartAppliance(hour, lt.weekday >= 6);
    this.appliances = this.appliances.filter((a) => a.until > this.t);
    const phases = this.opts.phases;
    const phaseLoad = new Array<number>(phases).fill(0);
    const baseW = 160 + fridge + profile + (r() - 0.5) * 30;
    phaseLoad[0] = (phaseLoad[0] ?? 0) + baseW * (phases === 3 ? 0.5 : 1);
    if (phases === 3) {
      phaseLoad[1] = (phaseLoad[1] ?? 0) + baseW * 0.3;
      phaseLoad[2] = (phaseLoad[2] ?? 0) + baseW * 0.2;
    }
    for (const a of this.appliances) phaseLoad[a.phase % phases] = (phaseLoad[a.phase % phases] ?? 0) + a.watts;
    const evW = Math.round(this.ev.watts);
    for (let i = 0; i < this.ev.phases; i++) {
      const p = phases === 3 ? i : 0;
      phaseLoad[p] = (phaseLoad[p] ?? 0) + evW / this.ev.phases;
    }
    s.ev_w = evW;
    s.ev_total_kwh += (evW * dtS) / 3_600_000;
    const load = phaseLoad.reduce((x, y) => x + y, 0);

    // ---- PV: sun elevation × slowly varying clouds --------------------------------------------------
    let pv = 0;
    if (this.opts.pvPeakW > 0) {
      const elev = sunSinElevation(this.t, this.opts.latitude, this.opts.longitude);
      this.cloud += (r() - 0.5) * 0.02 + (this.dayCloudBase - this.cloud) * 0.002;
      this.cloud = Math.min(1, Math.max(0.1, this.cloud));
      pv = elev > 0 ? this.opts.pvPeakW * 0.85 * elev ** 1.15 * this.cloud : 0;
      if (pv < 5) pv = 0;
    }

    // ---- battery: as its inverter is told (batteryPolicy): by default charge on surplus, discharge on
    // demand; always within its power and SoC limits -----------------------------------------------
    let bat = 0;
    const cap = this.opts.batteryCapacityKwh;
    if (cap > 0) {
      const surplus = pv - load;
      const maxW = this.opts.batteryMaxW;
      const policy = this.batteryPolicy;
      const floor = policy.minSocPct;
      const roomW = () => (((100 - s.battery_soc_pct) / 100) * cap * 3_600_000) / Math.max(dtS, 1) / 0.95;
      const availW = () => ((((s.battery_soc_pct - floor) / 100) * cap * 3_600_000) / Math.max(dtS, 1)) * 0.95;
      if (policy.mode === 'forced') {
        if (policy.command === 'charge' && s.battery_soc_pct < 100) bat = Math.min(policy.powerW, maxW, roomW());
        if (policy.command === 'discharge' && s.battery_soc_pct > floor) bat = -Math.min(policy.powerW, maxW, availW());
      } else if (surplus > 30 && s.battery_soc_pct < 100) {
        bat = Math.min(surplus, maxW, policy.maxChargeW, roomW());
      } else if (surplus < -30 && s.battery_soc_pct > floor) {
        bat = -Math.min(-surplus, maxW, policy.maxDischargeW, availW());
      }
      const kwh = (Math.abs(bat) * dtS) / 3_600_000;
      if (bat > 0) {
        s.battery_soc_pct = Math.min(100, s.battery_soc_pct + ((kwh * 0.95) / cap) * 100);
        s.battery_daily_charge_kwh += kwh;
        s.battery_total_charge_kwh += kwh;
      } else if (bat < 0) {
        s.battery_soc_pct = Math.max(0, s.battery_soc_pct - (kwh / 0.95 / cap) * 100);
        s.battery_daily_discharge_kwh += kwh;
        s.battery_total_discharge_kwh += kwh;
      }
      s.battery_temp_c += ((18 + (Math.abs(bat) / maxW) * 10 - s.battery_temp_c) * dtS) / 600;
    }

    // ---- grid: the balance, per phase (inverter output split over its phases) -----------------------
    const perPhaseInv = (bat - pv) / phases;
    for (let i = 0; i < phases; i++) {
      const p = (phaseLoad[i] ?? 0) + perPhaseInv;
      s.phase_grid_w[i] = round0(p);
      const v = 231 + Math.sin(this.t / 7_200_000 + i) * 2 - p * 0.0012 + (r() - 0.5) * 0.6;
      s.phase_voltage_v[i] = round1(v);
      s.phase_current_a[i] = round2(Math.abs(p) / v);
    }
    s.load_w = round0(load);
    s.pv_w = round0(pv);
    s.battery_w = round0(bat);
    // Exact balance on the rounded figures; the last phase absorbs the rounding.
    s.grid_w = s.load_w - s.pv_w + s.battery_w;
    const others = s.phase_grid_w.slice(0, phases - 1).reduce((x, y) => x + y, 0);
    s.phase_grid_w[phases - 1] = s.grid_w - others;

    // ---- counters -----------------------------------------------------------------------------------
    s.tariff = this.tariffAt(this.t);
    const dKwh = (Math.abs(s.grid_w) * dtS) / 3_600_000;
    if (s.grid_w > 0) {
      if (s.tariff === 1) s.import_t1_kwh += dKwh;
      else s.import_t2_kwh += dKwh;
    } else if (s.grid_w < 0) {
      if (s.tariff === 1) s.export_t1_kwh += dKwh;
      else s.export_t2_kwh += dKwh;
    }
    const pvKwh = (pv * dtS) / 3_600_000;
    s.pv_daily_kwh += pvKwh;
    s.pv_total_kwh += pvKwh;
    s.load_daily_kwh += (load * dtS) / 3_600_000;
    if (pv > 0) {
      s.mppt1_voltage_v = round1(330 + 40 * Math.min(1, pv / 800) + (r() - 0.5) * 4);
      s.mppt2_voltage_v = round1(s.mppt1_voltage_v - 12 + (r() - 0.5) * 4);
      s.mppt1_current_a = round1((pv * 0.55) / s.mppt1_voltage_v);
      s.mppt2_current_a = round1((pv * 0.45) / s.mppt2_voltage_v);
    } else {
      s.mppt1_voltage_v = 0;
      s.mppt2_voltage_v = 0;
      s.mppt1_current_a = 0;
      s.mppt2_current_a = 0;
    }
    s.inverter_temp_c = round1(22 + (pv / Math.max(this.opts.pvPeakW, 1)) * 18);

    // ---- capacity: clock quarters, the month's peak, the history ------------------------------------
    const q = quarterStart(this.t);
    if (q !== this.quarterStart) {
      // The quarter that just ended is [quarterStart, q). Its average import power = kWh × 4.
      const avgW = this.quarterImportKwh * 4 * 1000;
      if (avgW > s.month_peak_w) {
        s.month_peak_w = round0(avgW);
        s.month_peak_at = this.quarterStart;
      }
      this.quarterStart = q;
      this.quarterImportKwh = 0;
    }
    if (lt.month !== this.lastMonth) {
      this.lastMonth = lt.month;
      const monthStart = localDateStart(lt.year, lt.month, 1, this.opts.timezone);
      s.peak_history.push({ month_start: monthStart, at: s.month_peak_at, peak_w: s.month_peak_w });
      if (s.peak_history.length > 13) s.peak_history.shift();
      s.month_peak_w = 0;
      s.month_peak_at = null;
    }
    if (s.grid_w > 0) this.quarterImportKwh += (s.grid_w * dtS) / 3_600_000;
    const elapsedS = (this.t - this.quarterStart) / 1000 + 1;
    s.avg_15m_w = round0((this.quarterImportKwh * 3_600_000) / elapsedS);

    // ---- gas and water: live meters, captured every 5 minutes ----------------------------------------
    const outdoorC = 11 - 8 * Math.cos(((dayOfYear(this.t) - 15) / 365) * 2 * Math.PI);
    const heating = hour >= 6 && hour < 22.5 ? Math.max(0, 17 - outdoorC) * 0.045 : Math.max(0, 17 - outdoorC) * 0.01;
    this.gasLive += (heating / 3600) * dtS;
    if (dtS > 0 && r() < 0.00012 * dtS && hour >= 6 && hour < 23) {
      this.waterLive += 0.02 + r() * 0.08;
    }
    const capture = Math.floor(this.t / 300_000) * 300_000;
    if (capture !== s.gas_at) {
      s.gas_at = capture;
      s.gas_m3 = round3(this.gasLive);
      s.water_at = capture;
      s.water_m3 = round3(this.waterLive);
    }
  }

  private maybeStartAppliance(hour: number, weekend: boolean): void {
    const r = this.rnd;
    const phases = this.opts.phases;
    const active = (h0: number, h1: number) => hour >= h0 && hour < h1;
    const running = (watts: number) => this.appliances.some((a) => a.watts === watts);
    // Rates per second, tuned to a Belgian household: a monthly peak of ~3–6 kW (VREG: 4.37 kW on
    // average), not every appliance at once. Kettle/coffee: about 2 a day.
    if ((active(6.5, 9) || active(16, 21)) && r() < 1 / 14_400) this.start(2000, 150 + r() * 120, r() * phases);
    // oven or cooking plates: the evening meal, most days, one at a time
    if (active(17.5, 19.5) && !running(2400) && r() < 1 / 5400) this.start(2400, 1800 + r() * 1800, r() * phases);
    // washing machine / dishwasher heater: a few times a week
    if ((weekend ? active(9, 20) : active(19, 22)) && !running(2000.5) && r() < 1 / 40_000)
      this.start(2000.5, 1200, r() * phases);
    // vacuum, hair dryer, microwave: short spikes, several a day
    if (active(7, 23) && r() < 1 / 7200) this.start(800 + r() * 1200, 60 + r() * 300, r() * phases);
  }

  private start(watts: number, seconds: number, phase: number): void {
    this.appliances.push({ until: this.t + Math.round(seconds) * 1000, watts, phase: Math.floor(phase) });
  }
}

function gauss(x: number, mu: number, sigma: number): number {
  return Math.exp(-((x - mu) ** 2) / (2 * sigma * sigma));
}

function dayOfYear(ms: number): number {
  const d = new Date(ms);
  return Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
}

/** sin(solar elevation) from a simple solar-position model (good to a degree or two). */
function sunSinElevation(ms: number, latDeg: number, lonDeg: number): number {
  const rad = Math.PI / 180;
  const n = dayOfYear(ms);
  const decl = 23.44 * rad * Math.sin(((2 * Math.PI) / 365) * (284 + n));
  const utcHours = (ms % DAY_MS) / HOUR_MS;
  const solarTime = utcHours + lonDeg / 15;
  const hourAngle = (solarTime - 12) * 15 * rad;
  const lat = latDeg * rad;
  return Math.sin(lat) * Math.sin(decl) + Math.cos(lat) * Math.cos(decl) * Math.cos(hourAngle);
}

function round0(x: number): number {
  return Math.round(x);
}
function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
