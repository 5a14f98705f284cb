/**
 * The Control page in a real browser (Debian's Chromium through playwright-core) against a real
 * home on loopback: `kwartier simulate` (a P1 meter and an NRGkick with a car) and `kwartier edge`
 * with a `control:` section as child processes, the server in process (embedded broker, SQLite, API,
 * the built dashboard). The owner's token (scope write) changes the car's mode on the page and sees
 * the edge acknowledge it; a read-only token sees the same page without the form; in nl and fr.
 * Screenshots land in test-results/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../src/core/validate.js';
import { silentLogger } from '../../src/lib/log.js';
import { ServerApp } from '../../src/server/app.js';
import { ServerConfigSchema } from '../../src/server/config.js';
import { childListening, childProcesses } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WEB = join(ROOT, 'web');
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const OWNER = 'owner-web-token-0123456789abcdef';
const VIEWER = 'viewer-web-token-0123456789abcdef';
const HOME = 'ctl-web-home';

const dir = mkdtempSync(join(tmpdir(), 'kw-control-web-'));
const children = childProcesses({ KWARTIER_LOG_LEVEL: 'warn' });
let server: ServerApp | null = null;
let browser: Browser | null = null;
let base = '';

/** Newest modification time under a directory (ms). */
function newest(d: string): number {
  let t = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = join(d, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds the dashboard when web/dist is missing or older than its sources. */
async function ensureBuilt(): Promise<void> {
  const index = join(WEB, 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(WEB)) return;
  const { build } = await import('vite');
  await build({ configFile: join(WEB, 'vite.config.ts'), logLevel: 'warn' });
}

beforeAll(async () => {
  await ensureBuilt();
  const [p1Port, kickPort, brokerPort, apiPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  server = new ServerApp({
    config: parseWithSchema(
      ServerConfigSchema,
      {
        store: { type: 'sqlite', path: join(dir, 'server.sqlite') },
        broker: { enabled: true, port: brokerPort },
        api: {
          port: apiPort,
          tokens: [
            { name: 'owner', token: OWNER, devices: [HOME], scope: 'write' },
            { name: 'viewer', token: VIEWER, devices: [HOME] },
          ],
        },
        devices: { [HOME]: {} },
      },
      'test',
    ),
    log: silentLogger(),
    webRoot: join(WEB, 'dist'),
    ingestOptions: { flushIntervalMs: 50 },
  });
  await server.start();
  base = `http://127.0.0.1:${apiPort}/`;
  const sim = children.start([
    'simulate',
    '--device',
    'dsmr',
    `127.0.0.1:${p1Port}`,
    '--device',
    'nrgkick',
    `127.0.0.1:${kickPort}`,
  ]);
  await childListening(sim, /nrgkick: an NRGkick/);
  const cfg = join(dir, 'edge.yaml');
  writeFileSync(
    cfg,
    [
      `device_id: ${HOME}`,
      'devices:',
      `  - {name: p1, type: dsmr, tcp: "127.0.0.1:${p1Port}"}`,
      `  - {name: car, type: nrgkick, host: 127.0.0.1, port: ${kickPort}, poll_interval_s: 1, control: true, settle_ms: 100}`,
      'control:',
      '  capacity_target_w: 2500',
      '  chargers:',
      '    car: {mode: max_under_peak, min_off_s: 0, min_on_s: 0}',
      'buffer:',
      `  db_path: ${join(dir, 'outbox.sqlite')}`,
      'mqtt: {host: 127.0.0.1, port: ' + brokerPort + ', tls: null}',
      '',
    ].join('\n'),
  );
  children.start(['edge', '--config', cfg]);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  mkdirSync(SHOTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await children.stopAll();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function open(token: string, lang = 'en'): Promise<Page> {
  const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 900 }, locale: lang });
  const page = await context.newPage();
  await page.addInitScript(`localStorage.setItem('kwartier.lang', ${JSON.stringify(lang)})`);
  await page.goto(`${base}#token=${encodeURIComponent(token)}&device=${HOME}`);
  await page.getByTestId('nav-control').click();
  return page;
}

const text = async (page: Page, id: string): Promise<string> =>
  ((await page.getByTestId(id).first().textContent()) ?? '').trim();

describe('the Control page', () => {
  it('shows the budget live and each charger; the owner changes the mode and the edge confirms it', async () => {
    const page = await open(OWNER);
    await page.getByTestId('charger-car').waitFor({ timeout: 60_000 });
    await page.getByTestId('control-budget').waitFor({ timeout: 60_000 });
    expect(await text(page, 'charger-mode-car')).toContain('As fast as the budget allows');
    expect(await text(page, 'control-target')).toMatch(/kW/);
    expect(await text(page, 'control-sync')).toBe('The edge runs on its own settings.');
    // The bar moves with the pushed snapshots: its remaining time changes.
    const first = await text(page, 'control-used');
    await expect.poll(() => text(page, 'control-used'), { timeout: 15_000 }).not.toBe(first);
    await page.screenshot({ path: join(SHOTS, 'control-desktop-en.png'), fullPage: true });

    await page.getByTestId('mode-car').selectOption('off');
    await page.getByTestId('apply-car').click();
    await expect.poll(() => text(page, 'control-sync'), { timeout: 30_000 }).toBe('The edge applies revision 1.');
    await expect.poll(() => text(page, 'charger-mode-car'), { timeout: 15_000 }).toContain('Off');
    await expect.poll(() => text(page, 'charger-setpoint-car'), { timeout: 30_000 }).toContain('Paused');
    // A write held by the pacing (one per 5 s) shows first, then the decision that wrote it.
    await expect.poll(() => text(page, 'charger-reason-car'), { timeout: 30_000 }).toMatch(/paused$/);
    await page.screenshot({ path: join(SHOTS, 'control-applied-en.png'), fullPage: true });

    // A deadline the budget cannot meet (40 kWh in half an hour under 2.5 kW): its value, and under
    // it the edge's own verdict with the most it can deliver.
    const by = new Date(Date.now() + 30 * 60_000).toLocaleTimeString('en-GB', {
      timeZone: 'Europe/Brussels',
      hour: '2-digit',
      minute: '2-digit',
    });
    await page.getByTestId('mode-car').selectOption('deadline');
    await page.getByTestId('energy-car').fill('40');
    await page.getByTestId('by-car').fill(by);
    await page.getByTestId('apply-car').click();
    await expect.poll(() => text(page, 'control-sync'), { timeout: 30_000 }).toBe('The edge applies revision 2.');
    expect(await text(page, 'charger-deadline-car')).toBe(`40.0\u00a0kWh by ${by}`);
    const verdict = page.getByTestId('charger-deadline-car').locator('xpath=following-sibling::*[1]');
    await expect
      .poll(async () => (await verdict.textContent()) ?? '', { timeout: 30_000 })
      .toMatch(/^not feasible: at most \d+\.\d+\u00a0kWh$/);
    await page.screenshot({ path: join(SHOTS, 'control-deadline-en.png'), fullPage: true });
    // Back to off, as the next test expects.
    await page.getByTestId('mode-car').selectOption('off');
    await page.getByTestId('apply-car').click();
    await expect.poll(() => text(page, 'control-sync'), { timeout: 30_000 }).toBe('The edge applies revision 3.');
    await page.context().close();
  }, 150_000);

  it('a read-only token sees the page without the form, in Dutch and in French', async () => {
    const nl = await open(VIEWER, 'nl');
    await nl.getByTestId('charger-car').waitFor({ timeout: 30_000 });
    expect(await nl.locator('h1').textContent()).toBe('Sturing');
    expect(await nl.getByTestId('mode-form-car').count()).toBe(0);
    await expect.poll(() => text(nl, 'control-sync'), { timeout: 15_000 }).toMatch(/^De edge past revisie \d+ toe\.$/);
    expect(await nl.getByText('Dit token mag enkel lezen').count()).toBe(1);
    await nl.screenshot({ path: join(SHOTS, 'control-readonly-nl.png'), fullPage: true });
    await nl.context().close();
    const fr = await open(VIEWER, 'fr');
    await fr.getByTestId('charger-car').waitFor({ timeout: 30_000 });
    expect(await fr.locator('h1').textContent()).toBe('Pilotage');
    expect(await text(fr, 'charger-mode-car')).toContain('Arrêt');
    await fr.context().close();
  }, 90_000);
});
