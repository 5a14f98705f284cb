/**
 * The network rule of each region as data: Flemish capacity rates by Fluvius area, Wallonia's
 * time-of-use bands, Brussels' connection term, net metering in the Netherlands; the missing-month
 * setting of the capacity tariff; the example files of the four situations.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { billedAverageW, billedKwByMonth, capacitySettings } from '../../../src/core/capacity/index.js';
import { ConfigError } from '../../../src/core/errors.js';
import { type CostInput, computeCost } from '../../../src/core/tariff/cost.js';
import { clockBand } from '../../../src/core/tariff/day-night.js';
import { parsePeriod } from '../../../src/core/tariff/period.js';
import { REGIONS } from '../../../src/core/tariff/regions.js';
import { parseTariffFile, type Tariff } from '../../../src/core/tariff/schema.js';
import { bandAt, scheduleBander } from '../../../src/core/tariff/time-of-use.js';
import { at, bucket, TZ } from './buckets.js';

function tariff(extra: Record<string, unknown>, electricity: Record<string, unknown> = {}, more = {}): Tariff {
  return parseTariffFile(
    {
      ...extra,
      periods: [
        { valid_from: '2026-01-01', vat_pct: 0, electricity: { import: { single: 0.3 }, ...electricity }, ...more },
      ],
    },
    't.yaml',
  );
}

function cost(t: Tariff, spec: string, buckets: CostInput['buckets'], more: Partial<CostInput> = {}) {
  const p = parsePeriod(spec, at('2030-01-01T00:00'), t.timezone);
  return computeCost({ tariff: t, buckets, start: p.start, end: p.end, ...more });
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

const amounts = (r: ReturnType<typeof computeCost>) =>
  Object.fromEntries(r.breakdown.map((l) => [l.label, l.amount_eur]));

describe('Flanders: the capacity rate of each Fluvius area', () => {
  it('has the eight areas with their 2026 rates (VNR, excl. VAT)', () => {
    const rates = Object.fromEntries(
      Object.entries(REGIONS)
        .filter(([id]) => id.startsWith('fluvius-'))
        .map(([id, r]) => [
          id,
          (r as { capacityRates?: Array<{ eurPerKwYear: number }> }).capacityRates?.[0]?.eurPerKwYear ?? null,
        ]),
    );
    expect(rates).toEqual({
      'fluvius-antwerpen': 49.4,
      'fluvius-halle-vilvoorde': 56.04,
      'fluvius-imewo': 54.2,
      'fluvius-kempen': 56.21,
      'fluvius-limburg': 49.05,
      'fluvius-midden-vlaanderen': 50.12,
      'fluvius-west': 57.1,
      'fluvius-zenne-dijle': 56.12,
    });
  });

  it('bills the preset rate of the named area; a rate in the file wins', () => {
    const preset = tariff({ region: 'fluvius-imewo' });
    expect(preset.periods[0]!.capacityEurPerKwYear).toBe(54.2);
    expect(capacitySettings(preset, '2026-03', at('2026-03-10T00:00')).rateEurPerKwYear).toBe(54.2);
    // 4 kW × 54.20 / 365 = 0.593973 for one day
    expect(amounts(cost(preset, '2026-03-10', [], { billedPeakKwByMonth: { '2026-03': 4 } }))).toEqual({
      'Capacity tariff 2026-03 (4 kW × 54.2 €/kW/year)': 0.59,
    });
    const own = tariff({ region: 'fluvius-imewo' }, { capacity_eur_per_kw_year: 60 });
    expect(amounts(cost(own, '2026-03-10', [], { billedPeakKwByMonth: { '2026-03': 4 } }))).toEqual({
      'Capacity tariff 2026-03 (4 kW × 60 €/kW/year)': 0.66, // 4 × 60 / 365 = 0.657534
    });
    expect(cost(preset, '2026-03-10', []).network_rule).toEqual({
      kind: 'capacity_tariff',
      region: 'fluvius-imewo',
      vat_pct: 0,
      bands: null,
      connection: null,
    });
  });

  it('has no price for a day outside the published rates, and says what to write', () => {
    const r = cost(tariff({ region: 'fluvius-west' }), '2027-01-05', [], { billedPeakKwByMonth: { '2027-01': 3 } });
    expect(r.cost_eur).toBeNull();
    expect(r.breakdown).toEqual([
      {
        label:
          'Capacity tariff 2027-01, no price known (region fluvius-west publishes none for that day: write capacity_eur_per_kw_year)',
        kind: 'unpriced',
        band: null,
        quantity: 1,
        unit: 'day',
        unit_price_eur: null,
        amount_eur: null,
      },
    ]);
  });

  it('counts a month without data as the floor or leaves it out, as capacity.missing_month says', () => {
    // A meter with data from March only: January and February have none.
    const peaks = [null, null, 4000, 3000];
    expect(billedAverageW(peaks, { floorKw: 2.5, floorAppliesTo: 'month' })).toBe(3500); // (4 + 3) / 2
    expect(billedAverageW(peaks, { floorKw: 2.5, floorAppliesTo: 'month', missingMonth: 'skip' })).toBe(3500);
    // 12 months: 4 + 3 + 10 × 2.5 = 32 kW / 12 = 2.6667 kW
    expect(billedAverageW(peaks, { floorKw: 2.5, floorAppliesTo: 'month', missingMonth: 'floor' })).toBe(2666.7);
    const t = parseTariffFile(
      {
        capacity: { missing_month: 'floor' },
        periods: [{ valid_from: '2026-01-01', vat_pct: 0, electricity: { import: { single: 0.3 } } }],
      },
      't.yaml',
    );
    expect(t.capacity).toEqual({ floorKw: 2.5, floorAppliesTo: 'month', missingMonth: 'floor' });
    const byMonth = new Map<string, number | null>([
      ['2026-03', 4000],
      ['2026-04', 3000],
    ]);
    expect(billedKwByMonth(byMonth, ['2026-04'], t.capacity)).toEqual({ '2026-04': 2.6667 });
    expect(errorOf(() => tariff({ capacity: { missing_month: 'zero' } }))).toContain('capacity.missing_month');
  });
});

describe('Wallonia: time-of-use bands', () => {
  it('moves the day/night hours on 1 January 2026 (every day alike, weekends included)', () => {
    const t = tariff({ region: 'wallonia' }, { import: { day: 0.4, night: 0.3 } });
    // Saturday 2025-12-27 09:00: the old hours, weekend is night. Saturday 2026-01-03 09:00: day.
    expect(clockBand(at('2025-12-27T09:00'), t)).toBe('night');
    expect(clockBand(at('2026-01-03T09:00'), t)).toBe('day');
    const hours = ['06:45', '07:00', '10:45', '11:00', '16:45', '17:00', '21:45', '22:00'];
    expect(hours.map((h) => clockBand(at(`2026-01-07T${h}`), t))).toEqual([
      'night',
      'day',
      'day',
      'night',
      'night',
      'day',
      'day',
      'night',
    ]);
    // The file's own day_night keys still win over the region's hours.
    const own = tariff({ region: 'wallonia', day_night: { day_start_hour: 7, day_end_hour: 22 } });
    expect(clockBand(at('2026-01-07T12:00'), own)).toBe('day');
  });

  it('prices the network per Impact band, every day, next to a day/night energy price', () => {
    const t = tariff(
      { region: 'wallonia', time_of_use: 'wallonia-impact' },
      { import: { day: 0.14, night: 0.11 }, network_eur_per_kwh: { peak: 0.2, medium: 0.1, eco: 0.05 } },
    );
    const schedule = t.schedules[1]!;
    const times = ['00:45', '01:00', '06:45', '07:00', '10:45', '11:00', '16:45', '17:00', '21:45', '22:00'];
    // Sunday 2026-03-15: weekends are like weekdays.
    expect(times.map((h) => bandAt(schedule, at(`2026-03-15T${h}`), TZ))).toEqual([
      'medium',
      'eco',
      'eco',
      'medium',
      'medium',
      'eco',
      'eco',
      'peak',
      'peak',
      'medium',
    ]);
    const r = cost(t, '2026-03-15', [
      bucket('2026-03-15T08:00', { import_kwh: 1 }), // energy day, network medium
      bucket('2026-03-15T12:00', { import_kwh: 2 }), // energy night, network eco
      bucket('2026-03-15T18:00', { import_kwh: 3 }), // energy day, network peak
    ]);
    expect(amounts(r)).toEqual({
      'Electricity import, day': 0.56, // 4 × 0.14
      'Electricity import, night': 0.22, // 2 × 0.11
      'Network costs (distribution, transmission), eco': 0.1, // 2 × 0.05
      'Network costs (distribution, transmission), medium': 0.1, // 1 × 0.1
      'Network costs (distribution, transmission), peak': 0.6, // 3 × 0.2
    });
    expect(r.network_rule).toEqual({
      kind: 'time_of_use',
      region: 'wallonia',
      vat_pct: 0,
      bands: [
        { band: 'peak', network_eur_per_kwh: 0.2, weekdays: ['17:00-22:00'], weekends: ['17:00-22:00'] },
        {
          band: 'medium',
          network_eur_per_kwh: 0.1,
          weekdays: ['07:00-11:00', '22:00-01:00'],
          weekends: ['07:00-11:00', '22:00-01:00'],
        },
        {
          band: 'eco',
          network_eur_per_kwh: 0.05,
          weekdays: ['01:00-07:00', '11:00-17:00'],
          weekends: ['01:00-07:00', '11:00-17:00'],
        },
      ],
      connection: null,
    });
  });

  it('agrees with the slow lookup on every quarter around both DST changes', () => {
    const t = tariff({ time_of_use: 'wallonia-impact' });
    for (const [from, to] of [
      ['2026-03-28T00:00', '2026-03-31T00:00'],
      ['2026-10-24T00:00', '2026-10-27T00:00'],
    ] as const) {
      const band = scheduleBander(t.schedules[1]!, TZ, at(from), at(to));
      for (let ms = at(from); ms < at(to); ms += 900_000) expect(band(ms)).toBe(bandAt(t.schedules[1]!, ms, TZ));
    }
  });

  it("takes a file's own bands, and names what is wrong with them", () => {
    const t = tariff(
      { time_of_use: { high: { weekdays: ['08-20'] }, low: { weekdays: ['20-08'], weekends: ['00-24'] } } },
      { import: { bands: { high: 0.3, low: 0.2 } } },
    );
    expect(amounts(cost(t, '2026-03-16', [bucket('2026-03-16T08:00', { import_kwh: 1 })]))).toEqual({
      'Electricity import, high': 0.3,
    });
    expect(errorOf(() => tariff({ time_of_use: { a: { every_day: ['00-12'] }, b: { every_day: ['13-24'] } } }))).toBe(
      't.yaml: time_of_use: no band covers 12:00-13:00 on weekdays',
    );
    expect(errorOf(() => tariff({ time_of_use: { a: { every_day: ['00-13'] }, b: { every_day: ['12-24'] } } }))).toBe(
      't.yaml: time_of_use: b overlaps another band at 12:00 on weekdays',
    );
    expect(errorOf(() => tariff({ time_of_use: { a: { every_day: ['00-7'] }, b: { every_day: ['07:10-24'] } } }))).toBe(
      't.yaml: time_of_use.b.every_day[0]: "07:10-24": hours run 00..24 and minutes in quarters (00, 15, 30, 45)',
    );
    expect(errorOf(() => tariff({}, { import: { bands: { peak: 0.3, eco: 0.2 } } }))).toBe(
      't.yaml: periods[0].electricity.import.bands: no time-of-use schedule has the bands peak, eco (known: day, night); set time_of_use',
    );
    expect(
      errorOf(() =>
        parseTariffFile(
          {
            time_of_use: 'wallonia-impact',
            periods: [
              {
                valid_from: '2025-06-01',
                vat_pct: 0,
                electricity: { import: { single: 0.3 }, network_eur_per_kwh: { peak: 0.2, medium: 0.1, eco: 0.05 } },
              },
            ],
          },
          't.yaml',
        ),
      ),
    ).toBe(
      't.yaml: periods[0].electricity.network_eur_per_kwh: the wallonia-impact bands exist from 2025-12-31T23:00:00.000Z; this period starts earlier',
    );
    expect(errorOf(() => tariff({}, { network_eur_per_kwh: 'cheap' }))).toBe(
      't.yaml: periods[0].electricity.network_eur_per_kwh: must be a price >= 0 (EUR/kWh) or a price per band, e.g. {peak: 0.19, medium: 0.13, eco: 0.07}',
    );
  });
});

describe('Brussels: a yearly capacity term by connection size', () => {
  const bands = [{ up_to_kva: 13, eur_per_year: 36.5 }, { eur_per_year: 73 }];

  it('bills the band of the connection per day, not a monthly peak', () => {
    const small = tariff({ region: 'brussels', connection_kva: 9.2 }, { connection_capacity_eur_per_year: bands });
    expect(amounts(cost(small, '2026-03-10', []))).toEqual({ 'Connection capacity term (≤ 13 kVA)': 0.1 }); // 36.5 / 365
    const large = tariff({ region: 'brussels', connection_kva: 17.3 }, { connection_capacity_eur_per_year: bands });
    expect(amounts(cost(large, '2026-03', []))).toEqual({ 'Connection capacity term (> 13 kVA)': 6.2 }); // 31 × 73 / 365
    expect(cost(large, '2026-03', []).network_rule).toEqual({
      kind: 'connection_capacity',
      region: 'brussels',
      vat_pct: 0,
      bands: null,
      connection: { eur_per_year: 73, label: 'Connection capacity term (> 13 kVA)' },
    });
  });

  it('names what is missing or wrong', () => {
    expect(errorOf(() => tariff({ region: 'brussels' }, { connection_capacity_eur_per_year: bands }))).toBe(
      't.yaml: connection_kva: is required to pick a band of t.yaml: periods[0].electricity.connection_capacity_eur_per_year',
    );
    expect(errorOf(() => tariff({ region: 'brussels' }, { capacity_eur_per_kw_year: 50 }))).toBe(
      't.yaml: periods[0].electricity.capacity_eur_per_kw_year: region brussels has no capacity tariff on the monthly peak',
    );
  });
});

describe('the Netherlands: net metering until 1 January 2027', () => {
  const t = parseTariffFile(
    parseYaml(readFileSync(new URL('../../../config/tariffs/netherlands.yaml', import.meta.url), 'utf8')),
    'nl.yaml',
  );
  // A Wednesday in June: 3 kWh imported at night (t1 = low on an NL meter), 5 kWh exported by day (t2).
  const day = (date: string) => [
    bucket(`${date}T02:00`, { import_t1_kwh: 3, import_t2_kwh: 0, export_t1_kwh: 0, export_t2_kwh: 0 }),
    bucket(`${date}T13:00`, { import_t1_kwh: 0, import_t2_kwh: 0, export_t1_kwh: 0, export_t2_kwh: 5 }),
  ];
  const p = (spec: string) => parsePeriod(spec, at('2030-01-01T00:00'), 'Europe/Amsterdam');

  it('offsets export against import in 2026, at the import price, with the feed-in fee', () => {
    const q = p('2026-06-10');
    const r = computeCost({ tariff: t, buckets: day('2026-06-10'), start: q.start, end: q.end });
    expect(amounts(r)).toEqual({
      'Electricity import, night': 0.3, // 3 × 0.10
      'Electricity export (injection) beyond net metering': -0.1, // (5 − 3) × 0.05
      // 3 kWh netted at the average import price: (0.30 + 3 × 0.0916) / 3 = 0.1916
      'Net metering: export offset against import': -0.57, // 3 × 0.1916 = 0.5748
      'Feed-in cost per exported kWh': 0.1, // 5 × 0.02
      'Levies and excise': 0.27, // 3 × 0.0916 = 0.2748
      'Electricity fixed fees': 1.1, // 400 / 365 = 1.0959
      'VAT 21%': 0.25, // (0.30 − 0.57 + 0.10 + 0.27 + 1.10) = 1.20 × 0.21 = 0.252
    });
    expect(r.cost_eur).toBe(1.35); // 1.20 − 0.10 + 0.25
    expect(r.network_rule).toEqual({ kind: 'none', region: 'netherlands', vat_pct: 21, bands: null, connection: null });
  });

  it('pays import and export apart from 2027', () => {
    const q = p('2027-06-09');
    const r = computeCost({ tariff: t, buckets: day('2027-06-09'), start: q.start, end: q.end });
    expect(amounts(r)).toEqual({
      'Electricity import, night': 0.3,
      'Electricity export (injection)': -0.25, // 5 × 0.05
      'Feed-in cost per exported kWh': 0.1,
      'Levies and excise': 0.27,
      'Electricity fixed fees': 1.1,
      'VAT 21%': 0.37, // (0.30 + 0.10 + 0.27 + 1.10) = 1.77 × 0.21 = 0.3717
    });
  });

  it('stops net metering on 1 January 2027 even in a period that runs on', () => {
    const open = parseTariffFile(
      {
        region: 'netherlands',
        country: 'nl',
        periods: [
          {
            valid_from: '2026-01-01',
            vat_pct: 0,
            electricity: { import: { single: 0.2 }, export: { single: 0.05 }, net_metering: true },
          },
        ],
      },
      't.yaml',
    );
    const q = p('2027-06-09');
    const r = computeCost({ tariff: open, buckets: day('2027-06-09'), start: q.start, end: q.end });
    expect(amounts(r)).toEqual({ 'Electricity import': 0.6, 'Electricity export (injection)': -0.25 });
  });
});

describe('the example tariff files of the four situations', () => {
  it('load, each with its rule', () => {
    const rules = Object.fromEntries(
      ['flanders', 'wallonia', 'brussels', 'netherlands'].map((name) => {
        const file = new URL(`../../../config/tariffs/${name}.yaml`, import.meta.url);
        const t = parseTariffFile(parseYaml(readFileSync(file, 'utf8')), `${name}.yaml`);
        const q = parsePeriod('2026-06', at('2030-01-01T00:00'), t.timezone);
        return [name, computeCost({ tariff: t, buckets: [], start: q.start, end: q.end }).network_rule?.kind];
      }),
    );
    expect(rules).toEqual({
      flanders: 'capacity_tariff',
      wallonia: 'time_of_use',
      brussels: 'connection_capacity',
      netherlands: 'none',
    });
  });
});

describe('docs/tariffs.md §6', () => {
  it('has a YAML file for each situation that loads as it is, with its rule', () => {
    const md = readFileSync(new URL('../../../docs/tariffs.md', import.meta.url), 'utf8');
    const section = md.slice(md.indexOf('## 6. The four situations'), md.indexOf('## 7.'));
    const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const kinds = blocks.map((text, i) => {
      const t = parseTariffFile(parseYaml(text), `docs block ${i}`);
      const q = parsePeriod('2026-06', at('2030-01-01T00:00'), t.timezone);
      return computeCost({ tariff: t, buckets: [], start: q.start, end: q.end }).network_rule?.kind;
    });
    expect(kinds).toEqual(['capacity_tariff', 'time_of_use', 'connection_capacity', 'none']);
  });
});
