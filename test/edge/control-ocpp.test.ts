/**
 * The edge's control writing an OCPP 1.6J charger: the real edge app with a simulated P1 meter
 * (DSMR over TCP) and a simulated OCPP charge point connecting to the edge's central system, on ONE
 * simulated home on loopback. On a fresh start the fail safe writes the safe current as a charging
 * profile, the car follows it, the same set-point is not sent again, and stopping the edge clears
 * the profile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/core/snapshot.js';
import { parseWithSchema } from '../../src/core/validate.js';
import { startDsmrTcpSimulator } from '../../src/drivers/dsmr/simulator.js';
import { freePort, startOcppSimulator } from '../../src/drivers/ocpp/simulator.js';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { EdgeApp } from '../../src/edge/app.js';
import { checkEdgeConfig, type EdgeConfig, EdgeConfigSchema } from '../../src/edge/config.js';
import { silentLogger } from '../../src/lib/log.js';
import { midQuarter, waitFor } from '../helpers/wait.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('edge control: an OCPP charger', () => {
  it('writes the safe current as a charging profile once, the car follows, and stop clears it', async () => {
    // A start mid-quarter, where the fail safe (quarter unknown) acts: not within 10 s after a boundary.
    await midQuarter(20, 30);
    const log = silentLogger();
    const model = new HomeModel({ start: Date.now(), seed: 4, pvPeakW: 0, batteryCapacityKwh: 0 });
    const dsmr = await startDsmrTcpSimulator({ host: '127.0.0.1', port: 0, rateHz: 1, model, log });
    cleanups.push(() => dsmr.stop());
    const port = await freePort('127.0.0.1');
    const cp = startOcppSimulator({ url: `ws://127.0.0.1:${port}/ocpp`, identity: 'garage', model, responseS: 0, log });
    cleanups.push(() => cp.stop());
    const config = {
      device_id: 'ocpp-home',
      devices: [
        { name: 'p1', type: 'dsmr', tcp: `127.0.0.1:${dsmr.port}` },
        {
          name: 'car',
          type: 'ocpp',
          listen: `127.0.0.1:${port}`,
          charge_point_id: 'garage',
          meter_interval_s: 1,
          control: true,
        },
      ],
      // The simulated meter's 1-0:1.4.0 would make the quarter known at once: not read, so the fail safe acts.
      control: { capacity_target_w: 2500, meter_quarter_average: 'off', chargers: { car: { mode: 'max_under_peak' } } },
    };
    const cfg = checkEdgeConfig(parseWithSchema(EdgeConfigSchema, config, 'edge.yaml') as EdgeConfig, 'edge.yaml');
    const app = await EdgeApp.create({ config: cfg, log });
    const snaps: Snapshot[] = [];
    await app.start();
    app.bus.subscribe('test', 'snapshot', (s) => void snaps.push(structuredClone(s)));
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await app.stop();
    });

    // The car starts at the charger's rated 16 A; the fail safe (quarter unknown) brings it to 6 A.
    await waitFor(() => cp.limitA === 6, 'the safe current as a profile');
    await waitFor(() => model.state().ev_w === 230 * 6 * 3, 'the car at 6 A');
    await waitFor(
      () =>
        snaps.at(-1)?.devices?.car?.fields.ev_power_w === 4140 &&
        snaps.at(-1)?.devices?.car?.fields.ev_current_set_a === 6,
      'the snapshot with the car at 6 A',
    );
    const s = snaps.at(-1)!;
    expect(s.devices?.car).toMatchObject({ type: 'ocpp', stale: false });
    expect(s.devices?.car?.fields).toMatchObject({ ev_state: 'charging', ev_charge_pause: 0, ev_phases: 3 });
    expect(s.ev_power_w).toBe(4140);
    const taken = cp.profilesTaken;
    // Several more decisions with the same set-point: nothing more is sent.
    const n = snaps.length;
    await waitFor(() => snaps.length >= n + 3, 'three more snapshots');
    expect(cp.profilesTaken).toBe(taken);

    await app.stop();
    stopped = true;
    expect(cp.limitA).toBeNull();
  }, 120_000);
});
