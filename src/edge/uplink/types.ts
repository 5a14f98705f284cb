/**
 * The uplink's contract with the rest of the edge: its options, its counters and what another reader
 * of its connection (control-remote.ts) provides.
 */
import type { Static } from '@sinclair/typebox';
import type { CapacityAlert, StatusMessage, StatusSource, TOPICS } from '../../core/wire.js';
import type { Logger } from '../../lib/log.js';
import type { MqttConfigSchema } from '../config.js';
import type { Outbox } from '../outbox.js';

export type MqttConfig = Static<typeof MqttConfigSchema>;

/** The last segment of one of this edge's topics (`{prefix}/{device_id}/{leaf}`). */
export type TopicLeaf = keyof typeof TOPICS;

/** This edge's full topic for a leaf. */
export type TopicOf = (leaf: TopicLeaf) => string;

/**
 * What the uplink needs of a source's health for `status` (core/wire.ts StatusSourceSchema); the
 * edge's fuller record (edge.ts: readings, last reading, stale) fits and is published whole.
 */
export type SourceHealth = StatusSource;

/** `status` (core/wire.ts StatusMessageSchema: the ingester checks it). */
export type { StatusMessage };

/**
 * What `publishCapacity` adds to the newest snapshot's capacity fields: a report, or an alert (keys
 * beyond the schema's are allowed on the wire and passed on by the server).
 */
export type CapacityExtra = ({ kind: 'report' } | CapacityAlert) & Record<string, unknown>;

/** The server's topics of this edge that another reader may read (the uplink reads `ack` itself). */
export type ReadLeaf = 'control' | 'prices';

/**
 * Another reader of this edge's connection (control-remote.ts, prices-remote.ts): the leaves of its
 * own topics it reads (subscribed at QoS 1 on every connection, after the ack) and a call after each
 * connection.
 */
export interface UplinkChannel {
  read: Partial<Record<ReadLeaf, (payload: Buffer) => void>>;
  connected?: () => void;
}

export interface UplinkOptions {
  deviceId: string;
  outbox: Outbox;
  mqtt: MqttConfig;
  log?: Logger;
  /** Source health for the status message (the edge passes its sources' states in). */
  sources?: () => Record<string, SourceHealth>;
  clientId?: string;
  /** Resend from ack+1 when the ack has not advanced this long with rows outstanding (default 30 s). */
  ackTimeoutMs?: number;
  maxAckTimeoutMs?: number;
  /** Most seqs sent beyond the acknowledged one (default 60 000: three of the ingester's 20 000-row flushes in flight). */
  windowSeqs?: number;
  /** Batches awaiting PUBACK at once (default 4). */
  maxInflightBatches?: number;
  /** Largest batch payload in bytes (default 768 KiB: under Mosquitto's 1 MiB max_packet_size). */
  batchMaxBytes?: number;
  /** Most snapshots per batch (default 2000; the wire allows 5000). */
  batchMaxSnapshots?: number;
  subsetIntervalMs?: number;
  capacityIntervalMs?: number;
  statusIntervalMs?: number;
  connectTimeoutMs?: number;
  keepaliveS?: number;
  backoff?: { baseMs?: number; maxMs?: number };
}

/** The options a caller may tune beyond what the site's config gives (the demo and tests shorten timers). */
export type UplinkTuning = Omit<UplinkOptions, 'deviceId' | 'outbox' | 'mqtt' | 'log' | 'sources'>;

/** What the uplink counts since it was made. */
export interface UplinkCounters {
  connects: number;
  realtime_published: number;
  live_extra_published: number;
  batches_published: number;
  batch_snapshots_published: number;
  resends: number;
  acks_received: number;
}

export interface UplinkStats extends UplinkCounters {
  connected: boolean;
  acked_seq: number;
  /** Next seq the sender will send. */
  cursor: number;
}
