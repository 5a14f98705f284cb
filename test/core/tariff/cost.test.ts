import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type CostInput, computeCost } from '../../../src/core/tariff/cost.js';
import { clockBand, clockBander } from '../../../src/core/tariff/day-night.js';
import { parsePeriod } from '../../../src/core/tariff/period.js';
import { parsePriceFile } from '../../../src/core/tariff/prices.js';
import { parseTariffFile, type Tariff } from '../../../src/core/tariff/schema.js';
import { costEstimate } from '../../../src/core/tariff/totals.js';
import { at, bucket, TZ } from './buckets.js';

function tariff(periods: unknown[], extra: Record<string, unknown> = {}): Tariff {
  return parseTariffFile({ periods, ...extra }, 'test.yaml');
}

/** The cost of a local day (or the period spec) from buckets. */
function cost(t: Tariff, spec: string, buckets: CostInput['buckets'], more: Partial<CostInput> = {}) {
  const p = parsePeriod(spec, at('2026-06-01T12:00'), TZ);
  return computeCost({ tariff: t, buckets, start: p.start, end: p.end, ...more });
}

function line(r: ReturnType<typeof computeCost>, label: string) {
  const l = r.breakdown.find((x) => x.label === label);
  if (!l) throw new Error(`no line ${label}: ${r.breakdown.map((x) => x.label).join(' | ')}`);
  return l;
}

const RATES_JSON = {
  Electricity: { '+': { Day: 0.4, Night: 0.3 }, '-': { Day: 0.1, Night: 0.1 } },
  Gas: { '+': 1.576, cnv: ['kWh', 11.51] },
  Water: { '+': 6.1 },
};

describe('the simple rates.json form', () => {
  it('is converted: final prices, no VAT on top, gas per m3 with kWh per m3 kept', () => {
    const t = parseTariffFile(RATES_JSON, 'rates.json');
    expect(t.source).toBe('rates.json');
    expect(t.periods).toHaveLength(1);
    const p = t.periods[0]!;
    expect(p.vatPct).toBe(0);
    expect(p.importPrice).toEqual({ kind: 'day_night', day: 0.4, night: 0.3 });
    expect(p.exportPrice).toEqual({ kind: 'day_night', day: 0.1, night: 0.1 });
    expect(p.gas).toMatchObject({ eurPerM3: 1.576, unit: 'm3', kwhPerM3: 11.51 });
    expect(p.water).toEqual({ eurPerM3: 6.1, fixedEurPerYear: 0 });
    expect(p.capacityEurPerKwYear).toBeNull();
    expect(parseTariffFile({ Electricity: { '+': 0.35 } }, 'rates.json').periods[0]!.importPrice).toEqual({
      kind: 'single',
      single: 0.35,
    });
  });

  it('prices a day as the earlier system did: counter delta × rate', () => {
    const t = parseTariffFile(RATES_JSON, 'rates.json');
    // Tuesday 2026-03-10, a Belgian meter: t1 = day, t2 = night.
    const r = cost(t, '2026-03-10', [
      bucket('2026-03-10T12:00', {
        import_t1_kwh: 2,
        import_t2_kwh: 0,
        export_t1_kwh: 0.5,
        export_t2_kwh: 0,
        gas_m3: 1,
        water_m3: 0.2,
      }),
      bucket('2026-03-10T23:00', {
        import_t1_kwh: 0,
        import_t2_kwh: 1.5,
        export_t1_kwh: 0,
        export_t2_kwh: 0,
        gas_m3: 0.5,
      }),
    ]);
    expect(line(r, 'Electricity import, day').amount_eur).toBe(0.8); // 2 × 0.4
    expect(line(r, 'Electricity import, night').amount_eur).toBe(0.45); // 1.5 × 0.3
    expect(line(r, 'Electricity export (injection), day')).toEqual({
      label: 'Electricity export (injection), day',
      quantity: 0.5,
      unit: 'kWh',
      unit_price_eur: -0.1,
      amount_eur: -0.05, // 0.5 × 0.1 earned
    });
    expect(line(r, 'Gas')).toMatchObject({ quantity: 1.5, unit: 'm3', amount_eur: 2.36 }); // 1.5 × 1.576 = 2.364
    expect(line(r, 'Water').amount_eur).toBe(1.22); // 0.2 × 6.1
    expect(r.breakdown.some((l) => l.label.startsWith('VAT'))).toBe(false);
    // 0.80 + 0.45 − 0.05 + 2.36 + 1.22
    expect(r.cost_eur).toBe(4.78);
  });

  it('rejects a conversion to another unit, naming the key', () => {
    expect(() =>
      parseTariffFile({ Electricity: { '+': 0.3 }, Gas: { '+': 1, cnv: ['MJ', 38] } }, 'rates.json'),
    ).toThrow('rates.json: Gas.cnv[0]: only "kWh" is supported as conversion unit, got "MJ"');
  });
});

