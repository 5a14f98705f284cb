/**
 * Two worked annual bills, calculated by hand from published 2026 prices and matched to the cent by
 * the cost estimate (the function behind GET /api/v1/cost-estimate):
 *
 * - a Flemish home in Fluvius Antwerpen on Ecopower's April 2026 card (config/tariffs/flanders.yaml):
 *   energy, network, levies, the capacity tariff with four months under 2.5 kW, injection, VAT, and
 *   the cost without PV;
 * - a Walloon home at ORES on the three-band "tarif Impact" with DATS 24's April 2026 card
 *   (config/tariffs/wallonia.yaml): network per band, prices with VAT included.
 *
 * Price sources (each figure as the cited test of renaudallard/homeassistant_be_electricity_prices
 * @5d7c28f asserts it from the supplier's card): tests/test_ecopower.py (Ecopower April 2026:
 * energy 0.1274, injection 0.02, Antwerpen distribution 0.0505027, capacity 49.40, data management
 * 17.85, excise 0.04748, energy contribution 0.0019261, GSC + WKK 0.01492, all excl. VAT) and
 * tests/test_dats24.py (DATS 24 April 2026, incl. VAT: energy 0.1218, fixed fee 38.50, injection
 * 0.0326, ORES PIC 0.1657 / MEDIUM 0.1083 / ECO 0.0509, transmission 0.0274, data management 14.10,
 * excise 0.0503288, energy contribution 0.0020417, green certificates 0.03032, connection fee
 * 0.00075). The capacity rate 49.40 is also the region preset's (docs/tariffs.md §6).
 *
 * The homes: every quarter imports 0.05 kWh (200 W), except
 * - 11:00–15:00 (16 quarters a day), when the PV exports e(month) kWh a quarter and nothing is
 *   imported; the Flemish home's PV also covers the 0.05 kWh of the house then (pv = e + 0.05);
 * - 18:00–18:15, the day's cooking peak: the month's peak kW / 4 (Flanders), 0.8 kWh (Wallonia);
 * - Wallonia: the car charges 03:00–05:00 (8 quarters of 0.5 kWh).
 * The year 2026 has 35 040 quarters (365 × 96: the 23-hour day in March and the 25-hour day in
 * October cancel); the hour lost and the hour repeated are 02:00–03:00, in the eco band.
 */
import { readFileSync } from 'node:fs';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { billedKwByMonth, indexQuarterBuckets, monthPeak } from '../../../src/core/capacity/index.js';
import type { EnergyBucket } from '../../../src/core/tariff/bucket.js';
import { computeCost } from '../../../src/core/tariff/cost.js';
import { addMonths } from '../../../src/core/tariff/local-time.js';
import { parsePeriod } from '../../../src/core/tariff/period.js';
import { parseTariffFile, type Tariff } from '../../../src/core/tariff/schema.js';
import { costEstimate } from '../../../src/core/tariff/totals.js';
import { TZ } from './buckets.js';

/** Monthly peaks (kW), Jan..Dec: April to July under the 2.5 kW floor. */
const PEAK_KW = [5.2, 4.8, 4.4, 2.2, 1.9, 1.6, 2.3, 3.0, 3.6, 4.0, 4.6, 6.0];
/** PV export per quarter 11:00–15:00 (kWh), Jan..Dec. */
const EXPORT_KWH = [0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.45, 0.35, 0.25, 0.15, 0.075, 0.04];

function example(name: string): Tariff {
  const url = new URL(`../../../config/tariffs/${name}`, import.meta.url);
  return parseTariffFile(parseYaml(readFileSync(url, 'utf8')), name);
}

/** Quarter buckets of [from, to) local dates; `values` gives each quarter's energy from its local time. */
function quarters(from: string, to: string, values: (t: DateTime) => Partial<EnergyBucket>): EnergyBucket[] {
  const out: EnergyBucket[] = [];
  const end = DateTime.fromISO(to, { zone: TZ }).toMillis();
  for (let ms = DateTime.fromISO(from, { zone: TZ }).toMillis(); ms < end; ms += 900_000) {
    out.push({
      start: new Date(ms),
      end: new Date(ms + 900_000),
      samples: 900,
      import_kwh: null,
      import_t1_kwh: null,
      import_t2_kwh: null,
      export_kwh: null,
      export_t1_kwh: null,
      export_t2_kwh: null,
      pv_kwh: null,
      battery_charge_kwh: null,
      battery_discharge_kwh: null,
      gas_m3: null,
      water_m3: null,
      ...values(DateTime.fromMillis(ms, { zone: TZ })),
    });
  }
  return out;
}

const exporting = (t: DateTime) => t.hour >= 11 && t.hour < 15;
const cooking = (t: DateTime) => t.hour === 18 && t.minute === 0;

