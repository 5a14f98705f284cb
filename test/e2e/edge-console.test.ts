/**
 * The edge in console mode against the simulators, as separate processes speaking the real
 * protocols on loopback: `kwartier simulate …` and `kwartier edge --config F --console`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SNAPSHOT_NUMERIC_FIELDS, type Snapshot } from '../../src/core/snapshot.js';
import { childListening, childProcesses, stopChild, waitForLines } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';

const children = childProcesses({ KWARTIER_LOG_LEVEL: 'warn' });
afterEach(() => children.stopAll());
const start = children.start;
const stop = stopChild;
const listening = childListening;

function config(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kw-edge-'));
  const p = join(dir, 'edge.yaml');
  writeFileSync(p, text);
  return p;
}

const parse = (lines: string[]): Snapshot[] =>
  lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Snapshot);

describe('kwartier edge --console', () => {
  it('prints one snapshot per telegram from a DSMR TCP stream, with every field named and absent ones null', async () => {
    const port = await freePort();
    const sim = start(['simulate', '--dsmr-tcp', `127.0.0.1:${port}`, '--country', 'be', '--seed', '3']);
    await listening(sim, /P1 telegrams/);
    const cfg = config(`device_id: home-01\ntimezone: Europe/Brussels\ndsmr:\n  tcp: 127.0.0.1:${port}\n`);
    const edge = start(['edge', '--config', cfg, '--console']);
    const snaps = parse(await waitForLines(edge, (l) => parse(l).length >= 4, 30_000));
    const first = snaps[0]!;
    for (const k of ['device_id', 'timestamp', 'stale_sources', ...SNAPSHOT_NUMERIC_FIELDS])
      expect(first).toHaveProperty(k);
    for (const s of snaps) {
      expect(s.device_id).toBe('home-01');
      expect(s.country).toBe('be');
      expect(typeof s.grid_power_w).toBe('number');
      expect(s.grid_import_t1_kwh).toBeGreaterThan(0);
      expect(s.grid_import_t2_kwh).toBeGreaterThan(0);
      expect(s.voltage_l1_v).toBeGreaterThan(200);
      expect(s.gas_total_m3).toBeGreaterThan(0);
      expect(typeof s.grid_avg_15m_w).toBe('number');
      expect(typeof s.grid_monthly_peak_w).toBe('number');
      expect(s.meter_timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
      // No inverter configured: its fields are unknown, never 0.
      expect(s.pv_power_w).toBeNull();
      expect(s.battery_soc_pct).toBeNull();
      expect(s.stale_sources).toEqual([]);
    }
    // Counters never go backwards and each snapshot has its own time.
    for (let i = 1; i < snaps.length; i++) {
      expect(snaps[i]!.grid_import_t1_kwh!).toBeGreaterThanOrEqual(snaps[i - 1]!.grid_import_t1_kwh!);
      expect(Date.parse(snaps[i]!.timestamp)).toBeGreaterThan(Date.parse(snaps[i - 1]!.timestamp));
    }
  }, 60_000);

  it('merges HomeWizard and Sungrow, nulls the inverter within 3 polls when it stops and recovers when it is back', async () => {
    const hwPort = await freePort();
    const sgPort = await freePort();
    const hw = start(['simulate', '--homewizard', `127.0.0.1:${hwPort}`, '--api', 'v1', '--seed', '9']);
    let sg = start(['simulate', '--sungrow', `127.0.0.1:${sgPort}`, '--seed', '9']);
    await Promise.all([listening(hw, /HomeWizard/), listening(sg, /Sungrow/)]);
    const cfg = config(
      [
        'device_id: home-02',
        'homewizard: {ip: 127.0.0.1, port: ' + hwPort + ', poll_interval_s: 1.0, api_version: v1}',
        'sungrow: {ip: 127.0.0.1, port: ' +
          sgPort +
          ', poll_interval_s: 1, inter_register_delay_ms: 5, connect_delay_ms: 50, timeout_ms: 500}',
        '',
      ].join('\n'),
    );
    const edge = start(['edge', '--config', cfg, '--console']);
    const collect = (pred: (s: Snapshot) => boolean, timeout = 30_000) =>
      waitForLines(edge, (lines) => parse(lines).some(pred), timeout).then((lines) => parse(lines));

    const full = (await collect((s) => s.pv_power_w !== null && s.battery_soc_pct !== null)).find(
      (s) => s.pv_power_w !== null && s.battery_soc_pct !== null,
    )!;
    expect(typeof full.grid_power_w).toBe('number');
    expect(typeof full.load_power_w).toBe('number');
    expect(full.battery_soc_pct).toBeGreaterThanOrEqual(0);
    expect(full.battery_soc_pct).toBeLessThanOrEqual(100);
    expect(typeof full.battery_power_w).toBe('number');
    expect(full.grid_import_t1_kwh).toBeGreaterThan(0);
    expect(full.stale_sources).toEqual([]);
    expect(
      full.self_sufficiency_pct === null || (full.self_sufficiency_pct >= 0 && full.self_sufficiency_pct <= 100),
    ).toBe(true);

    // The inverter goes away: within 3 poll intervals (3 s) its fields are null and it is named stale.
    const stoppedAt = Date.now();
    await stop(sg);
    const stale = (await collect((s) => s.stale_sources.includes('sungrow'))).find((s) =>
      s.stale_sources.includes('sungrow'),
    )!;
    expect(Date.parse(stale.timestamp) - stoppedAt).toBeLessThan(3 * 1000 + 3000); // last poll + 3 intervals, with slack
    expect(stale.pv_power_w).toBeNull();
    expect(stale.battery_soc_pct).toBeNull();
    expect(stale.load_power_w).toBeNull();
    expect(typeof stale.grid_power_w).toBe('number'); // the meter goes on

    // It comes back on the same port: values return.
    sg = start(['simulate', '--sungrow', `127.0.0.1:${sgPort}`, '--seed', '9']);
    await listening(sg, /Sungrow/);
    const back = (
      await collect(
        (s) =>
          s.stale_sources.length === 0 &&
          s.pv_power_w !== null &&
          Date.parse(s.timestamp) > Date.parse(stale.timestamp),
        45_000,
      )
    ).find(
      (s) =>
        s.stale_sources.length === 0 && s.pv_power_w !== null && Date.parse(s.timestamp) > Date.parse(stale.timestamp),
    )!;
    expect(back.battery_soc_pct).not.toBeNull();
  }, 120_000);

  it('exits 2 naming the key on a bad config', async () => {
    const cfg = config('device_id: home-03\ndsmr: {tcp: "127.0.0.1:1", baudrate: 12}\n');
    const edge = start(['edge', '--config', cfg, '--console']);
    let stderr = '';
    edge.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => edge.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('dsmr.baudrate: must be >= 300');
  });
});
