/**
 * `kwartier simulate --device ocpp`: the simulated charge point is the client, so it takes the
 * edge's address (HOST:PORT, or a ws:// URL ending in its id) and connects to the central system;
 * a server simulator refuses a URL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningSimulator, startSimulators, takeDevices } from '../../src/cli/commands/simulate.js';
import { parseWithSchema } from '../../src/core/validate.js';
import { type OcppConfig, OcppConfigSchema } from '../../src/drivers/ocpp/config.js';
import { freePort } from '../../src/drivers/ocpp/simulator.js';
import { type OcppReading, OcppSource } from '../../src/drivers/ocpp/source.js';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { silentLogger } from '../../src/lib/log.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

describe('kwartier simulate --device ocpp', () => {
  it('takes HOST:PORT or a ws:// URL whose path ends in the charge point id', () => {
    expect(takeDevices(['--device', 'ocpp', '127.0.0.1:8887']).devices).toEqual([
      { type: 'ocpp', address: { host: '127.0.0.1', port: 8887 } },
    ]);
    expect(takeDevices(['--device', 'ocpp', 'ws://127.0.0.1:9000/ocpp/garage']).devices).toEqual([
      { type: 'ocpp', address: { host: '127.0.0.1', port: 9000 }, path: '/ocpp/garage' },
    ]);
  });

  it('refuses a URL for a simulator that listens', async () => {
    const r = await runCli(['simulate', '--device', 'sungrow', 'ws://127.0.0.1:5020/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--device sungrow: expected HOST:PORT, got "ws://127.0.0.1:5020/x"');
  });

  it('connects to the central system at that URL and reports a car charging', async () => {
    const port = await freePort('127.0.0.1');
    const cfg = parseWithSchema(
      OcppConfigSchema,
      { listen: `127.0.0.1:${port}`, charge_point_id: 'garage' },
      'ocpp',
    ) as OcppConfig;
    const src = new OcppSource(cfg, { log: silentLogger(), name: 'car' });
    const readings: OcppReading[] = [];
    src.onReading((r) => readings.push(r as OcppReading));
    await src.start();
    cleanup.push(() => src.stop());
    const lines: string[] = [];
    const { devices } = takeDevices(['--device', 'ocpp', `ws://127.0.0.1:${port}/ocpp/garage`]);
    const sims: RunningSimulator[] = await startSimulators(new HomeModel({ start: Date.now() }), {
      devices,
      log: silentLogger(),
      print: (l) => lines.push(l),
    });
    cleanup.push(async () => void (await Promise.all(sims.map((s) => s.stop()))));
    expect(lines[0]).toContain(`connecting to ws://127.0.0.1:${port}/ocpp/garage`);
    await waitFor(() => readings.some((r) => r.fields.ev_state === 'charging'), 'the car charging');
    expect(readings.at(-1)?.fields.ev_power_w).toBe(11_040);
  });
});
