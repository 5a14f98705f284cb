/**
 * The cost of a period from energy buckets, as a bill-like breakdown. Each kind of charge has its
 * own module: electricity (cost-electricity.ts: import, network, levies, injection, net metering),
 * gas and water (cost-gas-water.ts), per-day charges (cost-daily.ts: fixed fees, capacity tariff,
 * connection term); cost-ledger.ts turns the charges into lines, VAT and totals.
 *
 * Per bucket: energy × the price valid at that bucket's time. A bucket is split at clock quarters
 * and contract boundaries it contains; its energy is shared over the pieces by duration. With the
 * store's 15-minute buckets nothing is split (contracts start at a quarter), so the result is exact:
 * a contract change mid-month splits at the change, and dynamic prices and time-of-use bands apply
 * per quarter. Coarser buckets (hourly, daily) are an estimate for dynamic prices and clock bands.
 *
 * Day/night per bucket: the meter's t1/t2 counters when present (see day-night.ts), else the clock.
 * Other time-of-use bands (Wallonia's peak/medium/eco) follow the clock of their schedule.
 * Fixed fees, the capacity tariff and the connection term are prorated per local day from the
 * period start to min(end, now). VAT (per contract period) is added on every charge; injection
 * income carries none.
 *
 * Energy with no price (no contract valid at that time, no dynamic price for that quarter, no
 * published capacity rate for that day) is listed in its own line with a null amount, and the
 * totals are null: a cost is never silently low.
 *
 * Cost without PV: the PV energy used on site (PV − export from PV; directly or through the battery)
 * would have been imported at the import price (energy + network + levies + VAT) of the bucket in
 * which it was produced, and the PV's injection income (or its share of the net-metering credit)
 * would not exist, nor its feed-in fee. Fixed fees and the capacity tariff are taken as unchanged.
 * PV profit = cost without PV − cost.
 */

import { QUARTER_MS } from '../time/index.js';
import type { EnergyBucket } from './bucket.js';
import { round } from './bucket.js';
import { dailyCharges } from './cost-daily.js';
import { ElectricityCharges } from './cost-electricity.js';
import { gasWaterCharges } from './cost-gas-water.js';
import { type BreakdownLine, Ledger } from './cost-ledger.js';
import type { PriceSeries } from './prices.js';
import type { NetworkRuleKind } from './regions.js';
import { type ContractPeriod, networkRuleOf, type PriceForm, periodAt, type Tariff } from './schema.js';
import { bandHoursAt, type Schedule } from './time-of-use.js';

export type { BreakdownLine } from './cost-ledger.js';

export interface CostInput {
  tariff: Tariff;
  /** Buckets whose start lies in [start, end). */
  buckets: readonly EnergyBucket[];
  /** Period [start, end) in epoch ms. */
  start: number;
  end: number;
  /** Fixed fees and capacity are counted up to min(end, now). Default: end. */
  now?: number;
  /** Dynamic prices, needed when a contract period uses `dynamic`. */
  prices?: PriceSeries | null;
  /**
   * Billed capacity (12-month rolling average with floor, kW) per local month 'YYYY-MM' (see
   * capacity/billing.ts billedKwByMonth). A month missing here is billed at the floor and says so.
   */
  billedPeakKwByMonth?: Readonly<Record<string, number>>;
}

/** Which network rule applies to the home, so a page shows the right figure (not a Flemish peak everywhere). */
export interface NetworkRule {
  /**
   * capacity_tariff: the monthly 15-minute peak (Flanders); time_of_use: network prices per time
   * band (Wallonia); connection_capacity: a yearly term by connection size (Brussels); none.
   */
  kind: NetworkRuleKind;
  /** The tariff file's `region` preset, or null. */
  region: string | null;
  /** The contract's VAT percentage (its prices below are excl. VAT). */
  vat_pct: number;
  /** time_of_use: each band's network price and local hours on the day of the rule; null otherwise. */
  bands: NetworkBand[] | null;
  /** connection_capacity: the yearly term for the home's connection size, excl. VAT; null otherwise. */
  connection: { eur_per_year: number; label: string } | null;
}

/** One time-of-use band of the network price: €/kWh excl. VAT, and its hours ("07:00-11:00"). */
export interface NetworkBand {
  band: string;
  network_eur_per_kwh: number;
  weekdays: string[];
  weekends: string[];
}

/** The schedule a per-band price follows: day/night is always the first. */
function scheduleOf(tariff: Tariff, form: PriceForm): Schedule | null {
  if (form.kind === 'day_night') return tariff.schedules[0] ?? null;
  if (form.kind === 'bands') return tariff.schedules.find((s) => s.id === form.schedule) ?? null;
  return null;
}

