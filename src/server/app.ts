/**
 * The server application: the store, optionally an embedded MQTT broker, the ingester, and the
 * API + WebSocket + dashboard. Composition only: each part owns its own sockets and timers.
 */
import { EventEmitter } from 'node:events';
import { dirname, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import mqtt, { type MqttClient } from 'mqtt';
import type { Snapshot } from '../core/snapshot.js';
import { describeDbError, prepareDbPath } from '../lib/db-path.js';
import type { Logger } from '../lib/log.js';
import { listenError, postgresError } from '../lib/start-errors.js';
import { loadTlsFiles, loadTlsIdentity } from '../lib/tls-files.js';
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
    // Every TLS file is read and checked now: a bad one is a config error naming its key (exit 2),
    // not a stack trace from deep in a TLS handshake or a broker that never stops.
    const brokerTls = config.broker.enabled && config.broker.tls ? readTls(config.broker.tls) : null;
    if (!config.broker.enabled && config.mqtt.tls) checkIngesterTls(config.mqtt.tls);
    const storeOpts = {
      timezone: config.timezone,
      rawRetentionDays: config.store.raw_retention_days,
      logger: log.child({ component: 'store' }),
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
          tls: brokerTls,
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
    await this.openStore();
    if (this.broker) await this.startBroker(this.broker);

    // With the embedded broker, the in-process clients (ingester, status listener) identify with
    // the broker's secret ingester credentials; with its TLS they verify it against its CA and
    // present no certificate (broker.tls holds the broker's own, not a client's). With Mosquitto:
    // mqtt.tls (the ingester's client certificate) or mqtt.username.
    const embedded = this.broker;
    const mqttUrl = embedded ? embedded.url : config.mqtt.url;
    let tls: IngesterTls | null = null;
    if (embedded && config.broker.tls) tls = { caCert: config.broker.tls.ca_cert, configKey: 'broker.tls' };
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
    await this.api.listen({ host: config.api.host, port: config.api.port }).catch((err: unknown) => {
      throw listenError('api', config.api.host, config.api.port, err);
    });
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

  /**
   * Opens the store and brings its schema up to date; a problem names store.path (the SQLite file:
   * exit 2 for the wrong file, 1 for a full disk) or store.url (PostgreSQL, without its password: exit 1).
   */
  private async openStore(): Promise<void> {
    const s = this.opts.config.store;
    if (s.type === 'postgres') {
      const fromEnv = process.env.KWARTIER_DATABASE_URL !== undefined;
      const url = process.env.KWARTIER_DATABASE_URL ?? s.url ?? '';
      await this.store.migrate().catch((err: unknown) => {
        throw postgresError(fromEnv ? 'KWARTIER_DATABASE_URL' : 'store.url', url, err);
      });
      return;
    }
    const path = s.path ?? '';
    prepareDbPath('store.path', path);
    await this.store.migrate().catch((err: unknown) => {
      throw describeDbError('store.path', path, err);
    });
  }

  private async startBroker(broker: EmbeddedBroker): Promise<void> {
    const b = this.opts.config.broker;
    await broker.start().catch((err: unknown) => {
      throw listenError('broker', b.host, b.port, err);
    });
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

/** broker.tls: the embedded broker's CA, certificate and key, read and checked (ConfigError naming the key). */
function readTls(t: { ca_cert: string; cert: string; key: string }): { ca: Buffer; cert: Buffer; key: Buffer } {
  return loadTlsIdentity(
    { key: 'broker.tls.ca_cert', path: t.ca_cert },
    { key: 'broker.tls.cert', path: t.cert },
    { key: 'broker.tls.key', path: t.key },
  );
}

/** mqtt.tls: the ingester's CA and client certificate for Mosquitto, checked (the ingester reads them when it connects). */
function checkIngesterTls(t: { ca_cert: string; cert: string; key: string }): void {
  loadTlsFiles({
    ca: { key: 'mqtt.tls.ca_cert', path: t.ca_cert },
    cert: { key: 'mqtt.tls.cert', path: t.cert },
    privateKey: { key: 'mqtt.tls.key', path: t.key },
  });
}
