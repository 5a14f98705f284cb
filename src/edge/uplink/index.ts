/**
 * The edge uplink: forwards the outbox to the broker over MQTT (TLS with a client certificate) and
 * marks rows forwarded only when the server acknowledges its database commit (core/wire.ts). This
 * file wires the parts together: connection.ts (the broker), forwarder.ts (the outbox), publishers.ts
 * and status.ts (the other messages).
 *
 * Sending:
 * - caught up: each new snapshot goes out at once as `realtime` (snapshot + seq, outbox_id, floor_seq);
 * - behind (after an outage): the backlog goes as compact `batch` messages (up to
 *   `batchMaxSnapshots` and `batchMaxBytes`; a full snapshot is ~260 bytes there), at most `maxInflightBatches` awaiting PUBACK, so each new snapshot still goes
 *   out live as `realtime` in between (it is sent again in its batch: the store is idempotent);
 * - bounded: never more than `windowSeqs` seqs beyond the server's acknowledgement.
 * Acknowledgement: the server publishes `{outbox_id, seq}` retained on `{prefix}/{id}/ack` after each
 * commit; rows up to `seq` of this outbox are marked forwarded. After any reconnect the uplink resends
 * from ack+1; when the ack stops advancing with rows outstanding for `ackTimeoutMs` (doubling up to
 * `maxAckTimeoutMs` while it stays stuck), it resends from ack+1 too.
 * Also published: `grid`, `solar`, `battery` (subsets of the newest snapshot, every 5 s), `capacity`
 * (every quarter hour, and on demand: publishCapacity), `status` (retained; also the last will).
 */
import { errorMessage } from '../../core/errors.js';
import type { Snapshot } from '../../core/snapshot.js';
import { QUARTER_MS } from '../../core/time/index.js';
import { topic } from '../../core/wire.js';
import { createLogger, type Logger } from '../../lib/log.js';
import type { EdgeBus } from '../bus.js';
import { BrokerConnection, type Conn, mqttClientOptions } from './connection.js';
import { Forwarder } from './forwarder.js';
import { capacityMessage, SUBSET_FIELDS, SUBSET_LEAVES, scheduleAfterBoundaries, subsetOf } from './publishers.js';
import { statusPayload } from './status.js';
import type {
  CapacityExtra,
  ReadLeaf,
  TopicLeaf,
  UplinkChannel,
  UplinkCounters,
  UplinkOptions,
  UplinkStats,
} from './types.js';

export { SUBSET_FIELDS } from './publishers.js';
export type {
  CapacityExtra,
  MqttConfig,
  SourceHealth,
  StatusMessage,
  UplinkChannel,
  UplinkOptions,
  UplinkStats,
  UplinkTuning,
} from './types.js';

export class Uplink {
  private readonly options: UplinkOptions;
  private readonly log: Logger;
  private readonly connection: BrokerConnection;
  private readonly forwarder: Forwarder;
  private started = false;
  /** The newest snapshot, for the subsets and `capacity`. */
  private latest: Snapshot | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopListening: (() => void) | null = null;
  private readonly channels: UplinkChannel[] = [];
  private readonly counters: UplinkCounters = {
    connects: 0,
    realtime_published: 0,
    live_extra_published: 0,
    batches_published: 0,
    batch_snapshots_published: 0,
    resends: 0,
    acks_received: 0,
  };

