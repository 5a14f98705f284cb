/**
 * Home Assistant on the user's own broker: a second MQTT connection of the edge (beside the
 * uplink), with its own host, credentials and TLS. A consumer of the edge's bus (bus.ts): the
 * newest snapshot and capacity status become the state message; discovery.ts builds what is sent.
 *
 * - Availability: the connection's last will is `offline` (retained) on the home's availability
 *   topic; `online` (retained) once connected; `offline` on a clean stop.
 * - Discovery: every sensor's config, retained, on each connect, and again when Home Assistant
 *   announces itself (`<prefix>/status` = `online`, not retained), after a random delay of up to
 *   `rediscoverMaxDelayMs` as HA's docs ask (many devices answer the same announcement).
 * - State: at most one message per `state_interval_s`, always the newest values (a snapshot
 *   arriving within the interval is sent at its end); QoS 0, not retained, dropped while
 *   disconnected (the next one is at most one interval away).
 * - Reconnects back off exponentially with jitter; a log line on each change of state, not per try.
 */
import { isIP } from 'node:net';
import type { IClientOptions, MqttClient } from 'mqtt';
import { Backoff } from '../../core/backoff.js';
import { errorMessage } from '../../core/errors.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { Logger } from '../../lib/log.js';
import { connectMqtt } from '../../lib/mqtt-connect.js';
import { loadTlsFiles, type TlsFileSet } from '../../lib/tls-files.js';
import type { EdgeBus, EdgeConsumer } from '../bus.js';
import type { CapacityStatus } from '../capacity-watch.js';
import type { HomeAssistantConfig } from '../config.js';
import { buildDiscovery, buildState, type HomeDescription, homeTopics } from './discovery.js';

export interface HomeAssistantOptions {
  deviceId: string;
  config: HomeAssistantConfig;
  /** Names of the site's EV chargers (devices with the `ev_charger` role). */
  chargers: readonly string[];
  log: Logger;
  /** Longest random wait before answering HA's `online` with discovery (default 2000 ms). */
  rediscoverMaxDelayMs?: number;
  clientId?: string;
  connectTimeoutMs?: number;
  keepaliveS?: number;
  backoff?: { baseMs?: number; maxMs?: number };
}

export interface HomeAssistantStats {
  connected: boolean;
  connects: number;
  /** Times the full set of discovery configs was sent. */
  discoveries: number;
  states_published: number;
}

const KEY = 'home_assistant.mqtt';

type TlsFilesConfig = Exclude<HomeAssistantConfig['mqtt']['tls'], boolean>;

/** The files `home_assistant.mqtt.tls` names, each with its key (for loadTlsFiles' errors). */
export function tlsFileSet(tls: TlsFilesConfig): TlsFileSet {
  return {
    ...(tls.ca_cert ? { ca: { key: `${KEY}.tls.ca_cert`, path: tls.ca_cert } } : {}),
    ...(tls.client_cert ? { cert: { key: `${KEY}.tls.client_cert`, path: tls.client_cert } } : {}),
    ...(tls.client_key ? { privateKey: { key: `${KEY}.tls.client_key`, path: tls.client_key } } : {}),
  };
}

export class HomeAssistantPublisher implements EdgeConsumer {
  readonly name = 'home-assistant';
  private readonly home: HomeDescription;
  private readonly topics: { state: string; availability: string };
  private readonly statusTopic: string;
  private readonly intervalMs: number;
  private readonly backoff: Backoff;
  private client: MqttClient | null = null;
  private ready = false;
  private running = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stateTimer: NodeJS.Timeout | null = null;
  private rediscoverTimer: NodeJS.Timeout | null = null;
  private latest: Snapshot | null = null;
  private capacity: CapacityStatus | null = null;
  /** A snapshot arrived since the last state message. */
  private dirty = false;
  private lastStateAt = Number.NEGATIVE_INFINITY;
  private readonly counters = { connects: 0, discoveries: 0, states_published: 0 };

