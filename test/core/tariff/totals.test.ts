import { describe, expect, it } from 'vitest';
import { KwartierError } from '../../../src/core/errors.js';
import { parsePeriod, periodIso } from '../../../src/core/tariff/period.js';
import { parseTariffFile } from '../../../src/core/tariff/schema.js';
import { costEstimate, energyTotals, selfSufficiency } from '../../../src/core/tariff/totals.js';
import { at, bucket, TZ } from './buckets.js';

describe('period parsing', () => {
  // Sunday 2026-03-29 12:00, the day clocks go forward in Brussels.
  const now = at('2026-03-29T12:00');
  const iso = (spec: string) => periodIso(parsePeriod(spec, now, TZ), TZ);

  it('gives [start, end) in local time', () => {
    expect(iso('today')).toEqual({ start: '2026-03-29T00:00:00+01:00', end: '2026-03-30T00:00:00+02:00' });
    expect(iso('yesterday')).toEqual({ start: '2026-03-28T00:00:00+01:00', end: '2026-03-29T00:00:00+01:00' });
    expect(iso('week')).toEqual({ start: '2026-03-23T00:00:00+01:00', end: '2026-03-30T00:00:00+02:00' });
    expect(iso('month')).toEqual({ start: '2026-03-01T00:00:00+01:00', end: '2026-04-01T00:00:00+02:00' });
    expect(iso('year')).toEqual({ start: '2026-01-01T00:00:00+01:00', end: '2027-01-01T00:00:00+01:00' });
    expect(iso('2026-02')).toEqual({ start: '2026-02-01T00:00:00+01:00', end: '2026-03-01T00:00:00+01:00' });
    expect(iso('2025')).toEqual({ start: '2025-01-01T00:00:00+01:00', end: '2026-01-01T00:00:00+01:00' });
  });

  it('has 23- and 25-hour days', () => {
    const today = parsePeriod('today', now, TZ);
    expect((today.end - today.start) / 3_600_000).toBe(23);
    const autumn = parsePeriod('2026-10-25', now, TZ);
    expect((autumn.end - autumn.start) / 3_600_000).toBe(25);
  });

  it('rejects what it does not know, with a stable code', () => {
    for (const bad of ['tomorrow', '2026-02-30', '2026-13', '26-03-01', '']) {
      expect(() => parsePeriod(bad, now, TZ)).toThrow(KwartierError);
      try {
        parsePeriod(bad, now, TZ);
      } catch (err) {
        expect((err as KwartierError).code).toBe('invalid_period');
      }
    }
  });
});

describe('PV, battery and the cost without PV', () => {
  // Tuesday 2026-03-10. Import 0.30 €/kWh + network 0.10, export 0.05, VAT 6 %.
  const t = parseTariffFile(
    {
      periods: [
        {
          valid_from: '2026-01-01',
          vat_pct: 6,
          electricity: { import: { single: 0.3 }, export: { single: 0.05 }, network_eur_per_kwh: 0.1 },
        },
      ],
    },
    'test.yaml',
  );
  const buckets = [
    // Night: the battery charges 0.8 kWh from the grid.
    bucket('2026-03-10T03:00', {
      import_kwh: 1,
      export_kwh: 0,
      pv_kwh: 0,
      battery_charge_kwh: 0.8,
      battery_discharge_kwh: 0,
    }),
    // Noon: PV 2.0; 1.0 exported, 0.5 into the battery, the rest used directly.
    bucket('2026-03-10T12:00', {
      import_kwh: 0.2,
      export_kwh: 1,
      pv_kwh: 2,
      battery_charge_kwh: 0.5,
      battery_discharge_kwh: 0,
    }),
    // Evening: the battery gives 0.4 kWh.
    bucket('2026-03-10T20:00', {
      import_kwh: 0.1,
      export_kwh: 0,
      pv_kwh: 0,
      battery_charge_kwh: 0,
      battery_discharge_kwh: 0.4,
    }),
  ];
  const p = parsePeriod('2026-03-10', at('2026-06-01T00:00'), TZ);

  it('computes the totals with the documented formulas', () => {
    const tot = energyTotals(buckets, p.start, p.end);
    // direct = Σ max(0, pv − export − charge) = 0 + max(0, 2 − 1 − 0.5) + 0 = 0.5
    // (the 0.8 kWh charged from the grid at night does not reduce it)
    expect(tot.direct_consumption_kwh).toBe(0.5);
    // load = Σ import + pv − export − charge + discharge
    //      = (1 + 0 − 0 − 0.8 + 0) + (0.2 + 2 − 1 − 0.5 + 0) + (0.1 + 0 − 0 − 0 + 0.4) = 0.2 + 0.7 + 0.5 = 1.4
    expect(tot.load_kwh).toBe(1.4);
    expect(tot).toMatchObject({
      imported_kwh: 1.3,
      exported_kwh: 1,
      solar_kwh: 2,
      pv_self_used_kwh: 1, // 2 − min(2, 1)
      battery_charge_kwh: 1.3,
      battery_discharge_kwh: 0.4,
      gas_m3: null,
      water_m3: null,
    });
  });

  it('gives the cost, the cost without PV and the PV profit', () => {
    const est = costEstimate({ period: p, tariff: t, buckets });
    // import 1.3 × 0.30 = 0.39; network 1.3 × 0.10 = 0.13; export −1.0 × 0.05 = −0.05
    // VAT 6 % × (0.39 + 0.13) = 0.0312 → 0.03; total 0.39 + 0.13 − 0.05 + 0.03 = 0.50
    expect(est.cost_eur).toBe(0.5);
    // Without PV: the 1.0 kWh of PV used at home (0.5 direct + 0.5 via the battery) imported at
    // (0.30 + 0.10) × 1.06 = 0.424, and the 1.0 kWh PV export (0.05) not earned: +0.474
    expect(est.cost_without_pv_eur).toBe(0.97); // 0.50 + 0.474 = 0.974
    expect(est.pv_profit_eur).toBe(0.47);
  });

  it('gives self-sufficiency and self-consumption', () => {
    const s = selfSufficiency(p, buckets, TZ);
    expect(s).toEqual({
      period: '2026-03-10',
      start: '2026-03-10T00:00:00+01:00',
      end: '2026-03-11T00:00:00+01:00',
      self_sufficiency_pct: 7.1, // (1.4 − 1.3) / 1.4 = 7.14 %
      self_consumption_pct: 50, // 1.0 / 2.0
      consumed_kwh: 1.4, // the load
      solar_kwh: 2,
      direct_consumption_kwh: 0.5,
      imported_kwh: 1.3,
      exported_kwh: 1,
      battery_charge_kwh: 1.3,
      battery_discharge_kwh: 0.4,
    });
  });

  it('reports null, not 0, for a period without data', () => {
    const s = selfSufficiency(p, [], TZ);
    expect(s.self_sufficiency_pct).toBeNull();
    expect(s.consumed_kwh).toBeNull();
    const est = costEstimate({ period: p, tariff: t, buckets: [] });
    expect(est.consumed_kwh).toBeNull();
    expect(est.cost_eur).toBe(0); // nothing to pay: no energy, no fixed fees in this contract
  });
});