  constructor(options: UplinkOptions) {
    this.options = options;
    this.log = options.log ?? createLogger('uplink');
    const { deviceId, mqtt, outbox } = options;
    this.connection = new BrokerConnection({
      mqtt,
      log: this.log,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      clientOptions: () =>
        mqttClientOptions({
          mqtt,
          clientId: options.clientId ?? `kwartier-edge-${deviceId}`,
          connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
          keepaliveS: options.keepaliveS ?? 30,
          username: deviceId,
          will: { topic: this.topicOf('status'), payload: this.statusPayload('offline', true) },
        }),
      onConnect: (conn) => void this.onConnect(conn),
      onMessage: (topic, payload) => this.onMessage(topic, payload),
    });
    this.forwarder = new Forwarder({
      outbox,
      connection: this.connection,
      topicOf: (leaf) => this.topicOf(leaf),
      qos: mqtt.qos,
      counters: this.counters,
      log: this.log,
      ackTimeoutMs: options.ackTimeoutMs ?? 30_000,
      maxAckTimeoutMs: options.maxAckTimeoutMs ?? 300_000,
      windowSeqs: options.windowSeqs ?? 60_000,
      maxInflightBatches: options.maxInflightBatches ?? 4,
      batchMaxBytes: options.batchMaxBytes ?? 768 * 1024,
      batchMaxSnapshots: options.batchMaxSnapshots ?? 2000,
    });
  }

  private topicOf(leaf: TopicLeaf): string {
    return topic(this.options.mqtt.topic_prefix, this.options.deviceId, leaf);
  }

  get stats(): UplinkStats {
    return {
      connected: this.connected,
      ...this.counters,
      acked_seq: this.forwarder.ackedSeq,
      cursor: this.forwarder.nextSeq,
    };
  }

  get connected(): boolean {
    return this.connection.current?.ready ?? false;
  }

  /**
   * As a consumer of the edge's bus (bus.ts), named `uplink`: the subset topics take the newest
   * snapshot from it (as from the outbox when the uplink runs alone), and each capacity alert goes out
   * on `capacity`. Returns its removal (or `bus.unsubscribe('uplink')`).
   */
  consume(bus: EdgeBus): () => void {
    const stopSnapshots = bus.subscribe('uplink', 'snapshot', (snapshot) => {
      this.latest = snapshot;
    });
    const stopAlerts = bus.subscribe('uplink', 'capacity_alert', async (alert) => {
      await this.publishCapacity({ kind: 'alert', ...alert });
    });
    return () => {
      stopSnapshots();
      stopAlerts();
    };
  }

  /** Adds a reader of this edge's own topics (before start: its topics are subscribed on each connection). */
  attach(channel: UplinkChannel): void {
    this.channels.push(channel);
  }

  /**
   * Publishes on one of this edge's own topics, retained, QoS 1 (`control_state`). Resolves true on
   * the broker's PUBACK, false when not connected (nothing is queued: the caller sends again).
   */
  async publishOwn(leaf: 'control_state', payload: string): Promise<boolean> {
    const conn = this.connection.current;
    if (!conn?.ready) return false;
    try {
      await conn.client.publishAsync(this.topicOf(leaf), payload, { qos: 1, retain: true });
      return true;
    } catch (err) {
      this.log.debug({ topic: this.topicOf(leaf), err: errorMessage(err) }, 'publish failed');
      return false;
    }
  }

