/**
 * The edge's Home Assistant connection (src/edge/home-assistant/publisher.ts) against a real
 * Mosquitto set up as a home's own broker (password file, no ACL; a second one with TLS and client
 * certificates), watched by a client that plays Home Assistant and checks every message with the
 * consumer written from HA's documentation (test/helpers/ha-discovery.ts). Snapshots come from the
 * simulated home through the edge's bus and the real capacity watch.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/core/snapshot.js';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { EdgeBus } from '../../src/edge/bus.js';
import { CapacityWatch } from '../../src/edge/capacity-watch.js';
import type { HomeAssistantConfig } from '../../src/edge/config.js';
import { HomeAssistantPublisher } from '../../src/edge/home-assistant/publisher.js';
import { silentLogger } from '../../src/lib/log.js';
import { checkSensorDiscovery, type HaSensorConfig, PAYLOAD_NONE, renderState } from '../helpers/ha-discovery.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { sampleHome } from '../helpers/snapshots.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../mqtt/wait.js';

const DEVICE = 'home-ha';
const EDGE_USER = 'ha-edge';
const HASS_USER = 'hass';

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

/** A client that plays Home Assistant: subscribes to discovery and the home's topics, records everything. */
class FakeHomeAssistant {
  readonly seen: Seen[] = [];
  private constructor(readonly client: MqttClient) {}

  static async connect(broker: Mosquitto, opts: Record<string, unknown> = {}): Promise<FakeHomeAssistant> {
    const client = await mqtt.connectAsync(broker.url, {
      ...broker.clientOptions(HASS_USER),
      reconnectPeriod: 0,
      clientId: `hass-${Math.random().toString(16).slice(2)}`,
      ...opts,
    });
    const ha = new FakeHomeAssistant(client);
    client.on('message', (topic, p, packet) => {
      ha.seen.push({ topic, payload: p.toString('utf8'), retain: packet.retain, at: Date.now() });
    });
    await client.subscribeAsync(['homeassistant/#', `kwartier/${DEVICE}/#`], { qos: 1 });
    return ha;
  }

