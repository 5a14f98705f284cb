/**
 * The simulated household (home-model.ts): what it draws, per phase, second by second (a base load,
 * the fridge, a time-of-day profile, appliances that switch on at random, and the EV charger's draw
 * set from outside), and the gas and water it uses. It draws from the model's random numbers in a
 * fixed order, so the model stays a function of its seed.
 */
import { dayOfYear, gauss } from './sim-math.js';

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

export class Household {
  private appliances: Appliance[] = [];
  private fridgePhase = 0;
  /** The EV charger's draw (HomeModel.setEvLoad). */
  ev: EvLoad = { watts: 0, phases: 3 };

  constructor(
    private readonly rnd: () => number,
    private readonly phases: 1 | 3,
  ) {}

  /**
   * The draw at `t` (local `hour`), `dtS` seconds after the previous step: per phase (W), the EV
   * charger's included (on a one-phase home every phase of the charger is L1), and the EV's own part.
   */
  draw(t: number, hour: number, weekend: boolean, dtS: number): { phaseLoad: number[]; evW: number } {
    const r = this.rnd;
    this.fridgePhase = (this.fridgePhase + dtS) % 2700;
    const fridge = this.fridgePhase < 900 ? 110 : 0;
    const profile = 150 * gauss(hour, 7.5, 1) + 350 * gauss(hour, 19, 2) + 120 * gauss(hour, 12.5, 1.5);
    if (dtS > 0) this.maybeStartAppliance(t, hour, weekend);
    this.appliances = this.appliances.filter((a) => a.until > t);
    const phases = this.phases;
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
    return { phaseLoad, evW };
  }

  /** Gas burnt for heating over the step (m3): more on cold days, little at night. */
  gasM3(t: number, hour: number, dtS: number): number {
    const outdoorC = 11 - 8 * Math.cos(((dayOfYear(t) - 15) / 365) * 2 * Math.PI);
    const heating = hour >= 6 && hour < 22.5 ? Math.max(0, 17 - outdoorC) * 0.045 : Math.max(0, 17 - outdoorC) * 0.01;
    return (heating / 3600) * dtS;
  }

  /** Water drawn over the step (m3): now and then a tap, by day; 0 otherwise. */
  waterM3(hour: number, dtS: number): number {
    const r = this.rnd;
    if (dtS > 0 && r() < 0.00012 * dtS && hour >= 6 && hour < 23) {
      return 0.02 + r() * 0.08;
    }
    return 0;
  }

  private maybeStartAppliance(t: number, hour: number, weekend: boolean): void {
    const r = this.rnd;
    const phases = this.phases;
    const active = (h0: number, h1: number) => hour >= h0 && hour < h1;
    const running = (watts: number) => this.appliances.some((a) => a.watts === watts);
    // Rates per second, tuned to a Belgian household: a monthly peak of ~3–6 kW (VREG: 4.37 kW on
    // average), not every appliance at once. Kettle/coffee: about 2 a day.
    if ((active(6.5, 9) || active(16, 21)) && r() < 1 / 14_400) this.start(t, 2000, 150 + r() * 120, r() * phases);
    // oven or cooking plates: the evening meal, most days, one at a time
    if (active(17.5, 19.5) && !running(2400) && r() < 1 / 5400) this.start(t, 2400, 1800 + r() * 1800, r() * phases);
    // washing machine / dishwasher heater: a few times a week
    if ((weekend ? active(9, 20) : active(19, 22)) && !running(2000.5) && r() < 1 / 40_000)
      this.start(t, 2000.5, 1200, r() * phases);
    // vacuum, hair dryer, microwave: short spikes, several a day
    if (active(7, 23) && r() < 1 / 7200) this.start(t, 800 + r() * 1200, 60 + r() * 300, r() * phases);
  }

  private start(t: number, watts: number, seconds: number, phase: number): void {
    this.appliances.push({ until: t + Math.round(seconds) * 1000, watts, phase: Math.floor(phase) });
  }
}
