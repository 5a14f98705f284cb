/**
 * The server application: the store, optionally an embedded MQTT broker, the ingester, and the
 * API + WebSocket + dashboard. Composition only: each part owns its own sockets and timers.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import mqtt, { type MqttClient } from 'mqtt';
import type { Snapshot } from '../core/snapshot.js';
import type { Logger } from '../lib/log.js';
import { type CapacityAlertEvent, createApi } from './api/index.js';
import { createEmbeddedBroker, type EmbeddedBroker } from './broker/embedded.js';
import type { ServerConfig } from './config.js';
import { createIngester, type Ingester, type IngesterTls, tlsClientOptions } from './ingest/ingester.js';
import { createPostgresStore, createSqliteStore, type Store } from './store/index.js';

export interface ServerAppOptions {
  config: ServerConfig;
  /** Path of the config file: tariff files are resolved against its directory. */
  configPath?: string;
  log: Logger;
  /** Dashboard files (web/dist). */
  webRoot?: string;
  /** Ingester tuning (tests and the demo shorten the flush interval). */
  ingestOptions?: { flushIntervalMs?: number; flushMaxRows?: number };
}

export class ServerApp {
  readonly store: Store;
  readonly broker: EmbeddedBroker | null;
  ingester: Ingester | null = null;
  api: FastifyInstance | null = null;
  /** Snapshots as they are committed (the WebSocket pushes these). */
  readonly events = new EventEmitter<{ snapshot: [Snapshot]; capacity_alert: [CapacityAlertEvent] }>();
  private statusClient: MqttClient | null = null;
  private readonly bufferDepth: Record<string, number> = {};

  constructor(private readonly opts: ServerAppOptions) {
    const { config, log } = opts;
    this.events.setMaxListeners(0);
    const storeOpts = {
      timezone: config.timezone,
      rawRetentionDays: config.store.raw_retention_days,
      logger: log.child({ component: 'store' }),
      counterLimits: { maxPowerW: config.ingest.max_power_w, slackS: config.ingest.counter_slack_s },
    };
    if (config.store.type === 'postgres') {
      const url = process.env.KWARTIER_DATABASE_URL ?? config.store.url ?? '';
      this.store = createPostgresStore({ connectionString: url, schema: config.store.schema }, storeOpts);
    } else {
      this.store = createSqliteStore(config.store.path ?? '', storeOpts);
    }
    this.broker = config.broker.enabled
      ? createEmbeddedBroker({
          host: config.broker.host,
          port: config.broker.port,
          prefix: config.mqtt.topic_prefix,
          tls: config.broker.tls ? readTls(config.broker.tls) : null,
          log: log.child({ component: 'broker' }),
        })
      : null;
  }

  /** Where the API listens (after start). */
  get apiAddress(): { host: string; port: number } | null {
    const addr = this.api?.server.address();
    return addr && typeof addr === 'object' ? { host: addr.address, port: addr.port } : null;
  }

  /** Where the embedded broker listens (after start). */
  get brokerUrl(): string | null {
    return this.broker?.url ?? null;
  }

