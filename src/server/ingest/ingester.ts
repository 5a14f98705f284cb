/**
 * The ingester: MQTT → validation → store, then the acknowledgement (core/wire.ts). This file takes
 * the messages in and holds reading back when the buffer is full; session.ts is the MQTT session
 * (options, subscriptions, reconnects), intake.ts and decode.ts check and decode a message,
 * write-lanes.ts buffers and writes, acks.ts acknowledges, side-messages.ts checks `status`,
 * `capacity` and `control_state`.
 *
 * - Subscribes (QoS 1, persistent session: clean false, fixed client id) to `{prefix}/+/realtime`
 *   and `.../batch`, so nothing is lost while it restarts; and (QoS 0) to `.../status`,
 *   `.../capacity` and `.../control_state`, emitted as such (the edge's buffer depth, capacity
 *   alerts, the control settings an edge applies). It is also the one client that may publish a
 *   home's control settings (`publishControl`, `{prefix}/{id}/control`) and day-ahead prices
 *   (`publishPrices`, `{prefix}/{id}/prices`).
 *   No shared subscription by default: with Mosquitto's acl_file, which cannot refuse a
 *   subscription, a device could join a known share group and be handed other homes' messages,
 *   which it may not read, so they would be dropped (a `shareGroup` is opt-in, and should be secret).
 * - Data topics are never retained: a retained message replayed on subscribe is not stored again,
 *   and the ingester clears it (an empty retained publish).
 * - Each message is checked: size cap, JSON, wire schema (compiled TypeBox), topic id = payload
 *   device_id. A bad one goes to the dead-letter table with its reason; the stream goes on.
 * - Good snapshots wait in the write lanes (write-lanes.ts); after each commit the store's ack
 *   watermark of each (device, outbox) is published (acks.ts) and 'snapshot' is emitted for every
 *   committed snapshot.
 * - Beyond `maxBufferedRows` waiting snapshots (a slow or failing store) it stops reading (MQTT
 *   backpressure: the broker queues) and keeps the connection alive by hand (holdConnection).
 *   PUBACK goes out on receipt, so a crash loses what was buffered — the edges resend it, because it
 *   was never acknowledged.
 */
import { EventEmitter } from 'node:events';
import { type IPublishPacket, MqttClient } from 'mqtt';
import { errorMessage } from '../../core/errors.js';
import { DEFAULT_TIME_WINDOW } from '../../core/plausibility.js';
import { type ControlMessage, type PricesMessage, TOPICS, topic } from '../../core/wire.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { connectMqtt } from '../../lib/mqtt-connect.js';
import type { InsertResult } from '../store/types.js';
import { AckPublisher } from './acks.js';
import { DEFAULT_DEAD_LETTER_LIMITS, DeadLetterLimiter } from './dead-letter-limiter.js';
import { MessageIntake } from './intake.js';
import { DEFAULT_KEEPALIVE_S, dataFilters, ingesterClientOptions, watchConnection } from './session.js';
import { checkSideMessage, type SideLeaf } from './side-messages.js';
import type { Ingester, IngesterCounters, IngesterEvents, IngesterOptions } from './types.js';
import { type Pending, WriteLanes } from './write-lanes.js';

export { tlsClientOptions } from './session.js';
export type {
  IngestedSnapshot,
  Ingester,
  IngesterCounters,
  IngesterEvents,
  IngesterOptions,
  IngesterTls,
  SideMessage,
} from './types.js';
export { isTransient } from './write-lanes.js';