describe('day or night', () => {
  const DN = { day: 0.4, night: 0.3 };
  // Tuesday 2026-03-10 … Monday 2026-03-16; kWh chosen so that the two regions differ.
  const CASES: Array<[string, number]> = [
    ['2026-03-10T05:45', 1],
    ['2026-03-10T06:00', 2],
    ['2026-03-10T06:45', 3],
    ['2026-03-10T07:00', 1],
    ['2026-03-10T20:45', 1],
    ['2026-03-10T21:00', 2],
    ['2026-03-10T21:45', 4],
    ['2026-03-10T22:00', 1],
    ['2026-03-14T12:00', 1], // Saturday
    ['2026-03-15T07:00', 1], // Sunday
    ['2026-03-16T07:00', 1], // Monday
  ];
  const buckets = CASES.map(([t, kwh]) => bucket(t, { import_kwh: kwh }));

  it('follows the region hours 7–22 on weekdays, night at weekends', () => {
    const t = tariff([{ valid_from: '2026-01-01', vat_pct: 0, electricity: { import: DN } }]);
    expect(CASES.map(([s]) => clockBand(at(s), t))).toEqual([
      'night',
      'night',
      'night',
      'day',
      'day',
      'day',
      'day',
      'night',
      'night',
      'night',
      'day',
    ]);
    const r = cost(t, '2026-03', buckets);
    // day: 07:00 (1) + 20:45 (1) + 21:00 (2) + 21:45 (4) + Monday 07:00 (1) = 9 kWh
    // night: 05:45 (1) + 06:00 (2) + 06:45 (3) + 22:00 (1) + Sat (1) + Sun (1) = 9 kWh
    expect(line(r, 'Electricity import, day').quantity).toBe(9);
    expect(line(r, 'Electricity import, night').quantity).toBe(9);
    expect(r.cost_eur).toBe(6.3); // 9 × 0.4 + 9 × 0.3 = 3.6 + 2.7
  });

  it('follows the region hours 6–21', () => {
    const t = tariff([{ valid_from: '2026-01-01', vat_pct: 0, electricity: { import: DN } }], {
      day_night: { day_start_hour: 6, day_end_hour: 21 },
    });
    const r = cost(t, '2026-03', buckets);
    // day: 06:00 (2) + 06:45 (3) + 07:00 (1) + 20:45 (1) + Monday 07:00 (1) = 8 kWh
    // night: 05:45 (1) + 21:00 (2) + 21:45 (4) + 22:00 (1) + Sat (1) + Sun (1) = 10 kWh
    expect(line(r, 'Electricity import, day').quantity).toBe(8);
    expect(line(r, 'Electricity import, night').quantity).toBe(10);
    expect(r.cost_eur).toBe(6.2); // 8 × 0.4 + 10 × 0.3 = 3.2 + 3.0
  });

  it("uses the meter's t1/t2 when present, with the country's meaning", () => {
    const periods = [{ valid_from: '2026-01-01', vat_pct: 0, electricity: { import: DN } }];
    // Saturday noon: the clock says night, but the meter counted 1.0 kWh on t1 and 0.5 on t2.
    const withCounters = [bucket('2026-03-14T12:00', { import_kwh: 1.5, import_t1_kwh: 1, import_t2_kwh: 0.5 })];
    const be = cost(tariff(periods, { country: 'be' }), '2026-03-14', withCounters);
    expect(be.cost_eur).toBe(0.55); // BE: t1 = day: 1.0 × 0.4 + 0.5 × 0.3 = 0.40 + 0.15
    const nl = cost(tariff(periods, { country: 'nl' }), '2026-03-14', withCounters);
    expect(nl.cost_eur).toBe(0.5); // NL: t2 = normal (day): 0.5 × 0.4 + 1.0 × 0.3 = 0.20 + 0.30
    const clockOnly = cost(tariff(periods), '2026-03-14', [bucket('2026-03-14T12:00', { import_kwh: 1.5 })]);
    expect(clockOnly.cost_eur).toBe(0.45); // Saturday = night: 1.5 × 0.3
  });
});

