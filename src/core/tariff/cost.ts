/**
 * The cost of a period from energy buckets, as a bill-like breakdown.
 *
 * Per bucket: energy × the price valid at that bucket's time. A bucket is split at clock quarters
 * and contract boundaries it contains; its energy is shared over the pieces by duration. With the
 * store's 15-minute buckets nothing is split (contracts start at a quarter), so the result is exact:
 * a contract change mid-month splits at the change, and dynamic prices apply per quarter. Coarser
 * buckets (hourly, daily) are an estimate for dynamic prices and clock-based day/night.
 *
 * Day/night per bucket: the meter's t1/t2 counters when present (see day-night.ts), else the clock.
 * Fixed fees and the capacity tariff are prorated per local day (a day's share = 1/365 or 1/366 of
 * the year, a partial day by its fraction) from the period start to min(end, now).
 * VAT (per contract period) is added on every charge; injection income carries none.
 *
 * Energy with no price (no contract valid at that time, or no dynamic price for that quarter) is
 * listed in its own line with a null amount, and the totals are null: a cost is never silently low.
 *
 * Cost without PV: the PV energy used on site (PV − export from PV; directly or through the battery)
 * would have been imported at the import price (energy + network + levies + VAT) of the bucket in
 * which it was produced, and the PV's injection income would not exist. Fixed fees and the capacity
 * tariff are taken as unchanged. PV profit = cost without PV − cost.
 */
import { type EnergyBucket, exportKwh, importKwh, round } from './bucket.js';
import { type Band, clockBander, splitByMeter } from './day-night.js';
import { daysInYear, localDay, monthOf, QUARTER_MS } from './local-time.js';
import { type PriceSeries, priceAt } from './prices.js';
import { type ContractPeriod, type PriceForm, periodAt, type Tariff } from './schema.js';

/** One line of the breakdown. amount_eur = quantity × unit_price_eur (up to rounding). */
export interface BreakdownLine {
  label: string;
  quantity: number;
  unit: string;
  /** null when the price is unknown. */
  unit_price_eur: number | null;
  /** null when the price is unknown. */
  amount_eur: number | null;
}

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

export interface CostResult {
  breakdown: BreakdownLine[];
  cost_eur: number | null;
  cost_without_pv_eur: number | null;
  pv_profit_eur: number | null;
}

const ORDER = {
  import: 1,
  export: 2,
  network: 3,
  levies: 4,
  capacity: 5,
  fixed: 6,
  gas: 7,
  gasNetwork: 8,
  gasLevies: 9,
  gasFixed: 10,
  water: 11,
  waterFixed: 12,
  unpriced: 13,
} as const;

interface Acc {
  order: number;
  contract: number | null;
  label: string;
  unit: string;
  quantity: number;
  amount: number;
  /** Fixed unit price; null: weighted average (dynamic prices). */
  unitPrice: number | null;
  /** VAT percentage on this line; null: no VAT (injection income, unpriced). */
  vatPct: number | null;
  priced: boolean;
  quantityDecimals: number;
}

class Ledger {
  readonly lines = new Map<string, Acc>();
  readonly contracts = new Set<number>();

  add(key: string, init: Omit<Acc, 'quantity' | 'amount'>, quantity: number, amount: number): void {
    if (init.contract !== null) this.contracts.add(init.contract);
    let a = this.lines.get(key);
    if (!a) {
      a = { ...init, quantity: 0, amount: 0 };
      this.lines.set(key, a);
    }
    a.quantity += quantity;
    a.amount += amount;
  }
}

function bandLabel(form: PriceForm, band: Band): string {
  return form.kind === 'day_night' ? `, ${band}` : form.kind === 'dynamic' ? ', dynamic' : '';
}