  constructor(private readonly opts: HomeAssistantOptions) {
    this.home = {
      deviceId: opts.deviceId,
      chargers: opts.chargers,
      discoveryPrefix: opts.config.discovery_prefix,
    };
    this.topics = homeTopics(opts.deviceId);
    this.statusTopic = `${opts.config.discovery_prefix}/status`;
    this.intervalMs = opts.config.state_interval_s * 1000;
    this.backoff = new Backoff({ baseMs: opts.backoff?.baseMs ?? 1000, maxMs: opts.backoff?.maxMs ?? 60_000 });
  }

  get stats(): HomeAssistantStats {
    return { connected: this.ready, ...this.counters };
  }

  /** Subscribes to the bus and connects (and keeps reconnecting) to the broker. */
  start(bus: EdgeBus): void {
    if (this.running) return;
    this.running = true;
    bus.subscribe(this.name, 'snapshot', (s) => {
      this.latest = s;
      this.dirty = true;
      this.scheduleState();
    });
    bus.subscribe(this.name, 'capacity_status', (c) => {
      this.capacity = c;
    });
    this.warnIfPlain();
    this.connect();
  }

  /** Unsubscribes, publishes `offline` and disconnects cleanly. */
  async stop(bus: EdgeBus): Promise<void> {
    bus.unsubscribe(this.name);
    if (!this.running) return;
    this.running = false;
    for (const t of [this.reconnectTimer, this.stateTimer, this.rediscoverTimer]) if (t) clearTimeout(t);
    this.reconnectTimer = this.stateTimer = this.rediscoverTimer = null;
    const client = this.client;
    this.client = null;
    if (!client) return;
    if (this.ready) {
      this.ready = false;
      await withTimeout(
        client.publishAsync(this.topics.availability, 'offline', { qos: 1, retain: true }).then(() => undefined),
        2000,
      ).catch(() => undefined);
    }
    await withTimeout(client.endAsync(false), 3000).catch(() => undefined);
    client.end(true);
  }

  /** A password over plain MQTT to another machine can be read on the way: say so once. */
  private warnIfPlain(): void {
    const m = this.opts.config.mqtt;
    const loopback = m.host === 'localhost' || m.host === '::1' || m.host.startsWith('127.');
    if (m.tls === false && m.password !== undefined && !loopback) {
      this.opts.log.warn(
        { host: m.host },
        `${KEY}.password goes to ${m.host} without TLS: set ${KEY}.tls if the broker offers it`,
      );
    }
  }

