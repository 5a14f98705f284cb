/**
 * An off-grid home in a real browser (Debian's Chromium through playwright-core) against a real
 * server on loopback: the API (createApi, Fastify) over a real SQLite store holding the snapshots
 * the merger makes of the recorded devices (the drivers' readings of an OutBack MATE3S with two
 * Radians, two FLEXmax and a FLEXnet DC, and two TriStar MPPTs at night: the fixtures' expected
 * files). The live page draws PV → battery → home without a grid node, with the battery's voltage
 * and charge state, in each language; the capacity and day pages say there is no grid meter; the
 * API answers null, not 0, for what the home does not have.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapacityAnswer, CostEstimateAnswer } from '../../src/core/api/index.js';
import { Merger, type MergerSource } from '../../src/core/merger.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import { outback } from '../../src/drivers/outback/definition.js';
import { tristarMppt } from '../../src/drivers/tristar-mppt/definition.js';
import { createSqliteStore, type Store } from '../../src/server/store/index.js';
import { ensureWebBuilt, launchChromium, ROOT, WEB_DIST } from '../helpers/browser.js';
import { fixtureJson } from '../helpers/fixtures.js';
import { NOW, TOKENS, testApi, testConfig } from '../server/api/setup.js';

const CABIN = 'cabin';
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const STEP_MS = 30_000;
/** Six hours of the cabin up to NOW (2026-03-30 12:07:30 +02:00). */
const FROM = NOW - 6 * 3_600_000;

interface Expected {
  fields: Record<string, unknown>;
  device_fields?: Record<string, unknown>;
}
function recorded(file: string): Record<string, unknown> {
  const e = fixtureJson<Expected>(file);
  return { ...e.fields, ...(e.device_fields ?? {}) };
}

/** The cabin's snapshots: the merger over the recorded devices' readings, every 30 s. */
function cabinSnapshots(): Snapshot[] {
  const sources: MergerSource[] = [
    { name: 'mate3s', kind: 'inverter', intervalMs: 5000, type: 'outback', roles: outback.roles },
    { name: 'sc1', kind: 'inverter', intervalMs: 5000, type: 'tristar-mppt', roles: tristarMppt.roles },
    { name: 'sc2', kind: 'inverter', intervalMs: 5000, type: 'tristar-mppt', roles: tristarMppt.roles },
  ];
  const readings = {
    mate3s: recorded('outback/mate3s-chinezbrun.expected.json'),
    sc1: recorded('tristar-mppt/iobroker-night-12v.expected.json'),
    sc2: recorded('tristar-mppt/dodo-night-24v.expected.json'),
  };
  const merger = new Merger(CABIN, sources, 3, FROM, { perDevice: true });
  const out: Snapshot[] = [];
  for (let at = FROM; at <= NOW; at += STEP_MS) {
    for (const [source, fields] of Object.entries(readings)) merger.update({ source, at, fields });
    out.push(merger.snapshot(at));
  }
  return out;
}

let dir = '';
let store: Store;
let app: FastifyInstance;
let base = '';
let browser: Browser;
let latest: Snapshot;

