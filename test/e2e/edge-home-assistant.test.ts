/**
 * `kwartier edge --config FILE` with `home_assistant:` only (no server), reading the P1 and Sungrow
 * simulators, publishing to a test Mosquitto set up as a home's broker. A client plays Home
 * Assistant and checks what arrives with the consumer written from HA's docs: discovery, states
 * with the simulators' values, `offline` on a clean stop and by the last will on kill -9, and the
 * same configs after a restart.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { childListening, childProcesses, stopChild } from '../helpers/cli.js';
import { checkSensorDiscovery, type HaSensorConfig, renderState } from '../helpers/ha-discovery.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../mqtt/wait.js';

const children = childProcesses({ KWARTIER_LOG_LEVEL: 'warn' });
afterEach(() => children.stopAll());

let broker: Mosquitto;
let hass: MqttClient;
const seen: Array<{ topic: string; payload: string; retain: boolean }> = [];

beforeAll(async () => {
  broker = await Mosquitto.start({ tls: false, acl: false, devices: ['kwartier', 'hass'] });
  hass = await mqtt.connectAsync(broker.url, { ...broker.clientOptions('hass'), reconnectPeriod: 0 });
  hass.on('message', (topic, p, packet) => seen.push({ topic, payload: p.toString(), retain: packet.retain }));
  await hass.subscribeAsync(['homeassistant/#', 'kwartier/#'], { qos: 1 });
});
afterAll(async () => {
  await hass?.endAsync(true);
  await broker?.dispose();
});

const configs = () => seen.filter((m) => m.topic.endsWith('/config') && m.payload !== '');
const states = () => seen.filter((m) => m.topic === 'kwartier/home-e2e/state');
const availability = () => seen.filter((m) => m.topic === 'kwartier/home-e2e/availability').map((m) => m.payload);

describe('kwartier edge with home_assistant:', () => {
  it('announces the home, sends the simulators’ values, and goes offline on stop and on kill -9', async () => {
    const [p1Port, sungrowPort] = [await freePort(), await freePort()];
    const p1 = children.start(['simulate', '--dsmr-tcp', `127.0.0.1:${p1Port}`, '--seed', '3']);
    const inverter = children.start(['simulate', '--sungrow', `127.0.0.1:${sungrowPort}`, '--seed', '3']);
    await Promise.all([childListening(p1, /P1 telegrams/), childListening(inverter, /Sungrow/)]);
    const dir = mkdtempSync(join(tmpdir(), 'kw-ha-e2e-'));
    const cfg = join(dir, 'edge.yaml');
    writeFileSync(
      cfg,
      [
        'device_id: home-e2e',
        'devices:',
        `  - {name: p1, type: dsmr, tcp: "127.0.0.1:${p1Port}"}`,
        `  - {name: roof, type: sungrow, host: 127.0.0.1, port: ${sungrowPort}, unit_id: 1, poll_interval_s: 1, inter_register_delay_ms: 5, connect_delay_ms: 50, timeout_ms: 500}`,
        'home_assistant:',
        `  mqtt: {host: 127.0.0.1, port: ${broker.port}, username: kwartier, password: kwartier}`,
        '  state_interval_s: 1',
        '',
      ].join('\n'),
    );

    const edge = children.start(['edge', '--config', cfg]);
    await waitFor(() => configs().length === 20 && availability().at(-1) === 'online', 'discovery', 30_000);
    for (const m of configs()) expect(checkSensorDiscovery(m.topic, m.payload), m.topic).toEqual([]);
    const byKey = new Map(
      configs().map((m) => {
        const c = JSON.parse(m.payload) as HaSensorConfig;
        return [c.unique_id?.replace('kwartier_home-e2e_', ''), c];
      }),
    );
    const render = (key: string, payload: string) => renderState(byKey.get(key)?.value_template ?? '', payload);

    // A state with both simulators' values (the inverter connects a little after the meter).
    await waitFor(
      () =>
        states().some(
          (m) => render('grid_power_w', m.payload) !== 'None' && render('pv_total_kwh', m.payload) !== 'None',
        ),
      'a state with meter and inverter values',
      30_000,
    );
    const state = states().find(
      (m) => render('grid_power_w', m.payload) !== 'None' && render('pv_total_kwh', m.payload) !== 'None',
    );
    if (!state) throw new Error('no state');
    const values = JSON.parse(state.payload) as Record<string, number | null>;
    expect(typeof values.grid_import_t1_kwh).toBe('number');
    expect(values.grid_import_t1_kwh).toBeGreaterThan(0);
    expect(typeof values.battery_soc_pct).toBe('number');
    expect(typeof values.gas_total_m3).toBe('number');
    const grid = values.grid_power_w as number;
    expect(values.grid_import_power_w).toBe(Math.max(0, grid));
    expect(values.grid_export_power_w).toBe(Math.max(0, -grid));
    for (const c of byKey.values()) expect(() => renderState(c.value_template ?? '', state.payload)).not.toThrow();

    // A clean stop says `offline`.
    await stopChild(edge);
    expect(edge.exitCode).toBe(0);
    await waitFor(() => availability().at(-1) === 'offline', 'offline on stop', 10_000);
    const firstConfigs = new Map(configs().map((m) => [m.topic, m.payload]));

    // Started again: the same configs (unique ids and all); then kill -9: the broker's last will.
    const again = children.start(['edge', '--config', cfg]);
    await waitFor(() => configs().length === 40 && availability().at(-1) === 'online', 'discovery again', 30_000);
    expect(
      new Map(
        configs()
          .slice(20)
          .map((m) => [m.topic, m.payload]),
      ),
    ).toEqual(firstConfigs);
    again.kill('SIGKILL');
    await waitFor(() => availability().at(-1) === 'offline', 'the last will', 30_000);
  }, 120_000);
});
