/**
 * A Fronius through the real processes on loopback: `kwartier simulate --device fronius` (a GEN24
 * with battery and Smart Meter, serving recorded answers) read by `kwartier edge --config F
 * --console`; alone (its values with the snapshot's signs, stale when it stops), and as the second
 * PV device of a site with a P1 meter and a Sungrow (PV and battery summed, grid from the meter).
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

function config(lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'kw-fronius-'));
  const p = join(dir, 'edge.yaml');
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

const parse = (lines: string[]): SiteSnapshot[] =>
  lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as SiteSnapshot);

function finder(edge: ReturnType<typeof start>) {
  return async (pred: (s: SiteSnapshot) => boolean, timeout = 30_000): Promise<SiteSnapshot> => {
    const lines = await waitForLines(edge, (l) => parse(l).some(pred), timeout);
    return parse(lines).find(pred) as SiteSnapshot;
  };
}

const fronius = (name: string, port: number) =>
  `  - {name: ${name}, type: fronius, host: 127.0.0.1, port: ${port}, poll_interval_s: 1, detail_interval_s: 5, timeout_ms: 500}`;

describe('kwartier edge --console with a Fronius', () => {
  it('prints the GEN24’s values with the snapshot’s signs, and marks it stale when it stops', async () => {
    const port = await freePort();
    const sim = start(['simulate', '--device', 'fronius', `127.0.0.1:${port}`]);
    await childListening(sim, /fronius: a Fronius GEN24/);
    const edge = start([
      'edge',
      '--config',
      config(['device_id: site-fr', 'devices:', fronius('roof', port)]),
      '--console',
    ]);
    const find = finder(edge);

    const s = await find((x) => typeof x.devices?.roof?.fields.power_l1_w === 'number');
    expect(s.stale_sources).toEqual([]);
    // The site has no P1 meter: the grid comes from the Fronius' own meter (P_Grid, + import).
    expect(s.grid_power_w).toBe(2274.9);
    expect(s.pv_power_w).toBeCloseTo(216.4328, 4);
    // P_Akku +0.159 (discharging on the wire) → battery_power_w −0.159 (+ charging in the snapshot).
    expect(s.battery_power_w).toBeCloseTo(-0.1591, 4);
    expect(s.battery_soc_pct).toBeCloseTo(4.6, 10);
    // Its only producer reports the load (−P_Load).
    expect(s.load_power_w).toBeCloseTo(2459.3092, 4);
    expect(s).toMatchObject({ power_l1_w: 317.9, power_l2_w: 150, power_l3_w: 19.6, voltage_l1_v: 229.4 });
    expect(s.current_l3_a).toBe(0.645);
    expect(s.mppt1_voltage_v).toBeCloseTo(419.1009, 4);
    expect(s.pv_total_kwh).toBeCloseTo(7512.6644, 4);
    // GEN24: E_Day is null and the edge did not see this day begin while idle: unknown, not 0.
    expect(s.pv_daily_kwh).toBeNull();
    expect(s.devices?.roof).toMatchObject({ type: 'fronius', stale: false });
    expect(s.devices?.roof?.fields).toMatchObject({
      grid_import_kwh: 1247.204,
      grid_export_kwh: 1705.128,
      inverter_state: 'Running',
      battery_mode: 'suspended',
      meter_location: 'grid',
    });

    await stopChild(sim);
    const stale = await find((x) => x.stale_sources.includes('roof'));
    expect(stale.devices?.roof?.stale).toBe(true);
    expect(stale.devices?.roof?.fields.pv_power_w).toBeNull();
    expect(stale.pv_power_w).toBeNull();
    expect(stale.grid_power_w).toBeNull();
    expect(stale.battery_soc_pct).toBeNull();
  }, 90_000);

  it('is a second PV device beside a Sungrow: PV and battery summed, the grid from the P1 meter', async () => {
    const [p1Port, sgPort, frPort] = [await freePort(), await freePort(), await freePort()];
    const p1 = start(['simulate', '--dsmr-tcp', `127.0.0.1:${p1Port}`, '--seed', '3']);
    const sg = start(['simulate', '--device', 'sungrow', `127.0.0.1:${sgPort}`, '--seed', '4']);
    const fr = start(['simulate', '--device', 'fronius', `127.0.0.1:${frPort}`]);
    await Promise.all([
      childListening(p1, /P1 telegrams/),
      childListening(sg, /Sungrow/),
      childListening(fr, /Fronius GEN24/),
    ]);
    const fast = 'poll_interval_s: 1, inter_register_delay_ms: 5, connect_delay_ms: 50, timeout_ms: 500';
    const cfg = config([
      'device_id: site-02',
      'devices:',
      `  - {name: p1, type: dsmr, tcp: "127.0.0.1:${p1Port}"}`,
      `  - {name: house, type: sungrow, host: 127.0.0.1, port: ${sgPort}, unit_id: 1, ${fast}}`,
      fronius('shed', frPort),
    ]);
    const edge = start(['edge', '--config', cfg, '--console']);
    const find = finder(edge);
    const s = await find(
      (x) =>
        x.stale_sources.length === 0 &&
        typeof x.devices?.house?.fields.pv_power_w === 'number' &&
        typeof x.devices?.shed?.fields.power_l1_w === 'number',
    );
    const house = s.devices?.house?.fields as Record<string, number>;
    const shed = s.devices?.shed?.fields as Record<string, number>;
    expect(shed.pv_power_w).toBeCloseTo(216.4328, 4);
    expect(s.pv_power_w).toBeCloseTo((house.pv_power_w as number) + (shed.pv_power_w as number), 3);
    expect(s.battery_power_w).toBeCloseTo((house.battery_power_w as number) + (shed.battery_power_w as number), 3);
    // No battery reports its capacity: the SoC is the mean of the two.
    expect(s.battery_soc_pct).toBeCloseTo(
      Math.round((((house.battery_soc_pct as number) + (shed.battery_soc_pct as number)) / 2) * 10) / 10,
      5,
    );
    // The grid and the phases are the P1 meter's; the Fronius meter's stay under devices.shed.
    expect(s.grid_power_w).toBe(s.devices?.p1?.fields.grid_power_w);
    expect(s.grid_power_w).not.toBe(2274.9);
    expect(s.power_l1_w).toBe(s.devices?.p1?.fields.power_l1_w);
    expect(shed.grid_power_w).toBe(2274.9);
    expect(shed.power_l1_w).toBe(317.9);
    // Two producers: the load is derived from the totals (grid + PV − battery charging).
    expect(s.load_power_w).toBeCloseTo(
      (s.grid_power_w as number) + (s.pv_power_w as number) - (s.battery_power_w as number),
      0,
    );
  }, 120_000);
});
