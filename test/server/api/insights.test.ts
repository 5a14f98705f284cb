/**
 * Capacity tariff, self-sufficiency and cost estimate wired to a real store and a real tariff file
 * (config devices.home-1.tariffs, relative to the config directory). Values are checked against the
 * meter counters of the simulated home.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { capacitySettings, capacityTariffReport, meterPeakForMonth } from '../../../src/core/capacity/index.js';
import { ConfigError } from '../../../src/core/errors.js';
import type { Snapshot } from '../../../src/core/snapshot.js';
import { monthRange, networkRuleAt, parseTariffFile } from '../../../src/core/tariff/index.js';
import { exportKwh, importKwh } from '../../helpers/snapshots.js';
import { auth, lastBefore, NOW, type Seeded, seededStore, TOKENS, testApi, testConfig } from './setup.js';

// Every key given: TypeBox's Value.Default does not fill defaults inside Record values (config.ts `devices`).
const device = (tariffs: string) => ({ tariffs, country: 'be', day_hours: '7-22', capacity_alert_lead_s: 300 });

const TARIFF = `# test tariff (prices excl. VAT)
periods:
  - valid_from: '2026-01-01'
    label: test contract
    vat_pct: 6
    electricity:
      import: { day: 0.30, night: 0.20 }
      export: { single: 0.04 }
      network_eur_per_kwh: 0.10
      capacity_eur_per_kw_year: 40.4
      fixed_eur_per_year: 100
    gas: { price_eur_per_m3: 1.0 }
    water: { price_eur_per_m3: 5.0 }
`;

let seeded: Seeded;
let app: FastifyInstance;

beforeAll(async () => {
  seeded = await seededStore();
  writeFileSync(join(seeded.dir, 'tariff.yaml'), TARIFF);
  await seeded.store.insert({
    deviceId: 'home-3',
    outboxId: null,
    floorSeq: null,
    readings: threeMonths(seeded.snaps).map((snapshot) => ({ snapshot, seq: null })),
  });
  const config = testConfig({ devices: { 'home-1': device('tariff.yaml'), 'home-3': device('tariff.yaml') } });
  ({ app } = await testApi(seeded.store, { config, configDir: seeded.dir }));
});

afterAll(async () => {
  await app?.close();
  await seeded?.cleanup();
});

const COUNTERS = [
  'grid_import_t1_kwh',
  'grid_import_t2_kwh',
  'grid_export_t1_kwh',
  'grid_export_t2_kwh',
  'gas_total_m3',
  'water_total_m3',
  'pv_total_kwh',
  'battery_total_charge_kwh',
  'battery_total_discharge_kwh',
] as const;

/**
 * home-3: home-1's days repeated 56 and 28 days earlier (January, February) and in March, counters
 * shifted so that each copy continues the previous one (no jump between the copies).
 */
function threeMonths(snaps: readonly Snapshot[]): Snapshot[] {
  const first = snaps[0]!;
  const last = snaps[snaps.length - 1]!;
  const out: Snapshot[] = [];
  for (const k of [2, 1, 0]) {
    for (const s of snaps) {
      const c: Snapshot = {
        ...s,
        device_id: 'home-3',
        timestamp: new Date(Date.parse(s.timestamp) - k * 28 * 86_400_000).toISOString(),
      };
      for (const f of COUNTERS) {
        const span = (last[f] ?? 0) - (first[f] ?? 0) + 0.001;
        c[f] = s[f] === null ? null : s[f] - k * span;
      }
      out.push(c);
    }
  }
  return out;
}

async function get<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T }> {
  const r = await app.inject({ url, headers: auth(TOKENS.home1) });
  return { status: r.statusCode, body: r.json() as T };
}

function diff(f: (s: Snapshot) => number | null, a: number, b: number): number {
  return (f(lastBefore(seeded.snaps, b)) ?? Number.NaN) - (f(lastBefore(seeded.snaps, a)) ?? Number.NaN);
}

const Q = 900_000;

interface Capacity {
  device_id: string;
  month: string;
  quarters: Array<{ start: string; avg_import_w: number | null }>;
  month_peak_w: number | null;
  month_peak_start: string | null;
  meter_month_peak_w: number | null;
  history: Array<{ month: string; peak_w: number | null }>;
  rolling_12m_avg_w: number | null;
  rate_eur_per_kw_year: number | null;
  yearly_cost_eur: number | null;
  network_rule: { kind: string; region: string | null } | null;
  forecast: {
    quarter_start: string;
    elapsed_s: number;
    avg_so_far_w: number | null;
    projected_w: number | null;
    headroom_w: number | null;
    new_peak_expected: boolean;
  } | null;
}

