/**
 * `kwartier top` in a real terminal: tmux runs it against `kwartier demo` (a site of a P1 meter and
 * two Sungrow inverters, two days of history); the test reads the screen as a person would and
 * checks it against the API, switches pages and terminal sizes with keys, and quits with q. One
 * session runs with colour, one with NO_COLOR.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type RunningDemo, startDemoChild, until } from '../helpers/demo.js';
import { freePort } from '../helpers/net.js';
import { colourCodes, Tmux } from '../helpers/tmux.js';

const TOKEN = 'e2e-top-token-0123456789';
const ENTRY = fileURLToPath(new URL('../../src/cli/run.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kw-top-'));
const tmux = new Tmux();
let demo: RunningDemo;

beforeAll(async () => {
  demo = await startDemoChild({
    dataDir: join(dir, 'data'),
    token: TOKEN,
    args: ['--backfill', '2', '--site', 'multi'],
  });
  // Live data through the whole chain before the terminal opens.
  await until(async () => {
    const r = await demo.get<{ age_s: number; pv_power_w: number | null }>('/api/v1/realtime/demo-home');
    return r.status === 200 && r.body.age_s < 5 && r.body.pv_power_w !== null;
  }, 60_000);
}, 120_000);

afterAll(async () => {
  tmux.kill();
  await demo?.stop();
});

/** Starts `kwartier top` in a session; its exit code goes to a file once it ends. */
function startTop(name: string, env: Record<string, string>, size = { width: 80, height: 24 }): string {
  const exitFile = join(dir, `${name}.exit`);
  const cmd = `cd ${ROOT} && ${process.execPath} --import tsx ${ENTRY} top --url ${demo.base} --device demo-home; echo $? > ${exitFile}; sleep 600`;
  // CI=true on purpose: Ink would render only at exit in CI; top must be live anyway.
  tmux.start(name, cmd, { ...size, env: { KWARTIER_API_TOKEN: TOKEN, CI: 'true', FORCE_COLOR: '', ...env } });
  return exitFile;
}

