/**
 * The ingester's contract with the rest of the server: its options, counters, events, and what it
 * emits (committed snapshots, status and capacity messages). The implementation is ingester.ts.
 */
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { TimeWindow } from '../../core/plausibility.js';
import type { Snapshot } from '../../core/snapshot.js';
import type {
  CapacityMessage,
  ControlMessage,
  ControlStateMessage,
  PricesMessage,
  StatusMessage,
} from '../../core/wire.js';
import type { Logger } from '../../lib/log.js';
import type { Store } from '../store/types.js';
import type { DeadLetterLimits } from './dead-letter-limiter.js';

export interface IngesterTls {
  /** File paths (PEM). */
  caCert: string;
  /** The config section naming the files, for errors (`mqtt.tls`, the default, or `broker.tls`). */
  configKey?: string;
  /** Without a client certificate (the embedded broker's own ingester), `username`/`password` identify. */
  clientCert?: string;
  clientKey?: string;
}

export interface IngesterOptions {
  mqttUrl: string;
  tls?: IngesterTls | null;
  /** The MQTT username/password: the embedded broker's ingester credentials, or a password-based broker's. */
  username?: string;
  password?: string;
  clientId: string;
  prefix: string;
  store: Store;
  log?: Logger;
  /**
   * Shared-subscription group for several ingesters on one broker (default null: a plain
   * subscription). Opt-in and untested with the shipped Mosquitto ACL: a device that knows the group
   * can join it (acl_file does not check subscriptions), so the name must be secret.
   */
  shareGroup?: string | null;
  /** Connect over this stream instead of `mqttUrl` (the embedded broker's in-process connection). */
  stream?: () => Duplex;
  /** Collect messages this long before writing (default 100 ms)… */
  flushIntervalMs?: number;
  /** …or until this many snapshots are waiting (default 20 000). */
  flushMaxRows?: number;
  /**
   * Flush lanes, each one store transaction at a time with its own devices (default 4). A flush is
   * mostly waiting (a few round trips per device, while this process's event loop also reads MQTT),
   * so more lanes than cores pay (docs/mqtt.md has the figures).
   */
  flushConcurrency?: number;
  maxBufferedRows?: number;
  /** Larger payloads are rejected and counted (default 1 MiB, as Mosquitto's max_packet_size). */
  maxPayloadBytes?: number;
  /** How much of a bad payload the dead-letter table keeps (default 4 KiB). */
  deadLetterPayloadBytes?: number;
  /** Dead letters per device: a burst, then so many a minute; the rest is counted (default 20, 6). */
  deadLetterLimits?: DeadLetterLimits;
  /** Snapshot timestamps accepted around the server's clock (default 3650 days back, 86 400 s ahead). */
  timeWindow?: TimeWindow;
  connectTimeoutMs?: number;
  keepaliveS?: number;
}

export interface IngesterCounters {
  messages_received: number;
  snapshots_received: number;
  /** Snapshots newly stored. */
  ingested: number;
  /** Snapshots the store already had (re-sent after a reconnect or a stalled ack). */
  duplicates: number;
  dead_letters: number;
  /** Of the dead letters: payloads over the size cap. */
  oversize: number;
  /** Of the dead letters: not stored, over the device's rate limit (or the buffer's cap). */
  dead_letters_dropped: number;
  /** The same per device (topic device id; '(unknown)' for other topics). */
  dead_letters_dropped_by_device: Record<string, number>;
  /** Snapshots refused by the plausibility rules (core/plausibility.ts): dead-lettered, acknowledged. */
  refused: number;
  /** Committed store transactions. */
  batches: number;
  store_errors: number;
  acks_published: number;
  /** Retained messages found on data or capacity topics, and cleared. */
  retained_cleared: number;
  /** `status` and `capacity` messages dropped: not JSON objects or not matching their schemas (core/wire.ts). */
  side_invalid: number;
  /** Commit time − timestamp of the newest snapshot in the last commit (ms); null before any. */
  lag_ms: number | null;
  /** Commit time − timestamp of the oldest snapshot in the last commit (ms). */
  lag_max_ms: number | null;
  buffered_rows: number;
  connected: boolean;
}

export interface IngestedSnapshot {
  deviceId: string;
  outboxId: string;
  seq: number;
  snapshot: Snapshot;
  /** Came as `realtime` (live) rather than in a backlog `batch`. */
  live: boolean;
  committedAt: number;
}

/** What a device's `status`, `capacity` and `control_state` topics said (JSON objects; the topic's id is the device). */
export interface SideMessage<M = StatusMessage | CapacityMessage | ControlStateMessage> {
  deviceId: string;
  /** Checked against its schema (core/wire.ts StatusMessageSchema, CapacityMessageSchema). */
  message: M;
  /** A retained message replayed on subscribe, rather than one published now. */
  retained: boolean;
}

export interface IngesterEvents {
  snapshot: [IngestedSnapshot];
  commit: [{ rows: number; inserted: number; durationMs: number }];
  status: [SideMessage<StatusMessage>];
  capacity: [SideMessage<CapacityMessage>];
  control_state: [SideMessage<ControlStateMessage>];
  /**
   * Each connection to the broker (the first and every reconnect), after subscribing.
   * `sessionPresent`: the broker kept the ingester's session, so what it retained before is there.
   */
  connected: [{ sessionPresent: boolean }];
}

export interface Ingester extends EventEmitter<IngesterEvents> {
  start(): Promise<void>;
  /**
   * Flushes what is buffered and disconnects; the persistent session stays, so a restart with the
   * same client id misses nothing. `leave: true` also unsubscribes: for an ingester retired for good
   * (otherwise the broker keeps queueing its share of the shared subscription until the session expires).
   */
  stop(opts?: { leave?: boolean }): Promise<void>;
  readonly counters: Readonly<IngesterCounters>;
  /**
   * Publishes a home's control settings on `{prefix}/{id}/control`, retained, QoS 1: this client is
   * the only one the brokers let write there. Resolves true on the broker's PUBACK, false when not
   * connected (nothing is queued: the server publishes every home's settings again on `connected`).
   */
  publishControl(deviceId: string, message: ControlMessage): Promise<boolean>;
  /**
   * Publishes the day-ahead prices for a home on `{prefix}/{id}/prices`, retained, QoS 1 (this client
   * alone may write there). Resolves true on the broker's PUBACK, false when not connected (the price
   * publisher sends them again at the next connection: server/prices/publisher.ts).
   */
  publishPrices(deviceId: string, message: PricesMessage): Promise<boolean>;
}
