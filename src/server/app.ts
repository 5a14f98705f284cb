/**
 * The server application: the store, optionally an embedded MQTT broker, the ingester, the
 * API + WebSocket + dashboard, and optionally the day-ahead price feed (and its publisher, which sends
 * the homes their prices). Composition only: each part owns its own sockets and timers.
 */
import { dirname, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../lib/log.js';
import { listenError } from '../lib/start-errors.js';
import { loadTlsFiles, loadTlsIdentity } from '../lib/tls-files.js';
import { createApi } from './api/index.js';
import { controlMessage } from './api/routes/control.js';
import { createEmbeddedBroker, type EmbeddedBroker } from './broker/embedded.js';
import { ServerBus } from './bus.js';
import type { ServerConfig } from './config.js';
import { createExporters, type Exporter, registerExporterMetrics } from './exporters/index.js';
import { createIngester, type Ingester, type IngesterTls } from './ingest/ingester.js';
import { PriceFeed, type PriceFeedOptions } from './prices/feed.js';
import { PricePublisher } from './prices/publisher.js';
import { createRetentionScheduler, type RetentionScheduler } from './retention.js';
import { openStore, storeFromConfig } from './store/from-config.js';
import type { Store } from './store/index.js';

export interface ServerAppOptions {
  config: ServerConfig;
  /** Path of the config file: tariff files are resolved against its directory. */
  configPath?: string;
  log: Logger;
  /** Dashboard files (web/dist). */
  webRoot?: string;
  /** Ingester tuning (tests and the demo shorten the flush interval). */
  ingestOptions?: { flushIntervalMs?: number; flushMaxRows?: number };
  /** Retention scheduler tuning (tests): first run, interval, clock. Default: from the config. */
  retention?: { initialDelayMs?: number; intervalMs?: number; now?: () => Date };
  /** Price feed tuning (tests): clock, retry waits, request deadline. Its source and URL come from `prices:`. */
  priceFeed?: Pick<PriceFeedOptions, 'now' | 'retryMinMs' | 'retryMaxMs' | 'requestTimeoutMs'>;
}

export class ServerApp {
  readonly store: Store;
  readonly broker: EmbeddedBroker | null;
  ingester: Ingester | null = null;
  api: FastifyInstance | null = null;
  /**
   * What the ingester commits (`committed`) and what the edges say (`status`, `capacity`), checked
   * (bus.ts). The API subscribes its consumers (WebSocket, metrics, answer cache); so can exporters.
   */
  readonly bus: ServerBus;
  /** The exporters the config asks for (`exporters:`): consumers of `committed` on the bus. */
  readonly exporters: Exporter[];
  private retention: RetentionScheduler | null = null;
  /** The day-ahead price feed (config `prices.enabled`), started after the store is open. */
  readonly priceFeed: PriceFeed | null;
  /** Sends each home the stored day-ahead prices over MQTT (with the price feed), made in start(). */
  pricePublisher: PricePublisher | null = null;

  constructor(private readonly opts: ServerAppOptions) {
    const { config, log } = opts;
    this.bus = new ServerBus({ log: log.child({ component: 'bus' }) });
    // Every TLS file is read and checked now: a bad one is a config error naming its key (exit 2),
    // not a stack trace from deep in a TLS handshake or a broker that never stops.
    const brokerTls = config.broker.enabled && config.broker.tls ? readTls(config.broker.tls) : null;
    if (!config.broker.enabled && config.mqtt.tls) checkIngesterTls(config.mqtt.tls);
    this.store = storeFromConfig(config, log);
    this.exporters = createExporters(config, { store: this.store, log: log.child({ component: 'exporter' }) });
    this.priceFeed = config.prices.enabled
      ? new PriceFeed({
          store: this.store,
          source: config.prices.source,
          zone: config.prices.zone,
          token: config.prices.token ?? null,
          baseUrl: config.prices.base_url ?? null,
          backfillDays: config.prices.backfill_days,
          log: log.child({ component: 'prices' }),
          // New prices go to the homes at once (prices/publisher.ts).
          onStored: () => this.pricePublisher?.update(),
          ...(opts.priceFeed ?? {}),
        })
      : null;
    this.broker = config.broker.enabled
      ? createEmbeddedBroker({
          host: config.broker.host,
          port: config.broker.port,
          prefix: config.mqtt.topic_prefix,
          tls: brokerTls,
          maxConnections: config.broker.max_connections,
          maxConnectionsPerAddress: config.broker.max_connections_per_address,
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

    // With the embedded broker, the ingester connects in process (no listener, no certificate) and
    // identifies with the broker's secret ingester credentials. With Mosquitto: mqtt.tls (the
    // ingester's client certificate) or mqtt.username.
    const embedded = this.broker;
    const mqttUrl = embedded ? embedded.url : config.mqtt.url;
    let tls: IngesterTls | null = null;
    if (!embedded && config.mqtt.tls)
      tls = { caCert: config.mqtt.tls.ca_cert, clientCert: config.mqtt.tls.cert, clientKey: config.mqtt.tls.key };
    const creds = embedded
      ? embedded.ingesterCredentials
      : config.mqtt.username !== undefined
        ? { username: config.mqtt.username, password: config.mqtt.password ?? '' }
        : undefined;

    const ingester = createIngester({
      mqttUrl,
      tls,
      clientId: config.mqtt.client_id,
      prefix: config.mqtt.topic_prefix,
      store: this.store,
      log: log.child({ component: 'ingest' }),
      timeWindow: { maxPastDays: config.ingest.max_past_days, maxFutureS: config.ingest.max_future_s },
      deadLetterLimits: { burst: config.ingest.dead_letter_burst, perMinute: config.ingest.dead_letters_per_minute },
      ...(creds ? { username: creds.username, password: creds.password } : {}),
      ...(embedded ? { stream: () => embedded.connectInProcess() } : {}),
      ...(this.opts.ingestOptions ?? {}),
    });
    this.ingester = ingester;
    // Onto the bus: snapshots once committed; the edges' status and capacity messages, checked by the
    // ingester against their schemas (core/wire.ts). The topic's id is authoritative.
    this.ingester.on('snapshot', (s) => this.bus.publish('committed', s));
    this.ingester.on('status', (m) => this.bus.publish('status', m));
    this.ingester.on('capacity', (m) => this.bus.publish('capacity', m));
    this.ingester.on('control_state', (m) => this.bus.publish('control_state', m));
    // The control settings of every home, again at each connection: the embedded broker keeps no
    // retained message across a restart, and a change made while disconnected was not sent.
    this.ingester.on('connected', () => void republishControl(this.store, ingester, log));
    // The day-ahead prices (with the price feed): to every home at each connection that lacks them (all
    // of them when the broker lost its retained messages), to a home that shows up without them, and
    // to all of them when the feed stored new ones.
    if (this.priceFeed) {
      const publisher = new PricePublisher({
        store: this.store,
        zone: config.prices.zone,
        configured: Object.keys(config.devices),
        publish: (id, message) => ingester.publishPrices(id, message),
        log: log.child({ component: 'prices' }),
      });
      this.pricePublisher = publisher;
      this.ingester.on('connected', ({ sessionPresent }) => void publisher.connected(sessionPresent));
      this.ingester.on('status', (m) => publisher.homeSeen(m.deviceId));
    }

    for (const exporter of this.exporters) exporter.start(this.bus);

    const configDir = this.opts.configPath ? dirname(resolve(this.opts.configPath)) : process.cwd();
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    registerExporterMetrics(registry, this.exporters);
    this.api = await createApi({
      store: this.store,
      config,
      bus: this.bus,
      log: log.child({ component: 'api' }),
      configDir,
      ...(this.opts.webRoot ? { webRoot: this.opts.webRoot } : {}),
      metrics: { registry, ingestProtection: () => ingester.counters },
      publishControl: (id, message) => ingester.publishControl(id, message),
    });
    await this.ingester.start();
    await this.api.listen({ host: config.api.host, port: config.api.port }).catch((err: unknown) => {
      throw listenError('api', config.api.host, config.api.port, err);
    });
    this.retention = createRetentionScheduler({
      store: this.store,
      log: log.child({ component: 'retention' }),
      intervalMs: config.store.retention_interval_minutes * 60_000,
      ...(this.opts.retention ?? {}),
    });
    this.retention.start();
    this.priceFeed?.start();
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
    await openStore(this.opts.config, this.store);
  }

  private async startBroker(broker: EmbeddedBroker): Promise<void> {
    const b = this.opts.config.broker;
    await broker.start().catch((err: unknown) => {
      throw listenError('broker', b.host, b.port, err);
    });
  }

  async stop(): Promise<void> {
    await this.priceFeed?.stop();
    await this.pricePublisher?.stop();
    await this.retention?.stop();
    await this.api?.close().catch(() => {});
    await this.ingester?.stop().catch(() => {});
    // After the ingester: what it committed last is on the bus, and the exporters write it out.
    await Promise.all(this.exporters.map((e) => e.stop().catch(() => {})));
    await this.broker?.stop().catch(() => {});
    await this.store.close().catch(() => {});
  }
}

/** Publishes every home's stored control settings (retained) through the ingester's connection. */
async function republishControl(store: Store, ingester: Ingester, log: Logger): Promise<void> {
  try {
    const all = await store.allControlWanted();
    const sent = await Promise.all(all.map((c) => ingester.publishControl(c.deviceId, controlMessage(c))));
    if (all.length > 0)
      log.info({ homes: all.length, published: sent.filter(Boolean).length }, 'control settings sent');
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'control settings not sent again: the store did not answer');
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
