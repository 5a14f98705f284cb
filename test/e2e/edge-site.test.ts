/**
 * The site, as separate processes on loopback: one P1 stream (`kwartier simulate
 * --dsmr-tcp`) and two Sungrow inverters (two `kwartier simulate --sungrow` on two ports), read by
 * `kwartier edge --config F --console` with a `devices:` list.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SiteSnapshot } from '../../src/core/merger.js';
import { childListening, childProcesses, stopChild, waitForLines } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';

const children = childProcesses({ KWARTIER_LOG_LEVEL: 'warn' });
afterEach(() => children.stopAll());
const start = children.start;
const stop = stopChild;
const listening = childListening;

const parse = (lines: string[]): SiteSnapshot[] =>
  lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as SiteSnapshot);

describe('kwartier edge --console with a devices: site', () => {
  it('sums two inverters, keeps each one’s reading, and marks only the stopped one stale', async () => {
    const [p1Port, roofPort, garagePort] = [await freePort(), await freePort(), await freePort()];
    const p1 = start(['simulate', '--dsmr-tcp', `127.0.0.1:${p1Port}`, '--seed', '3']);
    // Two homes (two seeds): two inverters that report different values.
    const roof = start(['simulate', '--sungrow', `127.0.0.1:${roofPort}`, '--seed', '4']);
    // The garage's through the registry-derived flag.
    const garage = start([
      'simulate',
      '--device',
      'sungrow',
      `127.0.0.1:${garagePort}`,
      '--seed',
      '5',
      '--pv-peak-w',
      '3000',
    ]);
    await Promise.all([listening(p1, /P1 telegrams/), listening(roof, /Sungrow/), listening(garage, /Sungrow/)]);
    const fast = 'poll_interval_s: 1, inter_register_delay_ms: 5, connect_delay_ms: 50, timeout_ms: 500';
    const dir = mkdtempSync(join(tmpdir(), 'kw-site-'));
    const cfg = join(dir, 'edge.yaml');
    writeFileSync(
      cfg,
      [
        'device_id: site-01',
        'devices:',
        `  - {name: p1, type: dsmr, tcp: "127.0.0.1:${p1Port}"}`,
        `  - {name: roof, type: sungrow, host: 127.0.0.1, port: ${roofPort}, unit_id: 1, ${fast}}`,
        `  - {name: garage, type: sungrow, host: 127.0.0.1, port: ${garagePort}, unit_id: 1, ${fast}}`,
        '',
      ].join('\n'),
    );
    const edge = start(['edge', '--config', cfg, '--console']);
    const find = async (pred: (s: SiteSnapshot) => boolean, timeout = 30_000): Promise<SiteSnapshot> => {
      const lines = await waitForLines(edge, (l) => parse(l).some(pred), timeout);
      return parse(lines).find(pred) as SiteSnapshot;
    };

    const both = (s: SiteSnapshot) =>
      s.stale_sources.length === 0 &&
      typeof s.devices?.roof?.fields.pv_power_w === 'number' &&
      typeof s.devices?.garage?.fields.pv_power_w === 'number';
    const full = await find(both);
    const roofPv = full.devices?.roof?.fields.pv_power_w as number;
    const garagePv = full.devices?.garage?.fields.pv_power_w as number;
    expect(full.pv_power_w).toBeCloseTo(roofPv + garagePv, 3);
    expect(full.devices?.garage).toMatchObject({ type: 'sungrow', stale: false });
    expect(typeof full.devices?.garage?.fields.battery_soc_pct).toBe('number');
    expect(full.devices?.p1).toMatchObject({ type: 'dsmr', stale: false });
    expect(typeof full.grid_power_w).toBe('number');
    expect(full.grid_power_w).toBe(full.devices?.p1?.fields.grid_power_w);

    // The garage's inverter goes away: only it is named stale; the roof and the meter go on.
    await stop(garage);
    const stale = await find((s) => s.stale_sources.includes('garage'));
    expect(stale.stale_sources).toEqual(['garage']);
    expect(stale.devices?.garage?.stale).toBe(true);
    expect(stale.devices?.garage?.fields.pv_power_w).toBeNull();
    expect(stale.devices?.roof?.stale).toBe(false);
    expect(stale.pv_power_w).toBe(stale.devices?.roof?.fields.pv_power_w);
    expect(typeof stale.grid_power_w).toBe('number');
  }, 120_000);
});