describe('GET /api/v1/capacity-tariff', () => {
  it('the running month: quarters from the counters, peak, meter peak, billed value, cost, forecast', async () => {
    const { status, body } = await get<Capacity>('/api/v1/capacity-tariff/home-1');
    expect(status).toBe(200);
    expect(body.device_id).toBe('home-1');
    expect(body.month).toBe('2026-03');
    // Every completed quarter since 1 March 00:00 local, up to the running quarter (10:00Z).
    const monthStart = Date.parse('2026-02-28T23:00:00Z');
    const running = Date.parse('2026-03-30T10:00:00Z');
    expect(body.quarters).toHaveLength((running - monthStart) / Q);
    expect(body.quarters[0]).toEqual({ start: '2026-03-01T00:00:00+01:00', avg_import_w: null });

    // A quarter with data: import energy (counters) × 4, in W.
    const q = Date.parse('2026-03-29T17:30:00Z');
    const idx = (q - monthStart) / Q;
    expect(body.quarters[idx]!.start).toBe('2026-03-29T19:30:00+02:00');
    expect(body.quarters[idx]!.avg_import_w).toBeCloseTo(diff(importKwh, q, q + Q) * 4000, 0);

    const known = body.quarters.filter((x) => x.avg_import_w !== null);
    expect(known.length).toBeGreaterThan(200);
    const peak = Math.max(...known.map((x) => x.avg_import_w!));
    expect(body.month_peak_w).toBe(peak);
    expect(body.quarters.find((x) => x.avg_import_w === peak)!.start).toBe(body.month_peak_start);
    expect(peak).toBeGreaterThan(500);

    const last = seeded.snaps[seeded.snaps.length - 1]!;
    expect(body.meter_month_peak_w).toBe(last.grid_monthly_peak_w);
    expect(body.history).toEqual([{ month: '2026-03', peak_w: peak }]);
    expect(body.rolling_12m_avg_w).toBe(Math.max(peak, 2500));
    expect(body.rate_eur_per_kw_year).toBe(40.4);
    expect(body.yearly_cost_eur).toBeCloseTo((Math.max(peak, 2500) / 1000) * 40.4, 2);

    const f = body.forecast!;
    expect(f.quarter_start).toBe('2026-03-30T12:00:00+02:00');
    expect(f.elapsed_s).toBe(450);
    const soFarKwh = diff(importKwh, running, NOW);
    expect(f.avg_so_far_w).toBeCloseTo((soFarKwh * 3.6e6) / 450, 0);
    const p = Math.max(0, last.grid_power_w ?? 0);
    expect(f.projected_w).toBeCloseTo((soFarKwh * 3.6e6 + p * 450) / 900, 0);
    expect(f.new_peak_expected).toBe((f.projected_w ?? 0) > peak);
  });

  it('equals the core report built from 12 months of quarters (the API reads earlier months as cached peaks)', async () => {
    const r = await app.inject({ url: '/api/v1/capacity-tariff/home-3?month=2026-03', headers: auth(TOKENS.admin) });
    expect(r.statusCode).toBe(200);
    const body = r.json() as Capacity;
    const tariff = parseTariffFile(parseYaml(TARIFF), 'tariff.yaml');
    const settings = capacitySettings(tariff, '2026-03', NOW);
    const from = monthRange('2025-04', 'Europe/Brussels').start;
    const to = monthRange('2026-03', 'Europe/Brussels').end;
    const latest = await seeded.store.latest('home-3');
    const expected = capacityTariffReport({
      deviceId: 'home-3',
      month: '2026-03',
      now: NOW,
      timezone: 'Europe/Brussels',
      buckets: await seeded.store.buckets('home-3', '15min', new Date(from), new Date(to)),
      rules: settings.rules,
      rateEurPerKwYear: settings.rateEurPerKwYear,
      meterMonthPeakW: meterPeakForMonth(latest, '2026-03', 'Europe/Brussels'),
      gridPowerW: latest?.grid_power_w ?? null,
    });
    // The core report, and the network rule of the contract in force now (networkRuleAt).
    expect(body).toEqual(JSON.parse(JSON.stringify({ ...expected, network_rule: networkRuleAt(tariff, NOW) })));
    expect(body.network_rule).toEqual({ kind: 'capacity_tariff', region: null });
    expect(body.history.map((h) => h.month)).toEqual(['2026-01', '2026-02', '2026-03']);
    expect(body.history.every((h) => h.peak_w !== null && h.peak_w > 0)).toBe(true);
    // Asked again (earlier months now from the cache): the same answer.
    const again = await app.inject({
      url: '/api/v1/capacity-tariff/home-3?month=2026-03',
      headers: auth(TOKENS.admin),
    });
    expect(again.json()).toEqual(body);
    // A past month: its own quarters, the months before it, no forecast.
    const feb = (
      await app.inject({ url: '/api/v1/capacity-tariff/home-3?month=2026-02', headers: auth(TOKENS.admin) })
    ).json() as Capacity;
    expect(feb.history.map((h) => h.month)).toEqual(['2026-01', '2026-02']);
    expect(feb.history[1]!.peak_w).toBe(feb.month_peak_w);
    expect(feb.history[1]!.peak_w).toBe(body.history[1]!.peak_w);
    expect(feb.forecast).toBeNull();
  });

  it('a month without data: null values, no forecast; a bad month is a 400 naming month', async () => {
    const { status, body } = await get<Capacity>('/api/v1/capacity-tariff/home-1?month=2026-02');
    expect(status).toBe(200);
    expect(body.quarters).toHaveLength(28 * 96);
    expect(body.quarters.every((x) => x.avg_import_w === null)).toBe(true);
    expect(body.month_peak_w).toBeNull();
    expect(body.meter_month_peak_w).toBeNull();
    expect(body.rolling_12m_avg_w).toBeNull();
    expect(body.yearly_cost_eur).toBeNull();
    expect(body.forecast).toBeNull();
    const bad = await get<{ error: string; message: string }>('/api/v1/capacity-tariff/home-1?month=2026-13');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: 'bad_request', message: 'month: must be a month YYYY-MM' });
  });
});

