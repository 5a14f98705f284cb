/**
 * Energy totals of a period and the two endpoint answers built on them: cost-estimate and
 * self-sufficiency. Totals are sums over the buckets whose start lies in the period; a total is null
 * when no bucket had the value (absent is not zero).
 *
 * Formulas, per bucket (energies ≥ 0, kWh), then summed:
 * - PV goes first to the grid, then into the battery, the rest is used directly:
 *     pv_to_grid   = min(pv, export)            (export beyond PV came from the battery)
 *     pv_to_battery = min(battery_charge, pv − pv_to_grid)
 *     direct_consumption = pv − pv_to_grid − pv_to_battery = max(0, pv − export − battery_charge)
 *   A battery charged from the grid (night tariff) does not reduce direct consumption; PV stored in
 *   the battery and used later is not "direct". Per 15-minute bucket, so a battery charging at noon
 *   and discharging at night is not netted.
 * - load (house consumption) = import + pv − export − battery_charge + battery_discharge
 *   (a missing PV or battery value counts as 0: a home without that device). Summed, floored at 0.
 * - self_sufficiency_pct = (load − import) / load × 100, within [0, 100]: the share of the load
 *   not taken from the grid.
 * - self_consumption_pct = (pv − pv_to_grid) / pv × 100: the share of PV used at home (directly or
 *   through the battery).
 */
import { type EnergyBucket, exportKwh, importKwh, round } from './bucket.js';
import { type BreakdownLine, computeCost, type NetworkRule } from './cost.js';
import { type Period, periodIso } from './period.js';
import type { PriceSeries } from './prices.js';
import type { Tariff } from './schema.js';

export interface EnergyTotals {
  /** From the grid. */
  imported_kwh: number | null;
  /** To the grid. */
  exported_kwh: number | null;
  solar_kwh: number | null;
  direct_consumption_kwh: number | null;
  /** PV used at home (directly or through the battery) = Σ (pv − min(pv, export)). */
  pv_self_used_kwh: number | null;
  battery_charge_kwh: number | null;
  battery_discharge_kwh: number | null;
  load_kwh: number | null;
  gas_m3: number | null;
  water_m3: number | null;
}

class Sum {
  value: number | null = null;
  add(x: number | null): void {
    if (x !== null) this.value = (this.value ?? 0) + x;
  }
  get(decimals = 3): number | null {
    return this.value === null ? null : round(this.value, decimals);
  }
}

export function energyTotals(buckets: readonly EnergyBucket[], start: number, end: number): EnergyTotals {
  const imp = new Sum();
  const exp = new Sum();
  const pv = new Sum();
  const direct = new Sum();
  const selfUsed = new Sum();
  const chg = new Sum();
  const dis = new Sum();
  const load = new Sum();
  const gas = new Sum();
  const water = new Sum();
  for (const b of buckets) {
    const t = b.start.getTime();
    if (t < start || t >= end) continue;
    const i = importKwh(b);
    const e = exportKwh(b);
    imp.add(i);
    exp.add(e);
    pv.add(b.pv_kwh);
    chg.add(b.battery_charge_kwh);
    dis.add(b.battery_discharge_kwh);
    gas.add(b.gas_m3);
    water.add(b.water_m3);
    if (b.pv_kwh !== null && e !== null) {
      const toGrid = Math.min(b.pv_kwh, e);
      selfUsed.add(b.pv_kwh - toGrid);
      direct.add(Math.max(0, b.pv_kwh - e - (b.battery_charge_kwh ?? 0)));
    }
    if (i !== null && e !== null) {
      load.add(i + (b.pv_kwh ?? 0) - e - (b.battery_charge_kwh ?? 0) + (b.battery_discharge_kwh ?? 0));
    }
  }
  const l = load.get();
  return {
    imported_kwh: imp.get(),
    exported_kwh: exp.get(),
    solar_kwh: pv.get(),
    direct_consumption_kwh: direct.get(),
    pv_self_used_kwh: selfUsed.get(),
    battery_charge_kwh: chg.get(),
    battery_discharge_kwh: dis.get(),
    load_kwh: l === null ? null : Math.max(0, l),
    gas_m3: gas.get(),
    water_m3: water.get(),
  };
}

/** The answer of GET /api/v1/cost-estimate. */
export interface CostEstimate {
  period: string;
  start: string;
  end: string;
  /** From the grid. */
  consumed_kwh: number | null;
  /** To the grid. */
  returned_kwh: number | null;
  direct_consumption_kwh: number | null;
  solar_kwh: number | null;
  battery_charge_kwh: number | null;
  battery_discharge_kwh: number | null;
  gas_m3: number | null;
  water_m3: number | null;
  cost_eur: number | null;
  cost_without_pv_eur: number | null;
  pv_profit_eur: number | null;
  breakdown: BreakdownLine[];
  /** The network rule of the contract in force at the end of the period; null without a contract. */
  network_rule: NetworkRule | null;
}

