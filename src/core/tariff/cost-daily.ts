/**
 * Charges per day: fixed fees, the capacity tariff (Flanders: the month's billed kW × the rate in
 * force that day) and the connection capacity term (Brussels). A day counts 1/365 (or 1/366) of
 * the year whatever its length (a 23- or 25-hour DST day is one day); a partial day by its fraction.
 */

import { localDay } from '../time/index.js';
import { fmt, type Ledger, ORDER } from './cost-ledger.js';
import { daysInYear, monthOf } from './local-time.js';
import { type ContractPeriod, capacityRateAt, periodAt, type Tariff } from './schema.js';

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

/** The capacity line of a day segment: billed kW of its month × the rate of that day. */
function capacity(
  ledger: Ledger,
  tariff: Tariff,
  c: ContractPeriod,
  segStart: number,
  days: number,
  yearDays: number,
  billed: Readonly<Record<string, number>> | undefined,
): void {
  const rate = capacityRateAt(tariff, c, segStart);
  if (rate === null) return;
  const month = monthOf(segStart, tariff.timezone);
  if (rate.rate === null) {
    const where = tariff.region ? `region ${tariff.region.id} publishes none for that day` : 'no rate';
    ledger.unpriced(`Capacity tariff ${month}`, 'day', days, `${where}: write capacity_eur_per_kw_year`);
    return;
  }
  const kw = billed?.[month] ?? tariff.capacity.floorKw;
  const label =
    billed?.[month] === undefined
      ? `Capacity tariff ${month} (no peak data: minimum ${fmt(kw)} kW × ${fmt(rate.rate)} €/kW/year)`
      : `Capacity tariff ${month} (${fmt(kw)} kW × ${fmt(rate.rate)} €/kW/year)`;
  perDay(ledger, c, `capacity:${month}:${kw}`, ORDER.capacity, label, kw * rate.rate, days, yearDays);
}

function perDay(
  ledger: Ledger,
  c: ContractPeriod,
  key: string,
  order: number,
  label: string,
  annual: number,
  days: number,
  yearDays: number,
): void {
  if (annual <= 0) return;
  const unitPrice = annual / yearDays;
  ledger.add(
    `${key}:${c.index}:${unitPrice}`,
    { order, contract: c.index, label, unit: 'day', unitPrice, vatPct: c.vatPct, priced: true, quantityDecimals: 4 },
    days,
    days * unitPrice,
  );
}

/** The per-day charges of [start, until). */
export function dailyCharges(
  ledger: Ledger,
  tariff: Tariff,
  start: number,
  until: number,
  billedPeakKwByMonth: Readonly<Record<string, number>> | undefined,
): void {
  if (until <= start) return;
  for (const seg of daySegments(start, until, tariff)) {
    const c = periodAt(tariff, seg.s);
    if (c === null) continue;
    const days = (seg.e - seg.s) / seg.dayLen;
    const yearDays = daysInYear(seg.s, tariff.timezone);
    capacity(ledger, tariff, c, seg.s, days, yearDays, billedPeakKwByMonth);
    if (c.connection)
      perDay(ledger, c, 'connection', ORDER.connection, c.connection.label, c.connection.eurPerYear, days, yearDays);
    perDay(ledger, c, 'fixed', ORDER.fixed, 'Electricity fixed fees', c.fixedEurPerYear, days, yearDays);
    if (c.gas) perDay(ledger, c, 'gas-fixed', ORDER.gasFixed, 'Gas fixed fees', c.gas.fixedEurPerYear, days, yearDays);
    if (c.water)
      perDay(ledger, c, 'water-fixed', ORDER.waterFixed, 'Water fixed fees', c.water.fixedEurPerYear, days, yearDays);
  }
}
