/**
 * The dashboard's costs and network rules in a real browser (Debian's Chromium through
 * playwright-core) against real servers on loopback: the API (createApi, Fastify) over one real
 * SQLite store seeded with the simulated home (2026-03-28 … 2026-03-30, across the 23-hour DST day),
 * the day-ahead prices the price feed fetched from stored ENTSO-E answers served on loopback, and an
 * off-grid site. One server per tariff file of config/tariffs (Flanders, Wallonia three-band,
 * Brussels, the Netherlands) plus a dynamic contract; each page's numbers are checked against the
 * same server's API answers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapacityAnswer, CostEstimateAnswer, DayPricesAnswer } from '../../src/core/api/index.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import { silentLogger } from '../../src/lib/log.js';
import { PriceFeed } from '../../src/server/prices/feed.js';
import { ensureWebBuilt, launchChromium, ROOT, WEB_DIST } from '../helpers/browser.js';
import { homeSnapshots, NOW, type Seeded, seededStore, TOKENS, testApi, testConfig } from '../server/api/setup.js';
import { type FakeFeed, fixture, startFakeFeed } from '../server/prices/fake-feed.js';

const HOME = 'home-1';
const CABIN = 'cabin';
const TARIFFS = join(ROOT, 'config', 'tariffs');
/** Screenshots of the pages checked, for a reviewer's eye (as test/web/dashboard.test.ts writes its own). */
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `costs-${name}.png`), fullPage: true });

let seeded: Seeded;
let fake: FakeFeed;
let browser: Browser;
const apps: FastifyInstance[] = [];

type Situation = 'flanders' | 'wallonia' | 'brussels' | 'netherlands' | 'dynamic';
const bases = new Map<Situation, string>();

/** The off-grid site: the simulated home's PV and battery through a charge controller, no grid meter. */
function offGrid(snaps: readonly Snapshot[]): Snapshot[] {
  return snaps
    .filter((_, k) => k % 4 === 0)
    .map((s) => {
      const out: Record<string, unknown> = { ...s, device_id: CABIN, country: null };
      for (const k of Object.keys(out)) {
        if (/^(grid_|power_l|voltage_l|current_l)/.test(k) || k === 'load_power_w' || k === 'self_sufficiency_pct')
          out[k] = null;
      }
      out.devices = {
        sc1: {
          type: 'tristar-mppt',
          stale: false,
          fields: { pv_power_w: s.pv_power_w, battery_voltage_v: 13.4, charge_state: 'bulk' },
        },
      };
      return out as unknown as Snapshot;
    });
}

async function serve(situation: Situation, tariff: string, configDir: string): Promise<void> {
  const config = testConfig({
    devices: { [HOME]: { tariffs: tariff }, [CABIN]: { tariffs: tariff } },
  });
  const { app } = await testApi(seeded.store, { config, configDir, webRoot: WEB_DIST, now: () => NOW });
  apps.push(app);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  bases.set(situation, `${address}/`);
}

beforeAll(async () => {
  await ensureWebBuilt();
  seeded = await seededStore();
  const cabin = offGrid(homeSnapshots());
  for (let k = 0; k < cabin.length; k += 2000) {
    await seeded.store.insert({
      deviceId: CABIN,
      outboxId: null,
      floorSeq: null,
      readings: cabin.slice(k, k + 2000).map((snapshot) => ({ snapshot, seq: null })),
    });
  }
  // The price feed stores the 23-hour day 2026-03-29 and the 25-hour day 2025-10-26 from stored
  // ENTSO-E answers; 2026-03-30 is not published ("no matching data").
  fake = await startFakeFeed();
  fake.answer = (u) => {
    const start = u.searchParams.get('periodStart');
    if (start === '202603282300') return { status: 200, body: fixture('entsoe-be-2026-03-29-constructed.xml') };
    if (start === '202510252200') return { status: 200, body: fixture('entsoe-be-2025-10-26-constructed.xml') };
    return { status: 200, body: fixture('entsoe-acknowledgement-no-data.xml') };
  };
  for (const now of ['2026-03-29T10:00:00+02:00', '2025-10-26T10:00:00+01:00']) {
    const feed = new PriceFeed({
      store: seeded.store,
      source: 'entsoe',
      token: 'test-token',
      zone: 'BE',
      baseUrl: fake.url,
      backfillDays: 0,
      log: silentLogger(),
      now: () => Date.parse(now),
    });
    expect((await feed.refresh()).missing).toEqual([]);
  }
  // A dynamic contract that starts at noon on the DST day: before it, the day-ahead price is known
  // and the home's price is not.
  writeFileSync(
    join(seeded.dir, 'dynamic.yaml'),
    `periods:
  - valid_from: '2026-03-29T12:00:00+02:00'
    vat_pct: 6
    electricity:
      import: { dynamic: { multiplier: 1.1, adder_eur_per_kwh: 0.012 } }
      network_eur_per_kwh: 0.05
      levies_eur_per_kwh: 0.02
`,
  );
  for (const s of ['flanders', 'wallonia', 'brussels', 'netherlands'] as const) await serve(s, `${s}.yaml`, TARIFFS);
  await serve('dynamic', 'dynamic.yaml', seeded.dir);
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  for (const app of apps) await app.close();
  await fake?.stop();
  await seeded?.cleanup();
});