describe('GET /api/v1/self-sufficiency', () => {
  it('a local day: the kWh from the counters and the percentages from them', async () => {
    const { status, body } = await get<Record<string, number | string | null>>(
      '/api/v1/self-sufficiency/home-1?period=yesterday',
    );
    expect(status).toBe(200);
    expect(body.period).toBe('yesterday');
    expect(body.start).toBe('2026-03-29T00:00:00+01:00');
    expect(body.end).toBe('2026-03-30T00:00:00+02:00');
    const a = Date.parse('2026-03-28T23:00:00Z');
    const b = Date.parse('2026-03-29T22:00:00Z');
    expect(body.imported_kwh).toBeCloseTo(diff(importKwh, a, b), 3);
    expect(body.exported_kwh).toBeCloseTo(diff(exportKwh, a, b), 3);
    expect(body.solar_kwh).toBeCloseTo(
      diff((s) => s.pv_total_kwh, a, b),
      3,
    );
    expect(body.battery_charge_kwh).toBeCloseTo(
      diff((s) => s.battery_total_charge_kwh, a, b),
      3,
    );
    const load = body.consumed_kwh as number;
    const imp = body.imported_kwh as number;
    expect(load).toBeGreaterThan(imp);
    expect(body.self_sufficiency_pct).toBeCloseTo(((load - imp) / load) * 100, 1);
    expect(body.self_sufficiency_pct as number).toBeGreaterThan(0);
    expect(body.self_sufficiency_pct as number).toBeLessThanOrEqual(100);
  });

  it('defaults to today; a bad period is a 400 naming period', async () => {
    const today = await get<Record<string, unknown>>('/api/v1/self-sufficiency/home-1');
    expect(today.body.period).toBe('today');
    expect(today.body.start).toBe('2026-03-30T00:00:00+02:00');
    const bad = await get<{ error: string; message: string }>('/api/v1/self-sufficiency/home-1?period=last-week');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^period: must be today, yesterday, week, month, year, YYYY-MM-DD/);
  });
});

interface Cost {
  period: string;
  start: string;
  end: string;
  consumed_kwh: number | null;
  returned_kwh: number | null;
  solar_kwh: number | null;
  gas_m3: number | null;
  cost_eur: number | null;
  cost_without_pv_eur: number | null;
  pv_profit_eur: number | null;
  breakdown: Array<{
    label: string;
    quantity: number;
    unit: string;
    unit_price_eur: number | null;
    amount_eur: number | null;
  }>;
  network_rule: { kind: string; region: string | null } | null;
}