/** The network price per band with its hours at `ms` (null when the network price has no bands). */
function networkBands(tariff: Tariff, c: ContractPeriod, ms: number): NetworkBand[] | null {
  const form = c.networkPrice;
  const schedule = scheduleOf(tariff, form);
  if (schedule === null) return null;
  const priceOf = (band: string): number | null =>
    form.kind === 'day_night'
      ? band === 'day'
        ? form.day
        : form.night
      : form.kind === 'bands'
        ? (form.prices[band] ?? null)
        : null;
  const out: NetworkBand[] = [];
  for (const h of bandHoursAt(schedule, ms, tariff.timezone)) {
    const price = priceOf(h.band);
    if (price !== null)
      out.push({ band: h.band, network_eur_per_kwh: price, weekdays: h.weekdays, weekends: h.weekends });
  }
  return out;
}

/** The rule of contract `c` at `ms`, with the figures a page shows for it. */
function ruleOf(tariff: Tariff, c: ContractPeriod, ms: number): NetworkRule {
  const kind = networkRuleOf(c);
  return {
    kind,
    region: tariff.region?.id ?? null,
    vat_pct: c.vatPct,
    bands: kind === 'time_of_use' ? networkBands(tariff, c, ms) : null,
    connection:
      kind === 'connection_capacity' && c.connection
        ? { eur_per_year: c.connection.eurPerYear, label: c.connection.label }
        : null,
  };
}

export interface CostResult {
  breakdown: BreakdownLine[];
  cost_eur: number | null;
  cost_without_pv_eur: number | null;
  pv_profit_eur: number | null;
  /** The rule of the contract in force at the end of the period; null when no contract covers it. */
  network_rule: NetworkRule | null;
}

/** The network rule at `ms` (the contract valid then), or null outside every contract. */
export function networkRuleAt(tariff: Tariff, ms: number): NetworkRule | null {
  const c = periodAt(tariff, ms);
  return c === null ? null : ruleOf(tariff, c, ms);
}

/** The network rule of [start, end): at its end, else at its start, else of the last contract inside it. */
export function networkRuleOfPeriod(tariff: Tariff, start: number, end: number): NetworkRule | null {
  const at = networkRuleAt(tariff, end - 1) ?? networkRuleAt(tariff, start);
  if (at) return at;
  const inside = tariff.periods.filter((c) => c.fromMs < end && c.toMs > start);
  const last = inside[inside.length - 1];
  return last ? ruleOf(tariff, last, Math.max(start, last.fromMs)) : null;
}

/** Splits [a, b) at clock quarters and contract boundaries inside it. */
function pieces(a: number, b: number, tariff: Tariff): Array<[number, number]> {
  const cuts: number[] = [];
  for (let t = Math.ceil((a + 1) / QUARTER_MS) * QUARTER_MS; t < b; t += QUARTER_MS) cuts.push(t);
  for (const p of tariff.periods) {
    for (const t of [p.fromMs, p.toMs]) if (t > a && t < b && t % QUARTER_MS !== 0) cuts.push(t);
  }
  cuts.sort((x, y) => x - y);
  const out: Array<[number, number]> = [];
  let s = a;
  for (const c of cuts) {
    if (c > s) out.push([s, c]);
    s = Math.max(s, c);
  }
  out.push([s, b]);
  return out;
}

/** Computes the cost of [start, end) from buckets. Pure. */
export function computeCost(input: CostInput): CostResult {
  const { tariff } = input;
  const ledger = new Ledger();
  const electricity = new ElectricityCharges(tariff, ledger, input.prices, input.start, input.end);

  for (const b of input.buckets) {
    const bs = b.start.getTime();
    const be = b.end.getTime();
    if (bs < input.start || bs >= input.end || be <= bs) continue;
    const flows = electricity.flows(b);
    for (const [ps, pe] of pieces(bs, be, tariff)) {
      const f = (pe - ps) / (be - bs);
      const c = periodAt(tariff, ps);
      if (c === null) electricity.unpricedPiece(flows, f);
      else electricity.piece(flows, ps, f, c);
      gasWaterCharges(ledger, b, f, c);
    }
  }
  electricity.settleNetMetering();
  dailyCharges(ledger, tariff, input.start, Math.min(input.end, input.now ?? input.end), input.billedPeakKwByMonth);

  const { breakdown, total } = ledger.bill(tariff);
  const network_rule = networkRuleOfPeriod(tariff, input.start, input.end);
  if (total === null) {
    return { breakdown, cost_eur: null, cost_without_pv_eur: null, pv_profit_eur: null, network_rule };
  }
  if (!electricity.anyPv || !electricity.withoutPvKnown) {
    return { breakdown, cost_eur: total, cost_without_pv_eur: null, pv_profit_eur: null, network_rule };
  }
  let delta = electricity.pvDeltaPlain;
  for (const [pct, d] of electricity.pvDeltaVatable) delta += d * (1 + pct / 100);
  const without = round(total + delta, 2);
  return {
    breakdown,
    cost_eur: total,
    cost_without_pv_eur: without,
    pv_profit_eur: round(without - total, 2),
    network_rule,
  };
}