describe('contract periods', () => {
  it('splits a month at a contract change: energy per bucket, fixed fees per day, VAT', () => {
    const t = tariff([
      {
        valid_from: '2026-01-01',
        label: 'A',
        vat_pct: 6,
        electricity: { import: { single: 0.3 }, fixed_eur_per_year: 73 },
      },
      {
        valid_from: '2026-01-16',
        label: 'B',
        vat_pct: 6,
        electricity: { import: { single: 0.2 }, fixed_eur_per_year: 36.5 },
      },
    ]);
    const r = cost(t, '2026-01', [
      bucket('2026-01-15T23:45', { import_kwh: 1 }), // last quarter of contract A
      bucket('2026-01-16T00:00', { import_kwh: 1 }), // first quarter of contract B
    ]);
    expect(r.breakdown).toEqual([
      { label: 'Electricity import [A]', quantity: 1, unit: 'kWh', unit_price_eur: 0.3, amount_eur: 0.3 },
      { label: 'Electricity import [B]', quantity: 1, unit: 'kWh', unit_price_eur: 0.2, amount_eur: 0.2 },
      // 1–15 January: 15 days × 73 / 365 = 15 × 0.20
      { label: 'Electricity fixed fees [A]', quantity: 15, unit: 'day', unit_price_eur: 0.2, amount_eur: 3 },
      // 16–31 January: 16 days × 36.5 / 365 = 16 × 0.10
      { label: 'Electricity fixed fees [B]', quantity: 16, unit: 'day', unit_price_eur: 0.1, amount_eur: 1.6 },
      // 6 % of 0.30 + 0.20 + 3.00 + 1.60 = 5.10 → 0.306
      { label: 'VAT 6%', quantity: 5.1, unit: 'EUR', unit_price_eur: 0.06, amount_eur: 0.31 },
    ]);
    expect(r.cost_eur).toBe(5.41); // 5.10 + 0.31
  });

  it('splits a coarse bucket at a contract change inside it, by time', () => {
    const t = tariff([
      { valid_from: '2026-01-01', label: 'A', vat_pct: 0, electricity: { import: { single: 0.3 } } },
      { valid_from: '2026-01-16T10:30:00+01:00', label: 'B', vat_pct: 0, electricity: { import: { single: 0.2 } } },
    ]);
    // One hourly bucket 10:00–11:00 with 4 kWh: half the hour under A, half under B.
    const r = cost(t, '2026-01-16', [bucket('2026-01-16T10:00', { import_kwh: 4 }, 60)]);
    expect(line(r, 'Electricity import [A]').quantity).toBe(2);
    expect(line(r, 'Electricity import [B]').quantity).toBe(2);
    expect(r.cost_eur).toBe(1); // 2 × 0.3 + 2 × 0.2
  });

  it('gives no cost (null) for energy outside any contract, and says why', () => {
    const t = tariff([{ valid_from: '2026-03-10', vat_pct: 0, electricity: { import: { single: 0.3 } } }]);
    const r = cost(t, '2026-03', [
      bucket('2026-03-09T12:00', { import_kwh: 2 }),
      bucket('2026-03-10T12:00', { import_kwh: 1 }),
    ]);
    expect(r.cost_eur).toBeNull();
    expect(r.breakdown).toContainEqual({
      label: 'Electricity import, no price known (no contract or no dynamic price at that time)',
      quantity: 2,
      unit: 'kWh',
      unit_price_eur: null,
      amount_eur: null,
    });
  });
});

