/**
 * SunSpec and OutBack through the real processes on loopback: `kwartier simulate --device outback`
 * (the recorded MATE3S: two Radians, two FLEXmax, a FLEXnet DC) and `--device sunspec` (a recorded
 * Kostal Plenticore with a simulated meter and battery), read by `kwartier edge --config F
 * --console`. The off-grid site's values with the recorded scales and signs, no grid value (null,
 * not 0), each port kept per device, stale when the hub stops; a SunSpec site's meter and battery;
 * bad configs refused with the key named.
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
  const dir = mkdtempSync(join(tmpdir(), 'kw-sunspec-'));
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

async function simulate(type: string, banner: RegExp) {
  const port = await freePort();
  const sim = start(['simulate', '--device', type, `127.0.0.1:${port}`]);
  await childListening(sim, banner);
  return { sim, port };
}

describe('kwartier edge --console with an OutBack hub and a SunSpec inverter', () => {
  it('prints the off-grid cabin from the recorded MATE3S: no grid, PV summed, each port apart; stale when it stops', async () => {
    const { sim, port } = await simulate('outback', /outback: an OutBack MATE3S/);
    const edge = start([
      'edge',
      '--config',
      config([
        'device_id: cabin',
        'devices:',
        `  - {name: mate, type: outback, host: 127.0.0.1, port: ${port}, poll_interval_s: 1, inter_register_delay_ms: 0}`,
      ]),
      '--console',
    ]);
    const find = finder(edge);
    const s = await find((x) => x.stale_sources.length === 0 && typeof x.pv_power_w === 'number');
    // PV: FLEXmax port 3 (400 W) + port 4 (278 W); FLEXnet DC: 50.6 V, −3.7 A, −0.18 kW, 96 %.
    expect(s).toMatchObject({
      pv_power_w: 678,
      pv_daily_kwh: 0.2,
      pv_total_kwh: 12339,
      battery_voltage_v: 50.6,
      battery_current_a: -3.7,
      battery_power_w: -180,
      battery_soc_pct: 96,
      charge_state: 'bulk',
      load_power_w: 700,
    });
    // Off-grid: no grid meter, so no grid value at all (null, not 0).
    for (const k of ['grid_power_w', 'grid_import_t1_kwh', 'grid_export_t1_kwh', 'power_l1_w'] as const) {
      expect(s[k]).toBeNull();
    }
    expect(s.devices?.mate).toMatchObject({ type: 'outback', stale: false });
    expect(s.devices?.mate?.fields).toMatchObject({
      cc3_pv_power_w: 400,
      cc4_pv_power_w: 278,
      cc3_charge_state: 'bulk',
      inverter1_mode: 'inverting',
      inverter2_mode: 'off',
      model: 'MATE3S',
    });

    await stopChild(sim);
    const stale = await find((x) => x.stale_sources.includes('mate'));
    expect(stale.devices?.mate?.stale).toBe(true);
    expect(stale.pv_power_w).toBeNull();
    expect(stale.battery_voltage_v).toBeNull();
    expect(stale.charge_state).toBeNull();
  }, 90_000);

  it('prints a SunSpec inverter with its meter (+ import) and battery (+ charging)', async () => {
    const { port } = await simulate('sunspec', /sunspec: a SunSpec inverter/);
    const edge = start([
      'edge',
      '--config',
      config([
        'device_id: site-ss',
        'devices:',
        `  - {name: roof, type: sunspec, host: 127.0.0.1, port: ${port}, unit_id: 71, poll_interval_s: 1, inter_register_delay_ms: 0}`,
      ]),
      '--console',
    ]);
    const s = await finder(edge)((x) => x.stale_sources.length === 0 && typeof x.grid_power_w === 'number');
    const f = s.devices?.roof?.fields as Record<string, unknown>;
    // The recorded Plenticore: W 940 (W_SF 0), WH 56985670 Wh.
    expect(s.pv_power_w).toBe(940);
    expect(s.pv_total_kwh).toBe(56985.67);
    expect(f).toMatchObject({ manufacturer: 'KOSTAL', model: 'PLENTICORE plus8', battery_capacity_kwh: 10 });
    // The meter's phases add up to its total; the battery's sign follows its charge state.
    expect((s.power_l1_w ?? 0) + (s.power_l2_w ?? 0) + (s.power_l3_w ?? 0)).toBeCloseTo(
      s.grid_power_w ?? Number.NaN,
      -1,
    );
    const state = f.battery_state as string;
    expect(Math.sign(s.battery_power_w ?? 0)).toBe(state === 'charging' ? 1 : state === 'discharging' ? -1 : 0);
    expect(typeof s.battery_soc_pct).toBe('number');
  }, 90_000);

  it('refuses an outback entry without its port, and a bad meter_sign, naming the key (exit 2)', async () => {
    const noPort = await runCli([
      'edge',
      '--config',
      config(['device_id: bad', 'devices:', '  - {name: mate, type: outback, host: 127.0.0.1}']),
      '--console',
    ]);
    expect(noPort.code).toBe(2);
    expect(noPort.stderr).toContain('devices[0].port');
    const badSign = await runCli([
      'edge',
      '--config',
      config(['device_id: bad', 'devices:', '  - {name: roof, type: sunspec, host: 127.0.0.1, meter_sign: plus}']),
      '--console',
    ]);
    expect(badSign.code).toBe(2);
    expect(badSign.stderr).toContain('devices[0].meter_sign');
  }, 30_000);
});
