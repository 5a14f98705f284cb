/**
 * Electricity charges per piece of a bucket: import energy, network costs (one price or per
 * time-of-use band), levies, injection income, the feed-in fee, net metering, and what the PV
 * changed (for the cost without PV; see cost.ts for the rules).
 *
 * A price form decides how a piece's energy is split over bands (allocate): the meter's t1/t2
 * counters for day/night when the bucket has them, else the clock of the form's schedule.
 */
import { type EnergyBucket, exportKwh, importKwh } from './bucket.js';
import { type Ledger, ORDER } from './cost-ledger.js';
import { type Band, clockBander, splitByMeter } from './day-night.js';
import { indexPriceAt, type PriceSeries } from './prices.js';
import type { ContractPeriod, PriceForm, Tariff } from './schema.js';
import { scheduleBander } from './time-of-use.js';

type Split = { day: number; night: number };

/** A share of a piece's energy in one band at one price (null: price unknown). */
interface Part {
  band: string | null;
  kwh: number;
  price: number | null;
}

/** What one bucket carries, before it is cut into pieces. */
export interface BucketFlows {
  imp: number | null;
  exp: number | null;
  impSplit: Split | null;
  expSplit: Split | null;
  /** The day share of the bucket as the meter saw it (for energy the meter did not count). */
  meterDayShare: number | null;
  pvToGrid: number;
  pvOnSite: number;
}

/** Net metering of one contract period: what it nets, settled once at the end. */
interface NetAccount {
  contract: ContractPeriod;
  importKwh: number;
  /** Energy + network + levies of that import, excl. VAT. */
  importAmount: number;
  exportKwh: number;
  /** What the export would earn at the export price. */
  exportIncome: number;
  pvToGrid: number;
}

function scaled(s: Split | null, f: number): Split | null {
  return s === null ? null : { day: s.day * f, night: s.night * f };
}

export class ElectricityCharges {
  /** Extra cost without PV per VAT rate (vatable part), and its part without VAT. */
  readonly pvDeltaVatable = new Map<number, number>();
  pvDeltaPlain = 0;
  anyPv = false;
  withoutPvKnown = true;
  private readonly dayNight: (ms: number) => Band;
  private readonly banders = new Map<string, (ms: number) => string>();
  private readonly net = new Map<number, NetAccount>();

  constructor(
    private readonly tariff: Tariff,
    private readonly ledger: Ledger,
    private readonly prices: PriceSeries | null | undefined,
    start: number,
    end: number,
  ) {
    this.dayNight = clockBander(tariff, start, end);
    for (const s of tariff.schedules.slice(1)) this.banders.set(s.id, scheduleBander(s, tariff.timezone, start, end));
  }

  /** The flows of a bucket: totals, meter splits, and where the PV went (exported first). */
  flows(b: EnergyBucket): BucketFlows {
    const imp = importKwh(b);
    const exp = exportKwh(b);
    const impSplit = splitByMeter(b.import_t1_kwh, b.import_t2_kwh, this.tariff.country);
    const expSplit = splitByMeter(b.export_t1_kwh, b.export_t2_kwh, this.tariff.country);
    const meterDay = (impSplit?.day ?? 0) + (expSplit?.day ?? 0);
    const meterAll = meterDay + (impSplit?.night ?? 0) + (expSplit?.night ?? 0);
    let pvToGrid = 0;
    let pvOnSite = 0;
    if (b.pv_kwh !== null && exp !== null) {
      this.anyPv = true;
      pvToGrid = Math.min(b.pv_kwh, exp);
      pvOnSite = b.pv_kwh - pvToGrid;
    }
    return {
      imp,
      exp,
      impSplit,
      expSplit,
      meterDayShare: meterAll > 0 ? meterDay / meterAll : null,
      pvToGrid,
      pvOnSite,
    };
  }

  /** The energy of a piece under a price form, by band. */
  private allocate(form: PriceForm, kwh: number, split: Split | null, ms: number): Part[] {
    switch (form.kind) {
      case 'single':
        return [{ band: null, kwh, price: form.single }];
      case 'day_night':
        if (split) {
          return [
            { band: 'day', kwh: split.day, price: form.day },
            { band: 'night', kwh: split.night, price: form.night },
          ];
        }
        return [{ band: this.dayNight(ms), kwh, price: this.dayNight(ms) === 'day' ? form.day : form.night }];
      case 'bands': {
        const band = this.banders.get(form.schedule)?.(ms) ?? null;
        return [{ band, kwh, price: band === null ? null : (form.prices[band] ?? null) }];
      }
      case 'dynamic': {
        const spot = indexPriceAt(this.prices, ms, form.resolution);
        return [{ band: 'dynamic', kwh, price: spot === null ? null : form.multiplier * spot + form.adder }];
      }
    }
  }