/** Waits for `p`, at most `ms`; the timer is cleared either way, so it never holds the process open. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

type OwnCounters = Omit<
  IngesterCounters,
  'dead_letters_dropped' | 'dead_letters_dropped_by_device' | 'acks_published' | 'buffered_rows' | 'connected'
>;

class MqttIngester extends EventEmitter<IngesterEvents> {
  private readonly options: IngesterOptions;
  private readonly log: Logger;
  private client: MqttClient | null = null;
  private readonly lanes: WriteLanes;
  private readonly intake: MessageIntake;
  private readonly acks: AckPublisher;
  private readonly limiter: DeadLetterLimiter;
  /** PUBACKs held back while the buffer is full (backpressure), released as commits make room. */
  private heldBack: Array<() => void> = [];
  private holdTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Each prices message's JSON, made once for all homes. */
  private readonly pricesPayload = new WeakMap<PricesMessage, string>();
  private readonly counts: OwnCounters = {
    messages_received: 0,
    snapshots_received: 0,
    ingested: 0,
    duplicates: 0,
    dead_letters: 0,
    oversize: 0,
    refused: 0,
    batches: 0,
    store_errors: 0,
    retained_cleared: 0,
    side_invalid: 0,
    lag_ms: null,
    lag_max_ms: null,
  };

  constructor(options: IngesterOptions) {
    super();
    this.options = options;
    this.log = options.log ?? createLogger('ingest');
    this.limiter = new DeadLetterLimiter(options.deadLetterLimits ?? DEFAULT_DEAD_LETTER_LIMITS, this.log);
    this.acks = new AckPublisher(options.prefix, this.log);
    this.lanes = new WriteLanes({
      store: options.store,
      log: this.log,
      prefix: options.prefix,
      limiter: this.limiter,
      counters: this.counts,
      ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
      ...(options.flushMaxRows !== undefined ? { flushMaxRows: options.flushMaxRows } : {}),
      ...(options.flushConcurrency !== undefined ? { concurrency: options.flushConcurrency } : {}),
      ...(options.deadLetterPayloadBytes !== undefined
        ? { deadLetterPayloadBytes: options.deadLetterPayloadBytes }
        : {}),
      onCommit: (entries, results, started) => this.committed(entries, results, started),
      onRoom: () => this.release(),
    });
    this.intake = new MessageIntake({
      prefix: options.prefix,
      lanes: this.lanes,
      counters: this.counts,
      timeWindow: options.timeWindow ?? DEFAULT_TIME_WINDOW,
      maxPayloadBytes: options.maxPayloadBytes ?? 1024 * 1024,
      deadLetterPayloadBytes: options.deadLetterPayloadBytes ?? 4096,
    });
  }

  get counters(): Readonly<IngesterCounters> {
    return {
      ...this.counts,
      dead_letters_dropped: this.limiter.dropped + this.lanes.droppedDeadLetters,
      dead_letters_dropped_by_device: this.limiter.droppedByDevice(),
      acks_published: this.acks.published,
      buffered_rows: this.lanes.bufferedRows,
      connected: this.client?.connected ?? false,
    };
  }

  async start(): Promise<void> {
    if (this.client) return;
    this.stopping = false;
    const clientOptions = ingesterClientOptions(this.options);
    const stream = this.options.stream;
    const client = stream
      ? new MqttClient(() => stream(), clientOptions)
      : connectMqtt(this.options.mqttUrl, clientOptions);
    this.client = client;
    client.handleMessage = (packet, done) => this.onPacket(packet, done);
    watchConnection(client, {
      prefix: this.options.prefix,
      shareGroup: this.options.shareGroup ?? null,
      mqttUrl: this.options.mqttUrl,
      log: this.log,
      isStopping: () => this.stopping,
      onSubscribed: (sessionPresent) => this.emit('connected', { sessionPresent }),
    });
    await new Promise<void>((resolve) => {
      const done = (): void => {
        client.off('connect', done);
        clearTimeout(t);
        resolve();
      };
      // start() resolves on the first connection, or after the connect timeout (it keeps trying).
      const t = setTimeout(done, this.options.connectTimeoutMs ?? 10_000);
      client.on('connect', done);
    });
  }

  async stop(opts: { leave?: boolean } = {}): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.stopping = true;
    this.lanes.clearTimer();
    try {
      await within(this.lanes.flushAll(), 10_000);
    } catch {
      // logged by the lanes
    }
    this.release();
    if (opts.leave && client.connected) {
      await within(
        client
          .unsubscribeAsync(dataFilters(this.options.prefix, this.options.shareGroup ?? null))
          .catch(() => undefined),
        3000,
      );
    }
    await within(
      client.endAsync(false).catch(() => undefined),
      3000,
    );
    client.end(true);
    this.client = null;
  }

  /** mqtt.js calls this per PUBLISH and waits for `done` before reading the next packet. */
  private onPacket(packet: IPublishPacket, done: (err?: Error) => void): void {
    try {
      const leaf = packet.topic.slice(packet.topic.lastIndexOf('/') + 1);
      if (leaf === TOPICS.status || leaf === TOPICS.capacity || leaf === TOPICS.control_state) {
        this.acceptSide(packet, leaf);
        done();
        return;
      }
      if (packet.retain || packet.payload.length === 0) {
        // A retained data message replayed on (re)subscribing: it was delivered, or queued in this
        // session, when it was published; storing it again at every subscribe would only replay a
        // dead letter. Cleared, so it is replayed no more. An empty message is such a clear.
        if (packet.payload.length > 0) this.clearRetained(packet.topic);
        done();
        return;
      }
      this.intake.accept(packet.topic, packet.payload as Buffer);
    } catch (err) {
      this.log.error({ err: errorMessage(err), topic: packet.topic }, 'message handling failed');
    }
    if (this.lanes.bufferedRows >= (this.options.maxBufferedRows ?? 50_000)) {
      // Backpressure: read nothing more until a commit makes room.
      this.heldBack.push(() => done());
      this.holdConnection();
      this.lanes.flushSoon();
    } else {
      done();
    }
  }

  /** `status`, `capacity` and `control_state` (side-messages.ts): passed on as events, or dropped and counted. */
  private acceptSide(packet: IPublishPacket, leaf: SideLeaf): void {
    const parts = packet.topic.split('/');
    const deviceId = parts.length === 3 && parts[0] === this.options.prefix ? (parts[1] ?? '') : '';
    if (deviceId === '' || packet.payload.length === 0) return;
    if (leaf === TOPICS.capacity && packet.retain) {
      // Capacity messages are never meant to be retained: a replayed alert is stale.
      this.clearRetained(packet.topic);
      return;
    }
    const checked = checkSideMessage(packet.payload, leaf);
    if (typeof checked === 'string') {
      this.counts.side_invalid++;
      this.log.debug({ topic: packet.topic, reason: checked }, `a ${leaf} message dropped`);
      return;
    }
    const retained = packet.retain;
    if (checked.leaf === 'status') this.emit('status', { deviceId, message: checked.message, retained });
    else if (checked.leaf === 'capacity') this.emit('capacity', { deviceId, message: checked.message, retained });
    else this.emit('control_state', { deviceId, message: checked.message, retained });
  }

  async publishControl(deviceId: string, message: ControlMessage): Promise<boolean> {
    const client = this.client;
    if (!client?.connected || client.disconnecting) return false;
    try {
      await client.publishAsync(topic(this.options.prefix, deviceId, 'control'), JSON.stringify(message), {
        qos: 1,
        retain: true,
      });
      return true;
    } catch (err) {
      this.log.warn({ device_id: deviceId, err: errorMessage(err) }, 'control settings not published');
      return false;
    }
  }

  async publishPrices(deviceId: string, message: PricesMessage): Promise<boolean> {
    const client = this.client;
    if (!client?.connected || client.disconnecting) return false;
    // The same message goes to every home: serialised once.
    let payload = this.pricesPayload.get(message);
    if (payload === undefined) {
      payload = JSON.stringify(message);
      this.pricesPayload.set(message, payload);
    }
    try {
      await client.publishAsync(topic(this.options.prefix, deviceId, 'prices'), payload, { qos: 1, retain: true });
      return true;
    } catch (err) {
      this.log.warn({ device_id: deviceId, err: errorMessage(err) }, 'day-ahead prices not published');
      return false;
    }
  }

  /** Clears a retained message on a topic where none is meant to be (an empty retained publish). */
  private clearRetained(topicName: string): void {
    this.counts.retained_cleared++;
    this.log.warn({ topic: topicName }, 'cleared a retained message on a topic that is not meant to be retained');
    const client = this.client;
    if (client?.connected) client.publish(topicName, Buffer.alloc(0), { qos: 0, retain: true });
  }

  /**
   * While it reads nothing (backpressure), the broker's PINGRESP waits unread behind the queued
   * publishes, and mqtt.js would call the connection dead after 1.5 × keepalive, drop it and get the
   * same messages again on reconnect: with many homes a loop that never catches up (the soak bench
   * saw it). So while held: a PINGREQ every half keepalive (the broker sees the client alive) and
   * mqtt.js's own ping timer reset (it knows why no answer comes). Normal keepalive resumes on release.
   */
  private holdConnection(): void {
    if (this.holdTimer) return;
    const client = this.client;
    if (!client) return;
    const every = ((this.options.keepaliveS ?? DEFAULT_KEEPALIVE_S) * 1000) / 2;
    this.holdTimer = setInterval(() => {
      if (!client.connected) return;
      client.sendPing();
      client.reschedulePing(true);
    }, every);
    this.holdTimer.unref();
    client.reschedulePing(true);
  }

  /** Reading resumes: every message held back is taken, the ping timer is mqtt.js's again. */
  private release(): void {
    if (this.holdTimer) {
      clearInterval(this.holdTimer);
      this.holdTimer = null;
      this.client?.reschedulePing(true);
    }
    for (const resume of this.heldBack.splice(0)) resume();
  }

  /** After a commit: counters, acknowledgements, events. */
  private committed(entries: Pending[], results: InsertResult[], started: number): void {
    const committedAt = Date.now();
    let inserted = 0;
    const emitSnapshots = this.listenerCount('snapshot') > 0;
    let newest = -Infinity;
    let oldest = Infinity;
    for (let i = 0; i < entries.length; i++) {
      const p = entries[i]!;
      const r = results[i];
      if (!r) continue;
      inserted += r.inserted;
      this.counts.ingested += r.inserted;
      this.counts.duplicates += r.duplicates;
      if (r.ackedSeq !== null) this.acks.publish(this.client, p.deviceId, p.outboxId, r.ackedSeq);
      for (const rd of p.readings) {
        if (rd.t > newest) newest = rd.t;
        if (rd.t < oldest) oldest = rd.t;
      }
      if (r.inserted === 0 || !emitSnapshots) continue; // nothing new: do not push re-sent data again
      for (const rd of p.readings) {
        this.emit('snapshot', {
          deviceId: p.deviceId,
          outboxId: p.outboxId,
          seq: rd.seq,
          snapshot: rd.snapshot,
          live: rd.live,
          committedAt,
        });
      }
    }
    if (Number.isFinite(newest)) {
      this.counts.lag_ms = committedAt - newest;
      this.counts.lag_max_ms = committedAt - oldest;
    }
    const rows = entries.reduce((n, p) => n + p.readings.length, 0);
    this.emit('commit', { rows, inserted, durationMs: committedAt - started });
  }
}

export function createIngester(opts: IngesterOptions): Ingester {
  return new MqttIngester(opts);
}
