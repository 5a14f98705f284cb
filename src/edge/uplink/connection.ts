/**
 * The uplink's connection to the broker: the MQTT client's options (TLS with a client certificate,
 * the `status` last will), connecting, and reconnecting with backoff after every close.
 */
import { isIP } from 'node:net';
import type { IClientOptions, MqttClient } from 'mqtt';
import { Backoff } from '../../core/backoff.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../lib/log.js';
import { connectMqtt } from '../../lib/mqtt-connect.js';
import { loadTlsFiles } from '../../lib/tls-files.js';
import type { MqttConfig } from './types.js';

/** One connection to the broker; a reconnect makes a new one. */
export interface Conn {
  client: MqttClient;
  /** Subscribed to the ack and past the retained ack's arrival: the forwarder may send. */
  ready: boolean;
  /** Batches published and awaiting their PUBACK. */
  inflightBatches: number;
  closed: boolean;
}

export interface ClientSettings {
  mqtt: MqttConfig;
  clientId: string;
  connectTimeoutMs: number;
  keepaliveS: number;
  /** Plain MQTT's username (loopback, embedded broker), where the identity is the name. */
  username: string;
  will: { topic: string; payload: string };
}

/** The MQTT client's options; the TLS files are read on each call. */
export function mqttClientOptions(settings: ClientSettings): IClientOptions {
  const { mqtt } = settings;
  const options: IClientOptions = {
    clientId: settings.clientId,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: settings.connectTimeoutMs,
    keepalive: settings.keepaliveS,
    queueQoSZero: false,
    // mqtt-packet's number cache: 65 536 two-byte Buffers, one per packet id, made on the first
    // write and kept for good (6.3 MB of heap, a tenth of the edge's RSS, to save an allocation of
    // 2 bytes per packet once a second). mqtt.js's own option turns it off for the process.
    writeCache: false,
    will: { topic: settings.will.topic, payload: Buffer.from(settings.will.payload), qos: 1, retain: true },
  };
  if (mqtt.tls) {
    // Read on every connection (a renewed certificate needs no restart); checked at start-up
    // (edge/app.ts), so an error here names a file that went away since: logged, and retried.
    const files = loadTlsFiles({
      ca: { key: 'mqtt.tls.ca_cert', path: mqtt.tls.ca_cert },
      cert: { key: 'mqtt.tls.client_cert', path: mqtt.tls.client_cert },
      privateKey: { key: 'mqtt.tls.client_key', path: mqtt.tls.client_key },
    });
    if (files.ca) options.ca = files.ca;
    if (files.cert) options.cert = files.cert;
    if (files.key) options.key = files.key;
    options.rejectUnauthorized = true;
    if (isIP(mqtt.host) === 0) options.servername = mqtt.host;
  } else {
    options.username = settings.username;
  }
  return options;
}

export function brokerUrl(mqtt: MqttConfig): string {
  return `${mqtt.tls ? 'mqtts' : 'mqtt'}://${mqtt.host.includes(':') ? `[${mqtt.host}]` : mqtt.host}:${mqtt.port}`;
}

export interface BrokerConnectionOptions {
  mqtt: MqttConfig;
  log: Logger;
  backoff?: { baseMs?: number; maxMs?: number };
  /** The client's options, made anew for each connection. */
  clientOptions: () => IClientOptions;
  /** Called on each CONNACK; the caller makes the connection ready (markReady) when it may send. */
  onConnect: (conn: Conn) => void;
  onMessage: (topic: string, payload: Buffer) => void;
}

/** Keeps one connection to the broker open until stopped. */
export class BrokerConnection {
  private conn: Conn | null = null;
  private stopping = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;

  constructor(private readonly options: BrokerConnectionOptions) {
    this.backoff = new Backoff({ baseMs: options.backoff?.baseMs ?? 1000, maxMs: options.backoff?.maxMs ?? 60_000 });
  }

  /** The connection now open (ready or not), or null. */
  get current(): Conn | null {
    return this.conn;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Connects, and reconnects after every close until `stop`. */
  start(): void {
    this.stopping = false;
    this.connect();
  }

  /** The connection may send: the backoff starts over. */
  markReady(conn: Conn): void {
    conn.ready = true;
    this.backoff.reset();
  }

  /** Stops reconnecting; on a ready connection runs `beforeEnd` (up to 2 s), then disconnects cleanly. */
  async stop(beforeEnd: (conn: Conn) => Promise<unknown>): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const conn = this.conn;
    this.conn = null;
    if (!conn) return;
    if (conn.ready) await Promise.race([beforeEnd(conn), new Promise((r) => setTimeout(r, 2000))]);
    conn.closed = true;
    await Promise.race([conn.client.endAsync(false).catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
    conn.client.end(true);
  }

  private connect(): void {
    if (this.stopping) return;
    const { log } = this.options;
    const url = brokerUrl(this.options.mqtt);
    let client: MqttClient;
    try {
      client = connectMqtt(url, this.options.clientOptions());
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'cannot connect');
      this.scheduleReconnect();
      return;
    }
    const conn: Conn = { client, ready: false, inflightBatches: 0, closed: false };
    this.conn = conn;
    let lastError: string | null = null;
    client.on('error', (err) => {
      lastError = errorMessage(err);
    });
    client.on('message', (topic, payload) => this.options.onMessage(topic, payload));
    client.on('connect', () => this.options.onConnect(conn));
    client.on('close', () => {
      if (conn.closed) return;
      conn.closed = true;
      const wasReady = conn.ready;
      conn.ready = false;
      client.removeAllListeners('connect');
      client.end(true);
      if (this.conn === conn) this.conn = null;
      if (this.stopping) return;
      if (wasReady) log.warn({ url }, 'disconnected from the broker');
      else if (this.backoff.attempts === 0 || this.backoff.attempts % 10 === 0)
        log.warn({ url, err: lastError }, 'cannot reach the broker');
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.reconnectTimer) return;
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }
}