export interface CostEstimateInput {
  period: Period;
  tariff: Tariff;
  buckets: readonly EnergyBucket[];
  /** Fixed fees and the capacity tariff count up to min(end, now). */
  now?: number;
  prices?: PriceSeries | null;
  billedPeakKwByMonth?: Readonly<Record<string, number>>;
}

export function costEstimate(input: CostEstimateInput): CostEstimate {
  const { period, tariff, buckets } = input;
  const c = computeCost({
    tariff,
    buckets,
    start: period.start,
    end: period.end,
    ...(input.now === undefined ? {} : { now: input.now }),
    prices: input.prices ?? null,
    ...(input.billedPeakKwByMonth === undefined ? {} : { billedPeakKwByMonth: input.billedPeakKwByMonth }),
  });
  return {
    ...estimateEnergy(period, buckets, tariff.timezone),
    cost_eur: c.cost_eur,
    cost_without_pv_eur: c.cost_without_pv_eur,
    pv_profit_eur: c.pv_profit_eur,
    breakdown: c.breakdown,
    network_rule: c.network_rule,
  };
}

/**
 * A cost estimate without prices: the period's energy, null costs and one `unpriced` line whose
 * label says why (no tariff configured, or a home without a grid connection).
 */
export function unpricedEstimate(
  period: Period,
  buckets: readonly EnergyBucket[],
  tz: string,
  label: string,
): CostEstimate {
  return {
    ...estimateEnergy(period, buckets, tz),
    cost_eur: null,
    cost_without_pv_eur: null,
    pv_profit_eur: null,
    breakdown: [{ label, kind: 'unpriced', band: null, quantity: 0, unit: '', unit_price_eur: null, amount_eur: null }],
    network_rule: null,
  };
}

/** The period and its energy, as a cost estimate shows them. */
function estimateEnergy(period: Period, buckets: readonly EnergyBucket[], tz: string) {
  const t = energyTotals(buckets, period.start, period.end);
  const iso = periodIso(period, tz);
  return {
    period: period.period,
    start: iso.start,
    end: iso.end,
    consumed_kwh: t.imported_kwh,
    returned_kwh: t.exported_kwh,
    direct_consumption_kwh: t.direct_consumption_kwh,
    solar_kwh: t.solar_kwh,
    battery_charge_kwh: t.battery_charge_kwh,
    battery_discharge_kwh: t.battery_discharge_kwh,
    gas_m3: t.gas_m3,
    water_m3: t.water_m3,
  };
}

/** The answer of GET /api/v1/self-sufficiency. Note: here consumed_kwh is the load, not the import. */
export interface SelfSufficiency {
  period: string;
  start: string;
  end: string;
  self_sufficiency_pct: number | null;
  self_consumption_pct: number | null;
  /** The home's load (see the formula above). */
  consumed_kwh: number | null;
  solar_kwh: number | null;
  direct_consumption_kwh: number | null;
  imported_kwh: number | null;
  exported_kwh: number | null;
  battery_charge_kwh: number | null;
  battery_discharge_kwh: number | null;
}

export function selfSufficiency(period: Period, buckets: readonly EnergyBucket[], tz: string): SelfSufficiency {
  const t = energyTotals(buckets, period.start, period.end);
  const iso = periodIso(period, tz);
  let ss: number | null = null;
  if (t.load_kwh !== null && t.imported_kwh !== null && t.load_kwh > 0) {
    ss = round(Math.min(100, Math.max(0, ((t.load_kwh - t.imported_kwh) / t.load_kwh) * 100)), 1);
  }
  let sc: number | null = null;
  if (t.solar_kwh !== null && t.pv_self_used_kwh !== null && t.solar_kwh > 0) {
    sc = round(Math.min(100, Math.max(0, (t.pv_self_used_kwh / t.solar_kwh) * 100)), 1);
  }
  return {
    period: period.period,
    start: iso.start,
    end: iso.end,
    self_sufficiency_pct: ss,
    self_consumption_pct: sc,
    consumed_kwh: t.load_kwh,
    solar_kwh: t.solar_kwh,
    direct_consumption_kwh: t.direct_consumption_kwh,
    imported_kwh: t.imported_kwh,
    exported_kwh: t.exported_kwh,
    battery_charge_kwh: t.battery_charge_kwh,
    battery_discharge_kwh: t.battery_discharge_kwh,
  };
}
