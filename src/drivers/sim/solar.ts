/**
 * The simulated home's PV (home-model.ts): the sun's elevation at the site times slowly varying
 * clouds (a new base each day), and what the inverter reports of it: its strings (MPPT), its
 * temperature and its energy counters.
 */
import { DAY_MS, HOUR_MS } from '../../core/time/index.js';
import type { HomeState } from './home-model.js';
import { dayOfYear, round1 } from './sim-math.js';

export interface SolarSite {
  /** PV peak power in W (0: no PV). */
  pvPeakW: number;
  latitude: number;
  longitude: number;
}

export class Solar {
  private cloud = 0.8;
  private dayCloudBase = 0.8;

  constructor(
    private readonly rnd: () => number,
    private readonly site: SolarSite,
  ) {}

  /** A new day's cloud cover, which the clouds drift towards. */
  newDay(): void {
    this.dayCloudBase = 0.25 + this.rnd() * 0.75;
  }

  /** PV power at `t` (W, ≥ 0): sun elevation × clouds; the clouds move on a step. */
  powerW(t: number): number {
    const r = this.rnd;
    let pv = 0;
    if (this.site.pvPeakW > 0) {
      const elev = sunSinElevation(t, this.site.latitude, this.site.longitude);
      this.cloud += (r() - 0.5) * 0.02 + (this.dayCloudBase - this.cloud) * 0.002;
      this.cloud = Math.min(1, Math.max(0.1, this.cloud));
      pv = elev > 0 ? this.site.pvPeakW * 0.85 * elev ** 1.15 * this.cloud : 0;
      if (pv < 5) pv = 0;
    }
    return pv;
  }

  /** The inverter's own readings after a step of `dtS` s: PV and load energy, its strings, its temperature. */
  inverterReadings(s: HomeState, pv: number, load: number, dtS: number): void {
    const r = this.rnd;
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
    s.inverter_temp_c = round1(22 + (pv / Math.max(this.site.pvPeakW, 1)) * 18);
  }
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
