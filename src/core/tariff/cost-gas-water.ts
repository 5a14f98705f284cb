/** Gas and water charges per piece of a bucket: energy (per m3 or per kWh), network, levies. */
import type { EnergyBucket } from './bucket.js';
import { type Ledger, type LineInit, ORDER } from './cost-ledger.js';
import type { ContractPeriod } from './schema.js';

function line(c: ContractPeriod, order: number, label: string, unit: string, unitPrice: number): LineInit {
  return { order, contract: c.index, label, unit, unitPrice, vatPct: c.vatPct, priced: true, quantityDecimals: 3 };
}

/** Gas and water of a piece (the share `f` of bucket `b`) under contract `c`; null: no contract. */
export function gasWaterCharges(ledger: Ledger, b: EnergyBucket, f: number, c: ContractPeriod | null): void {
  const gasM3 = (b.gas_m3 ?? 0) * f;
  const waterM3 = (b.water_m3 ?? 0) * f;
  if (c === null) {
    ledger.unpriced('Gas', 'm3', gasM3);
    ledger.unpriced('Water', 'm3', waterM3);
    return;
  }
  if (gasM3 > 0 && c.gas) {
    const g = c.gas;
    const qty = g.unit === 'kWh' ? gasM3 * (g.kwhPerM3 as number) : gasM3;
    ledger.add(`gas:${c.index}`, line(c, ORDER.gas, 'Gas', g.unit, g.unitPrice), qty, qty * g.unitPrice);
    const kwh = gasM3 * (g.kwhPerM3 ?? 0);
    if (g.networkEurPerKwh > 0) {
      ledger.add(
        `gas-network:${c.index}`,
        line(c, ORDER.gasNetwork, 'Gas network costs', 'kWh', g.networkEurPerKwh),
        kwh,
        kwh * g.networkEurPerKwh,
      );
    }
    if (g.leviesEurPerKwh > 0) {
      ledger.add(
        `gas-levies:${c.index}`,
        line(c, ORDER.gasLevies, 'Gas levies and excise', 'kWh', g.leviesEurPerKwh),
        kwh,
        kwh * g.leviesEurPerKwh,
      );
    }
  }
  if (waterM3 > 0 && c.water) {
    ledger.add(
      `water:${c.index}`,
      line(c, ORDER.water, 'Water', 'm3', c.water.eurPerM3),
      waterM3,
      waterM3 * c.water.eurPerM3,
    );
  }
}