  configs(): Seen[] {
    return this.seen.filter((m) => m.topic.endsWith('/config') && m.payload !== '');
  }
  states(): Seen[] {
    return this.seen.filter((m) => m.topic === `kwartier/${DEVICE}/state`);
  }
  availability(): string[] {
    return this.seen.filter((m) => m.topic === `kwartier/${DEVICE}/availability`).map((m) => m.payload);
  }
  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** The simulated home from 06:00 at 1 s steps (the capacity watch needs the quarter's start). */
function homeSnapshots(minutes: number): Snapshot[] {
  const start = Date.parse('2026-03-30T06:00:00Z');
  return sampleHome(new HomeModel({ start, seed: 11 }), DEVICE, start + minutes * 60_000, 1000);
}

let broker: Mosquitto;
const running: Array<{ publisher: HomeAssistantPublisher; bus: EdgeBus }> = [];
const clients: FakeHomeAssistant[] = [];

beforeAll(async () => {
  broker = await Mosquitto.start({ tls: false, acl: false, devices: [EDGE_USER, 'ha-edge-2', HASS_USER] });
});
afterAll(async () => {
  await broker?.dispose();
});
afterEach(async () => {
  for (const r of running.splice(0)) await r.publisher.stop(r.bus);
  for (const c of clients.splice(0)) await c.close();
  // Each test starts from a broker without this home's retained messages.
  const cleaner = await mqtt.connectAsync(broker.url, { ...broker.clientOptions(HASS_USER), reconnectPeriod: 0 });
  const retained: string[] = [];
  cleaner.on('message', (t, p) => {
    if (p.length > 0) retained.push(t);
  });
  await cleaner.subscribeAsync(['homeassistant/#', 'kwartier/#'], { qos: 1 });
  await new Promise((r) => setTimeout(r, 200));
  for (const t of retained) await cleaner.publishAsync(t, '', { retain: true, qos: 1 });
  await cleaner.endAsync();
});

function haConfig(over: Partial<HomeAssistantConfig> = {}, port = broker.port): HomeAssistantConfig {
  return {
    mqtt: { host: '127.0.0.1', port, username: EDGE_USER, password: EDGE_USER, tls: false },
    discovery_prefix: 'homeassistant',
    state_interval_s: 1,
    ...over,
  };
}

/** An edge's bus with the real capacity watch and the Home Assistant publisher on it. */
function startEdge(config: HomeAssistantConfig, chargers: string[] = ['car']) {
  const bus = new EdgeBus({ log: silentLogger() });
  new CapacityWatch({ timezone: 'Europe/Brussels' }).start(bus);
  const publisher = new HomeAssistantPublisher({
    deviceId: DEVICE,
    config,
    chargers,
    log: silentLogger(),
    rediscoverMaxDelayMs: 100,
    backoff: { baseMs: 100, maxMs: 400 },
  });
  publisher.start(bus);
  running.push({ publisher, bus });
  return { bus, publisher };
}

async function watch(): Promise<FakeHomeAssistant> {
  const ha = await FakeHomeAssistant.connect(broker);
  clients.push(ha);
  return ha;
}

describe('Home Assistant over MQTT (real Mosquitto)', () => {
  it('leaves retained discovery and availability for HA, and sends states HA renders from the newest snapshot', async () => {
    const { bus, publisher } = startEdge(haConfig());
    await waitFor(() => publisher.stats.connected, 'connected');
    // HA starts after the edge: it finds the configs and `online` retained.
    const ha = await watch();
    await waitFor(() => ha.configs().length === 24 && ha.availability().length === 1, 'retained discovery');
    for (const m of ha.configs()) {
      expect(m.retain, m.topic).toBe(true);
      expect(checkSensorDiscovery(m.topic, m.payload), m.topic).toEqual([]);
    }
    expect(ha.availability()).toEqual(['online']);
    expect(ha.seen.find((m) => m.topic.endsWith('/availability'))?.retain).toBe(true);

    const snaps = homeSnapshots(1);
    for (const s of snaps.slice(0, 20)) bus.publish('snapshot', s);
    await waitFor(() => ha.states().length >= 1, 'a state message');
    const state = ha.states()[0] as Seen;
    expect(state.retain).toBe(false);
    // The burst went out as one message with the newest values.
    const newest = snaps[19] as Snapshot;
    const configs = ha.configs().map((m) => JSON.parse(m.payload) as HaSensorConfig);
    const render = (key: string) =>
      renderState(
        configs.find((c) => c.unique_id === `kwartier_${DEVICE}_${key}`)?.value_template ?? '',
        state.payload,
      );
    expect(Number(render('grid_power_w'))).toBe(newest.grid_power_w);
    expect(Number(render('grid_import_t1_kwh'))).toBe(newest.grid_import_t1_kwh);
    expect(Number(render('pv_power_w'))).toBe(newest.pv_power_w);
    expect(Number(render('gas_total_m3'))).toBe(newest.gas_total_m3);
    expect(Number(render('month_peak_w'))).toBe(newest.grid_monthly_peak_w);
    // Nothing of a charger in these snapshots, and the quarter began before the edge: unknown.
    expect(render('car_ev_power_w')).toBe(PAYLOAD_NONE);
    expect(render('quarter_avg_w')).toBe(PAYLOAD_NONE);
    for (const c of configs) expect(() => renderState(c.value_template ?? '', state.payload)).not.toThrow();

    // A source goes stale: its values are null on the wire (unknown in HA), not 0.
    bus.publish('snapshot', { ...newest, pv_power_w: null, stale_sources: ['sungrow'] });
    await waitFor(() => ha.states().length >= 2, 'a second state message');
    expect(JSON.parse((ha.states()[1] as Seen).payload)).toMatchObject({ pv_power_w: null });
  });

  it('sends at most one state per state_interval_s, always the newest values', async () => {
    const { bus, publisher } = startEdge(haConfig({ state_interval_s: 1 }));
    const ha = await watch();
    await waitFor(() => publisher.stats.connected, 'connected');
    const snaps = homeSnapshots(1);
    // 30 snapshots over ~3 s (10 a second): three times the allowed rate.
    const startedAt = Date.now();
    for (const s of snaps.slice(0, 30)) {
      bus.publish('snapshot', s);
      await new Promise((r) => setTimeout(r, 100));
    }
    const fedFor = Date.now() - startedAt;
    const last = snaps[29] as Snapshot;
    // The trailing message carries the last snapshot.
    await waitFor(
      () =>
        ha.states().some((m) => (JSON.parse(m.payload) as { grid_power_w: number }).grid_power_w === last.grid_power_w),
      'the last snapshot’s state',
      5000,
    );
    await new Promise((r) => setTimeout(r, 1500)); // nothing more comes without a new snapshot
    const states = ha.states();
    expect(states.length).toBeGreaterThanOrEqual(3);
    expect(states.length).toBeLessThanOrEqual(Math.ceil(fedFor / 1000) + 1);
    expect(publisher.stats.states_published).toBe(states.length);
    for (let i = 1; i < states.length; i++) {
      // 1 s apart at the sender; a little less on arrival when the earlier one was delayed.
      expect((states[i] as Seen).at - (states[i - 1] as Seen).at).toBeGreaterThan(900);
    }
    expect(JSON.parse((states.at(-1) as Seen).payload).grid_power_w).toBe(last.grid_power_w);
  });

  it('goes offline by its last will when its connection dies, and online again when it is back', async () => {
    const proxy = await TcpProxy.start(broker.port);
    try {
      const ha = await watch();
      const { publisher } = startEdge(haConfig({}, proxy.port));
      await waitFor(() => ha.availability().length === 1, 'online');
      expect(ha.availability()).toEqual(['online']);
      // The edge's connection dies without a DISCONNECT: the broker publishes the will.
      proxy.cut();
      await waitFor(() => ha.availability().length >= 2, 'the last will');
      expect(ha.availability()[1]).toBe('offline');
      await waitFor(() => ha.availability().length >= 3 && publisher.stats.connected, 'back online');
      expect(ha.availability()[2]).toBe('online');
      expect(publisher.stats.connects).toBe(2);
      // The retained availability a newly started HA finds is `online`.
      const late = await watch();
      await waitFor(() => late.availability().length === 1, 'retained availability');
      expect(late.availability()).toEqual(['online']);
    } finally {
      await proxy.stop();
    }
  });

  it('sends discovery again when HA announces itself online, not for a retained announcement', async () => {
    const ha = await watch();
    const { bus, publisher } = startEdge(haConfig());
    await waitFor(() => ha.configs().length === 24, 'first discovery');
    bus.publish('snapshot', homeSnapshots(1)[0] as Snapshot);
    await waitFor(() => ha.states().length === 1, 'first state');
    // HA restarts: its birth message (not retained).
    await ha.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await waitFor(() => ha.configs().length === 48, 'discovery again');
    for (const m of ha.configs().slice(24)) expect(checkSensorDiscovery(m.topic, m.payload)).toEqual([]);
    expect(
      new Set(
        ha
          .configs()
          .slice(24)
          .map((m) => m.topic),
      ),
    ).toEqual(
      new Set(
        ha
          .configs()
          .slice(0, 24)
          .map((m) => m.topic),
      ),
    );
    // The count rises once every config is acknowledged and `online` is sent, just after HA has them.
    await waitFor(() => publisher.stats.discoveries === 2, 'the second discovery counted');
    expect(publisher.stats.discoveries).toBe(2);
    // …and the newest state right after, without waiting for a new snapshot.
    await waitFor(() => ha.states().length === 2, 'state after rediscovery');
    // `offline` from HA changes nothing.
    await ha.client.publishAsync('homeassistant/status', 'offline', { qos: 1 });
    // A retained `online` (left by some other tool) is no announcement: a new connection ignores it.
    await ha.client.publishAsync('homeassistant/status', 'online', { qos: 1, retain: true });
    await waitFor(() => ha.configs().length === 72, 'discovery for the live `online`');
    // (another user: this broker takes the user name as the client id, and one would take over the
    // other's session)
    const second = startEdge(
      haConfig({
        mqtt: { host: '127.0.0.1', port: broker.port, username: 'ha-edge-2', password: 'ha-edge-2', tls: false },
      }),
    );
    await waitFor(() => second.publisher.stats.connected, 'second connected');
    await waitFor(() => second.publisher.stats.discoveries >= 1, "the second edge's discovery");
    // The retained `online` it finds on subscribing is no announcement: no second discovery.
    await new Promise((r) => setTimeout(r, 500));
    expect(second.publisher.stats.discoveries).toBe(1);
    await ha.client.publishAsync('homeassistant/status', '', { qos: 1, retain: true });
  });

  it('keeps the same unique ids and configs across a restart; a clean stop leaves `offline`', async () => {
    const ha = await watch();
    const first = startEdge(haConfig());
    await waitFor(() => ha.configs().length === 24, 'first discovery');
    const before = new Map(ha.configs().map((m) => [m.topic, m.payload]));
    await first.publisher.stop(first.bus);
    running.splice(0);
    await waitFor(() => ha.availability().at(-1) === 'offline', 'offline on stop');
    startEdge(haConfig());
    await waitFor(() => ha.configs().length === 48 && ha.availability().at(-1) === 'online', 'discovery after restart');
    const after = new Map(
      ha
        .configs()
        .slice(24)
        .map((m) => [m.topic, m.payload]),
    );
    expect(after).toEqual(before);
    const ids = [...after.values()].map((p) => (JSON.parse(p) as HaSensorConfig).unique_id).sort();
    expect(ids).toContain(`kwartier_${DEVICE}_grid_import_t1_kwh`);
    expect(ids).toContain(`kwartier_${DEVICE}_car_ev_session_kwh`);
  });
});

describe('Home Assistant over MQTT with TLS and a client certificate', () => {
  let tlsBroker: Mosquitto;
  beforeAll(async () => {
    tlsBroker = await Mosquitto.start({ tls: true, acl: false, devices: [EDGE_USER, HASS_USER] });
  });
  afterAll(async () => {
    await tlsBroker?.dispose();
  });

  it('connects with the configured CA and client certificate and announces the home', async () => {
    const ha = await FakeHomeAssistant.connect(tlsBroker);
    clients.push(ha);
    const files = tlsBroker.tlsFiles(EDGE_USER);
    const bus = new EdgeBus({ log: silentLogger() });
    const publisher = new HomeAssistantPublisher({
      deviceId: DEVICE,
      config: {
        mqtt: {
          host: '127.0.0.1',
          port: tlsBroker.port,
          tls: { ca_cert: files.ca, client_cert: files.cert, client_key: files.key },
        },
        discovery_prefix: 'homeassistant',
        state_interval_s: 5,
      },
      chargers: [],
      log: silentLogger(),
      backoff: { baseMs: 100, maxMs: 400 },
    });
    publisher.start(bus);
    running.push({ publisher, bus });
    await waitFor(() => ha.configs().length === 20 && ha.availability().includes('online'), 'discovery over TLS');
    for (const m of ha.configs()) expect(checkSensorDiscovery(m.topic, m.payload)).toEqual([]);
    bus.publish('snapshot', homeSnapshots(1)[0] as Snapshot);
    await waitFor(() => ha.states().length === 1, 'state over TLS');
  });
});