beforeAll(async () => {
  await ensureWebBuilt();
  dir = mkdtempSync(join(tmpdir(), 'kw-offgrid-'));
  store = createSqliteStore(join(dir, 'store.db'), { timezone: 'Europe/Brussels' });
  await store.migrate();
  const snaps = cabinSnapshots();
  latest = snaps[snaps.length - 1] as Snapshot;
  await store.insert({
    deviceId: CABIN,
    outboxId: null,
    floorSeq: null,
    readings: snaps.map((snapshot) => ({ snapshot, seq: null })),
  });
  const config = testConfig({ devices: { [CABIN]: { tariffs: 'flanders.yaml' } } });
  ({ app } = await testApi(store, {
    config,
    configDir: join(ROOT, 'config', 'tariffs'),
    webRoot: WEB_DIST,
    now: () => NOW,
  }));
  base = `${await app.listen({ host: '127.0.0.1', port: 0 })}/`;
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function api<T>(path: string): Promise<T> {
  const r = await fetch(`${base}api/v1/${path}`, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
  expect(r.status, path).toBe(200);
  return (await r.json()) as T;
}

/** The cabin's live page, signed in, in `locale`'s language. */
async function open(locale = 'en-GB'): Promise<{ page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${base}#token=${encodeURIComponent(TOKENS.admin)}&device=${CABIN}`);
  await page.getByTestId('live-off-grid').waitFor();
  return { page, errors };
}

const text = async (page: Page, testId: string) =>
  ((await page.getByTestId(testId).first().textContent()) ?? '').trim();

describe('an off-grid home (OutBack + two TriStar MPPTs, no grid meter)', () => {
  it('the API answers its grid values null and its load from the inverters', async () => {
    const rt = await api<Snapshot>(`realtime/${CABIN}`);
    expect(rt.grid_power_w).toBeNull();
    expect(rt.grid_import_t1_kwh).toBeNull();
    expect(rt.grid_avg_15m_w).toBeNull();
    expect(rt.grid_monthly_peak_w).toBeNull();
    expect(rt.pv_power_w).toBe(678);
    expect(rt.load_power_w).toBe(700);
    expect(rt.battery_voltage_v).toBe(50.6);
    expect(rt.charge_state).toBe('bulk');
    expect(Object.keys(rt.devices ?? {}).sort()).toEqual(['mate3s', 'sc1', 'sc2']);
    expect(latest.load_power_w).toBe(700);
  });

  it('capacity and cost answers: no peak and no grid energy, not zeros', async () => {
    const cap = await api<CapacityAnswer>(`capacity-tariff/${CABIN}`);
    const cost = await api<CostEstimateAnswer>(`cost-estimate/${CABIN}?period=2026-03-30`);
    const ss = await api<Record<string, unknown>>(`self-sufficiency/${CABIN}?period=2026-03-30`);
    expect(cap.quarters.length).toBeGreaterThan(2000); // every quarter of March up to now, none with an import
    expect(cap.quarters.every((q) => q.avg_import_w === null)).toBe(true);
    expect(cap.month_peak_w).toBeNull();
    expect(cap.meter_month_peak_w).toBeNull();
    expect(cap.rolling_12m_avg_w).toBeNull();
    expect(cap.forecast?.projected_w).toBeNull();
    expect(cost.consumed_kwh).toBeNull();
    expect(cost.returned_kwh).toBeNull();
    expect(cost.direct_consumption_kwh).toBeNull();
    // A tariff is configured, but an off-grid home has no electricity bill: no fixed fees, no
    // capacity floor priced as if it had a grid connection.
    expect(cost.cost_eur).toBeNull();
    expect(cost.cost_without_pv_eur).toBeNull();
    expect(cost.pv_profit_eur).toBeNull();
    expect(cost.breakdown.map((b) => [b.kind, b.label, b.amount_eur])).toEqual([
      ['unpriced', 'Off-grid: no grid meter, so no electricity bill to estimate', null],
    ]);
    expect(ss.self_sufficiency_pct).toBeNull();
    expect(ss.imported_kwh).toBeNull();
    expect(ss.exported_kwh).toBeNull();
  });

  it('live: PV → battery → home without a grid node, with the battery’s voltage and charge state', async () => {
    const { page, errors } = await open();
    expect(await page.locator('[data-node="grid"]').count()).toBe(0);
    expect(await page.locator('[data-link="grid"]').count()).toBe(0);
    expect(await text(page, 'flow-pv')).toBe('678\u00a0W');
    expect(await text(page, 'flow-battery')).toBe('180\u00a0W');
    expect(await page.locator('[data-link="battery"]').getAttribute('data-dir')).toBe('in'); // discharging into the hub
    expect(await text(page, 'flow-home')).toBe('700\u00a0W');
    expect(await text(page, 'flow-soc')).toBe('96%');
    expect(await text(page, 'flow-voltage')).toBe('50.6\u00a0V');
    expect(await text(page, 'flow-charge-state')).toBe('bulk');
    const desc = await page.locator('[data-testid="power-flow"] desc').textContent();
    expect(desc).toContain('No grid connection');
    expect(desc).not.toContain('Grid ');
    expect(await text(page, 'live-battery-voltage')).toBe('50.6\u00a0V');
    expect(await text(page, 'live-charge-state')).toBe('bulk');
    expect(await text(page, 'live-load')).toBe('700\u00a0W');
    expect(await text(page, 'live-off-grid')).toContain('no grid meter');
    // No grid numbers at all: nothing shows 0 W for what the home does not have.
    // No charger on this site: no car node, no car number.
    expect(await page.locator('[data-node="car"]').count()).toBe(0);
    expect(await page.locator('[data-link="car"]').count()).toBe(0);
    for (const id of ['live-grid', 'live-avg15', 'live-peak', 'live-self', 'live-car'])
      expect(await page.getByTestId(id).count(), id).toBe(0);
    const values = await page.locator('[data-testid="live-stats"] .stat-value').allTextContents();
    expect(values.filter((v) => /^0(\s|\u00a0)?W$/.test(v.trim()))).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'live-off-grid.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('live in Dutch and French: the labels, the voltage in the locale and the charge state translated', async () => {
    for (const [locale, label, volts] of [
      ['nl-BE', 'Batterijspanning', '50,6\u00a0V'],
      ['fr-BE', 'Tension de la batterie', '50,6\u00a0V'],
    ] as const) {
      const { page, errors } = await open(locale);
      expect(await text(page, 'flow-voltage')).toBe(volts);
      expect(await page.locator('[data-testid="live-stats"] dt').allTextContents()).toContain(label);
      expect(await text(page, 'live-off-grid')).toMatch(locale === 'nl-BE' ? /geen netmeter/ : /pas de compteur/);
      expect(errors).toEqual([]);
      await page.context().close();
    }
  }, 60_000);

  it('capacity and day pages say there is no grid meter instead of zeros', async () => {
    const { page, errors } = await open();
    await page.goto(`${base}#/capacity`);
    await page.getByTestId('off-grid').waitFor();
    expect(await text(page, 'off-grid')).toContain('This home has no grid meter');
    for (const id of ['cap-our-peak', 'cap-rule', 'cap-quarter']) expect(await page.getByTestId(id).count()).toBe(0);
    await page.goto(`${base}#/day?date=2026-03-30`);
    await page.getByTestId('off-grid').waitFor();
    for (const id of ['tot-consumed', 'tot-returned', 'tot-cost', 'band-costs', 'breakdown'])
      expect(await page.getByTestId(id).count(), id).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});
