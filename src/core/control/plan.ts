/**
 * Prices for planning, and the deadline plan.
 *
 * The price of a quarter is what one more imported kWh costs then: the contract's energy price
 * (single, day/night by the clock, or multiplier × spot + adder from the price file) plus network
 * costs and levies, with VAT (core/tariff: the same tariff file the cost pages use). Unknown (no
 * contract, or past the end of the price file): null, planned after every known price.
 *
 * Deadline plan: the quarters from now to the deadline, each able to give the car
 *   min(charger's maximum, target − margin − planning_base_w) × 15 min × PLAN_SHARE
 * (the current quarter pro rata). The cheapest quarters are taken (earlier first among equal
 * prices) until they hold the energy still needed; the car charges as fast as the budget allows in
 * those and takes only PV surplus in the others. When even all of them do not hold it, the deadline
 * is not feasible under the target: the car charges in every quarter, the target is not raised, and
 * the decision says so.
 */
import { local } from '../tariff/local-time.js';
import { formPriceAt } from '../tariff/price-at.js';
import type { PriceSeries } from '../tariff/prices.js';
import { periodAt, type Tariff } from '../tariff/schema.js';
import { QUARTER_MS, quarterStart } from '../time/index.js';

/**
 * The share of each quarter's room the plan counts on: starts wait for room to the end of a quarter
 * and minimum off times leave gaps, so the car gets somewhat less than the whole room.
 */
export const PLAN_SHARE = 0.8;

export interface PriceContext {
  tariff: Tariff | null;
  prices: PriceSeries | null;
}

/** €/kWh of import at `ms` with network costs, levies and VAT; null when unknown. */
export function importPriceAt(ctx: PriceContext, ms: number): number | null {
  if (ctx.tariff === null) return null;
  const p = periodAt(ctx.tariff, ms);
  if (p === null) return null;
  const energy = formPriceAt(ctx.tariff, p.importPrice, ms, ctx.prices);
  const network = formPriceAt(ctx.tariff, p.networkPrice, ms, ctx.prices);
  if (energy === null || network === null) return null;
  return (energy + network + p.leviesEurPerKwh) * (1 + p.vatPct / 100);
}

/** The import price now and its lowest and highest over the next 24 hours (by quarter). */
export function priceWindow(
  ctx: PriceContext,
  now: number,
): { now: number | null; min: number | null; max: number | null } {
  const q = quarterStart(now);
  let min: number | null = null;
  let max: number | null = null;
  for (let t = q; t < q + 96 * QUARTER_MS; t += QUARTER_MS) {
    const p = importPriceAt(ctx, t);
    if (p === null) continue;
    min = min === null ? p : Math.min(min, p);
    max = max === null ? p : Math.max(max, p);
  }
  return { now: importPriceAt(ctx, now), min, max };
}

export interface DeadlinePlanInput {
  now: number;
  by: number;
  /** Energy still to deliver, kWh. */
  neededKwh: number;
  /** What one whole quarter can give the car, kWh (before PLAN_SHARE). */
  perQuarterKwh: number;
  ctx: PriceContext;
}

export interface DeadlinePlan {
  /** The current quarter is one the plan charges in. */
  chargeNow: boolean;
  /** The energy all quarters up to the deadline can give, kWh (with PLAN_SHARE). */
  possibleKwh: number;
  feasible: boolean;
}

export function planDeadline(input: DeadlinePlanInput): DeadlinePlan {
  const q = quarterStart(input.now);
  const slots: Array<{ start: number; price: number; kwh: number }> = [];
  for (let t = q; t < input.by; t += QUARTER_MS) {
    const from = Math.max(t, input.now);
    const to = Math.min(t + QUARTER_MS, input.by);
    const share = (to - from) / QUARTER_MS;
    if (share <= 0) continue;
    const price = importPriceAt(input.ctx, t) ?? Number.POSITIVE_INFINITY;
    slots.push({ start: t, price, kwh: input.perQuarterKwh * PLAN_SHARE * share });
  }
  const possible = slots.reduce((a, s) => a + s.kwh, 0);
  if (input.neededKwh <= 0) return { chargeNow: false, possibleKwh: possible, feasible: true };
  if (possible < input.neededKwh) return { chargeNow: true, possibleKwh: possible, feasible: false };
  const order = [...slots].sort((a, b) => a.price - b.price || a.start - b.start);
  let sum = 0;
  for (const s of order) {
    if (s.start === q) return { chargeNow: true, possibleKwh: possible, feasible: true };
    sum += s.kwh;
    if (sum >= input.neededKwh) break;
  }
  return { chargeNow: false, possibleKwh: possible, feasible: true };
}

/** The next instant after `from` at which the local clock shows `minutes` after midnight (wall clock, DST-aware). */
export function nextLocalTime(from: number, minutes: number, tz: string): number {
  const hm = { hour: Math.floor(minutes / 60), minute: minutes % 60, second: 0, millisecond: 0 };
  const today = local(from, tz).set(hm);
  return today.toMillis() > from ? today.toMillis() : today.plus({ days: 1 }).set(hm).toMillis();
}