function flemishQuarter(t: DateTime): Partial<EnergyBucket> {
  const e = EXPORT_KWH[t.month - 1]!;
  if (exporting(t)) return { import_kwh: 0, export_kwh: e, pv_kwh: e + 0.05 };
  return { import_kwh: cooking(t) ? PEAK_KW[t.month - 1]! / 4 : 0.05, export_kwh: 0, pv_kwh: 0 };
}

function walloonQuarter(t: DateTime): Partial<EnergyBucket> {
  if (exporting(t)) return { import_kwh: 0, export_kwh: EXPORT_KWH[t.month - 1]! };
  const charging = t.hour >= 3 && t.hour < 5;
  return { import_kwh: cooking(t) ? 0.8 : charging ? 0.5 : 0.05, export_kwh: 0 };
}

const amounts = (lines: Array<{ label: string; amount_eur: number | null }>) =>
  Object.fromEntries(lines.map((l) => [l.label, l.amount_eur]));

describe('a worked annual bill: a Flemish home in Fluvius Antwerpen, 2026', () => {
  const tariff = example('flanders.yaml');
  // Two years of quarters: the 12-month average of each 2026 month needs the months of 2025.
  const buckets = quarters('2025-01-01', '2027-01-01', flemishQuarter);
  const year = parsePeriod('2026', Date.parse('2027-06-01T00:00:00Z'), TZ);

  it('finds the monthly peaks and bills 3.8 kW in every month of 2026', () => {
    const index = indexQuarterBuckets(buckets);
    const months = Array.from({ length: 24 }, (_, i) => addMonths('2025-01', i));
    const peaks = new Map(months.map((m) => [m, monthPeak(index, m, TZ)?.peak_w ?? null]));
    expect(peaks.get('2026-05')).toBe(1900);
    expect(peaks.get('2026-12')).toBe(6000);
    // Each month raised to 2.5 kW, then averaged: (5.2 + 4.8 + 4.4 + 4 × 2.5 + 3.0 + 3.6 + 4.0 + 4.6
    // + 6.0) / 12 = 45.6 / 12 = 3.8 kW. 2025 had the same peaks, so every month's window gives 3.8.
    const billed = billedKwByMonth(peaks, months.slice(12), tariff.capacity);
    expect(new Set(Object.values(billed))).toEqual(new Set([3.8]));
  });

  it('matches the hand-calculated bill to the cent', () => {
    const index = indexQuarterBuckets(buckets);
    const months = Array.from({ length: 24 }, (_, i) => addMonths('2025-01', i));
    const peaks = new Map(months.map((m) => [m, monthPeak(index, m, TZ)?.peak_w ?? null]));
    const billedPeakKwByMonth = billedKwByMonth(peaks, months.slice(12), tariff.capacity);
    const est = costEstimate({ period: year, tariff, buckets, billedPeakKwByMonth });

    // Import = (35 040 quarters − 16 × 365 exporting) × 0.05 + Σ days × (peak / 4 − 0.05)
    //        = 29 200 × 0.05 + 313.05 = 1 460 + 313.05 = 1 773.05 kWh.
    expect(est.consumed_kwh).toBe(1773.05);
    // Export = Σ days × 16 × e(month) = 1 374.24 kWh.
    expect(est.returned_kwh).toBe(1374.24);
    // Capacity per month = days × 3.8 kW × 49.40 €/kW/year / 365: 31 days 15.94, 30 days 15.43,
    // 28 days 14.40.
    const capacity = (m: string, days: number, amount: number) => [
      `Capacity tariff 2026-${m} (3.8 kW × 49.4 €/kW/year)`,
      { quantity: days, amount },
    ];
    expect(
      Object.fromEntries(
        est.breakdown
          .filter((l) => l.label.startsWith('Capacity'))
          .map((l) => [l.label, { quantity: l.quantity, amount: l.amount_eur }]),
      ),
    ).toEqual(
      Object.fromEntries([
        capacity('01', 31, 15.94),
        capacity('02', 28, 14.4),
        capacity('03', 31, 15.94),
        capacity('04', 30, 15.43),
        capacity('05', 31, 15.94),
        capacity('06', 30, 15.43),
        capacity('07', 31, 15.94),
        capacity('08', 31, 15.94),
        capacity('09', 30, 15.43),
        capacity('10', 31, 15.94),
        capacity('11', 30, 15.43),
        capacity('12', 31, 15.94),
      ]),
    );
    expect(amounts(est.breakdown.filter((l) => !l.label.startsWith('Capacity')))).toEqual({
      'Electricity import': 225.89, // 1 773.05 × 0.1274 = 225.886570
      'Electricity export (injection)': -27.48, // 1 374.24 × 0.02 = 27.4848
      'Network costs (distribution, transmission)': 89.54, // 1 773.05 × 0.0505027 = 89.543812
      'Levies and excise': 114.05, // 1 773.05 × (0.04748 + 0.0019261 + 0.01492) = 1 773.05 × 0.0643261 = 114.053391
      'Electricity fixed fees': 17.85, // 365 days × 17.85 / 365
      // Base: 225.89 + 89.54 + 114.05 + capacity 187.70 + 17.85 = 635.03; × 6 % = 38.1018
      'VAT 6%': 38.1,
    });
    // 635.03 − 27.48 + 38.10
    expect(est.cost_eur).toBe(645.65);
    // Without PV: the 292 kWh of PV used at home (16 quarters × 0.05 kWh × 365) imported at
    // (0.1274 + 0.0505027 + 0.0643261) × 1.06 = 0.25676253 €/kWh = 74.974658, and no injection
    // income (27.4848): 645.65 + 74.974658 + 27.4848 = 748.109458 (capacity taken as unchanged).
    expect(est.cost_without_pv_eur).toBe(748.11);
    expect(est.pv_profit_eur).toBe(102.46);
    const cost = computeCost({ tariff, buckets, start: year.start, end: year.end, billedPeakKwByMonth });
    expect(cost.cost_eur).toBe(645.65);
    expect(cost.network_rule).toEqual({
      kind: 'capacity_tariff',
      region: 'fluvius-antwerpen',
      vat_pct: 6,
      bands: null,
      connection: null,
    });
  });
});

