/**
 * The simulated home's smart meter (home-model.ts): the grid power per phase as the balance of the
 * household's draw, the PV and the battery; the import and export counters per tariff; the capacity
 * registers (the running quarter's average, the month's peak quarter, the peak history); and the gas
 * and water meters, captured every 5 minutes as a P1 telegram reports them.
 */
import { localDateStart, quarterStart } from '../../core/time/index.js';
import type { HomeState } from './home-model.js';
import type { LocalTime } from './local-clock.js';
import { round0, round1, round2, round3 } from './sim-math.js';

/**
 * Grid power (W, + import) per phase: each phase's draw less its share of the inverter's output,
 * with the voltage and current it gives; load, PV and battery power rounded, and the grid exactly
 * their balance (the last phase absorbs the rounding).
 */
export function balanceGrid(
  s: HomeState,
  phaseLoad: readonly number[],
  load: number,
  pv: number,
  bat: number,
  t: number,
  rnd: () => number,
): void {
  const phases = phaseLoad.length;
  const perPhaseInv = (bat - pv) / phases;
  for (let i = 0; i < phases; i++) {
    const p = (phaseLoad[i] ?? 0) + perPhaseInv;
    s.phase_grid_w[i] = round0(p);
    const v = 231 + Math.sin(t / 7_200_000 + i) * 2 - p * 0.0012 + (rnd() - 0.5) * 0.6;
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
}

/** The grid power of a step of `dtS` s into the import or export counter of the active tariff (`s.tariff`). */
export function countGridEnergy(s: HomeState, dtS: number): void {
  const dKwh = (Math.abs(s.grid_w) * dtS) / 3_600_000;
  if (s.grid_w > 0) {
    if (s.tariff === 1) s.import_t1_kwh += dKwh;
    else s.import_t2_kwh += dKwh;
  } else if (s.grid_w < 0) {
    if (s.tariff === 1) s.export_t1_kwh += dKwh;
    else s.export_t2_kwh += dKwh;
  }
}

/** The capacity registers: clock quarters, the month's peak quarter (1-0:1.6.0), its history (0-0:98.1.0). */
export class CapacityRegisters {
  private quarterStart: number;
  private quarterImportKwh = 0;

  constructor(
    t: number,
    private lastMonth: number,
    private readonly timezone: string,
  ) {
    this.quarterStart = quarterStart(t);
  }

  /**
   * A model starts mid-quarter, but a real meter was counting before: the part of the quarter
   * before `t` is taken as drawn at the state's grid power, so 1-0:1.4.0 and the quarter's peak
   * start from a plausible value instead of from zero (a controller reading 1-0:1.4.0 at start
   * would otherwise see a nearly empty quarter and use its whole budget in what is left of it).
   */
  assumeBefore(s: HomeState, t: number): void {
    const beforeS = (t - this.quarterStart) / 1000;
    this.quarterImportKwh = (Math.max(0, s.grid_w) * beforeS) / 3_600_000;
    s.avg_15m_w = round0((this.quarterImportKwh * 3_600_000) / (beforeS + 1));
  }

  /** After a step of `dtS` s ending at `t` (local `lt`): closes a quarter and a month, and updates the average. */
  step(s: HomeState, t: number, lt: LocalTime, dtS: number): void {
    const q = quarterStart(t);
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
      const monthStart = localDateStart(lt.year, lt.month, 1, this.timezone);
      s.peak_history.push({ month_start: monthStart, at: s.month_peak_at, peak_w: s.month_peak_w });
      if (s.peak_history.length > 13) s.peak_history.shift();
      s.month_peak_w = 0;
      s.month_peak_at = null;
    }
    if (s.grid_w > 0) this.quarterImportKwh += (s.grid_w * dtS) / 3_600_000;
    const elapsedS = (t - this.quarterStart) / 1000 + 1;
    s.avg_15m_w = round0((this.quarterImportKwh * 3_600_000) / elapsedS);
  }
}

/** The gas and water meters: live values, captured into the state every 5 minutes. */
export class GasWaterMeters {
  private gasLive: number;
  private waterLive: number;

  constructor(s: HomeState) {
    this.gasLive = s.gas_m3;
    this.waterLive = s.water_m3;
  }

  /** Adds a step's use, and captures both meters at each 5-minute mark. */
  step(s: HomeState, t: number, gasM3: number, waterM3: number): void {
    this.gasLive += gasM3;
    this.waterLive += waterM3;
    const capture = Math.floor(t / 300_000) * 300_000;
    if (capture !== s.gas_at) {
      s.gas_at = capture;
      s.gas_m3 = round3(this.gasLive);
      s.water_at = capture;
      s.water_m3 = round3(this.waterLive);
    }
  }
}