  private clientOptions(): IClientOptions {
    const m = this.opts.config.mqtt;
    const opts: IClientOptions = {
      clientId: this.opts.clientId ?? `kwartier-ha-${this.opts.deviceId}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: this.opts.connectTimeoutMs ?? 10_000,
      keepalive: this.opts.keepaliveS ?? 30,
      queueQoSZero: false,
      writeCache: false,
      will: { topic: this.topics.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
    };
    if (m.username !== undefined) opts.username = m.username;
    if (m.password !== undefined) opts.password = m.password;
    if (m.tls !== false) {
      opts.rejectUnauthorized = true;
      if (isIP(m.host) === 0) opts.servername = m.host;
      if (typeof m.tls === 'object') {
        // Read on every connection (a renewed certificate needs no restart); checked at start-up.
        const f = loadTlsFiles(tlsFileSet(m.tls));
        if (f.ca) opts.ca = f.ca;
        if (f.cert) opts.cert = f.cert;
        if (f.key) opts.key = f.key;
      }
    }
    return opts;
  }

  private url(): string {
    const m = this.opts.config.mqtt;
    const tls = m.tls !== false;
    const host = m.host.includes(':') ? `[${m.host}]` : m.host;
    return `${tls ? 'mqtts' : 'mqtt'}://${host}:${m.port ?? (tls ? 8883 : 1883)}`;
  }

  private connect(): void {
    if (!this.running) return;
    const url = this.url();
    let client: MqttClient;
    try {
      client = connectMqtt(url, this.clientOptions());
    } catch (err) {
      this.opts.log.error({ url, err: errorMessage(err) }, 'home assistant: cannot connect');
      this.scheduleReconnect();
      return;
    }
    this.client = client;
    let lastError: string | null = null;
    let closed = false;
    client.on('error', (err) => {
      lastError = errorMessage(err);
    });
    client.on('connect', () => void this.onConnect(client));
    client.on('message', (topic, payload, packet) => {
      if (topic !== this.statusTopic || packet.retain) return;
      if (payload.toString('utf8') === 'online') this.onHomeAssistantOnline(client);
    });
    client.on('close', () => {
      if (closed) return;
      closed = true;
      const wasReady = this.ready && this.client === client;
      client.removeAllListeners('connect');
      client.end(true);
      if (this.client !== client) return;
      this.ready = false;
      this.client = null;
      if (!this.running) return;
      if (wasReady) this.opts.log.warn({ url }, 'home assistant: disconnected from the broker');
      else if (this.backoff.attempts === 0 || this.backoff.attempts % 10 === 0)
        this.opts.log.warn({ url, err: lastError }, 'home assistant: cannot reach the broker');
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, this.backoff.next());
  }

  private async onConnect(client: MqttClient): Promise<void> {
    try {
      await client.subscribeAsync(this.statusTopic, { qos: 1 });
      await this.announce(client);
    } catch (err) {
      if (this.client === client) {
        this.opts.log.warn({ err: errorMessage(err) }, 'home assistant: discovery failed; reconnecting');
        client.end(true);
      }
      return;
    }
    if (this.client !== client || !this.running) return;
    this.ready = true;
    this.counters.connects++;
    this.backoff.reset();
    this.opts.log.info(
      { url: this.url(), sensors: buildDiscovery(this.home).length },
      'home assistant: connected, discovery sent',
    );
    this.dirty = this.latest !== null;
    this.lastStateAt = Number.NEGATIVE_INFINITY;
    this.scheduleState();
  }

  /** Every sensor's config (retained), then `online`: HA then has each entity before it is available. */
  private async announce(client: MqttClient): Promise<void> {
    const messages = buildDiscovery(this.home);
    await Promise.all(
      messages.map((m) => client.publishAsync(m.topic, JSON.stringify(m.config), { qos: 1, retain: true })),
    );
    await client.publishAsync(this.topics.availability, 'online', { qos: 1, retain: true });
    this.counters.discoveries++;
  }

  private onHomeAssistantOnline(client: MqttClient): void {
    if (this.rediscoverTimer) return; // one answer to a burst of announcements
    const delay = Math.floor(Math.random() * (this.opts.rediscoverMaxDelayMs ?? 2000));
    this.rediscoverTimer = setTimeout(() => {
      this.rediscoverTimer = null;
      if (this.client !== client || !this.ready) return;
      this.announce(client).then(
        () => {
          this.opts.log.info('home assistant came online: discovery sent again');
          // HA has just (re)started and holds no state for the sensors: send the newest now.
          this.dirty = this.latest !== null;
          this.lastStateAt = Number.NEGATIVE_INFINITY;
          this.scheduleState();
        },
        (err: unknown) => this.opts.log.warn({ err: errorMessage(err) }, 'home assistant: discovery failed'),
      );
    }, delay);
  }

  /** The next state message: now if the interval has passed, else at its end (then with the newest values). */
  private scheduleState(): void {
    if (!this.ready || this.stateTimer || !this.dirty) return;
    const wait = Math.max(0, this.lastStateAt + this.intervalMs - Date.now());
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      this.publishState();
    }, wait);
  }

  private publishState(): void {
    const client = this.client;
    const snapshot = this.latest;
    if (!client || !this.ready || !snapshot || !this.dirty) return;
    const state = buildState(this.home, { snapshot, capacity: this.capacity });
    client.publish(this.topics.state, JSON.stringify(state), { qos: 0, retain: false });
    this.dirty = false;
    this.lastStateAt = Date.now();
    this.counters.states_published++;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