  /** A line of energy at a price: import (a cost) or export (income, shown with a negative price). */
  private energyLine(c: ContractPeriod, dir: 'import' | 'export', form: PriceForm, part: Part, price: number): void {
    const sign = dir === 'import' ? 1 : -1;
    const name = dir === 'import' ? 'Electricity import' : 'Electricity export (injection)';
    const fixedPrice = form.kind === 'dynamic' ? null : sign * price;
    this.ledger.add(
      `${dir}:${c.index}:${part.band ?? ''}:${fixedPrice}`,
      {
        order: ORDER[dir],
        contract: c.index,
        label: part.band === null ? name : `${name}, ${part.band}`,
        unit: 'kWh',
        unitPrice: fixedPrice,
        vatPct: dir === 'import' ? c.vatPct : null,
        priced: true,
        quantityDecimals: 3,
      },
      part.kwh,
      sign * price * part.kwh,
    );
  }

  /** A line of a price per imported (or exported) kWh that carries VAT. */
  private perKwhLine(c: ContractPeriod, key: string, order: number, label: string, price: number, kwh: number): void {
    this.ledger.add(
      `${key}:${c.index}:${price}`,
      {
        order,
        contract: c.index,
        label,
        unit: 'kWh',
        unitPrice: price,
        vatPct: c.vatPct,
        priced: true,
        quantityDecimals: 3,
      },
      kwh,
      kwh * price,
    );
  }

  /** Energy of a piece outside any contract: listed, never priced. */
  unpricedPiece(fl: BucketFlows, f: number): void {
    const imp = fl.impSplit ? fl.impSplit.day + fl.impSplit.night : (fl.imp ?? 0);
    const exp = fl.expSplit ? fl.expSplit.day + fl.expSplit.night : (fl.exp ?? 0);
    this.ledger.unpriced('Electricity import', 'kWh', imp * f);
    this.ledger.unpriced('Electricity export', 'kWh', exp * f);
    if (fl.pvOnSite > 0 || fl.pvToGrid > 0) this.withoutPvKnown = false;
  }

  /** The charges of the piece [ps, ps + f × bucket) under contract `c`. */
  piece(fl: BucketFlows, ps: number, f: number, c: ContractPeriod): void {
    const impSplit = scaled(fl.impSplit, f);
    const expSplit = scaled(fl.expSplit, f);
    const impKwh = impSplit ? impSplit.day + impSplit.night : fl.imp === null ? 0 : fl.imp * f;
    const expKwh = expSplit ? expSplit.day + expSplit.night : fl.exp === null ? 0 : fl.exp * f;
    const netting = c.netMetering && ps < (this.tariff.netMeteringEndsMs ?? Number.POSITIVE_INFINITY);
    const importAmount = this.importCharges(c, impKwh, impSplit, ps);
    const exportIncome = this.exportCharges(c, expKwh, expSplit, ps, netting, fl.pvToGrid * f);
    if (netting && (impKwh > 0 || expKwh > 0)) {
      const acc = this.net.get(c.index) ?? {
        contract: c,
        importKwh: 0,
        importAmount: 0,
        exportKwh: 0,
        exportIncome: 0,
        pvToGrid: 0,
      };
      acc.importKwh += impKwh;
      acc.importAmount += importAmount;
      acc.exportKwh += expKwh;
      acc.exportIncome += exportIncome;
      acc.pvToGrid += fl.pvToGrid * f;
      this.net.set(c.index, acc);
    } else if (fl.pvToGrid > 0 && expKwh > 0) {
      // Without PV, the PV's share of the injection income would not exist.
      this.pvDeltaPlain += (fl.pvToGrid * f * exportIncome) / expKwh;
    }
    if (fl.pvOnSite > 0) this.pvOnSiteDelta(c, fl, f, ps);
  }