// The dashboard's English formats (en-GB), as web/src/i18n/index.ts writes them.
const eurF = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR', minimumFractionDigits: 2 });
const eur4F = new Intl.NumberFormat('en-GB', {
  style: 'currency',
  currency: 'EUR',
  minimumFractionDigits: 4,
  maximumFractionDigits: 4,
});
const eur = (v: number | null) => (v === null ? '—' : eurF.format(v));
const eur4 = (v: number | null) => (v === null ? '—' : eur4F.format(v));
const nf = (d: number) => new Intl.NumberFormat('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });
const energy = (kwh: number) => `${(Math.abs(kwh) < 10 ? nf(2) : nf(1)).format(kwh)}\u00a0kWh`;
const power = (w: number | null) =>
  w === null
    ? '—'
    : Math.abs(w) < 1000
      ? `${nf(0).format(w)}\u00a0W`
      : `${(Math.abs(w) < 10_000 ? nf(2) : nf(1)).format(w / 1000)}\u00a0kW`;

async function api<T>(situation: Situation, path: string, device = HOME): Promise<T> {
  const token = device === HOME ? TOKENS.home1 : TOKENS.admin;
  const r = await fetch(`${bases.get(situation)}api/v1/${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status, path).toBe(200);
  return (await r.json()) as T;
}

/** A signed-in page of `situation`'s server at `route`, e.g. `#/day?date=2026-03-29`. */
async function open(situation: Situation, route: string, device = HOME): Promise<{ page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const token = device === HOME ? TOKENS.home1 : TOKENS.admin;
  const base = bases.get(situation) ?? '';
  await page.goto(`${base}#token=${encodeURIComponent(token)}&device=${device}`);
  // the live page, signed in (an off-grid home has no grid stat; every home has its consumption)
  await page.getByTestId('live-load').waitFor();
  await page.goto(`${base}${route}`);
  return { page, errors };
}

const text = async (page: Page, testId: string) =>
  ((await page.getByTestId(testId).first().textContent()) ?? '').trim();

/** The rows of the table under `selector`: [row header, …cells] as text. */
function tableRows(page: Page, selector: string): Promise<string[][]> {
  return page.evaluate<string[][]>(`Array.from(document.querySelectorAll(${JSON.stringify(`${selector} tbody tr`)}))
    .map((tr) => Array.from(tr.querySelectorAll('th, td')).map((c) => (c.textContent || '').trim()))`);
}

const rows = (page: Page, testId: string) => tableRows(page, `[data-testid="${testId}"]`);

/** Band → {kind → amount, kWh} from an answer's breakdown lines. */
function bandsOf(cost: CostEstimateAnswer): Map<string, { kwh: number; energy?: number; network?: number }> {
  const out = new Map<string, { kwh: number; energy?: number; network?: number }>();
  for (const l of cost.breakdown) {
    if (l.band === null || (l.kind !== 'import' && l.kind !== 'network')) continue;
    const row = out.get(l.band) ?? { kwh: 0 };
    row.kwh = Math.max(row.kwh, l.quantity);
    if (l.kind === 'import') row.energy = (row.energy ?? 0) + (l.amount_eur ?? 0);
    else row.network = (row.network ?? 0) + (l.amount_eur ?? 0);
    out.set(l.band, row);
  }
  return out;
}

/** Pixels of the prices chart drawn in the theme's accent colour (the all-in price), left and right of `split` (0..1). */
async function accentPixels(page: Page, split: number): Promise<{ left: number; right: number }> {
  return page.evaluate<{ left: number; right: number }>(`(() => {
    const canvas = document.querySelector('[data-testid="day-prices"] .chart-canvas canvas');
    const hex = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim();
    const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const w = canvas.width;
    const px = canvas.getContext('2d').getImageData(0, 0, w, canvas.height).data;
    let left = 0, right = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] > 200 && Math.abs(px[i] - want[0]) < 24 && Math.abs(px[i + 1] - want[1]) < 24 && Math.abs(px[i + 2] - want[2]) < 24) {
        if ((i / 4) % w < w * ${split}) left++; else right++;
      }
    }
    return { left, right };
  })()`);
}

describe('capacity page: the rule that applies to the home', () => {
  it('Flanders: the capacity tariff with the measured peak and the yearly cost of the answer', async () => {
    const cap = await api<CapacityAnswer>('flanders', `capacity-tariff/${HOME}`);
    expect(cap.network_rule).toMatchObject({ kind: 'capacity_tariff', region: 'fluvius-antwerpen' });
    const { page, errors } = await open('flanders', '#/capacity');
    await page.getByTestId('cap-our-peak').waitFor();
    expect(await page.getByTestId('cap-rule').getAttribute('data-rule')).toBe('capacity_tariff');
    expect(await text(page, 'cap-rule-text')).toMatch(/^Capacity tariff: the network costs depend on the monthly peak/);
    expect(await text(page, 'cap-our-peak')).toBe(power(cap.month_peak_w));
    expect(await text(page, 'cap-avg12')).toBe(power(cap.rolling_12m_avg_w));
    // 49.40 €/kW/year (the Antwerpen preset) × the billed average
    expect(cap.rate_eur_per_kw_year).toBe(49.4);
    expect(await text(page, 'cap-yearly')).toBe(eur(cap.yearly_cost_eur));
    expect(await page.getByTestId('cap-bands').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('Wallonia (three bands): time-of-use network prices, no monthly peak charge, the bands with their hours', async () => {
    const cap = await api<CapacityAnswer>('wallonia', `capacity-tariff/${HOME}`);
    expect(cap.network_rule?.kind).toBe('time_of_use');
    const { page, errors } = await open('wallonia', '#/capacity');
    await page.getByTestId('cap-bands').waitFor();
    expect(await page.getByTestId('cap-rule').getAttribute('data-rule')).toBe('time_of_use');
    expect(await text(page, 'cap-rule-text')).toContain('There is no monthly peak charge.');
    // No Flemish figure: no peaks, no yearly capacity cost.
    for (const id of ['cap-our-peak', 'cap-yearly', 'cap-quarter']) expect(await page.getByTestId(id).count()).toBe(0);
    const bands = cap.network_rule?.bands ?? [];
    expect(bands.map((b) => b.band)).toEqual(['peak', 'medium', 'eco']);
    expect(await rows(page, 'cap-bands')).toEqual([
      ['Peak', 'every day 17:00–22:00', eur4(0.1931)],
      ['Medium', 'every day 07:00–11:00, 22:00–01:00', eur4(0.1357)],
      ['Eco', 'every day 01:00–07:00, 11:00–17:00', eur4(0.0783)],
    ]);
    await shot(page, 'capacity-wallonia');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('Brussels: the yearly capacity term by connection size, not a monthly peak', async () => {
    const cap = await api<CapacityAnswer>('brussels', `capacity-tariff/${HOME}`);
    // connection_kva 9.2: the band up to 13 kVA
    expect(cap.network_rule?.connection).toEqual({ eur_per_year: 47, label: 'Connection capacity term (≤ 13 kVA)' });
    const { page, errors } = await open('brussels', '#/capacity');
    await page.getByTestId('cap-connection').waitFor();
    expect(await page.getByTestId('cap-rule').getAttribute('data-rule')).toBe('connection_capacity');
    expect(await text(page, 'cap-connection')).toBe(eur(47));
    expect(await text(page, 'cap-rule')).toContain('Connection capacity term (≤ 13 kVA) · excl. 6% VAT');
    await shot(page, 'capacity-brussels');
    expect(await page.getByTestId('cap-our-peak').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('the Netherlands: no capacity tariff', async () => {
    const cap = await api<CapacityAnswer>('netherlands', `capacity-tariff/${HOME}`);
    expect(cap.network_rule).toMatchObject({ kind: 'none', region: 'netherlands' });
    const { page, errors } = await open('netherlands', '#/capacity');
    await page.getByTestId('cap-rule').waitFor();
    expect(await page.getByTestId('cap-rule').getAttribute('data-rule')).toBe('none');
    expect(await text(page, 'cap-rule-text')).toMatch(/^No capacity tariff applies to this home/);
    expect(await page.getByTestId('cap-our-peak').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});

describe('day and history pages: the cost per band and the capacity part', () => {
  it('Wallonia: the day’s network cost per band matches the breakdown lines', async () => {
    const cost = await api<CostEstimateAnswer>('wallonia', `cost-estimate/${HOME}?period=2026-03-29`);
    const bands = bandsOf(cost);
    expect([...bands.keys()].sort()).toEqual(['eco', 'medium', 'peak']);
    const { page, errors } = await open('wallonia', '#/day?date=2026-03-29');
    await page.getByTestId('band-costs').waitFor();
    expect(await text(page, 'tot-cost')).toBe(eur(cost.cost_eur));
    const shown = await rows(page, 'band-costs');
    // Columns: band, from the grid, network, total excl. VAT (one energy price: no energy by band).
    expect(shown).toEqual(
      (['peak', 'medium', 'eco'] as const).map((b) => {
        const r = bands.get(b)!;
        return [b[0]!.toUpperCase() + b.slice(1), energy(r.kwh), eur(r.network ?? 0), eur(r.network ?? 0)];
      }),
    );
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('the Netherlands: energy per day/night band from the meter counters', async () => {
    const cost = await api<CostEstimateAnswer>('netherlands', `cost-estimate/${HOME}?period=2026-03-29`);
    const bands = bandsOf(cost);
    expect(bands.size).toBeGreaterThan(0);
    const { page, errors } = await open('netherlands', '#/day?date=2026-03-29');
    await page.getByTestId('band-costs').waitFor();
    const expected = (['day', 'night'] as const)
      .filter((b) => bands.has(b))
      .map((b) => {
        const r = bands.get(b)!;
        return [b === 'day' ? 'Day' : 'Night', energy(r.kwh), eur(r.energy ?? 0), eur(r.energy ?? 0)];
      });
    expect(await rows(page, 'band-costs')).toEqual(expected);
    await shot(page, 'day-netherlands');
    expect(await text(page, 'tot-cost')).toBe(eur(cost.cost_eur));
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('Flanders: one price, so no band table; the month shows its capacity part on its own row', async () => {
    const day = await api<CostEstimateAnswer>('flanders', `cost-estimate/${HOME}?period=2026-03-29`);
    expect(day.breakdown.every((l) => l.band === null)).toBe(true);
    const month = await api<CostEstimateAnswer>('flanders', `cost-estimate/${HOME}?period=2026-03`);
    const capacity = month.breakdown.filter((l) => l.kind === 'capacity').reduce((a, l) => a + (l.amount_eur ?? 0), 0);
    expect(capacity).toBeGreaterThan(0);
    const { page, errors } = await open('flanders', '#/history?period=month&date=2026-03-15&metric=import');
    const totals = page.getByTestId('hist-totals');
    const row = totals.locator('tbody tr', { hasText: 'of which capacity tariff' });
    await row.waitFor();
    expect(await row.locator('td').first().textContent()).toBe(eur(Math.round(capacity * 100) / 100));
    expect(await totals.locator('tbody tr', { hasText: /^Cost/ }).locator('td').first().textContent()).toBe(
      eur(month.cost_eur),
    );
    expect(await page.getByTestId('hist-bands').count()).toBe(0);
    await shot(page, 'history-flanders');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('Brussels: the month’s capacity term on its own row', async () => {
    const month = await api<CostEstimateAnswer>('brussels', `cost-estimate/${HOME}?period=2026-03`);
    const term = month.breakdown.filter((l) => l.kind === 'connection').reduce((a, l) => a + (l.amount_eur ?? 0), 0);
    // 47 €/year from 1 March up to the server's now (30 March, 12:07:30), per day
    expect(term).toBeGreaterThan(3.5);
    const { page, errors } = await open('brussels', '#/history?period=month&date=2026-03-15&metric=import');
    const row = page.getByTestId('hist-totals').locator('tbody tr', { hasText: 'of which capacity term' });
    await row.waitFor();
    expect(await row.locator('td').first().textContent()).toBe(eur(Math.round(term * 100) / 100));
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('Wallonia: the month’s cost per band in the history page', async () => {
    const month = await api<CostEstimateAnswer>('wallonia', `cost-estimate/${HOME}?period=2026-03`);
    const bands = bandsOf(month);
    const { page, errors } = await open('wallonia', '#/history?period=month&date=2026-03-15&metric=import');
    await page.getByTestId('hist-bands').waitFor();
    expect((await rows(page, 'hist-bands')).map((r) => [r[0], r[1], r[2]])).toEqual(
      (['peak', 'medium', 'eco'] as const).map((b) => [
        b[0]!.toUpperCase() + b.slice(1),
        energy(bands.get(b)!.kwh),
        eur(bands.get(b)!.network ?? 0),
      ]),
    );
    // no capacity tariff in Wallonia: no capacity row
    expect(await page.getByTestId('hist-totals').locator('tbody tr', { hasText: 'of which' }).count()).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});

describe('day page: the day’s prices', () => {
  it('the 23-hour day under a dynamic contract from noon: 92 quarters, unknown prices as gaps, never 0', async () => {
    const prices = await api<DayPricesAnswer>('dynamic', `prices/${HOME}?date=2026-03-29`);
    expect(prices.points).toHaveLength(92);
    const unknown = prices.points.filter((p) => p.all_in_eur_per_kwh === null);
    // 00:00–12:00 on the day the clock skips 02:00–03:00: 11 hours
    expect(unknown).toHaveLength(44);
    const { page, errors } = await open('dynamic', '#/day?date=2026-03-29');
    const chart = page.getByTestId('day-prices');
    await chart.locator('canvas').waitFor();
    await chart.locator('summary').click();
    const shown = await tableRows(page, '[data-testid="day-prices"] .chart-table');
    expect(shown).toHaveLength(92);
    shown.forEach((r, k) => {
      const p = prices.points[k]!;
      expect(r.slice(1), p.start).toEqual([
        eur4(p.all_in_eur_per_kwh),
        eur4(p.energy_eur_per_kwh),
        eur4(p.spot_eur_per_kwh),
      ]);
    });
    expect(shown[0]![1]).toBe('—');
    expect(shown[8]![0]).toBe('03:00'); // after 01:45 the clock jumps to 03:00
    expect(await text(page, 'prices-unknown')).toBe('Price not known for 44 of the 92 quarter-hours.');
    await shot(page, 'day-dynamic');
    // The all-in line is a gap before noon (11 of the day's 23 hours), drawn after it.
    const px = await accentPixels(page, 0.4);
    expect(px.left).toBe(0);
    expect(px.right).toBeGreaterThan(100);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('the 25-hour day: 100 quarters, the repeated hour told apart by its offset', async () => {
    const prices = await api<DayPricesAnswer>('dynamic', `prices/${HOME}?date=2025-10-26`);
    expect(prices.points).toHaveLength(100);
    const { page } = await open('dynamic', '#/day?date=2025-10-26');
    const chart = page.getByTestId('day-prices');
    await chart.locator('canvas').waitFor();
    await chart.locator('summary').click();
    const heads = await chart.locator('.chart-table tbody tr th').allTextContents();
    expect(heads).toHaveLength(100);
    expect(heads.slice(8, 13)).toEqual([
      '02:00 (+02:00)',
      '02:15 (+02:00)',
      '02:30 (+02:00)',
      '02:45 (+02:00)',
      '02:00 (+01:00)',
    ]);
    await page.context().close();
  }, 60_000);

  it('a day not published yet: no chart of zeros, the page says no price is known', async () => {
    const prices = await api<DayPricesAnswer>('dynamic', `prices/${HOME}?date=2026-03-30`);
    expect(prices.points).toHaveLength(96);
    expect(prices.points.every((p) => p.all_in_eur_per_kwh === null && p.spot_eur_per_kwh === null)).toBe(true);
    const { page } = await open('dynamic', '#/day?date=2026-03-30');
    await page.getByTestId('prices-none').waitFor();
    expect(await text(page, 'prices-none')).toBe('No price is known for this day.');
    expect(await page.getByTestId('day-prices').count()).toBe(0);
    await page.context().close();
  }, 60_000);

  it('Wallonia on a 96-quarter day: the all-in price follows the bands', async () => {
    const prices = await api<DayPricesAnswer>('wallonia', `prices/${HOME}?date=2026-03-28`);
    expect(prices.points).toHaveLength(96);
    expect(new Set(prices.points.map((p) => p.all_in_eur_per_kwh)).size).toBe(3);
    const { page } = await open('wallonia', '#/day?date=2026-03-28');
    const chart = page.getByTestId('day-prices');
    await chart.locator('canvas').waitFor();
    await chart.locator('summary').click();
    const shown = await chart.locator('.chart-table tbody tr td:first-of-type').allTextContents();
    expect(shown).toEqual(prices.points.map((p) => eur4(p.all_in_eur_per_kwh)));
    await page.context().close();
  }, 60_000);

  it('Flanders with a fixed price: no prices chart on a day without day-ahead prices', async () => {
    const prices = await api<DayPricesAnswer>('flanders', `prices/${HOME}?date=2026-03-28`);
    expect(new Set(prices.points.map((p) => p.all_in_eur_per_kwh)).size).toBe(1);
    const { page } = await open('flanders', '#/day?date=2026-03-28');
    await page.getByTestId('tot-cost').waitFor();
    expect(await page.getByTestId('day-prices').count()).toBe(0);
    expect(await page.getByTestId('prices-none').count()).toBe(0);
    await page.context().close();
  }, 60_000);
});

describe('an off-grid site (no grid meter)', () => {
  it('says so on the capacity, day and history pages instead of zeros', async () => {
    const rt = await api<Snapshot>('flanders', `realtime/${CABIN}`, CABIN);
    expect(rt.grid_power_w).toBeNull();
    expect(Object.keys(rt.devices?.sc1?.fields ?? {})).not.toContain('grid_power_w');
    const { page, errors } = await open('flanders', '#/capacity', CABIN);
    await page.getByTestId('off-grid').waitFor();
    expect(await text(page, 'off-grid')).toContain('This home has no grid meter (an off-grid site)');
    await shot(page, 'capacity-off-grid');
    for (const id of ['cap-our-peak', 'cap-rule', 'cap-quarter']) expect(await page.getByTestId(id).count()).toBe(0);

    await page.goto(`${bases.get('flanders')}#/day?date=2026-03-29`);
    await page.getByTestId('off-grid').waitFor();
    for (const id of ['tot-consumed', 'tot-returned', 'tot-cost', 'band-costs', 'breakdown'])
      expect(await page.getByTestId(id).count()).toBe(0);
    // what the site does have is still shown
    expect(await text(page, 'tot-solar')).toMatch(/\d.*kWh$/);

    await page.goto(`${bases.get('flanders')}#/history?period=month&date=2026-03-15&metric=pv`);
    await page.getByTestId('off-grid').waitFor();
    const heads = await page.getByTestId('hist-totals').locator('tbody th').allTextContents();
    expect(heads).not.toContain('Consumed from the grid');
    expect(heads).not.toContain('Cost');
    expect(heads).toContain('Solar production');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 90_000);
});
