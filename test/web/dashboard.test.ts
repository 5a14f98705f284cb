/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a real
 * `kwartier demo`: simulators → edge → embedded broker → server (SQLite) → API, WebSocket and the
 * built dashboard, with 35 days of backfilled history. Screenshots of every page, on desktop and
 * phone widths, light and dark, land in test-results/screenshots/.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDateStart, localDayLength } from '../../src/core/time/zone.js';
import { ensureWebBuilt, launchChromium } from '../helpers/browser.js';
import { spawnCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { midQuarter } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const TOKEN = 'web-test-token-0123456789abcdef';
const DEVICE = 'demo-home';

let child: ChildProcess | null = null;
/** The demo's output, kept in test-results/web-demo.log to explain a failure. */
let demoOutput = '';
let browser: Browser | null = null;
let base = '';
const dataDir = mkdtempSync(join(tmpdir(), 'kw-web-'));

function startDemo(port: number): Promise<void> {
  const c = spawnCli(
    ['demo', '--port', String(port), '--data-dir', dataDir, '--device-id', DEVICE, '--backfill', '35'],
    {
      env: { KWARTIER_API_TOKEN: TOKEN, KWARTIER_LOG_LEVEL: 'warn' },
    },
  );
  child = c;
  let out = '';
  let err = '';
  c.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    demoOutput = (demoOutput + d.toString()).slice(-200_000);
  });
  c.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
    demoOutput = (demoOutput + d.toString()).slice(-200_000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${out} ${err}`)), 150_000);
    const check = setInterval(() => {
      if (out.includes('kwartier demo: running')) {
        clearTimeout(timer);
        clearInterval(check);
        resolve();
      }
    }, 100);
    c.once('exit', (code) => {
      clearTimeout(timer);
      clearInterval(check);
      reject(new Error(`demo exited with ${code}: ${out} ${err}`));
    });
  });
}

beforeAll(async () => {
  await ensureWebBuilt();
  const port = await freePort();
  await startDemo(port);
  base = `http://127.0.0.1:${port}/`;
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (child && child.exitCode === null) {
    const c = child;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        c.kill('SIGKILL');
        resolve();
      }, 10_000);
      c.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      c.kill('SIGINT');
    });
  }
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  writeFileSync(join(ROOT, 'test-results', 'web-demo.log'), demoOutput);
  rmSync(dataDir, { recursive: true, force: true });
});

interface Ctx {
  ctx: BrowserContext;
  page: Page;
  errors: string[];
  /** URLs of the WebSockets the page opened. */
  sockets: string[];
  /** The snapshots the page's WebSocket received: timestamp and grid power. */
  frames: Array<{ timestamp: unknown; grid_power_w: unknown }>;
}

async function open(
  opts: { width?: number; height?: number; scheme?: 'light' | 'dark'; locale?: string; signedIn?: boolean } = {},
): Promise<Ctx> {
  if (!browser) throw new Error('no browser');
  const ctx = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
    colorScheme: opts.scheme ?? 'light',
    locale: opts.locale ?? 'en-GB',
  });
  const page = await ctx.newPage();
  const errors: string[] = [];
  const sockets: string[] = [];
  const frames: Array<{ timestamp: unknown; grid_power_w: unknown }> = [];
  page.on('websocket', (ws) => {
    sockets.push(ws.url());
    ws.on('framereceived', (f) => {
      try {
        const m = JSON.parse(String(f.payload)) as { timestamp?: unknown; grid_power_w?: unknown };
        if (m.timestamp !== undefined) frames.push({ timestamp: m.timestamp, grid_power_w: m.grid_power_w });
      } catch {
        // not a snapshot
      }
    });
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  if (opts.signedIn !== false) {
    await page.goto(`${base}#token=${encodeURIComponent(TOKEN)}&device=${DEVICE}`);
    await page.getByTestId('live-grid').waitFor();
  }
  return { ctx, page, errors, sockets, frames };
}

const text = async (page: Page, testId: string) =>
  ((await page.getByTestId(testId).first().textContent()) ?? '').trim();

/** Waits until a test id shows a real value (not the placeholder, not NaN). */
async function realValue(page: Page, testId: string, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await text(page, testId).catch(() => '');
    if (v && v !== '—' && !/NaN|undefined|Infinity/.test(v) && /\d/.test(v)) return v;
    if (Date.now() > end) {
      const main = (
        (await page
          .locator('main')
          .textContent()
          .catch(() => '')) ?? ''
      ).slice(0, 400);
      throw new Error(`${testId} has no real value: ${JSON.stringify(v)}; the page says: ${main}`);
    }
    await page.waitForTimeout(200);
  }
}