function screenUntil(name: string, ok: (screen: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  let last = '';
  return until(
    async () => {
      last = tmux.capture(name);
      return ok(last) ? last : null;
    },
    timeoutMs,
    `${what}; the screen was:\n${last}`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${last}`);
  });
}

/** `404 W`, `3.42 kW` → watts; `—` → null. */
function watts(text: string): number | null {
  if (text === '—') return null;
  const m = /^(-?[\d.]+) (k?)W$/.exec(text);
  if (!m) throw new Error(`not a power: ${text}`);
  return Number(m[1]) * (m[2] ? 1000 : 1);
}

interface Shown {
  time: string;
  rows: Record<string, { verb: string; w: number | null }>;
  soc: number | null;
}

/** The snapshot the overview shows: its time and the power-flow rows. */
function parseOverview(screen: string): Shown | null {
  const time = /snapshot (\d\d:\d\d:\d\d)/.exec(screen)?.[1];
  if (!time) return null;
  const rows: Shown['rows'] = {};
  for (const label of ['Grid', 'Solar', 'Battery', 'Home']) {
    const m = new RegExp(`^\\s+${label}\\s+(\\S+)\\s+(—|-?[\\d.]+ k?W)`, 'm').exec(screen);
    if (!m) return null;
    rows[label] = { verb: m[1]!, w: watts(m[2]!) };
  }
  const soc = /SoC ([\d.]+) %/.exec(screen)?.[1];
  return { time, rows, soc: soc === undefined ? null : Number(soc) };
}

interface Snap {
  timestamp: string;
  grid_power_w: number | null;
  pv_power_w: number | null;
  battery_power_w: number | null;
  battery_soc_pct: number | null;
  load_power_w: number | null;
}

/** `400 W` shows within 0.5 W, `3.42 kW` within 5 W, `12.3 kW` within 50 W. */
function close(shown: number | null, actual: number | null): boolean {
  if (shown === null || actual === null) return shown === actual;
  const a = Math.abs(actual);
  const tolerance = a < 999.5 ? 0.5 : a < 9995 ? 5 : 50;
  return Math.abs(shown - a) <= tolerance;
}

function hms(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Brussels',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(iso));
}

describe('kwartier top in a terminal', () => {
  it('shows the live snapshot, today, the capacity tariff and the devices as the API has them; keys switch pages; q quits', async () => {
    const exitFile = startTop('colour', {});
    const first = await screenUntil(
      'colour',
      (s) => s.includes('● live') && /Import [\d.]+ kWh/.test(s) && /Month peak [\d.]+ k?W/.test(s),
      'the overview with live data, today and the capacity',
    );
    expect(first).toContain('Kwartier top · demo-home');
    expect(first).toContain('[1 Overview]');
    // 80×24: every line fits, nothing wraps.
    for (const line of first.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(first.split('\n').length).toBeLessThanOrEqual(25);

    // The power flow is a snapshot the API stored: the one of the time the screen names.
    let matched: { shown: Shown; snap: Snap } | null = null;
    for (let attempt = 0; attempt < 8 && !matched; attempt++) {
      const shown = parseOverview(tmux.capture('colour'));
      if (!shown) continue;
      const from = new Date(Date.now() - 120_000).toISOString();
      const to = new Date(Date.now() + 5_000).toISOString();
      const raw = await demo.get<{ points: Snap[] }>(
        `/api/v1/history/demo-home?resolution=raw&start=${from}&end=${to}`,
      );
      const snap = raw.body.points.find((p) => hms(p.timestamp) === shown.time);
      if (
        snap &&
        close(shown.rows.Grid!.w, snap.grid_power_w) &&
        close(shown.rows.Solar!.w, snap.pv_power_w) &&
        close(shown.rows.Battery!.w, snap.battery_power_w) &&
        close(shown.rows.Home!.w, snap.load_power_w)
      )
        matched = { shown, snap };
      else await new Promise((r) => setTimeout(r, 300));
    }
    expect(matched, 'a screen whose power flow matches the stored snapshot of its time').not.toBeNull();
    const { shown, snap } = matched!;
    const g = snap.grid_power_w!;
    expect(shown.rows.Grid!.verb).toBe(Math.abs(g) < 10 ? 'idle' : g > 0 ? 'import' : 'export');
    expect(shown.soc).toBe(Number(snap.battery_soc_pct!.toFixed(1)));

    // The P1 telegram's age: the simulated meter sends one a second.
    const age = /P1 telegram (\d+) s ago/.exec(tmux.capture('colour'))?.[1];
    expect(Number(age)).toBeLessThanOrEqual(5);

    // Today's totals and cost as the API counts them (the view polls every 30 s: within its drift),
    // and the month peak, the capacity API's to the watt as the screen rounds it. The screen is read
    // again after an `r` (refresh) when they differ: a new local day, or a quarter that just closed
    // on a new peak, can come between the view's last poll and the API's answer.
    type Cost = { consumed_kwh: number; returned_kwh: number; solar_kwh: number; cost_eur: number };
    const compare = async () => {
      const screen = tmux.capture('colour');
      const cost = (await demo.get<Cost>('/api/v1/cost-estimate/demo-home?period=today')).body;
      const cap = (await demo.get<{ month_peak_w: number }>('/api/v1/capacity-tariff/demo-home')).body;
      const diffs = [
        Math.abs(Number(/Import ([\d.]+) kWh/.exec(screen)?.[1]) - cost.consumed_kwh),
        Math.abs(Number(/Solar ([\d.]+) kWh/.exec(screen)?.[1]) - cost.solar_kwh),
        Math.abs(Number(/Cost € ([\d.]+)/.exec(screen)?.[1]) - cost.cost_eur),
      ];
      const peakShown = watts(/Month peak (\S+ k?W)/.exec(screen)?.[1] ?? '');
      return { screen, diffs, peakShown, peak: cap.month_peak_w };
    };
    let seen = await compare();
    for (
      let i = 0;
      i < 3 && !(seen.diffs.every((d) => d < 0.05) && Math.abs((seen.peakShown ?? 0) - seen.peak) < 5);
      i++
    ) {
      tmux.keys('colour', 'r');
      await new Promise((r) => setTimeout(r, 2000));
      seen = await compare();
    }
    const screen = seen.screen;
    for (const d of seen.diffs) expect(d).toBeLessThan(0.05);
    expect(seen.peakShown).toBeCloseTo(seen.peak, -1);
    expect(screen).toMatch(/This quarter \d\d:\d\d–\d\d:\d\d/);
    expect(screen).toMatch(/Devices p1 ok · roof ok · garage ok/);

    // Pages: 3 capacity, 4 devices, → wraps to the overview, 2 today.
    tmux.keys('colour', '3');
    const capPage = await screenUntil('colour', (s) => s.includes('[3 Capacity]'), 'the capacity page');
    expect(capPage).toMatch(/Forecast at its end\s+\S+ k?W/);
    expect(capPage).toMatch(/Monthly peaks/);
    tmux.keys('colour', '4');
    const devPage = await screenUntil('colour', (s) => s.includes('[4 Devices]'), 'the devices page');
    const rt = (
      await demo.get<{ devices: Record<string, { type: string; stale: boolean }> }>('/api/v1/realtime/demo-home')
    ).body;
    for (const [name, d] of Object.entries(rt.devices)) {
      expect(devPage).toMatch(new RegExp(`^\\s+${name}\\s+${d.type}\\s+${d.stale ? 'stale' : 'ok'}`, 'm'));
    }
    expect(devPage).toMatch(/Last P1 telegram\s+\d+ s ago/);
    tmux.keys('colour', 'Right');
    await screenUntil('colour', (s) => s.includes('[1 Overview]'), '→ from the last page back to the first');
    tmux.keys('colour', '2');
    const today = await screenUntil('colour', (s) => s.includes('[2 Today]'), 'the today page');
    expect(today).toMatch(/Self-sufficiency\s+\d+ %/);
    expect(today).toMatch(/Bill so far/);

    // A larger terminal: panels side by side and today's quarter-hours.
    tmux.keys('colour', '1');
    tmux.resize('colour', 140, 40);
    const wide = await screenUntil(
      'colour',
      (s) => /Power now\s{4,}Today/.test(s) && s.includes("Today's quarter-hours"),
      'the wide overview',
    );
    for (const line of wide.split('\n')) expect(line.length).toBeLessThanOrEqual(140);

    // Colour: the live marker is green, import/export coloured.
    expect(colourCodes(tmux.capture('colour', true)).length).toBeGreaterThan(0);

    // q quits with 0 and gives the terminal back.
    tmux.keys('colour', 'q');
    await until(async () => existsSync(exitFile), 10_000, 'top to exit after q');
    expect(readFileSync(exitFile, 'utf8').trim()).toBe('0');
  }, 180_000);

  it('uses no colour with NO_COLOR, and reconnects when the server comes back', async () => {
    const exitFile = startTop('plain', { NO_COLOR: '1' });
    await screenUntil('plain', (s) => s.includes('● live') && /Month peak [\d.]+ k?W/.test(s), 'the plain overview');
    for (const key of ['1', '2', '3', '4']) {
      tmux.keys('plain', key);
      await screenUntil('plain', (s) => s.includes(`[${key} `), `page ${key}`);
      const escaped = tmux.capture('plain', true);
      expect(colourCodes(escaped), `colour codes on page ${key}`).toEqual([]);
    }

    // The server goes away and comes back on the same address: top retries with backoff and is live again.
    tmux.keys('plain', '1');
    await demo.stop();
    await screenUntil('plain', (s) => /○ reconnecting in \d+ s/.test(s), 'the reconnecting state');
    demo = await startDemoChild({ dataDir: join(dir, 'data'), token: TOKEN, port: demo.port });
    const back = await screenUntil('plain', (s) => s.includes('● live'), 'live again after the restart', 60_000);
    expect(back).toMatch(/snapshot \d\d:\d\d:\d\d/);

    tmux.keys('plain', 'C-c');
    await until(async () => existsSync(exitFile), 10_000, 'top to exit after Ctrl-C');
    expect(readFileSync(exitFile, 'utf8').trim()).toBe('0');
  }, 120_000);

  it('names what is wrong: the token, the home, the address, the terminal', async () => {
    const run = (args: string[], env: Record<string, string> = {}) =>
      runCli(['top', ...args], { env: { KWARTIER_API_TOKEN: '', ...env } });
    const badToken = await run(['--url', demo.base, '--token', 'not-the-token']);
    expect(badToken.code).toBe(2);
    expect(badToken.stderr).toContain('--token: the server refused the token (401 unauthorized)');
    const otherHome = await run(['--url', demo.base, '--token', TOKEN, '--device', 'other-home']);
    expect(otherHome.code).toBe(2);
    expect(otherHome.stderr).toContain("--device: 'other-home' is not a home this token holds (it holds: demo-home)");
    const noTerminal = await run(['--url', demo.base], { KWARTIER_API_TOKEN: TOKEN });
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('needs a terminal');
    const remoteHttp = await run(['--url', 'http://kwartier.example:8080', '--token', TOKEN]);
    expect(remoteHttp.code).toBe(2);
    expect(remoteHttp.stderr).toContain('would send the token unencrypted');
    const noToken = await run(['--url', demo.base]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('--token TOKEN is required');
    // A loopback port nothing listens on: exit 1, naming the address and the cause.
    const closed = await freePort();
    const unreachable = await run(['--url', `http://127.0.0.1:${closed}`, '--token', TOKEN]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(
      `--url: cannot reach http://127.0.0.1:${closed}/: ECONNREFUSED (connection refused)`,
    );
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: kwartier top --url URL --token TOKEN [--device ID]');
  }, 60_000);
});