  async start(): Promise<void> {
    const { config, log } = this.opts;
    await this.store.migrate();
    if (this.broker) await this.broker.start();

    // With the embedded broker, the in-process clients (ingester, status listener) identify with
    // the broker's secret ingester credentials; with its TLS they verify it against its CA and
    // present no certificate (broker.tls holds the broker's own, not a client's). With Mosquitto:
    // mqtt.tls (the ingester's client certificate) or mqtt.username.
    const embedded = this.broker;
    const mqttUrl = embedded ? embedded.url : config.mqtt.url;
    let tls: IngesterTls | null = null;
    if (embedded && config.broker.tls) tls = { caCert: config.broker.tls.ca_cert };
    else if (!embedded && config.mqtt.tls)
      tls = { caCert: config.mqtt.tls.ca_cert, clientCert: config.mqtt.tls.cert, clientKey: config.mqtt.tls.key };
    const creds = embedded
      ? embedded.ingesterCredentials
      : config.mqtt.username !== undefined
        ? { username: config.mqtt.username, password: config.mqtt.password ?? '' }
        : undefined;

    this.ingester = createIngester({
      mqttUrl,
      tls,
      clientId: config.mqtt.client_id,
      prefix: config.mqtt.topic_prefix,
      store: this.store,
      log: log.child({ component: 'ingest' }),
      timeWindow: { maxPastDays: config.ingest.max_past_days, maxFutureS: config.ingest.max_future_s },
      deadLetterLimits: { burst: config.ingest.dead_letter_burst, perMinute: config.ingest.dead_letters_per_minute },
      ...(creds ? { username: creds.username, password: creds.password } : {}),
      ...(this.opts.ingestOptions ?? {}),
    });
    this.ingester.on('snapshot', (s) => this.events.emit('snapshot', s.snapshot));

    const configDir = this.opts.configPath ? dirname(resolve(this.opts.configPath)) : process.cwd();
    this.api = await createApi({
      store: this.store,
      config,
      events: this.events,
      log: log.child({ component: 'api' }),
      configDir,
      ...(this.opts.webRoot ? { webRoot: this.opts.webRoot } : {}),
      metrics: { bufferDepth: () => ({ ...this.bufferDepth }) },
    });
    await this.ingester.start();
    this.startStatusListener(mqttUrl, tls, creds);
    await this.api.listen({ host: config.api.host, port: config.api.port });
    const addr = this.apiAddress;
    log.info(
      {
        api: addr ? `http://${addr.host}:${addr.port}` : null,
        store: config.store.type,
        broker: this.broker?.url ?? null,
      },
      'server started',
    );
  }

  async stop(): Promise<void> {
    await this.api?.close().catch(() => {});
    this.statusClient?.end(true);
    await this.ingester?.stop().catch(() => {});
    await this.broker?.stop().catch(() => {});
    await this.store.close().catch(() => {});
  }

  /**
   * Edge status messages (retained): buffer depth per device for /metrics; and capacity-tariff
   * alerts, pushed to the device's WebSocket clients.
   */
  private startStatusListener(
    url: string,
    tls: IngesterTls | null,
    creds: { username: string; password: string } | undefined,
  ): void {
    const prefix = this.opts.config.mqtt.topic_prefix;
    const client = mqtt.connect(url, {
      clientId: `${this.opts.config.mqtt.client_id}-status-${process.pid}`,
      clean: true,
      reconnectPeriod: 5000,
      connectTimeout: 10_000,
      ...(tls ? tlsClientOptions(tls) : {}),
      ...(creds ? { username: creds.username, password: creds.password } : {}),
    });
    client.on('connect', () => client.subscribe([`${prefix}/+/status`, `${prefix}/+/capacity`], { qos: 0 }));
    client.on('error', () => {});
    client.on('message', (topic, payload) => {
      const id = topic.slice(prefix.length + 1, topic.lastIndexOf('/'));
      const leaf = topic.slice(topic.lastIndexOf('/') + 1);
      try {
        const msg = JSON.parse(payload.toString()) as Record<string, unknown>;
        if (leaf === 'status' && typeof msg.buffer_depth === 'number') this.bufferDepth[id] = msg.buffer_depth;
        // The topic's id is authoritative (the broker's ACL lets a device publish only under its own).
        if (leaf === 'capacity' && msg.kind === 'alert')
          this.events.emit('capacity_alert', { deviceId: id, alert: msg });
      } catch {
        // a status that is not JSON is ignored; the ingester handles data topics
      }
    });
    this.statusClient = client;
  }
}

function readTls(t: { ca_cert: string; cert: string; key: string }): { ca: Buffer; cert: Buffer; key: Buffer } {
  return { ca: readFileSync(t.ca_cert), cert: readFileSync(t.cert), key: readFileSync(t.key) };
}