describe('dynamic prices', () => {
  const CSV = [
    '# quarter-hour prices, EUR/kWh excl. VAT',
    'start;price_eur_per_kwh',
    '2026-03-10T12:00:00+01:00;0,100',
    '2026-03-10T12:15:00+01:00;0,200',
    '2026-03-10T12:30:00+01:00;-0,050',
    '2026-03-10T12:45:00+01:00;0,300',
    '',
  ].join('\n');
  const t = tariff([
    {
      valid_from: '2026-01-01',
      vat_pct: 0,
      electricity: {
        import: { dynamic: { multiplier: 1.1, adder_eur_per_kwh: 0.01 } },
        export: { dynamic: { multiplier: 1, adder_eur_per_kwh: -0.01 } },
      },
    },
  ]);
  const prices = parsePriceFile(CSV, 'prices.csv');
  const buckets = [
    bucket('2026-03-10T12:00', { import_kwh: 1 }),
    bucket('2026-03-10T12:15', { import_kwh: 2 }),
    bucket('2026-03-10T12:30', { import_kwh: 0.5, export_kwh: 1 }),
    bucket('2026-03-10T12:45', { import_kwh: 1 }),
  ];

  it('prices each quarter at its own price', () => {
    const r = cost(t, '2026-03-10', buckets, { prices });
    // import prices 1.1 × p + 0.01: 0.12, 0.23, −0.045, 0.34
    // 1 × 0.12 + 2 × 0.23 + 0.5 × (−0.045) + 1 × 0.34 = 0.8975 over 4.5 kWh
    expect(line(r, 'Electricity import, dynamic')).toEqual({
      label: 'Electricity import, dynamic',
      quantity: 4.5,
      unit: 'kWh',
      unit_price_eur: 0.199444, // 0.8975 / 4.5
      amount_eur: 0.9,
    });
    // injection at 12:30: −0.05 − 0.01 = −0.06 €/kWh: injecting 1 kWh costs 0.06
    expect(line(r, 'Electricity export (injection), dynamic').amount_eur).toBe(0.06);
    expect(r.cost_eur).toBe(0.96);
  });

  it('a contract on the hourly index prices every quarter at the mean of its hour', () => {
    const hourly = tariff([
      {
        valid_from: '2026-01-01',
        vat_pct: 0,
        electricity: { import: { dynamic: { multiplier: 1.1, adder_eur_per_kwh: 0.01, resolution: 'hour' } } },
      },
    ]);
    const r = cost(hourly, '2026-03-10', buckets, { prices });
    // the hour's mean: (0.1 + 0.2 − 0.05 + 0.3) / 4 = 0.1375 → 1.1 × 0.1375 + 0.01 = 0.16125 for all 4.5 kWh
    expect(line(r, 'Electricity import, dynamic')).toMatchObject({ quantity: 4.5, amount_eur: 0.73 });
    // One quarter of the hour missing: the hour's index is not known, so none of its quarters is priced.
    const partial = parsePriceFile(CSV.split('\n').slice(0, 5).join('\n'), 'p.csv', { resolutionMinutes: 15 });
    expect(cost(hourly, '2026-03-10', buckets, { prices: partial }).cost_eur).toBeNull();
    expect(cost(t, '2026-03-10', buckets.slice(0, 3), { prices: partial }).cost_eur).not.toBeNull();
    expect(() =>
      tariff([{ valid_from: '2026-01-01', vat_pct: 0, electricity: { import: { dynamic: { resolution: 'day' } } } }]),
    ).toThrow(/dynamic\.resolution: must be quarter or hour/);
  });

  it('has no cost for a quarter without a price', () => {
    const r = cost(t, '2026-03-10', [...buckets, bucket('2026-03-10T13:00', { import_kwh: 1 })], { prices });
    expect(r.cost_eur).toBeNull();
    expect(r.breakdown.find((l) => l.amount_eur === null)?.quantity).toBe(1);
  });

  it('reads JSON in €/MWh and a file that moves from hourly to quarter-hourly prices', () => {
    const json = JSON.stringify({
      prices: [
        { start: '2025-09-30T23:00:00+02:00', price_eur_per_mwh: 80 },
        { start: '2025-10-01T00:00:00+02:00', price_eur_per_mwh: 100 },
        { start: '2025-10-01T00:15:00+02:00', price_eur_per_mwh: 120 },
        { start: '2025-10-01T00:30:00+02:00', price_eur_per_mwh: 140 },
        { start: '2025-10-01T00:45:00+02:00', price_eur_per_mwh: 160 },
      ],
    });
    const s = parsePriceFile(json, 'prices.json');
    const t2 = tariff([{ valid_from: '2025-01-01', vat_pct: 0, electricity: { import: { dynamic: {} } } }]);
    const r = computeCost({
      tariff: t2,
      prices: s,
      start: at('2025-09-30T23:00'),
      end: at('2025-10-01T01:00'),
      buckets: [
        bucket('2025-09-30T23:30', { import_kwh: 1 }), // hourly price 0.080
        bucket('2025-10-01T00:45', { import_kwh: 1 }), // quarter price 0.160
      ],
    });
    expect(r.cost_eur).toBe(0.24); // 0.08 + 0.16
  });

  it('names the line of a bad price file', () => {
    expect(() => parsePriceFile('start,price_eur_per_kwh\n2026-03-10T12:00:00,0.1\n', 'p.csv')).toThrow(
      'p.csv line 2: start "2026-03-10T12:00:00" has no UTC offset',
    );
    expect(() => parsePriceFile('begin,price\n', 'p.csv')).toThrow('p.csv line 1: header must name columns');
  });
});

