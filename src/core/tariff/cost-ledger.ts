/**
 * The ledger a cost calculation writes its charges into, and the bill it turns into: lines in a
 * fixed order, amounts rounded to cents per line, VAT per rate on the rounded lines it applies to,
 * totals from the rounded lines (so the breakdown adds up exactly).
 */
import { round } from './bucket.js';
import type { Tariff } from './schema.js';

/**
 * What a line charges, so a client can group lines without reading their (English) labels:
 * energy, network, levies, the capacity tariff, the connection term, fixed fees, VAT…
 */
export const LINE_KINDS = [
  'import',
  'export',
  'net_metering',
  'export_fee',
  'network',
  'levies',
  'capacity',
  'connection',
  'fixed',
  'gas',
  'gas_network',
  'gas_levies',
  'gas_fixed',
  'water',
  'water_fixed',
  'unpriced',
  'vat',
] as const;
export type LineKind = (typeof LINE_KINDS)[number];

/** One line of the breakdown. amount_eur = quantity × unit_price_eur (up to rounding). */
export interface BreakdownLine {
  label: string;
  kind: LineKind;
  /** The time-of-use band of the line's energy (`day`, `night`, `peak`…); null when the price has no bands. */
  band: string | null;
  quantity: number;
  unit: string;
  /** null when the price is unknown. */
  unit_price_eur: number | null;
  /** null when the price is unknown. */
  amount_eur: number | null;
}

/** The order of the lines on the bill. */
export const ORDER = {
  import: 1,
  export: 2,
  netMetering: 3,
  exportFee: 4,
  network: 5,
  levies: 6,
  capacity: 7,
  connection: 8,
  fixed: 9,
  gas: 10,
  gasNetwork: 11,
  gasLevies: 12,
  gasFixed: 13,
  water: 14,
  waterFixed: 15,
  unpriced: 16,
} as const;

/** The kind of a line from its place on the bill (each ORDER value is one kind). */
const KIND_OF_ORDER: Readonly<Record<number, LineKind>> = {
  [ORDER.import]: 'import',
  [ORDER.export]: 'export',
  [ORDER.netMetering]: 'net_metering',
  [ORDER.exportFee]: 'export_fee',
  [ORDER.network]: 'network',
  [ORDER.levies]: 'levies',
  [ORDER.capacity]: 'capacity',
  [ORDER.connection]: 'connection',
  [ORDER.fixed]: 'fixed',
  [ORDER.gas]: 'gas',
  [ORDER.gasNetwork]: 'gas_network',
  [ORDER.gasLevies]: 'gas_levies',
  [ORDER.gasFixed]: 'gas_fixed',
  [ORDER.water]: 'water',
  [ORDER.waterFixed]: 'water_fixed',
  [ORDER.unpriced]: 'unpriced',
};

export interface LineInit {
  order: number;
  /** The contract period's index; null for lines of no contract. */
  contract: number | null;
  label: string;
  /** The time-of-use band of the line's energy; absent: none. */
  band?: string | null;
  unit: string;
  /** Fixed unit price; null: weighted average (dynamic prices). */
  unitPrice: number | null;
  /** VAT percentage on this line; null: no VAT (injection income, unpriced). */
  vatPct: number | null;
  priced: boolean;
  quantityDecimals: number;
}

interface Line extends LineInit {
  quantity: number;
  amount: number;
}

export class Ledger {
  private readonly lines = new Map<string, Line>();
  private readonly contracts = new Set<number>();

  /** Adds to the line `key` (created from `init` on first use). */
  add(key: string, init: LineInit, quantity: number, amount: number): void {
    if (init.contract !== null) this.contracts.add(init.contract);
    let line = this.lines.get(key);
    if (!line) {
      line = { ...init, quantity: 0, amount: 0 };
      this.lines.set(key, line);
    }
    line.quantity += quantity;
    line.amount += amount;
  }

  /** Energy with no price: its own line, and the totals become null. */
  unpriced(what: string, unit: string, quantity: number, why = 'no contract or no dynamic price at that time'): void {
    if (quantity <= 0) return;
    this.add(
      `unpriced:${what}:${why}`,
      {
        order: ORDER.unpriced,
        contract: null,
        label: `${what}, no price known (${why})`,
        unit,
        unitPrice: null,
        vatPct: null,
        priced: false,
        quantityDecimals: 3,
      },
      quantity,
      0,
    );
  }

  /**
   * The breakdown (VAT lines last) and the total; total null when any line has no price. With
   * several contracts in the period, each label names its contract.
   */
  bill(tariff: Tariff): { breakdown: BreakdownLine[]; total: number | null } {
    const several = this.contracts.size > 1;
    const kindOf = (a: Line): LineKind => KIND_OF_ORDER[a.order] ?? 'unpriced';
    const labelOf = (a: Line): string =>
      !several || a.contract === null ? a.label : `${a.label} [${tariff.periods[a.contract]!.label}]`;
    const lines = [...this.lines.values()].sort(
      (x, y) => x.order - y.order || (x.contract ?? -1) - (y.contract ?? -1) || x.label.localeCompare(y.label),
    );
    const breakdown: BreakdownLine[] = [];
    const vatBase = new Map<number, number>();
    let total = 0;
    let allPriced = true;
    for (const a of lines) {
      const quantity = round(a.quantity, a.quantityDecimals);
      if (!a.priced) {
        allPriced = false;
        breakdown.push({
          label: labelOf(a),
          kind: kindOf(a),
          band: a.band ?? null,
          quantity,
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
        kind: kindOf(a),
        band: a.band ?? null,
        quantity,
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
        kind: 'vat',
        band: null,
        quantity: round(base, 2),
        unit: 'EUR',
        unit_price_eur: round(pct / 100, 6),
        amount_eur: amount,
      });
      total += amount;
    }
    return { breakdown, total: allPriced ? round(total, 2) : null };
  }
}

export function fmt(x: number): string {
  return String(round(x, 4));
}