describe('GET /api/v1/cost-estimate', () => {
  it('today (a Monday): day/night import from the meter counters, network, capacity, fixed fees, VAT', async () => {
    const { status, body } = await get<Cost>('/api/v1/cost-estimate/home-1?period=today');
    expect(status).toBe(200);
    expect(body.start).toBe('2026-03-30T00:00:00+02:00');
    const a = Date.parse('2026-03-29T22:00:00Z');
    const t1 = diff((s) => s.grid_import_t1_kwh, a, NOW + 1);
    const t2 = diff((s) => s.grid_import_t2_kwh, a, NOW + 1);
    expect(body.consumed_kwh).toBeCloseTo(t1 + t2, 3);
    const line = (re: RegExp) => body.breakdown.find((l) => re.test(l.label));
    const day = line(/^Electricity import, day/)!;
    expect(day.quantity).toBeCloseTo(t1, 3);
    expect(day.unit_price_eur).toBe(0.3);
    expect(day.amount_eur).toBeCloseTo(t1 * 0.3, 2);
    const night = line(/^Electricity import, night/)!;
    expect(night.quantity).toBeCloseTo(t2, 3);
    expect(night.unit_price_eur).toBe(0.2);
    expect(line(/^Network costs/)!.quantity).toBeCloseTo(t1 + t2, 3);
    // The capacity tariff of March at the billed value the capacity route shows.
    const cap = await get<Capacity>('/api/v1/capacity-tariff/home-1?month=2026-03');
    const kw = cap.body.rolling_12m_avg_w! / 1000;
    const capacity = line(/^Capacity tariff 2026-03/)!;
    expect(capacity.label).toContain(`${Math.round(kw * 10_000) / 10_000} kW`);
    // 10:07:30 of a 24-hour day have passed: that share of a day's fixed fees and capacity.
    expect(capacity.quantity).toBeCloseTo((10 * 3600 + 7.5 * 60 + 2 * 3600) / 86_400, 4);
    expect(capacity.unit_price_eur).toBeCloseTo((kw * 40.4) / 365, 6);
    expect(line(/^Gas$/)!.quantity).toBeCloseTo(body.gas_m3!, 3);
    const vat = line(/^VAT 6%/)!;
    const sum = body.breakdown.reduce((s, l) => s + (l.amount_eur ?? 0), 0);
    expect(body.cost_eur).toBeCloseTo(sum, 6);
    // Amounts are rounded to the cent: within half a cent of 6 % of the base.
    expect(Math.abs(vat.amount_eur! - vat.quantity * 0.06)).toBeLessThanOrEqual(0.005 + 1e-9);
    expect(body.cost_without_pv_eur!).toBeGreaterThan(body.cost_eur!);
    expect(body.pv_profit_eur).toBeCloseTo(body.cost_without_pv_eur! - body.cost_eur!, 6);
    expect(body.network_rule).toEqual({ kind: 'capacity_tariff', region: null });
  });

  it('a device without a tariff: the energy, no costs, and a line saying why', async () => {
    const r = await app.inject({ url: '/api/v1/cost-estimate/home-2?period=today', headers: auth(TOKENS.home2) });
    expect(r.statusCode).toBe(200);
    const body = r.json() as Cost;
    expect(body.cost_eur).toBeNull();
    expect(body.consumed_kwh).not.toBeNull();
    expect(body.breakdown[0]!.label).toMatch(/No tariff configured.*devices\.home-2\.tariffs/);
    expect(body.network_rule).toBeNull();
    const cap = await app.inject({ url: '/api/v1/capacity-tariff/home-2', headers: auth(TOKENS.home2) });
    expect(cap.json().network_rule).toBeNull();
  });

  it('a broken tariff file stops the API at startup, naming the file and the key', async () => {
    writeFileSync(
      join(seeded.dir, 'bad.yaml'),
      'periods:\n  - valid_from: 2026-01-01\n    vat_pct: 6\n    electricity: { import: {} }\n',
    );
    const config = testConfig({ devices: { 'home-1': device('bad.yaml') } });
    await expect(testApi(seeded.store, { config, configDir: seeded.dir })).rejects.toThrow(ConfigError);
    await expect(testApi(seeded.store, { config, configDir: seeded.dir })).rejects.toThrow(
      /bad\.yaml: periods\[0\]\.electricity\.import: set exactly one of single, day \+ night, or dynamic/,
    );
  });
});