describe('the capacity tariff and fixed fees in the cost', () => {
  const t = tariff([
    { valid_from: '2026-01-01', vat_pct: 0, electricity: { import: { single: 0.3 }, capacity_eur_per_kw_year: 40.4 } },
  ]);

  it("bills each day 1/365 of the year's capacity cost at the month's billed kW", () => {
    const r = cost(t, '2026-03-10', [], { billedPeakKwByMonth: { '2026-03': 4 } });
    // 4 kW × 40.4 €/kW/year / 365 days = 0.442740 € for one day
    expect(r.breakdown).toEqual([
      {
        label: 'Capacity tariff 2026-03 (4 kW × 40.4 €/kW/year)',
        quantity: 1,
        unit: 'day',
        unit_price_eur: 0.44274,
        amount_eur: 0.44,
      },
    ]);
  });

  it('bills the floor, saying so, when the month has no peak data', () => {
    const r = cost(t, '2026-03-10', []);
    // 2.5 kW × 40.4 / 365 = 0.276712
    expect(r.breakdown[0]).toMatchObject({
      label: 'Capacity tariff 2026-03 (no peak data: minimum 2.5 kW × 40.4 €/kW/year)',
      amount_eur: 0.28,
    });
  });

  it('counts a 23-hour DST day as one day and a running day up to now', () => {
    const dst = cost(t, '2026-03-29', [], { billedPeakKwByMonth: { '2026-03': 4 } });
    expect(dst.breakdown[0]!.quantity).toBe(1);
    const half = cost(t, '2026-03-10', [], { billedPeakKwByMonth: { '2026-03': 4 }, now: at('2026-03-10T12:00') });
    expect(half.breakdown[0]!.quantity).toBe(0.5);
    expect(half.cost_eur).toBe(0.22); // 0.5 × 0.442740
  });
});

