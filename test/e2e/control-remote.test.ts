/**
 * Control settings from the API to the edge and back, end to end on loopback: the server in process
 * (embedded broker, SQLite, API), a simulated home with a P1 meter and an NRGkick with a car
 * (`kwartier simulate` in a child process) and `kwartier edge` with a `control:` section in another.
 * A PUT with a write token reaches the edge over MQTT (the ingester's retained `control` message),
 * the edge applies it (its decisions follow: the car pauses in mode off) and acknowledges the
 * revision on `control_state`, which GET shows. Then the edge restarts (it applies the settings kept in
 * its outbox, then the retained message again) and the server restarts (the embedded broker forgot everything;
 * the server sends the stored settings again at its connection).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ControlAnswer } from '../../src/core/api/control.js';
import { parseWithSchema } from '../../src/core/validate.js';
import { silentLogger } from '../../src/lib/log.js';
import { ServerApp } from '../../src/server/app.js';
import { ServerConfigSchema } from '../../src/server/config.js';
import { childListening, childProcesses, stopChild } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { until } from '../helpers/wait.js';

const OWNER = 'owner-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const HOME = 'ctl-home';

const dir = mkdtempSync(join(tmpdir(), 'kw-control-e2e-'));
const children = childProcesses({ KWARTIER_LOG_LEVEL: 'warn' });
let server: ServerApp | null = null;

afterAll(async () => {
  await children.stopAll();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function startServer(brokerPort: number, apiPort: number): Promise<ServerApp> {
  const app = new ServerApp({
    config: parseWithSchema(
      ServerConfigSchema,
      {
        store: { type: 'sqlite', path: join(dir, 'server.sqlite') },
        broker: { enabled: true, port: brokerPort },
        api: {
          port: apiPort,
          dashboard: false,
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
    ingestOptions: { flushIntervalMs: 50 },
  });
  await app.start();
  return app;
}

describe('PUT /api/v1/control → the edge over MQTT → control_state → GET', () => {
  it('a mode change is applied by the edge and acknowledged, and survives restarts of either side', async () => {
    const [p1Port, kickPort, brokerPort, apiPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    server = await startServer(brokerPort, apiPort);
    const api = `http://127.0.0.1:${apiPort}/api/v1/control/${HOME}`;
    const get = async (): Promise<ControlAnswer> =>
      (await fetch(api, { headers: { authorization: `Bearer ${VIEWER}` } })).json() as Promise<ControlAnswer>;

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
        `  - {name: car, type: nrgkick, host: 127.0.0.1, port: ${kickPort}, poll_interval_s: 1, control_interval_s: 1, control: true, settle_ms: 100}`,
        'control:',
        '  capacity_target_w: 2500',
        '  min_write_interval_s: 1',
        '  chargers:',
        '    car: {mode: max_under_peak, min_off_s: 0, min_on_s: 0}',
        'buffer:',
        `  db_path: ${join(dir, 'outbox.sqlite')}`,
        'mqtt:',
        '  host: 127.0.0.1',
        `  port: ${brokerPort}`,
        '  tls: null',
        '',
      ].join('\n'),
    );
    let edge = children.start(['edge', '--config', cfg]);

    // The edge says what it applies before anything is wanted: its own config, no revision.
    let g = await until(
      async () => {
        const a = await get();
        return a.applied && a.budget ? a : null;
      },
      'the edge’s first control_state and a snapshot with its budget',
      60_000,
    );
    expect(g).toMatchObject({ wanted: null, sync: 'none', can_write: false });
    expect(g.applied).toMatchObject({
      revision: null,
      rejected: null,
      settings: { capacity_target_w: 2500, dry_run: false, chargers: { car: { mode: 'max_under_peak' } } },
    });
    expect(g.budget?.target_w).toBeGreaterThanOrEqual(2500);

    // A read-only token may not change it; the owner's may.
    const body = JSON.stringify({ capacity_target_w: 3000, chargers: { car: { mode: 'off' } } });
    const headers = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });
    expect((await fetch(api, { method: 'PUT', headers: headers(VIEWER), body })).status).toBe(403);
    const put = await fetch(api, { method: 'PUT', headers: headers(OWNER), body });
    expect(put.status).toBe(202);
    expect(await put.json()).toEqual({
      device_id: HOME,
      revision: 1,
      settings: { capacity_target_w: 3000, chargers: { car: { mode: 'off' } } },
      published: true,
    });

    // The edge acknowledges revision 1 with the settings it now applies, and decides by them.
    g = await until(
      async () => {
        const a = await get();
        const car = a.decisions.filter((d) => d.device === 'car').at(-1);
        return a.sync === 'applied' && car?.setpoint.charge === false ? a : null;
      },
      'the edge to apply revision 1 and pause the car',
      30_000,
    );
    expect(g.applied).toMatchObject({
      revision: 1,
      settings: { capacity_target_w: 3000, chargers: { car: { mode: 'off', min_current_a: 6, max_current_a: 16 } } },
    });
    expect(g.wanted).toMatchObject({ revision: 1, updated_by: 'owner' });
    const paused = g.decisions.filter((d) => d.device === 'car').at(-1);
    expect(paused).toMatchObject({ kind: 'charger', setpoint: { charge: false } });
    // Paused whatever the budget (fail safe or not): mode off wants no power.
    expect(paused?.reason).toMatch(/paused/);
    await until(
      async () => ((await get()).budget?.chargers.car?.charge === false ? true : null),
      'a snapshot with the car paused',
      30_000,
    );

    // The edge restarts: the kept settings, then the retained message (the same revision) again.
    await stopChild(edge);
    const before = Date.parse(g.applied?.timestamp ?? '');
    edge = children.start(['edge', '--config', cfg]);
    g = await until(
      async () => {
        const a = await get();
        return a.applied && Date.parse(a.applied.timestamp) > before && a.applied.revision === 1 ? a : null;
      },
      'the restarted edge to apply revision 1 again',
      60_000,
    );
    expect(g.applied?.settings.chargers.car?.mode).toBe('off');

    // The server restarts: its embedded broker starts empty; the stored settings are sent again, and
    // a change made now reaches the edge as well.
    await server.stop();
    server = await startServer(brokerPort, apiPort);
    const put2 = await fetch(api, {
      method: 'PUT',
      headers: headers(OWNER),
      body: JSON.stringify({ chargers: { car: { mode: 'deadline', energy_kwh: 25, deadline: '07:00' } } }),
    });
    expect(put2.status).toBe(202);
    expect(((await put2.json()) as { revision: number }).revision).toBe(2);
    g = await until(
      async () => {
        const a = await get();
        return a.sync === 'applied' && a.applied?.revision === 2 ? a : null;
      },
      'the edge to apply revision 2 after the server restarted',
      60_000,
    );
    expect(g.applied?.settings).toMatchObject({
      capacity_target_w: 3000,
      chargers: { car: { mode: 'deadline', energy_kwh: 25, deadline: '07:00' } },
    });
  }, 240_000);
});