  /** Import energy, network and levies; returns their amount excl. VAT (for net metering). */
  private importCharges(c: ContractPeriod, kwh: number, split: Split | null, ps: number): number {
    if (kwh <= 0) return 0;
    let amount = 0;
    for (const part of this.allocate(c.importPrice, kwh, split, ps)) {
      if (part.kwh <= 0) continue;
      if (part.price === null) this.ledger.unpriced('Electricity import', 'kWh', part.kwh);
      else {
        this.energyLine(c, 'import', c.importPrice, part, part.price);
        amount += part.price * part.kwh;
      }
    }
    for (const part of this.allocate(c.networkPrice, kwh, split, ps)) {
      if (part.kwh <= 0 || part.price === null || part.price <= 0) continue;
      const label = 'Network costs (distribution, transmission)';
      this.perKwhLine(
        c,
        `network:${part.band ?? ''}`,
        ORDER.network,
        part.band ? `${label}, ${part.band}` : label,
        part.price,
        part.kwh,
      );
      amount += part.price * part.kwh;
    }
    if (c.leviesEurPerKwh > 0) {
      this.perKwhLine(c, 'levies', ORDER.levies, 'Levies and excise', c.leviesEurPerKwh, kwh);
      amount += c.leviesEurPerKwh * kwh;
    }
    return amount;
  }

  /** Injection income (lined now, or kept for netting) and the feed-in fee; returns the income. */
  private exportCharges(
    c: ContractPeriod,
    kwh: number,
    split: Split | null,
    ps: number,
    netting: boolean,
    pvToGrid: number,
  ): number {
    if (kwh <= 0) return 0;
    let income = 0;
    if (c.exportPrice !== null) {
      for (const part of this.allocate(c.exportPrice, kwh, split, ps)) {
        if (part.kwh <= 0) continue;
        if (part.price === null) {
          this.ledger.unpriced('Electricity export', 'kWh', part.kwh);
          if (pvToGrid > 0) this.withoutPvKnown = false;
          continue;
        }
        if (!netting) this.energyLine(c, 'export', c.exportPrice, part, part.price);
        income += part.price * part.kwh;
      }
    }
    if (c.exportFeeEurPerKwh > 0) {
      this.perKwhLine(c, 'export-fee', ORDER.exportFee, 'Feed-in cost per exported kWh', c.exportFeeEurPerKwh, kwh);
      // Without PV, its share of the fee would not be paid.
      this.addVatable(c.vatPct, -pvToGrid * c.exportFeeEurPerKwh);
    }
    return income;
  }

  /** Without PV: the PV used on site would have been imported at this piece's import price. */
  private pvOnSiteDelta(c: ContractPeriod, fl: BucketFlows, f: number, ps: number): void {
    const kwh = fl.pvOnSite * f;
    const split =
      fl.meterDayShare === null ? null : { day: kwh * fl.meterDayShare, night: kwh * (1 - fl.meterDayShare) };
    let extra = kwh * c.leviesEurPerKwh;
    for (const form of [c.importPrice, c.networkPrice]) {
      for (const part of this.allocate(form, kwh, split, ps)) {
        if (part.kwh <= 0) continue;
        if (part.price === null) this.withoutPvKnown = false;
        else extra += part.kwh * part.price;
      }
    }
    this.addVatable(c.vatPct, extra);
  }

  private addVatable(vatPct: number, amount: number): void {
    if (amount !== 0) this.pvDeltaVatable.set(vatPct, (this.pvDeltaVatable.get(vatPct) ?? 0) + amount);
  }

  /**
   * Net metering, per contract: the exported kWh up to the imported kWh are credited at the average
   * import price of the period (energy + network + levies, so VAT falls too); the rest earns the
   * export price.
   */
  settleNetMetering(): void {
    for (const acc of this.net.values()) {
      const c = acc.contract;
      const netted = Math.min(acc.importKwh, acc.exportKwh);
      const avgImport = acc.importKwh > 0 ? acc.importAmount / acc.importKwh : 0;
      const credit = netted * avgImport;
      if (netted > 0) {
        this.ledger.add(
          `net-metering:${c.index}`,
          {
            order: ORDER.netMetering,
            contract: c.index,
            label: 'Net metering: export offset against import',
            unit: 'kWh',
            unitPrice: null,
            vatPct: c.vatPct,
            priced: true,
            quantityDecimals: 3,
          },
          netted,
          -credit,
        );
      }
      const excess = acc.exportKwh - netted;
      const avgExport = acc.exportKwh > 0 ? acc.exportIncome / acc.exportKwh : 0;
      if (excess > 0 && c.exportPrice !== null) {
        this.ledger.add(
          `export-excess:${c.index}`,
          {
            order: ORDER.export,
            contract: c.index,
            label: 'Electricity export (injection) beyond net metering',
            unit: 'kWh',
            unitPrice: null,
            vatPct: null,
            priced: true,
            quantityDecimals: 3,
          },
          excess,
          -excess * avgExport,
        );
      }
      if (acc.pvToGrid > 0 && acc.exportKwh > 0) {
        const share = acc.pvToGrid / acc.exportKwh;
        this.addVatable(c.vatPct, share * credit);
        this.pvDeltaPlain += share * excess * avgExport;
      }
    }
  }
}