  /** Connects (and keeps reconnecting with backoff) and starts the periodic publications. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { options } = this;
    this.forwarder.begin();
    this.stopListening = options.outbox.onAppend((seq, snapshot) => {
      this.latest = snapshot;
      this.forwarder.onAppend(seq, snapshot);
    });
    const every = (ms: number, fn: () => void): void => {
      const timer = setInterval(fn, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(options.subsetIntervalMs ?? 5000, () => this.publishSubsets());
    every(options.statusIntervalMs ?? 60_000, () => void this.publishStatus('online'));
    const stallCheckMs = Math.max(200, Math.min(5000, Math.floor((options.ackTimeoutMs ?? 30_000) / 4)));
    every(stallCheckMs, () => this.forwarder.checkStall());
    // Just after each quarter-hour boundary, when the meter's quarter average is fresh.
    const capacityEveryMs = options.capacityIntervalMs ?? QUARTER_MS;
    scheduleAfterBoundaries(capacityEveryMs, () => void this.publishCapacity({ kind: 'report' }), this.timers);
    this.connection.start();
  }

  /** Publishes `offline` status, disconnects cleanly and stops every timer. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.stopListening?.();
    this.stopListening = null;
    this.forwarder.kick();
    await this.connection.stop((conn) => this.publishStatus('offline', conn));
  }

  private async onConnect(conn: Conn): Promise<void> {
    try {
      await conn.client.subscribeAsync(this.topicOf('ack'), { qos: 1 });
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'cannot subscribe to the ack topic');
      conn.client.end(true);
      return;
    }
    // The retained ack follows the SUBACK: give it a moment so a reconnect does not resend needlessly.
    const before = this.counters.acks_received;
    for (let i = 0; i < 10 && this.counters.acks_received === before && !conn.closed; i++)
      await new Promise((r) => setTimeout(r, 30));
    if (conn.closed || this.connection.current !== conn) return;
    this.connection.markReady(conn);
    this.counters.connects++;
    this.forwarder.resume();
    this.log.info(
      { depth: this.options.outbox.depth(), acked_seq: this.forwarder.ackedSeq, resend_from: this.forwarder.nextSeq },
      'connected to the broker',
    );
    void this.publishStatus('online', conn);
    void this.forwarder.pump(conn);
    const read = [
      ...new Set(this.channels.flatMap((c) => Object.keys(c.read).map((leaf) => this.topicOf(leaf as ReadLeaf)))),
    ];
    if (read.length > 0) {
      conn.client
        .subscribeAsync(read, { qos: 1 })
        .catch((err: unknown) => this.log.warn({ topics: read, err: errorMessage(err) }, 'cannot subscribe'));
    }
    for (const c of this.channels) c.connected?.();
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === this.topicOf('ack')) {
      this.forwarder.receiveAck(topic, payload);
      return;
    }
    const leaf = topic.slice(topic.lastIndexOf('/') + 1) as ReadLeaf;
    if (topic !== this.topicOf(leaf)) return;
    for (const c of this.channels) c.read[leaf]?.(payload);
  }

  private publishSubsets(): void {
    const conn = this.connection.current;
    const latest = this.latest;
    if (!conn?.ready || !latest) return;
    for (const leaf of SUBSET_LEAVES) {
      const payload = JSON.stringify(subsetOf(latest, SUBSET_FIELDS[leaf]));
      conn.client.publish(this.topicOf(leaf), payload, { qos: this.options.mqtt.qos });
    }
  }

  /**
   * Publishes on `capacity` (core/wire.ts CapacityMessageSchema): the newest snapshot's capacity-tariff
   * fields plus `extra` (`{kind: 'report'}` or an alert). Resolves false when not connected.
   */
  async publishCapacity(extra: CapacityExtra = { kind: 'report' }): Promise<boolean> {
    const conn = this.connection.current;
    if (!conn?.ready) return false;
    const message = capacityMessage(this.latest, this.options.deviceId, extra);
    try {
      await conn.client.publishAsync(this.topicOf('capacity'), JSON.stringify(message), {
        qos: this.options.mqtt.qos,
      });
      return true;
    } catch {
      return false;
    }
  }

  private statusPayload(state: 'online' | 'offline', will = false): string {
    const { deviceId, outbox, sources } = this.options;
    return statusPayload(
      state,
      { deviceId, outbox, ackedSeq: this.forwarder.ackedSeq, ...(sources ? { sources } : {}), log: this.log },
      will,
    );
  }

  /** Publishes the retained status now (also every `statusIntervalMs`). */
  async publishStatus(state: 'online' | 'offline' = 'online', conn = this.connection.current): Promise<boolean> {
    if (!conn?.ready) return false;
    try {
      await conn.client.publishAsync(this.topicOf('status'), this.statusPayload(state), { qos: 1, retain: true });
      return true;
    } catch {
      return false;
    }
  }
}

export function createUplink(options: UplinkOptions): Uplink {
  return new Uplink(options);
}