/** Pixels of a chart's canvas drawn in a theme colour (CSS variable): proof the series is on screen. */
async function seriesPixels(page: Page, testId: string, cssVar: string): Promise<number> {
  return page.evaluate<number>(`(() => {
    const canvas = document.querySelector('[data-testid="${testId}"] .chart-canvas canvas');
    if (!canvas) return -1;
    const hex = getComputedStyle(document.documentElement).getPropertyValue('${cssVar}').trim();
    const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] > 200 && Math.abs(px[i] - want[0]) < 24 && Math.abs(px[i + 1] - want[1]) < 24 && Math.abs(px[i + 2] - want[2]) < 24) n++;
    }
    return n;
  })()`);
}

async function noBrokenText(page: Page): Promise<void> {
  const body = (await page.locator('main').textContent()) ?? '';
  expect(body).not.toMatch(/NaN|undefined|Infinity|\[object/);
}

function urlParam(page: Page, key: string): string | null {
  const hash = new URL(page.url()).hash;
  return new URLSearchParams(hash.split('?')[1] ?? '').get(key);
}

describe('dashboard against kwartier demo', () => {
  it('signs in from a link and takes the token out of the address', async () => {
    const { ctx, page, errors } = await open();
    expect(page.url()).not.toContain('token');
    expect(page.url()).toContain('#/live');
    expect(await page.evaluate<string | null>("localStorage.getItem('kwartier.token')")).toBe(TOKEN);
    expect(await text(page, 'device')).toMatch(new RegExp(`${DEVICE}$`));
    expect(errors).toEqual([]);
    await ctx.close();
  }, 120_000);

  it('live: real numbers from the WebSocket that change within seconds', async () => {
    const { ctx, page, errors, sockets, frames } = await open();
    for (const id of [
      'live-grid',
      'live-load',
      'live-soc',
      'live-avg15',
      'live-peak',
      'flow-grid',
      'flow-home',
      'flow-soc',
      'flow-car',
      'live-car',
    ]) {
      await realValue(page, id);
    }
    // The demo's NRGkick: the car hangs off the home node, with its session's energy beside its watts.
    expect(await page.locator('[data-node="car"]').count()).toBe(1);
    expect(['out', 'idle']).toContain(await page.locator('[data-link="car"]').getAttribute('data-dir'));
    expect(await page.locator('[data-testid="live-car"]').locator('..').textContent()).toMatch(
      /(charging|not charging) · [\d.,]+\s?kWh this session/,
    );
    await expect.poll(() => text(page, 'conn'), { timeout: 30_000 }).toMatch(/Live/);
    // The socket is opened with a single-use ticket: the token never appears in its URL (proxies log URLs).
    expect(sockets.length).toBeGreaterThan(0);
    for (const url of sockets) {
      expect(url).toMatch(/[?&]ticket=[A-Za-z0-9_-]{43}$/);
      expect(url).not.toContain('token=');
      expect(url).not.toContain(TOKEN);
    }
    // the diagram's text alternative says the same as the numbers
    const desc = (await page.locator('[data-testid="power-flow"] desc').textContent()) ?? '';
    expect(desc).toMatch(/Grid (importing|exporting|idle)/);
    expect(desc).toMatch(/Car (charging|not charging) [\d.,]+\s?k?W\.$/);
    expect(desc).toContain(await text(page, 'flow-soc'));
    // the snapshot changes: new snapshots with the simulated home's watts keep arriving over the
    // WebSocket, and the page shows them (a car charging at night can hold the watts steady at the
    // page's precision for minutes, so the frames are counted, not the rounded text)
    const before = frames.length;
    await expect
      .poll(() => new Set(frames.slice(before).map((f) => f.timestamp)).size, { timeout: 20_000 })
      .toBeGreaterThan(2);
    expect(frames.slice(before).every((f) => typeof f.grid_power_w === 'number')).toBe(true);
    const latest = frames.at(-1)?.grid_power_w as number;
    await expect.poll(() => text(page, 'live-grid'), { timeout: 5000 }).toMatch(/\d/);
    expect(Number.isFinite(latest)).toBe(true);
    expect(await text(page, 'age')).toMatch(/Last reading .*ago/);
    await noBrokenText(page);
    expect(errors).toEqual([]);
    await ctx.close();
  }, 120_000);

  it('live: a capacity-tariff alert from the edge shows as a banner, in the page language', async () => {
    const { ctx, page, errors } = await open({ locale: 'nl-BE' });
    await realValue(page, 'live-grid');
    const broker = /MQTT broker (mqtt:\/\/127\.0\.0\.1:\d+)/.exec(demoOutput)?.[1];
    expect(broker).toBeDefined();
    // As the demo's edge would: its identity publishes on its own capacity topic.
    const edge = await mqtt.connectAsync(broker ?? '', { username: DEVICE, clientId: 'web-test-alert' });
    // The banner is for this quarter and goes when it ends: not in its last seconds.
    await midQuarter(0, 30);
    const quarter = Math.floor(Date.now() / 900_000) * 900_000;
    const alert = {
      kind: 'alert',
      type: 'capacity_alert',
      quarter_start: new Date(quarter).toISOString(),
      projected_w: 6066.7,
      limit_w: 3000,
      headroom_w: -3200,
      reason: 'lead_time',
    };
    const banner = page.getByTestId('capacity-alert');
    for (let i = 0; i < 20 && !(await banner.isVisible()); i++) {
      await edge.publishAsync(`energy/${DEVICE}/capacity`, JSON.stringify(alert), { qos: 1 });
      await page.waitForTimeout(500);
    }
    await edge.endAsync();
    // nl-BE: the Dutch message around powers formatted by Intl (6,07 kW; 3,00 kW).
    await expect.poll(() => banner.textContent(), { timeout: 10_000 }).toContain('nieuwe maandpiek');
    const t = (await banner.textContent()) ?? '';
    expect(t).toContain('6,07\u00a0kW');
    expect(t).toContain('3,00\u00a0kW');
    expect(await banner.getAttribute('role')).toBe('alert');
    // The alert is not taken for a snapshot: the live numbers are still real.
    await realValue(page, 'live-grid');
    expect(errors).toEqual([]);
    await ctx.close();
  }, 120_000);

  it('day: date in the address, previous / next / today move the day and its totals', async () => {
    const { ctx, page, errors } = await open();
    await page.getByTestId('nav-day').click();
    await expect.poll(() => urlParam(page, 'date')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const today = urlParam(page, 'date') as string;
    const todayConsumed = await realValue(page, 'tot-consumed');
    expect(todayConsumed).toMatch(/kWh$/);
    await realValue(page, 'tot-cost');
    // The demo's car charger: today's live snapshots carry its power, so the day has an EV total.
    expect(await realValue(page, 'tot-car')).toMatch(/kWh$/);
    await page.getByTestId('day-chart').locator('canvas').waitFor();
    expect(await page.getByTestId('day-next').isDisabled()).toBe(true);

    await page.getByTestId('day-prev').click();
    await expect.poll(() => urlParam(page, 'date')).not.toBe(today);
    const yesterday = urlParam(page, 'date') as string;
    expect(Date.parse(today) - Date.parse(yesterday)).toBe(86_400_000);
    await expect.poll(() => text(page, 'tot-consumed'), { timeout: 30_000 }).not.toBe(todayConsumed);
    const yConsumed = await realValue(page, 'tot-consumed');
    const ySolar = await realValue(page, 'tot-solar');
    expect(ySolar).toMatch(/kWh$/);
    // The backfilled day has no charger readings: no EV total (absent, not 0 kWh).
    expect(await page.getByTestId('tot-car').count()).toBe(0);
    // the chart shows the new day: its import and solar lines are drawn
    await expect.poll(() => seriesPixels(page, 'day-chart', '--c-import'), { timeout: 30_000 }).toBeGreaterThan(100);
    await expect.poll(() => seriesPixels(page, 'day-chart', '--c-pv'), { timeout: 30_000 }).toBeGreaterThan(100);
    // a whole simulated day: energy both ways and a positive cost
    expect(Number.parseFloat(yConsumed.replace(',', '.'))).toBeGreaterThan(0);
    expect(await text(page, 'day-date')).toMatch(new RegExp(String(Number(yesterday.slice(8)))));

    await page.getByTestId('day-prev').click();
    await expect.poll(() => urlParam(page, 'date')).not.toBe(yesterday);
    await expect.poll(() => text(page, 'tot-consumed'), { timeout: 30_000 }).not.toBe(yConsumed);
    await page.getByTestId('day-next').click();
    await expect.poll(() => urlParam(page, 'date')).toBe(yesterday);
    await expect.poll(() => text(page, 'tot-consumed'), { timeout: 30_000 }).toBe(yConsumed);
    await page.getByTestId('day-today').click();
    await expect.poll(() => urlParam(page, 'date')).toBe(today);

    // the address alone opens a day; the data table is the chart's text alternative
    await page.goto(`${base}#/day?date=${yesterday}`);
    await expect.poll(() => text(page, 'tot-consumed'), { timeout: 30_000 }).toBe(yConsumed);
    await page.getByTestId('day-chart').locator('summary').click();
    // One row per local hour: 23 on the day the clocks go forward (the autumn day's two 02:00 hours
    // share a row).
    const [yy, ym, yd] = yesterday.split('-').map(Number) as [number, number, number];
    const hours = Math.min(
      24,
      localDayLength(localDateStart(yy, ym, yd, 'Europe/Brussels'), 'Europe/Brussels') / 3_600_000,
    );
    expect(await page.getByTestId('day-chart').locator('.chart-table tbody tr').count()).toBe(hours);
    await noBrokenText(page);
    expect(errors).toEqual([]);
    await ctx.close();
  }, 150_000);

  it('history: week, month and year bars beside the previous period', async () => {
    const { ctx, page, errors } = await open();
    await page.getByTestId('nav-history').click();
    for (const period of ['week', 'month', 'year'] as const) {
      await page.locator(`label:has([data-testid="period-${period}"])`).click();
      await expect.poll(() => urlParam(page, 'period')).toBe(period);
      const totals = page.getByTestId('hist-totals');
      await totals.waitFor();
      const firstRow = totals.locator('tbody tr').first();
      await expect
        .poll(async () => (await firstRow.locator('td').first().textContent()) ?? '', { timeout: 30_000 })
        .toMatch(/\d.*kWh/);
      const cost = (await totals.locator('tbody tr').last().locator('td').first().textContent()) ?? '';
      expect(cost).toMatch(/€/);
      await page.getByTestId('hist-chart').locator('canvas').waitFor();
      // both periods' bars are drawn (35 days of history cover this week and month and the ones before)
      await expect.poll(() => seriesPixels(page, 'hist-chart', '--c-import'), { timeout: 30_000 }).toBeGreaterThan(100);
      if (period !== 'year') {
        await expect
          .poll(() => seriesPixels(page, 'hist-chart', '--c-previous'), { timeout: 30_000 })
          .toBeGreaterThan(100);
      }
      const bars = period === 'year' ? 12 : period === 'week' ? 7 : 28;
      await page.getByTestId('hist-chart').locator('summary').click();
      expect(await page.getByTestId('hist-chart').locator('.chart-table tbody tr').count()).toBeGreaterThanOrEqual(
        bars,
      );
    }
    // the previous week: 35 days of history cover it and the one before
    await page.locator('label:has([data-testid="period-week"])').click();
    await page.getByTestId('hist-prev').click();
    const totals = page.getByTestId('hist-totals');
    await expect
      .poll(async () => (await totals.locator('tbody tr').first().locator('td').nth(1).textContent()) ?? '', {
        timeout: 20_000,
      })
      .toMatch(/\d.*kWh/);
    await page.getByTestId('hist-metric').selectOption('cost');
    await expect.poll(() => urlParam(page, 'metric')).toBe('cost');
    await page.getByTestId('hist-chart').locator('canvas').waitFor();
    await noBrokenText(page);
    expect(errors).toEqual([]);
    await ctx.close();
  }, 150_000);

  it('capacity tariff: the running quarter, this month’s peaks and the last months', async () => {
    const { ctx, page, errors } = await open();
    await page.getByTestId('nav-capacity').click();
    await realValue(page, 'cap-sofar');
    await realValue(page, 'cap-projected');
    await realValue(page, 'cap-our-peak');
    await realValue(page, 'cap-meter-peak');
    await realValue(page, 'cap-avg12');
    await realValue(page, 'cap-yearly');
    const progress = page.getByTestId('cap-progress');
    const now = Number(await progress.getAttribute('aria-valuenow'));
    expect(now).toBeGreaterThanOrEqual(0);
    expect(now).toBeLessThanOrEqual(900);
    expect(await progress.getAttribute('aria-valuemax')).toBe('900');
    const danger = ((await page.getByTestId('cap-quarter').getAttribute('class')) ?? '').includes('is-danger');
    expect(await text(page, 'cap-alert')).toMatch(danger ? /new monthly peak/ : /Below this month/);
    await page.getByTestId('cap-history').locator('canvas').waitFor();
    await page.getByTestId('cap-quarters').locator('canvas').waitFor();
    // The month's quarters: one tick a day or fewer, each date written once (not "1 Dec, 1 Dec, 1 Dec").
    const ticks = ((await page.getByTestId('cap-quarters').locator('.chart-canvas').getAttribute('data-x-ticks')) ?? '')
      .split('|')
      .filter(Boolean);
    expect(ticks.length).toBeGreaterThan(1);
    expect(new Set(ticks).size).toBe(ticks.length);
    await noBrokenText(page);
    expect(errors).toEqual([]);
    await ctx.close();
  }, 120_000);

  it("shows times in the server's time zone (GET /api/v1/devices) and remembers it", async () => {
    const { ctx, page, errors } = await open({ signedIn: false });
    // The demo's own answer: its device and its zone.
    const real = await page.request.get(`${base}api/v1/devices`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(real.status()).toBe(200);
    const body = (await real.json()) as { timezone: string; devices: Array<{ device_id: string; last_seen: string }> };
    expect(body.timezone).toBe('Europe/Brussels');
    expect(body.devices.map((d) => d.device_id)).toEqual([DEVICE]);
    expect(body.devices[0]!.last_seen).toMatch(/\+0[12]:00$/);
    // The same server in Nepal (+05:45: its quarters start at other minutes than Brussels's).
    const ZONE = 'Asia/Kathmandu';
    await ctx.route('**/api/v1/devices', async (route) => {
      const res = await route.fetch();
      await route.fulfill({ response: res, json: { ...(await res.json()), timezone: ZONE } });
    });
    await page.goto(`${base}#token=${encodeURIComponent(TOKEN)}&device=${DEVICE}`);
    await page.getByTestId('live-grid').waitFor();
    await page.getByTestId('nav-capacity').click();
    await realValue(page, 'cap-sofar');
    const hhmm = (ms: number, zone: string): string =>
      new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
        new Date(ms),
      );
    const q = Math.floor(Date.now() / 900_000) * 900_000;
    const heading = (await page.getByTestId('cap-quarter').locator('h2').textContent()) ?? '';
    // The running quarter (or the one before, if a quarter ended meanwhile), in Nepal's time.
    expect(
      [hhmm(q, ZONE), hhmm(q - 900_000, ZONE)].some((t) => heading.includes(t)),
      heading,
    ).toBe(true);
    expect(heading).not.toContain(hhmm(q, 'Europe/Brussels'));
    expect(await page.evaluate<string | null>("localStorage.getItem('kwartier.timezone')")).toBe(ZONE);
    expect(errors).toEqual([]);
    await ctx.close();
  }, 120_000);

  it('switches language nl → fr → en: labels and number formats follow, the choice is kept', async () => {
    const { ctx, page, errors } = await open({ locale: 'nl-BE' });
    // chosen from the browser's languages
    expect(await page.evaluate<string>('document.documentElement.lang')).toBe('nl-BE');
    expect(await text(page, 'nav-day')).toBe('Dag');
    await page.getByTestId('nav-day').click();
    const nl = await realValue(page, 'tot-consumed');
    expect(nl).toMatch(/^\d+,\d+\s?kWh$/);

    await page.getByTestId('lang').selectOption('fr');
    await expect.poll(() => text(page, 'nav-day')).toBe('Jour');
    expect(await text(page, 'nav-history')).toBe('Historique');
    expect(await page.evaluate<string>('document.documentElement.lang')).toBe('fr-BE');
    expect(await page.locator('h2').first().textContent()).toBe('Totaux de la journée');

    await page.getByTestId('lang').selectOption('en');
    await expect.poll(() => text(page, 'nav-day')).toBe('Day');
    expect(await page.locator('h2').first().textContent()).toBe('Totals of the day');
    expect(await realValue(page, 'tot-consumed')).toMatch(/^\d+\.\d+\s?kWh$/);

    await page.reload();
    await expect.poll(() => text(page, 'nav-day')).toBe('Day');
    expect(errors).toEqual([]);
    await ctx.close();
  }, 120_000);

  it('asks for the token again when the server refuses it, and signs in from the form', async () => {
    const { ctx, page } = await open();
    await page.evaluate("localStorage.setItem('kwartier.token', 'a-wrong-token-0123456789')");
    await page.reload();
    await page.getByTestId('login-form').waitFor({ timeout: 30_000 });
    expect(await page.getByRole('alert').first().textContent()).toMatch(/refused/);
    expect(await page.evaluate<string | null>("localStorage.getItem('kwartier.token')")).toBeNull();
    // a wrong token at the form is refused there
    await page.getByTestId('login-token').fill('still-wrong-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => text(page, 'login-error')).toMatch(/refused/);
    // a device the token does not hold
    await page.getByTestId('login-token').fill(TOKEN);
    await page.getByTestId('login-device').fill('someone-else');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => text(page, 'login-error')).toMatch(/does not give access/);
    await page.getByTestId('login-device').fill(DEVICE);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await realValue(page, 'live-grid');
    expect(await page.evaluate<string | null>("localStorage.getItem('kwartier.token')")).toBe(TOKEN);
    await ctx.close();
  }, 120_000);

  it('opens /?page=history&period=… and is keyboard-navigable', async () => {
    const { ctx, page } = await open();
    await page.goto(`${base}?page=history&period=month`);
    await expect.poll(() => new URL(page.url()).hash).toMatch(/^#\/history\?.*period=month/);
    // the pages are links in the tab order, the current one marked
    await page.getByTestId('nav-capacity').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).hash).toMatch(/^#\/capacity/);
    await expect.poll(() => page.getByTestId('nav-capacity').getAttribute('aria-current')).toBe('page');
    const focusVisible = await page.evaluate<string>(
      'document.activeElement ? getComputedStyle(document.activeElement).outlineStyle : ""',
    );
    expect(focusVisible).toBe('solid');
    await ctx.close();
  }, 120_000);

  it('writes a screenshot of every page: desktop and phone, light and dark', async () => {
    const written: string[] = [];
    for (const [name, width, height] of [
      ['desktop', 1280, 900],
      ['phone', 390, 844],
    ] as const) {
      for (const scheme of ['light', 'dark'] as const) {
        const { ctx, page, errors } = await open({ width, height, scheme });
        const checks: Record<string, string> = {
          live: 'live-grid',
          day: 'tot-consumed',
          history: 'hist-totals',
          capacity: 'cap-our-peak',
        };
        for (const [p, id] of Object.entries(checks)) {
          await page.getByTestId(`nav-${p}`).click();
          if (p === 'day') {
            // yesterday: a whole day with sun and battery cycles
            await realValue(page, id);
            const before = await text(page, id);
            await page.getByTestId('day-prev').click();
            await expect.poll(() => text(page, id), { timeout: 30_000 }).not.toBe(before);
          }
          if (p === 'history')
            await page.getByTestId(id).locator('tbody tr td').first().filter({ hasText: 'kWh' }).waitFor();
          else await realValue(page, id);
          if (p !== 'live') await page.locator('.chart-canvas canvas').first().waitFor();
          await page.waitForTimeout(300);
          // nothing sticks out sideways on a phone
          const overflow = await page.evaluate<number>(
            'document.documentElement.scrollWidth - document.documentElement.clientWidth',
          );
          expect(overflow, `${p} on ${name} ${scheme}`).toBeLessThanOrEqual(0);
          const file = join(SHOTS, `${p}-${name}-${scheme}.png`);
          await page.screenshot({ path: file, fullPage: true });
          written.push(file);
        }
        expect(await page.evaluate<string>('document.documentElement.dataset.theme')).toBe(scheme);
        expect(errors).toEqual([]);
        await ctx.close();
      }
    }
    for (const f of written) expect(statSync(f).size).toBeGreaterThan(10_000);
    expect(written).toHaveLength(16);
  }, 300_000);

  it('the theme toggle overrides the system and is kept', async () => {
    const { ctx, page } = await open({ scheme: 'light' });
    const bg = () => page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    const light = await bg();
    await page.getByTestId('theme').click(); // auto → light
    await page.getByTestId('theme').click(); // light → dark
    expect(await page.evaluate<string>('document.documentElement.dataset.theme')).toBe('dark');
    expect(await bg()).not.toBe(light);
    await page.reload();
    await page.getByTestId('live-grid').waitFor();
    expect(await page.evaluate<string>('document.documentElement.dataset.theme')).toBe('dark');
    await ctx.close();
  }, 120_000);
});