describe('a worked annual bill: a Walloon home at ORES on the three-band tariff, 2026', () => {
  const tariff = example('wallonia.yaml');
  const buckets = quarters('2026-01-01', '2027-01-01', walloonQuarter);
  const year = parsePeriod('2026', Date.parse('2027-06-01T00:00:00Z'), TZ);

  it('matches the hand-calculated bill to the cent, network per band', () => {
    const est = costEstimate({ period: year, tariff, buckets });
    const lines = Object.fromEntries(est.breakdown.map((l) => [l.label, l]));
    // Peak 17–22: 20 quarters a day, 19 × 0.05 + 0.8 at 18:00 = 1.75 kWh × 365 = 638.75 kWh.
    expect(lines['Network costs (distribution, transmission), peak']).toEqual({
      label: 'Network costs (distribution, transmission), peak',
      kind: 'network',
      band: 'peak',
      quantity: 638.75,
      unit: 'kWh',
      unit_price_eur: 0.1931,
      amount_eur: 123.34, // 638.75 × (0.1657 + 0.0274) = 123.342625
    });
    // Medium 07–11 and 22–01: 28 quarters × 0.05 = 1.4 kWh × 365 = 511 kWh.
    expect(lines['Network costs (distribution, transmission), medium']).toMatchObject({
      quantity: 511,
      amount_eur: 69.34, // 511 × (0.1083 + 0.0274) = 69.3427
    });
    // Eco 01–07 and 11–17: 48 quarters, 16 of them exporting; 24 × 0.05 + 8 × 0.5 (the car) = 5.2 kWh
    // a day × 365 = 1 898 kWh (the 4 quarters the March day loses come back in October).
    expect(lines['Network costs (distribution, transmission), eco']).toMatchObject({
      quantity: 1898,
      amount_eur: 148.61, // 1 898 × (0.0509 + 0.0274) = 148.6134
    });
    expect(amounts(est.breakdown)).toEqual({
      'Electricity import': 371.22, // (638.75 + 511 + 1 898) = 3 047.75 kWh × 0.1218 = 371.21595
      'Electricity export (injection)': -44.8, // 1 374.24 × 0.0326 = 44.800224
      'Network costs (distribution, transmission), eco': 148.61,
      'Network costs (distribution, transmission), medium': 69.34,
      'Network costs (distribution, transmission), peak': 123.34,
      'Levies and excise': 254.31, // 3 047.75 × 0.0834405 = 254.305784
      'Electricity fixed fees': 52.6, // 38.50 + 14.10
      // No VAT line: the card's prices include VAT (vat_pct: 0).
    });
    // 371.22 − 44.80 + 148.61 + 69.34 + 123.34 + 254.31 + 52.60
    expect(est.cost_eur).toBe(974.62);
    const cost = computeCost({ tariff, buckets, start: year.start, end: year.end });
    // The network rule names each band with its price and hours (tarif Impact: the same every day).
    expect(cost.network_rule).toEqual({
      kind: 'time_of_use',
      region: 'wallonia',
      vat_pct: 0,
      bands: [
        { band: 'peak', network_eur_per_kwh: 0.1931, weekdays: ['17:00-22:00'], weekends: ['17:00-22:00'] },
        {
          band: 'medium',
          network_eur_per_kwh: 0.1357,
          weekdays: ['07:00-11:00', '22:00-01:00'],
          weekends: ['07:00-11:00', '22:00-01:00'],
        },
        {
          band: 'eco',
          network_eur_per_kwh: 0.0783,
          weekdays: ['01:00-07:00', '11:00-17:00'],
          weekends: ['01:00-07:00', '11:00-17:00'],
        },
      ],
      connection: null,
    });
  });
});
