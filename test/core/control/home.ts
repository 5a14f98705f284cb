/**
 * A small closed loop for the decision's tests: a meter whose import counter integrates the grid
 * power second by second (the power set at one tick holds until the next), a charger that draws
 * what it was last told (unless a test overrides its draw) and a battery whose power a test sets.
 * The counter is not rounded, so hand-computed energies are exact: the reading at tick k holds the
 * import of every second before it.
 */
import { parseControlConfig } from '../../../src/core/control/config.js';
import { type ControlContext, decide } from '../../../src/core/control/decide.js';
import {
  type ChargerSetpoint,
  type ControlDecision,
  type ControlInput,
  type ControlState,
  INITIAL_CONTROL_STATE,
} from '../../../src/core/control/types.js';
import type { PriceSeries } from '../../../src/core/tariff/prices.js';
import type { Tariff } from '../../../src/core/tariff/schema.js';
import { at, TZ } from '../tariff/buckets.js';

export { at, TZ };

export interface TickOptions {
  /** House load without chargers and battery, W (negative: PV surplus). */
  houseW?: number;
  /** The car's draw, W; default: what the charger was last told (0 when paused or no car). */
  carW?: number;
  connected?: boolean;
  batteryW?: number;
  socPct?: number | null;
  /** The meter's own timestamp, ms; default: the tick's time. */
  meterAt?: number | null;
  meterPeakW?: number | null;
  meterPeakAt?: number | null;
  /** The meter's 1-0:1.4.0, W; default: not sent. */
  meterAvgW?: number | null;
}

export class Home {
  state: ControlState = INITIAL_CONTROL_STATE;
  importKwh = 5000;
  last: ControlDecision | null = null;
  /** Every write made, with its time. */
  writes: Array<{ at: number; device: string; setpoint: unknown }> = [];
  private gridW: number | null = null;
  private lastAt: number | null = null;
  readonly ctx: ControlContext;

  constructor(config: unknown, opts: { tariff?: Tariff | null; prices?: PriceSeries | null } = {}) {
    this.ctx = {
      settings: parseControlConfig(config),
      timezone: TZ,
      tariff: opts.tariff ?? null,
      prices: opts.prices ?? null,
    };
  }

  /** The set-point the charger holds (the last one written). */
  told(device = 'car'): ChargerSetpoint | null {
    return this.state.chargers[device]?.written ?? null;
  }

  carPowerW(device = 'car'): number {
    const t = this.told(device);
    if (!t?.charge) return 0;
    return 230 * t.phases * t.current_a;
  }

  tick(now: number, o: TickOptions = {}): ControlDecision {
    if (this.gridW !== null && this.lastAt !== null) {
      this.importKwh += (Math.max(0, this.gridW) * (now - this.lastAt)) / 3.6e9;
    }
    const connected = o.connected ?? true;
    const car = connected ? (o.carW ?? this.carPowerW()) : 0;
    const house = o.houseW ?? 500;
    const battery = o.batteryW ?? 0;
    const grid = house + car + battery;
    const input: ControlInput = {
      now,
      grid: {
        at: o.meterAt === undefined ? now : o.meterAt,
        power_w: grid,
        import_kwh: this.importKwh,
        month_peak_w: o.meterPeakW ?? null,
        month_peak_at: o.meterPeakAt ?? null,
        quarter_avg_w: o.meterAvgW ?? null,
        stale: false,
      },
      chargers: { car: { stale: false, power_w: car, connected, session_kwh: null } },
      batteries: { home: { stale: false, power_w: battery, soc_pct: o.socPct === undefined ? 60 : o.socPct } },
    };
    const out = decide(input, this.state, this.ctx);
    this.state = out.state;
    this.last = out.decision;
    for (const c of out.decision.chargers)
      if (c.write) this.writes.push({ at: now, device: c.device, setpoint: c.setpoint });
    for (const b of out.decision.batteries)
      if (b.write) this.writes.push({ at: now, device: b.device, setpoint: b.setpoint });
    this.gridW = grid;
    this.lastAt = now;
    return out.decision;
  }

  /** Ticks every second over [from, to] (inclusive), returning the decisions. */
  run(from: number, to: number, o: TickOptions | ((t: number) => TickOptions) = {}): ControlDecision[] {
    const out: ControlDecision[] = [];
    for (let t = from; t <= to; t += 1000) out.push(this.tick(t, typeof o === 'function' ? o(t) : o));
    return out;
  }
}

/** The import counter's value as the control sees it, for quarter sums in tests. */
export function quarterAverageW(startKwh: number, endKwh: number): number {
  return (endKwh - startKwh) * 4000;
}
