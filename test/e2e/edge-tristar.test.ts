/**
 * An off-grid site of Morningstar TriStar MPPT charge controllers through the real processes on
 * loopback: `kwartier simulate --device tristar-mppt` (two controllers on one port, the same
 * recorded night in V_PU/I_PU scaling and in half-floats, closing the socket after each answer)
 * read by `kwartier edge --config F --console`. No grid meter: the grid fields are null, not 0; PV
 * is summed over the controllers; the battery voltage and charge state come through; each
 * controller stale when the simulator stops. A bad encoding is refused at start (exit 2).
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
  const dir = mkdtempSync(join(tmpdir(), 'kw-tristar-'));
  const p = join(dir, 'edge.yaml');
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

const parse = (lines: string[]): SiteSnapshot[] =>
  lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as SiteSnapshot);

const tristar = (name: string, port: number, unit: number, extra = '') =>
  `  - {name: ${name}, type: tristar-mppt, host: 127.0.0.1, port: ${port}, unit_id: ${unit}, poll_interval_s: 1, timeout_ms: 500${extra}}`;

describe('kwartier edge --console with TriStar MPPT charge controllers (off-grid)', () => {
  it('prints both controllers’ recorded night, no grid, PV summed, and marks them stale when they stop', async () => {
    const port = await freePort();
    const sim = start(['simulate', '--device', 'tristar-mppt', `127.0.0.1:${port}`]);
    await childListening(sim, /tristar-mppt: two TriStar MPPT controllers/);
    const edge = start([
      'edge',
      '--config',
      config(['device_id: cabin', 'devices:', tristar('sc1', port, 1), tristar('sc2', port, 2)]),
      '--console',
    ]);
    const find = async (pred: (s: SiteSnapshot) => boolean): Promise<SiteSnapshot> => {
      const lines = await waitForLines(edge, (l) => parse(l).some(pred), 30_000);
      return parse(lines).find(pred) as SiteSnapshot;
    };
    const s = await find(
      (x) =>
        x.stale_sources.length === 0 &&
        typeof x.devices?.sc1?.fields.battery_voltage_v === 'number' &&
        typeof x.devices?.sc2?.fields.battery_voltage_v === 'number',
    );
    // 2445 × 180 / 32768 = 13.43 V (unit 1); the same as the half-float 0x4AB7 (unit 2).
    expect(s.battery_voltage_v).toBe(13.43);
    expect(s.charge_state).toBe('night');
    expect(s.mppt1_voltage_v).toBe(0.33);
    expect(s.battery_temp_c).toBe(5);
    // PV: 0 W + 0 W at night, summed; today 0 kWh each; no kWh total in the recording: null.
    expect(s.pv_power_w).toBe(0);
    expect(s.pv_daily_kwh).toBe(0);
    expect(s.pv_total_kwh).toBeNull();
    // Off-grid: no grid meter, so no grid values, no load derived from them; nothing is 0.
    for (const k of [
      'grid_power_w',
      'grid_import_t1_kwh',
      'power_l1_w',
      'load_power_w',
      'self_sufficiency_pct',
    ] as const)
      expect(s[k], k).toBeNull();
    // Neither controller knows the battery's net power, current or state of charge.
    expect(s.battery_power_w).toBeNull();
    expect(s.battery_current_a ?? null).toBeNull();
    expect(s.battery_soc_pct).toBeNull();
    expect(s.devices?.sc1).toMatchObject({
      type: 'tristar-mppt',
      stale: false,
      fields: { encoding: 'vpu', charge_current_a: 0, heatsink_temp_c: 4, charge_state: 'night' },
    });
    expect(s.devices?.sc2?.fields).toMatchObject({ encoding: 'f16', battery_voltage_v: 13.43, mppt1_voltage_v: 0.33 });

    await stopChild(sim);
    const stale = await find((x) => x.stale_sources.includes('sc1') && x.stale_sources.includes('sc2'));
    expect(stale.devices?.sc1?.stale).toBe(true);
    expect(stale.devices?.sc1?.fields.battery_voltage_v).toBeNull();
    expect(stale.battery_voltage_v).toBeNull();
    expect(stale.pv_power_w).toBeNull();
    expect(stale.charge_state).toBeNull();
  }, 90_000);

  it('refuses an encoding it does not know, naming the key (exit 2)', async () => {
    const cfg = config(['device_id: cabin', 'devices:', tristar('sc1', 502, 1, ', encoding: float16')]);
    const r = await runCli(['edge', '--config', cfg, '--console']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('devices[0].encoding');
  }, 30_000);
});
