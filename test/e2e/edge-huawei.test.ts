/**
 * A Huawei SUN2000 through the real processes on loopback: `kwartier simulate --device
 * huawei-sun2000` (a simulated SDongle serving recorded answers: unit 1 with a DTSU666 meter and a
 * battery, unit 2 at night without either) read by `kwartier edge --config F --console`; two
 * inverters behind the one dongle (their values with the recorded scale, word order and sign,
 * stale when the dongle stops), and a site of the Huawei plus a Fronius as a second PV device.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SiteSnapshot } from '../../src/core/merger.js';
import { childListening, childProcesses, runCli, stopChild, waitForLines } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';

const children = childProcesses({ KWARTIER_LOG_LEVEL: 'warn' });
afterEach(() => children.stopAll());
const start = children.start;

function config(lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'kw-huawei-'));
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

const huawei = (name: string, port: number, unit: number) =>
  `  - {name: ${name}, type: huawei-sun2000, host: 127.0.0.1, port: ${port}, unit_id: ${unit}, poll_interval_s: 1, meter_interval_s: 1, connect_delay_ms: 200, timeout_ms: 1000}`;

async function dongle(): Promise<number> {
  const port = await freePort();
  const sim = start(['simulate', '--device', 'huawei-sun2000', `127.0.0.1:${port}`]);
  await childListening(sim, /huawei-sun2000: a Huawei SDongle/);
  return port;
}

describe('kwartier edge --console with a Huawei SUN2000', () => {
  it('prints two inverters behind one SDongle with the recorded values and signs, stale when it stops', async () => {
    const port = await freePort();
    const sim = start(['simulate', '--device', 'huawei-sun2000', `127.0.0.1:${port}`]);
    await childListening(sim, /huawei-sun2000: a Huawei SDongle/);
    const edge = start([
      'edge',
      '--config',
      config(['device_id: site-hw', 'devices:', huawei('roof', port, 1), huawei('garage', port, 2)]),
      '--console',
    ]);
    const find = finder(edge);
    const s = await find(
      (x) =>
        x.stale_sources.length === 0 &&
        typeof x.devices?.roof?.fields.grid_power_w === 'number' &&
        typeof x.devices?.roof?.fields.battery_power_w === 'number' &&
        typeof x.devices?.garage?.fields.pv_total_kwh === 'number',
    );
    // No P1 meter: the grid is the inverter's DTSU666 (37113 = +995 W feed-in → −995 W, + import).
    expect(s.grid_power_w).toBe(-995);
    expect(s).toMatchObject({ power_l1_w: -1014, power_l2_w: 994, power_l3_w: -975 });
    expect(s).toMatchObject({ voltage_l1_v: 241, voltage_l2_v: 238.1, current_l1_a: -4.23, current_l2_a: 4.18 });
    // PV summed over both inverters: 5119 W (unit 1, by day) + 0 W (unit 2, at night).
    expect(s.pv_power_w).toBe(5119);
    expect(s.pv_total_kwh).toBeCloseTo(1227.99 + 207.34, 6);
    // The battery of unit 1: +3334 W is charging, as the snapshot; 79.0 %.
    expect(s.battery_power_w).toBe(3334);
    expect(s.battery_soc_pct).toBe(79);
    expect(s.battery_total_charge_kwh).toBe(1852.51);
    expect(s.devices?.roof).toMatchObject({ type: 'huawei-sun2000', stale: false });
    expect(s.devices?.roof?.fields).toMatchObject({
      grid_import_kwh: 232.49,
      grid_export_kwh: 396.45,
      meter_type: 'three-phase',
      inverter_ac_power_w: 303,
      inverter_state: 'On-grid',
      battery_state: 'running',
    });
    expect(s.devices?.garage?.fields).toMatchObject({ pv_power_w: 0, inverter_state: 'Standby: no irradiation' });
    // Unit 2 has neither meter nor battery: nothing, not 0.
    expect(s.devices?.garage?.fields.grid_power_w ?? null).toBeNull();
    expect(s.devices?.garage?.fields.battery_soc_pct ?? null).toBeNull();

    await stopChild(sim);
    const stale = await find((x) => x.stale_sources.includes('roof') && x.stale_sources.includes('garage'));
    expect(stale.devices?.roof?.stale).toBe(true);
    expect(stale.devices?.roof?.fields.grid_power_w).toBeNull();
    expect(stale.grid_power_w).toBeNull();
    expect(stale.pv_power_w).toBeNull();
    expect(stale.battery_soc_pct).toBeNull();
  }, 90_000);

  it('merges a Huawei with meter and battery and a Fronius as a second PV device as the site model says', async () => {
    const hwPort = await dongle();
    const frPort = await freePort();
    const fr = start(['simulate', '--device', 'fronius', `127.0.0.1:${frPort}`]);
    await childListening(fr, /Fronius GEN24/);
    const cfg = config([
      'device_id: site-hw-fr',
      'devices:',
      huawei('house', hwPort, 1),
      `  - {name: shed, type: fronius, host: 127.0.0.1, port: ${frPort}, poll_interval_s: 1, detail_interval_s: 5, timeout_ms: 500}`,
    ]);
    const edge = start(['edge', '--config', cfg, '--console']);
    const find = finder(edge);
    const s = await find(
      (x) =>
        x.stale_sources.length === 0 &&
        typeof x.devices?.house?.fields.battery_power_w === 'number' &&
        typeof x.devices?.shed?.fields.power_l1_w === 'number',
    );
    const house = s.devices?.house?.fields as Record<string, number>;
    const shed = s.devices?.shed?.fields as Record<string, number>;
    // PV and battery summed: 5119 W + the GEN24's 216.4328 W; +3334 W + (−0.1591 W, discharging).
    expect(s.pv_power_w).toBeCloseTo(5119 + 216.4328, 3);
    expect(s.battery_power_w).toBeCloseTo(3334 - 0.1591, 3);
    expect(s.pv_total_kwh).toBeCloseTo((house.pv_total_kwh as number) + (shed.pv_total_kwh as number), 3);
    // Neither battery reports its capacity (37758 is not in the recording): the SoC is the mean.
    expect(s.battery_soc_pct).toBe(Math.round(((79 + 4.6) / 2) * 10) / 10);
    // No P1 meter: the grid comes from an inverter's own meter, the first in config order (the
    // Huawei's), and the Fronius meter's stays under devices.shed.
    expect(s.grid_power_w).toBe(-995);
    expect(s.power_l1_w).toBe(-1014);
    expect(shed.grid_power_w).toBe(2274.9);
    // Two producers: the load is derived once from the totals (grid + PV − battery charging).
    expect(s.load_power_w).toBeCloseTo(-995 + (5119 + 216.4328) - (3334 - 0.1591), 0);
    expect(s.devices?.house?.type).toBe('huawei-sun2000');
    expect(s.devices?.shed?.type).toBe('fronius');
  }, 90_000);

  it('refuses a config that names the SDongle’s own unit id, saying why (exit 2)', async () => {
    const cfg = config([
      'device_id: site-bad',
      'devices:',
      '  - {name: roof, type: huawei-sun2000, host: 127.0.0.1, unit_id: 100}',
    ]);
    const r = await runCli(['edge', '--config', cfg, '--console']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('devices[0].unit_id: 100 is the SDongle itself');
  }, 30_000);
});