/** Unit price of an energy price form in a band at a time; null when a dynamic price is missing. */
function unitPriceOf(form: PriceForm, band: Band, ms: number, prices: PriceSeries | null | undefined): number | null {
  switch (form.kind) {
    case 'single':
      return form.single;
    case 'day_night':
      return band === 'day' ? form.day : form.night;
    case 'dynamic': {
      const spot = prices ? priceAt(prices, ms) : null;
      return spot === null ? null : form.multiplier * spot + form.adder;
    }
  }
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

/** Splits [a, b) at local midnights and contract boundaries: segments for per-day prorating. */
function daySegments(a: number, b: number, tariff: Tariff): Array<{ s: number; e: number; dayLen: number }> {
  const out: Array<{ s: number; e: number; dayLen: number }> = [];
  let t = a;
  while (t < b) {
    const day = localDay(t, tariff.timezone);
    let e = Math.min(day.end, b);
    for (const p of tariff.periods) {
      for (const x of [p.fromMs, p.toMs]) if (x > t && x < e) e = x;
    }
    out.push({ s: t, e, dayLen: day.end - day.start });
    t = e;
  }
  return out;
}

function fmt(x: number): string {
  return String(round(x, 4));
}

/** Computes the cost of [start, end) from buckets. Pure. */
export function computeCost(input: CostInput): CostResult {
  const { tariff, prices } = input;
  const L = new Ledger();
  const clockBand = clockBander(tariff, input.start, input.end);
  let anyPv = false;
  let withoutPvKnown = true;
  /** Extra cost without PV, per VAT rate (vatable part) and not vatable part. */
  const deltaVatable = new Map<number, number>();
  let deltaPlain = 0;

  const energyLine = (
    c: ContractPeriod,
    dir: 'import' | 'export',
    form: PriceForm,
    band: Band,
    price: number,
    kwh: number,
  ): void => {
    const sign = dir === 'import' ? 1 : -1;
    const name = dir === 'import' ? 'Electricity import' : 'Electricity export (injection)';
    const fixedPrice = form.kind === 'dynamic' ? null : sign * price;
    L.add(
      `${dir}:${c.index}:${form.kind === 'dynamic' ? 'dyn' : band}:${fixedPrice}`,
      {
        order: ORDER[dir],
        contract: c.index,
        label: `${name}${bandLabel(form, band)}`,
        unit: 'kWh',
        unitPrice: fixedPrice,
        vatPct: dir === 'import' ? c.vatPct : null,
        priced: true,
        quantityDecimals: 3,
      },
      kwh,
      sign * price * kwh,
    );
  };

  const unpriced = (what: string, unit: string, qty: number): void => {
    if (qty <= 0) return;
    L.add(
      `unpriced:${what}`,
      {
        order: ORDER.unpriced,
        contract: null,
        label: `${what}, no price known (no contract or no dynamic price at that time)`,
        unit,
        unitPrice: null,
        vatPct: null,
        priced: false,
        quantityDecimals: 3,
      },
      qty,
      0,
    );
  };

  for (const b of input.buckets) {
    const bs = b.start.getTime();
    const be = b.end.getTime();
    if (bs < input.start || bs >= input.end || be <= bs) continue;
    const imp = importKwh(b);
    const exp = exportKwh(b);
    const impSplit = splitByMeter(b.import_t1_kwh, b.import_t2_kwh, tariff.country);
    const expSplit = splitByMeter(b.export_t1_kwh, b.export_t2_kwh, tariff.country);
    // Day share of this bucket as the meter saw it (for energy the meter did not count: PV used on site).
    const meterDay = (impSplit?.day ?? 0) + (expSplit?.day ?? 0);
    const meterAll = meterDay + (impSplit?.night ?? 0) + (expSplit?.night ?? 0);
    const meterDayShare = meterAll > 0 ? meterDay / meterAll : null;
    // PV: exported first, then into the battery, the rest used directly (see totals.ts).
    const pv = b.pv_kwh;
    let pvToGrid = 0;
    let pvOnSite = 0;
    if (pv !== null && exp !== null) {
      anyPv = true;
      pvToGrid = Math.min(pv, exp);
      pvOnSite = pv - pvToGrid;
    }

    for (const [ps, pe] of pieces(bs, be, tariff)) {
      const f = (pe - ps) / (be - bs);
      const c = periodAt(tariff, ps);
      const clock = clockBand(ps);
      const impBands: Array<[Band, number]> = impSplit
        ? [
            ['day', impSplit.day * f],
            ['night', impSplit.night * f],
          ]
        : imp !== null
          ? [[clock, imp * f]]
          : [];
      const expBands: Array<[Band, number]> = expSplit
        ? [
            ['day', expSplit.day * f],
            ['night', expSplit.night * f],
          ]
        : exp !== null
          ? [[clock, exp * f]]
          : [];
      const pvBands: Array<[Band, number]> =
        meterDayShare === null
          ? [[clock, pvOnSite * f]]
          : [
              ['day', pvOnSite * f * meterDayShare],
              ['night', pvOnSite * f * (1 - meterDayShare)],
            ];

      if (c === null) {
        unpriced(
          'Electricity import',
          'kWh',
          impBands.reduce((s, [, k]) => s + k, 0),
        );
        unpriced(
          'Electricity export',
          'kWh',
          expBands.reduce((s, [, k]) => s + k, 0),
        );
        unpriced('Gas', 'm3', (b.gas_m3 ?? 0) * f);
        unpriced('Water', 'm3', (b.water_m3 ?? 0) * f);
        if (pvOnSite > 0 || pvToGrid > 0) withoutPvKnown = false;
        continue;
      }

      // Import energy, network costs and levies.
      let impKwh = 0;
      for (const [band, kwh] of impBands) {
        if (kwh <= 0) continue;
        const price = unitPriceOf(c.importPrice, band, ps, prices);
        if (price === null) {
          unpriced('Electricity import', 'kWh', kwh);
        } else {
          energyLine(c, 'import', c.importPrice, band, price, kwh);
        }
        impKwh += kwh;
      }
      if (impKwh > 0 && c.networkEurPerKwh > 0) {
        L.add(
          `network:${c.index}`,
          {
            order: ORDER.network,
            contract: c.index,
            label: 'Network costs (distribution, transmission)',
            unit: 'kWh',
            unitPrice: c.networkEurPerKwh,
            vatPct: c.vatPct,
            priced: true,
            quantityDecimals: 3,
          },
          impKwh,
          impKwh * c.networkEurPerKwh,
        );
      }
      if (impKwh > 0 && c.leviesEurPerKwh > 0) {
        L.add(
          `levies:${c.index}`,
          {
            order: ORDER.levies,
            contract: c.index,
            label: 'Levies and excise',
            unit: 'kWh',
            unitPrice: c.leviesEurPerKwh,
            vatPct: c.vatPct,
            priced: true,
            quantityDecimals: 3,
          },
          impKwh,
          impKwh * c.leviesEurPerKwh,
        );
      }

      // Export (injection) income.
      let expKwh = 0;
      let expIncome = 0;
      if (c.exportPrice !== null) {
        for (const [band, kwh] of expBands) {
          if (kwh <= 0) continue;
          const price = unitPriceOf(c.exportPrice, band, ps, prices);
          if (price === null) {
            unpriced('Electricity export', 'kWh', kwh);
            if (pvToGrid > 0) withoutPvKnown = false;
          } else {
            energyLine(c, 'export', c.exportPrice, band, price, kwh);
            expKwh += kwh;
            expIncome += price * kwh;
          }
        }
      }

      // Without PV: PV used on site imported instead; PV's share of the export not paid.
      if (pvOnSite > 0) {
        let extra = 0;
        for (const [band, kwh] of pvBands) {
          if (kwh <= 0) continue;
          const price = unitPriceOf(c.importPrice, band, ps, prices);
          if (price === null) withoutPvKnown = false;
          else extra += kwh * (price + c.networkEurPerKwh + c.leviesEurPerKwh);
        }
        deltaVatable.set(c.vatPct, (deltaVatable.get(c.vatPct) ?? 0) + extra);
      }
      if (pvToGrid > 0 && expKwh > 0) deltaPlain += (pvToGrid * f * expIncome) / expKwh;

      // Gas and water.
      const gasM3 = (b.gas_m3 ?? 0) * f;
      if (gasM3 > 0 && c.gas) {
        const g = c.gas;
        const qty = g.unit === 'kWh' ? gasM3 * (g.kwhPerM3 as number) : gasM3;
        L.add(
          `gas:${c.index}`,
          {
            order: ORDER.gas,
            contract: c.index,
            label: 'Gas',
            unit: g.unit,
            unitPrice: g.unitPrice,
            vatPct: c.vatPct,
            priced: true,
            quantityDecimals: 3,
          },
          qty,
          qty * g.unitPrice,
        );
        const kwh = gasM3 * (g.kwhPerM3 ?? 0);
        if (g.networkEurPerKwh > 0) {
          L.add(
            `gas-network:${c.index}`,
            {
              order: ORDER.gasNetwork,
              contract: c.index,
              label: 'Gas network costs',
              unit: 'kWh',
              unitPrice: g.networkEurPerKwh,
              vatPct: c.vatPct,
              priced: true,
              quantityDecimals: 3,
            },
            kwh,
            kwh * g.networkEurPerKwh,
          );
        }
        if (g.leviesEurPerKwh > 0) {
          L.add(
            `gas-levies:${c.index}`,
            {
              order: ORDER.gasLevies,
              contract: c.index,
              label: 'Gas levies and excise',
              unit: 'kWh',
              unitPrice: g.leviesEurPerKwh,
              vatPct: c.vatPct,
              priced: true,
              quantityDecimals: 3,
            },
            kwh,
            kwh * g.leviesEurPerKwh,
          );
        }
      }
      const waterM3 = (b.water_m3 ?? 0) * f;
      if (waterM3 > 0 && c.water) {
        L.add(
          `water:${c.index}`,
          {
            order: ORDER.water,
            contract: c.index,
            label: 'Water',
            unit: 'm3',
            unitPrice: c.water.eurPerM3,
            vatPct: c.vatPct,
            priced: true,
            quantityDecimals: 3,
          },
          waterM3,
          waterM3 * c.water.eurPerM3,
        );
      }
    }
  }

  // Fixed fees and the capacity tariff, per local day up to min(end, now).
  const until = Math.min(input.end, input.now ?? input.end);
  if (until > input.start) {
    for (const seg of daySegments(input.start, until, tariff)) {
      const c = periodAt(tariff, seg.s);
      if (c === null) continue;
      const days = (seg.e - seg.s) / seg.dayLen;
      const yearDays = daysInYear(seg.s, tariff.timezone);
      const perDay = (key: string, order: number, label: string, annual: number): void => {
        if (annual <= 0) return;
        const unitPrice = annual / yearDays;
        L.add(
          `${key}:${c.index}:${unitPrice}`,
          {
            order,
            contract: c.index,
            label,
            unit: 'day',
            unitPrice,
            vatPct: c.vatPct,
            priced: true,
            quantityDecimals: 4,
          },
          days,
          days * unitPrice,
        );
      };
      if (c.capacityEurPerKwYear !== null) {
        const month = monthOf(seg.s, tariff.timezone);
        const billed = input.billedPeakKwByMonth?.[month];
        const kw = billed ?? tariff.capacity.floorKw;
        const rate = c.capacityEurPerKwYear;
        const label =
          billed === undefined
            ? `Capacity tariff ${month} (no peak data: minimum ${fmt(kw)} kW × ${fmt(rate)} €/kW/year)`
            : `Capacity tariff ${month} (${fmt(kw)} kW × ${fmt(rate)} €/kW/year)`;
        perDay(`capacity:${month}:${kw}`, ORDER.capacity, label, kw * rate);
      }
      perDay('fixed', ORDER.fixed, 'Electricity fixed fees', c.fixedEurPerYear);
      if (c.gas) perDay('gas-fixed', ORDER.gasFixed, 'Gas fixed fees', c.gas.fixedEurPerYear);
      if (c.water) perDay('water-fixed', ORDER.waterFixed, 'Water fixed fees', c.water.fixedEurPerYear);
    }
  }

  // Output: rounded lines, VAT per rate on the rounded vatable lines, totals from the rounded lines.
  const several = L.contracts.size > 1;
  const labelOf = (a: Acc): string => {
    if (!several || a.contract === null) return a.label;
    return `${a.label} [${tariff.periods[a.contract]!.label}]`;
  };
  const accs = [...L.lines.values()].sort(
    (x, y) => x.order - y.order || (x.contract ?? -1) - (y.contract ?? -1) || x.label.localeCompare(y.label),
  );
  const breakdown: BreakdownLine[] = [];
  const vatBase = new Map<number, number>();
  let total = 0;
  let allPriced = true;
  for (const a of accs) {
    if (!a.priced) {
      allPriced = false;
      breakdown.push({
        label: labelOf(a),
        quantity: round(a.quantity, a.quantityDecimals),
        unit: a.unit,
        unit_price_eur: null,
        amount_eur: null,
      });
      continue;
    }
    const amount = round(a.amount, 2);
    const unitPrice = a.unitPrice ?? (a.quantity > 0 ? a.amount / a.quantity : 0);
    breakdown.push({
      label: labelOf(a),
      quantity: round(a.quantity, a.quantityDecimals),
      unit: a.unit,
      unit_price_eur: round(unitPrice, 6),
      amount_eur: amount,
    });
    total += amount;
    if (a.vatPct !== null && a.vatPct > 0) vatBase.set(a.vatPct, (vatBase.get(a.vatPct) ?? 0) + amount);
  }
  for (const [pct, base] of [...vatBase.entries()].sort((x, y) => x[0] - y[0])) {
    const amount = round((base * pct) / 100, 2);
    breakdown.push({
      label: `VAT ${fmt(pct)}%`,
      quantity: round(base, 2),
      unit: 'EUR',
      unit_price_eur: round(pct / 100, 6),
      amount_eur: amount,
    });
    total += amount;
  }
  if (!allPriced) return { breakdown, cost_eur: null, cost_without_pv_eur: null, pv_profit_eur: null };
  const cost = round(total, 2);
  if (!anyPv || !withoutPvKnown) {
    return { breakdown, cost_eur: cost, cost_without_pv_eur: null, pv_profit_eur: null };
  }
  let delta = deltaPlain;
  for (const [pct, d] of deltaVatable) delta += d * (1 + pct / 100);
  const without = round(cost + delta, 2);
  return { breakdown, cost_eur: cost, cost_without_pv_eur: without, pv_profit_eur: round(without - cost, 2) };
}