describe('a full day with the example Flemish contract', () => {
  it('adds up every line of config/tariffs.example.yaml', () => {
    const doc = parseYaml(readFileSync(new URL('../../../config/tariffs.example.yaml', import.meta.url), 'utf8'));
    const t = parseTariffFile(doc, 'tariffs.example.yaml');
    const p = parsePeriod('2026-03-10', at('2026-06-01T00:00'), TZ);
    const est = costEstimate({
      period: p,
      tariff: t,
      billedPeakKwByMonth: { '2026-03': 4 },
      buckets: [
        bucket('2026-03-10T12:00', {
          import_kwh: 1,
          import_t1_kwh: 1,
          import_t2_kwh: 0,
          export_kwh: 2,
          export_t1_kwh: 2,
          export_t2_kwh: 0,
          gas_m3: 2,
          water_m3: 0.1,
        }),
        bucket('2026-03-10T23:00', { import_kwh: 0.5, import_t1_kwh: 0, import_t2_kwh: 0.5, gas_m3: 0 }),
      ],
    });
    const amounts = Object.fromEntries(est.breakdown.map((l) => [l.label, l.amount_eur]));
    expect(amounts).toEqual({
      'Electricity import, day': 0.11, // 1.0 × 0.108
      'Electricity import, night': 0.04, // 0.5 × 0.089 = 0.0445
      'Electricity export (injection)': -0.05, // 2.0 × 0.025
      'Network costs (distribution, transmission)': 0.11, // 1.5 × 0.072 = 0.108
      'Levies and excise': 0.08, // 1.5 × 0.052 = 0.078
      'Capacity tariff 2026-03 (4 kW × 40.4 €/kW/year)': 0.44, // 4 × 40.4 / 365
      'Electricity fixed fees': 0.19, // 70 / 365 = 0.1918
      Gas: 0.9, // 2 m3 × 10.5 = 21 kWh × 0.043 = 0.903
      'Gas network costs': 0.44, // 21 × 0.021 = 0.441
      'Gas levies and excise': 0.11, // 21 × 0.005 = 0.105
      'Gas fixed fees': 0.16, // 60 / 365 = 0.1644
      Water: 0.54, // 0.1 × 5.40
      'Water fixed fees': 0.16, // 60 / 365
      // base: 0.11 + 0.04 + 0.11 + 0.08 + 0.44 + 0.19 + 0.90 + 0.44 + 0.11 + 0.16 + 0.54 + 0.16 = 3.28
      'VAT 6%': 0.2, // 3.28 × 0.06 = 0.1968
    });
    expect(est.breakdown.find((l) => l.label === 'Gas')).toMatchObject({
      quantity: 21,
      unit: 'kWh',
      unit_price_eur: 0.043,
    });
    expect(est.cost_eur).toBe(3.43); // 3.28 − 0.05 + 0.20
    expect(Object.keys(est)).toEqual([
      'period',
      'start',
      'end',
      'consumed_kwh',
      'returned_kwh',
      'direct_consumption_kwh',
      'solar_kwh',
      'battery_charge_kwh',
      'battery_discharge_kwh',
      'gas_m3',
      'water_m3',
      'cost_eur',
      'cost_without_pv_eur',
      'pv_profit_eur',
      'breakdown',
      'network_rule',
    ]);
    // The example contract writes a capacity rate and names no region.
    expect(est.network_rule).toEqual({ kind: 'capacity_tariff', region: null });
    expect(est).toMatchObject({
      period: '2026-03-10',
      start: '2026-03-10T00:00:00+01:00',
      end: '2026-03-11T00:00:00+01:00',
      consumed_kwh: 1.5,
      returned_kwh: 2,
      solar_kwh: null, // no inverter: absent, not 0
      direct_consumption_kwh: null,
      gas_m3: 2,
      water_m3: 0.1,
      cost_without_pv_eur: null,
      pv_profit_eur: null,
    });
  });
});

describe('the fast day/night lookup', () => {
  it('agrees with the clock rule on every quarter around both DST changes', () => {
    for (const dayNight of [
      { day_start_hour: 7, day_end_hour: 22 },
      { day_start_hour: 2, day_end_hour: 24, weekend_is_night: false }, // hours that fall in the DST jumps
    ]) {
      const t = tariff([{ valid_from: '2026-01-01', vat_pct: 0, electricity: { import: { single: 0.3 } } }], {
        day_night: dayNight,
      });
      for (const [from, to] of [
        ['2026-03-27T00:00', '2026-03-31T00:00'],
        ['2026-10-23T00:00', '2026-10-27T00:00'],
      ] as const) {
        const band = clockBander(t, at(from), at(to));
        const seen = new Set<string>();
        for (let ms = at(from); ms < at(to); ms += 15 * 60_000) {
          expect(band(ms), new Date(ms).toISOString()).toBe(clockBand(ms, t));
          seen.add(band(ms));
        }
        expect(seen.size).toBe(2);
      }
    }
  });
});
