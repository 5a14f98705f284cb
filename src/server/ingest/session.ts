/**
 * The ingester's MQTT session: the client's options (a persistent session under a fixed client id,
 * TLS), the topic filters it subscribes to, and what it does on each connect, close and outage
 * (subscribe again, leave the old share group, back the reconnects off).
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { Backoff } from '../../core/backoff.js';
import { errorMessage } from '../../core/errors.js';
import { TOPICS } from '../../core/wire.js';
import type { Logger } from '../../lib/log.js';
import { loadTlsFiles } from '../../lib/tls-files.js';
import type { IngesterOptions, IngesterTls } from './types.js';

/** The MQTT keepalive (seconds); kept alive by hand while reading is held back (holdConnection). */
export const DEFAULT_KEEPALIVE_S = 30;

/** The share group every ingester joined before it was opt-in: left on connect, see `legacyFilters`. */
const LEGACY_SHARE_GROUP = 'kwartier-ingest';

/**
 * mqtt.js TLS options from the PEM files (the CA always; a client certificate when given), read and
 * checked: a problem is a ConfigError naming the key (`mqtt.tls.key: /path: cannot read: ENOENT …`).
 */
export function tlsClientOptions(tls: IngesterTls): Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> {
  const configKey = tls.configKey ?? 'mqtt.tls';
  const files = loadTlsFiles({
    ca: { key: `${configKey}.ca_cert`, path: tls.caCert },
    ...(tls.clientCert !== undefined ? { cert: { key: `${configKey}.cert`, path: tls.clientCert } } : {}),
    ...(tls.clientKey !== undefined ? { privateKey: { key: `${configKey}.key`, path: tls.clientKey } } : {}),
  });
  return {
    ...(files.ca ? { ca: files.ca } : {}),
    ...(files.cert ? { cert: files.cert } : {}),
    ...(files.key ? { key: files.key } : {}),
    rejectUnauthorized: true,
  };
}

export function ingesterClientOptions(options: IngesterOptions): IClientOptions {
  const clientOptions: IClientOptions = {
    clientId: options.clientId,
    clean: false,
    reconnectPeriod: 1000,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    keepalive: options.keepaliveS ?? DEFAULT_KEEPALIVE_S,
    resubscribe: false,
    // Acks are QoS 0 (acks.ts): one published while the connection is down is dropped, not
    // queued to be sent, stale, after the reconnect.
    queueQoSZero: false,
  };
  // mqtt.js traces every packet through `debug`; unless asked for (DEBUG=mqttjs*), skip even the
  // check (about 2 µs a message at the ingester's rates).
  if (!/\bmqttjs/.test(process.env.DEBUG ?? '')) clientOptions.log = () => undefined;
  if (options.tls) Object.assign(clientOptions, tlsClientOptions(options.tls));
  if (options.username !== undefined) clientOptions.username = options.username;
  if (options.password !== undefined) clientOptions.password = options.password;
  return clientOptions;
}

/** The data topics (`realtime`, `batch`) of every device, in the share group when one is set. */
export function dataFilters(prefix: string, shareGroup: string | null): string[] {
  const base = [`${prefix}/+/${TOPICS.realtime}`, `${prefix}/+/${TOPICS.batch}`];
  return shareGroup === null ? base : base.map((f) => `$share/${shareGroup}/${f}`);
}

export function sideFilters(prefix: string): string[] {
  return [`${prefix}/+/${TOPICS.status}`, `${prefix}/+/${TOPICS.capacity}`, `${prefix}/+/${TOPICS.control_state}`];
}

/** The shared subscriptions of earlier releases, which a persistent session may still hold. */
function legacyFilters(prefix: string, shareGroup: string | null): string[] {
  if (shareGroup === LEGACY_SHARE_GROUP) return [];
  return dataFilters(prefix, LEGACY_SHARE_GROUP);
}

export interface SessionWatch {
  prefix: string;
  shareGroup: string | null;
  mqttUrl: string;
  log: Logger;
  isStopping: () => boolean;
  /**
   * Subscribed to the side topics (the ingester emits 'connected'). `sessionPresent`: the broker kept
   * this client's session (and so, with it, what was retained before); false after a broker restart
   * that lost it.
   */
  onSubscribed: (sessionPresent: boolean) => void;
}

/** Logs, subscribes on every connect, backs reconnects off, and keeps the keepalive honest. */
export function watchConnection(client: MqttClient, watch: SessionWatch): void {
  const { log, prefix, shareGroup } = watch;
  const reconnectBackoff = new Backoff({ baseMs: 500, maxMs: 5_000, minMs: 200 });
  // mqtt.js counts only acks and PINGRESP as signs of life; a QoS 1 message is one too (and its
  // PUBACK, or the pings of holdConnection, tell the broker the same of us). Without this, the
  // broker's PINGRESP queued behind a long stream of messages could make a busy connection look dead.
  client.on('packetreceive', (packet) => {
    if (packet.cmd === 'publish' && packet.qos > 0) client.reschedulePing(true);
  });
  let wasConnected = false;
  let lastError: string | null = null;
  client.on('error', (err) => {
    const message = errorMessage(err);
    if (message !== lastError) log.warn({ err: message }, 'MQTT error');
    lastError = message;
  });
  client.on('connect', (connack) => {
    lastError = null;
    reconnectBackoff.reset();
    wasConnected = true;
    log.info({ url: watch.mqttUrl, session_present: connack.sessionPresent }, 'connected to the broker');
    // Subscribing again is harmless and repairs a session the broker lost (restart without save).
    client.subscribe(dataFilters(prefix, shareGroup), { qos: 1 }, (err, granted) => {
      if (err) log.error({ err: errorMessage(err) }, 'subscribe failed');
      else if (granted?.some((g) => g.qos > 2)) log.error({ granted }, 'subscription refused by the broker');
    });
    client.subscribe(sideFilters(prefix), { qos: 0 }, (err) => {
      if (err) log.warn({ err: errorMessage(err) }, 'subscribing to status and capacity failed');
      else watch.onSubscribed(connack.sessionPresent === true);
    });
    // A session from an earlier release may still be in the old share group: leave it, or the
    // broker would deliver every message twice (and share it with whoever else joined the group).
    if (connack.sessionPresent) client.unsubscribe(legacyFilters(prefix, shareGroup), () => undefined);
  });
  client.on('close', () => {
    if (wasConnected && !watch.isStopping()) log.warn('disconnected from the broker; reconnecting');
    wasConnected = false;
  });
  // mqtt.js retries at a fixed period, read when an outage begins: give each outage a jittered one.
  client.on('offline', () => {
    client.options.reconnectPeriod = reconnectBackoff.next();
  });
}
