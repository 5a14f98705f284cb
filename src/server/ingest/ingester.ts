/**
 * The ingester: MQTT → validation → store, then the acknowledgement (core/wire.ts).
 *
 * - Subscribes (QoS 1, persistent session: clean false, fixed client id) to `{prefix}/+/realtime`
 *   and `.../batch`, so nothing is lost while it restarts; and (QoS 0) to `.../status` and
 *   `.../capacity`, emitted as 'status' and 'capacity' (the edge's buffer depth, capacity alerts).
 *   No shared subscription by default: with Mosquitto's acl_file, which cannot refuse a
 *   subscription, a device could join a known share group and be handed other homes' messages,
 *   which it may not read, so they would be dropped (a `shareGroup` is opt-in, and should be secret).
 * - Data topics are never retained: a retained message replayed on subscribe is not stored again,
 *   and the ingester clears it (an empty retained publish).
 * - Each message is checked: size cap, JSON, wire schema (compiled TypeBox), topic id = payload
 *   device_id. A bad one goes to the dead-letter table with its reason; the stream goes on.
 * - Good snapshots are collected for up to `flushIntervalMs` or `flushMaxRows`, then written with
 *   one `store.insertMany` (one batch per device and outbox) per lane: each device belongs to one
 *   of `flushConcurrency` lanes, and the lanes write side by side (laneOf). After the commit, the
 *   store's ack watermark of each (device, outbox) is published retained on `{prefix}/{id}/ack`,
 *   and 'snapshot' is emitted for every committed snapshot.
 * - A failing store is retried with backoff; meanwhile messages keep buffering up to
 *   `maxBufferedRows`, then the ingester stops reading (MQTT backpressure: the broker queues).
 *   PUBACK goes out on receipt, so a crash loses what was buffered — the edges resend it, because it
 *   was never acknowledged.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import mqtt, { type IClientOptions, type IPublishPacket, MqttClient } from 'mqtt';
import { Backoff } from '../../core/backoff.js';
import { errorMessage, KwartierError } from '../../core/errors.js';
import { DEFAULT_TIME_WINDOW, type TimeWindow } from '../../core/plausibility.js';
import type { Snapshot } from '../../core/snapshot.js';
import { checker, validationErrors } from '../../core/validate.js';
import {
  type AckMessage,
  type CapacityMessage,
  CapacityMessageSchema,
  type StatusMessage,
  StatusMessageSchema,
  TOPICS,
  topic,
} from '../../core/wire.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { loadTlsFiles } from '../../lib/tls-files.js';
import type { DeadLetter, InsertBatch, InsertResult, Store } from '../store/types.js';
import { DEFAULT_DEAD_LETTER_LIMITS, DeadLetterLimiter, type DeadLetterLimits } from './dead-letter-limiter.js';
import { BadMessage, type DecodedReading, decodeMessage } from './decode.js';
import type { Refusal } from './plausibility.js';

export interface IngesterTls {
  /** File paths (PEM). */
  caCert: string;
  /** The config section naming the files, for errors (`mqtt.tls`, the default, or `broker.tls`). */
  configKey?: string;
  /** Without a client certificate (the embedded broker's own ingester), `username`/`password` identify. */
  clientCert?: string;
  clientKey?: string;
}

/**
 * mqtt.js TLS options from the PEM files (the CA always; a client certificate when given), read and
 * checked: a problem is a ConfigError naming the key (`mqtt.tls.key: /path: cannot read: ENOENT …`).
 */
export function tlsClientOptions(tls: IngesterTls): Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> {
  const k = tls.configKey ?? 'mqtt.tls';
  const f = loadTlsFiles({
    ca: { key: `${k}.ca_cert`, path: tls.caCert },
    ...(tls.clientCert !== undefined ? { cert: { key: `${k}.cert`, path: tls.clientCert } } : {}),
    ...(tls.clientKey !== undefined ? { privateKey: { key: `${k}.key`, path: tls.clientKey } } : {}),
  });
  return {
    ...(f.ca ? { ca: f.ca } : {}),
    ...(f.cert ? { cert: f.cert } : {}),
    ...(f.key ? { key: f.key } : {}),
    rejectUnauthorized: true,
  };
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
   * so more lanes than cores pay: 2 → 4 took one-per-message from ~23k to ~31k snapshots/s here.
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

/** What a device's `status` and `capacity` topics said (JSON objects; the topic's id is the device). */
export interface SideMessage<M = StatusMessage | CapacityMessage> {
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
}

interface Pending {
  deviceId: string;
  /** The flush lane of the device (laneOf). */
  lane: number;
  outboxId: string;
  floorSeq: number;
  readings: DecodedReading[];
  /** Seqs refused (dead-lettered): acknowledged with the others, never stored. */
  refused: number[];
}

const statusCheck = checker(StatusMessageSchema);
const capacityCheck = checker(CapacityMessageSchema);

/**
 * Is a store error worth retrying (the database is unreachable, restarting, busy), or permanent
 * (the data itself is refused)? PostgreSQL SQLSTATE classes 08 connection, 40 rollback, 53
 * resources, 57 operator intervention, 58 system; Node socket errors; SQLite busy/locked/full.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof KwartierError) return err.retriable;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return true; // e.g. "Connection terminated unexpectedly": no code
  if (/^(08|40|53|57|58)[0-9A-Z]{3}$/.test(code)) return true;
  if (/^E[A-Z]+$/.test(code)) return true;
  if (/^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|PROTOCOL)/.test(code)) return true;
  return false;
}

/** The longest dead-letter reason and topic kept. */
const MAX_REASON_CHARS = 1000;
const MAX_TOPIC_CHARS = 256;

/** Waits for `p`, at most `ms`; the timer is cleared either way, so it never holds the process open. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Text the store can keep: no NUL characters (PostgreSQL text refuses them), at most `max` chars. */
function safeText(s: string, max: number): string {
  return s.slice(0, max).replaceAll(String.fromCharCode(0), '\uFFFD');
}

const ACK_LOG_PERIOD_MS = 10_000;

/** The MQTT keepalive (seconds); kept alive by hand while reading is held back (holdConnection). */
const DEFAULT_KEEPALIVE_S = 30;

/** The share group every ingester joined before it was opt-in: left on connect, see `filters`. */
const LEGACY_SHARE_GROUP = 'kwartier-ingest';

class MqttIngester extends EventEmitter<IngesterEvents> {
  private readonly o: IngesterOptions;
  private readonly log: Logger;
  private client: MqttClient | null = null;
  private pending = new Map<string, Pending>();
  private deadLetters: DeadLetter[] = [];
  private bufferedRows = 0;
  private oldestBufferedAt: number | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly inflight = new Set<Promise<void>>();
  /** Lanes with a flush running. */
  private readonly busyLanes = new Set<number>();
  private readonly laneByDevice = new Map<string, number>();
  private readonly lastAck = new Map<string, number>();
  private waiting: Array<() => void> = [];
  private stopping = false;
  private ackFailures = 0;
  private holdTimer: NodeJS.Timeout | null = null;
  private ackFailLoggedAt = 0;
  private storeFailing = false;
  private readonly backoff = new Backoff({ baseMs: 200, maxMs: 10_000 });
  private readonly reconnectBackoff = new Backoff({ baseMs: 500, maxMs: 5_000, minMs: 200 });
  private readonly limiter: DeadLetterLimiter;
  /** Dropped because the dead-letter buffer was full (a store down for long). */
  private bufferDropped = 0;
  private readonly c: Omit<IngesterCounters, 'dead_letters_dropped' | 'dead_letters_dropped_by_device'> = {
    messages_received: 0,
    snapshots_received: 0,
    ingested: 0,
    duplicates: 0,
    dead_letters: 0,
    oversize: 0,
    refused: 0,
    batches: 0,
    store_errors: 0,
    acks_published: 0,
    retained_cleared: 0,
    side_invalid: 0,
    lag_ms: null,
    lag_max_ms: null,
    buffered_rows: 0,
    connected: false,
  };

  constructor(opts: IngesterOptions) {
    super();
    this.o = opts;
    this.log = opts.log ?? createLogger('ingest');
    this.limiter = new DeadLetterLimiter(opts.deadLetterLimits ?? DEFAULT_DEAD_LETTER_LIMITS, this.log);
  }

  get counters(): Readonly<IngesterCounters> {
    return {
      ...this.c,
      dead_letters_dropped: this.limiter.dropped + this.bufferDropped,
      dead_letters_dropped_by_device: this.limiter.droppedByDevice(),
      buffered_rows: this.bufferedRows,
      connected: this.client?.connected ?? false,
    };
  }

  private filters(): string[] {
    const g = this.o.shareGroup ?? null;
    const base = [`${this.o.prefix}/+/${TOPICS.realtime}`, `${this.o.prefix}/+/${TOPICS.batch}`];
    return g === null ? base : base.map((f) => `$share/${g}/${f}`);
  }

  private sideFilters(): string[] {
    return [`${this.o.prefix}/+/${TOPICS.status}`, `${this.o.prefix}/+/${TOPICS.capacity}`];
  }

  /** The shared subscriptions of earlier releases, which a persistent session may still hold. */
  private legacyFilters(): string[] {
    if (this.o.shareGroup === LEGACY_SHARE_GROUP) return [];
    const base = [`${this.o.prefix}/+/${TOPICS.realtime}`, `${this.o.prefix}/+/${TOPICS.batch}`];
    return base.map((f) => `$share/${LEGACY_SHARE_GROUP}/${f}`);
  }

  async start(): Promise<void> {
    if (this.client) return;
    this.stopping = false;
    const opts: IClientOptions = {
      clientId: this.o.clientId,
      clean: false,
      reconnectPeriod: 1000,
      connectTimeout: this.o.connectTimeoutMs ?? 10_000,
      keepalive: this.o.keepaliveS ?? DEFAULT_KEEPALIVE_S,
      resubscribe: false,
      // Acks are QoS 0 (publishAck): one published while the connection is down is dropped, not
      // queued to be sent, stale, after the reconnect.
      queueQoSZero: false,
    };
    // mqtt.js traces every packet through `debug`; unless asked for (DEBUG=mqttjs*), skip even the
    // check (about 2 µs a message at the ingester's rates).
    if (!/\bmqttjs/.test(process.env.DEBUG ?? '')) opts.log = () => undefined;
    if (this.o.tls) Object.assign(opts, tlsClientOptions(this.o.tls));
    if (this.o.username !== undefined) opts.username = this.o.username;
    if (this.o.password !== undefined) opts.password = this.o.password;
    const stream = this.o.stream;
    const client = stream ? new MqttClient(() => stream(), opts) : mqtt.connect(this.o.mqttUrl, opts);
    this.client = client;
    client.handleMessage = (packet, done) => this.onPacket(packet, done);
    // mqtt.js counts only acks and PINGRESP as signs of life; a QoS 1 message is one too (and its
    // PUBACK, or the pings of holdConnection, tell the broker the same of us). Without this, the
    // broker's PINGRESP queued behind a long stream of messages could make a busy connection look dead.
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish' && packet.qos > 0) client.reschedulePing(true);
    });
    let wasConnected = false;
    let lastErr: string | null = null;
    client.on('error', (err) => {
      const m = errorMessage(err);
      if (m !== lastErr) this.log.warn({ err: m }, 'MQTT error');
      lastErr = m;
    });
    client.on('connect', (connack) => {
      lastErr = null;
      this.reconnectBackoff.reset();
      wasConnected = true;
      this.log.info({ url: this.o.mqttUrl, session_present: connack.sessionPresent }, 'connected to the broker');
      // Subscribing again is harmless and repairs a session the broker lost (restart without save).
      client.subscribe(this.filters(), { qos: 1 }, (err, granted) => {
        if (err) this.log.error({ err: errorMessage(err) }, 'subscribe failed');
        else if (granted?.some((g) => g.qos > 2)) this.log.error({ granted }, 'subscription refused by the broker');
      });
      client.subscribe(this.sideFilters(), { qos: 0 }, (err) => {
        if (err) this.log.warn({ err: errorMessage(err) }, 'subscribing to status and capacity failed');
      });
      // A session from an earlier release may still be in the old share group: leave it, or the
      // broker would deliver every message twice (and share it with whoever else joined the group).
      if (connack.sessionPresent) client.unsubscribe(this.legacyFilters(), () => undefined);
    });
    client.on('close', () => {
      if (wasConnected && !this.stopping) this.log.warn('disconnected from the broker; reconnecting');
      wasConnected = false;
    });
    // mqtt.js retries at a fixed period, read when an outage begins: give each outage a jittered one.
    client.on('offline', () => {
      client.options.reconnectPeriod = this.reconnectBackoff.next();
    });
    await new Promise<void>((resolve) => {
      const done = (): void => {
        client.off('connect', done);
        clearTimeout(t);
        resolve();
      };
      // start() resolves on the first connection, or after the connect timeout (it keeps trying).
      const t = setTimeout(done, this.o.connectTimeoutMs ?? 10_000);
      client.on('connect', done);
    });
  }

  async stop(opts: { leave?: boolean } = {}): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.stopping = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    try {
      await within(this.flushAll(), 10_000);
    } catch {
      // logged in flush
    }
    this.release();
    if (opts.leave && client.connected) {
      await within(
        client.unsubscribeAsync(this.filters()).catch(() => undefined),
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
      if (leaf === TOPICS.status || leaf === TOPICS.capacity) {
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
      this.accept(packet.topic, packet.payload as Buffer);
    } catch (err) {
      this.log.error({ err: errorMessage(err), topic: packet.topic }, 'message handling failed');
    }
    if (this.bufferedRows >= (this.o.maxBufferedRows ?? 50_000)) {
      // Backpressure: read nothing more until a commit makes room.
      this.waiting.push(() => done());
      this.holdConnection();
      this.scheduleFlush(0);
    } else {
      done();
    }
  }

  /**
   * `status` and `capacity`: small JSON objects checked against their schemas (core/wire.ts) and passed
   * on. Not data: anything else is dropped with a debug log and counted (`side_invalid`), never
   * dead-lettered.
   */
  private acceptSide(packet: IPublishPacket, leaf: 'status' | 'capacity'): void {
    const parts = packet.topic.split('/');
    const deviceId = parts.length === 3 && parts[0] === this.o.prefix ? (parts[1] ?? '') : '';
    if (deviceId === '' || packet.payload.length === 0) return;
    if (leaf === TOPICS.capacity && packet.retain) {
      // Capacity messages are never meant to be retained: a replayed alert is stale.
      this.clearRetained(packet.topic);
      return;
    }
    const checked = this.checkSide(packet.payload, leaf);
    if (typeof checked === 'string') {
      this.c.side_invalid++;
      this.log.debug({ topic: packet.topic, reason: checked }, `a ${leaf} message dropped`);
      return;
    }
    if (checked.leaf === 'status') this.emit('status', { deviceId, message: checked.message, retained: packet.retain });
    else this.emit('capacity', { deviceId, message: checked.message, retained: packet.retain });
  }

  /** The checked message, or why it is refused. */
  private checkSide(
    payload: Buffer | string,
    leaf: 'status' | 'capacity',
  ): string | { leaf: 'status'; message: StatusMessage } | { leaf: 'capacity'; message: CapacityMessage } {
    if (payload.length > 64 * 1024) return 'larger than 64 KiB';
    let message: unknown;
    try {
      message = JSON.parse(payload.toString('utf8'));
    } catch {
      return 'not JSON';
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) return 'not a JSON object';
    if (leaf === 'status') {
      if (statusCheck.Check(message)) return { leaf, message };
      return validationErrors(StatusMessageSchema, message, leaf)[0] ?? 'invalid';
    }
    if (capacityCheck.Check(message)) return { leaf, message };
    return validationErrors(CapacityMessageSchema, message, leaf)[0] ?? 'invalid';
  }

  /** Clears a retained message on a topic where none is meant to be (an empty retained publish). */
  private clearRetained(topicName: string): void {
    this.c.retained_cleared++;
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
    const every = ((this.o.keepaliveS ?? DEFAULT_KEEPALIVE_S) * 1000) / 2;
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
    for (const w of this.waiting.splice(0)) w();
  }

  private deadLetter(topicName: string, deviceId: string | null, reason: string, payload: Buffer | string): void {
    this.c.dead_letters++;
    // Per device: a burst, then a few a minute; the rest only counted (DeadLetterLimiter).
    if (!this.limiter.take(deviceId ?? '(unknown)', Date.now())) return;
    if (this.deadLetters.length >= 10_000) {
      this.bufferDropped++;
      return;
    }
    const max = this.o.deadLetterPayloadBytes ?? 4096;
    const text = typeof payload === 'string' ? payload.slice(0, max) : payload.subarray(0, max).toString('utf8');
    const letter: DeadLetter = {
      topic: safeText(topicName, MAX_TOPIC_CHARS),
      deviceId,
      reason: safeText(reason, MAX_REASON_CHARS),
      payload: safeText(text, max),
    };
    this.deadLetters.push(letter);
    this.log.warn({ topic: letter.topic, reason: letter.reason }, 'dead letter');
    this.oldestBufferedAt ??= Date.now();
    this.scheduleFlush();
  }

  private accept(topicName: string, payload: Buffer): void {
    this.c.messages_received++;
    const parts = topicName.split('/');
    const deviceId = parts.length === 3 && parts[0] === this.o.prefix ? (parts[1] ?? null) : null;
    const leaf = parts[2];
    const maxBytes = this.o.maxPayloadBytes ?? 1024 * 1024;
    if (payload.length > maxBytes) {
      this.c.oversize++;
      this.deadLetter(
        topicName,
        deviceId,
        `payload of ${payload.length} bytes is over the ${maxBytes}-byte cap`,
        payload,
      );
      return;
    }
    if (deviceId === null || (leaf !== TOPICS.realtime && leaf !== TOPICS.batch)) {
      this.deadLetter(topicName, deviceId, `unexpected topic ${topicName}`, payload);
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      this.deadLetter(topicName, deviceId, `not JSON: ${errorMessage(err)}`, payload);
      return;
    }
    try {
      const refusal = this.acceptData(leaf, deviceId, msg);
      if (refusal) this.deadLetter(topicName, deviceId, refusal.reason, refusal.payload ?? payload);
    } catch (err) {
      if (err instanceof BadMessage) this.deadLetter(topicName, deviceId, err.message, payload);
      else throw err;
    }
  }

  private get window(): TimeWindow {
    return this.o.timeWindow ?? DEFAULT_TIME_WINDOW;
  }

  /** Decodes a data message (decode.ts, shared with the dead-letter replay) and buffers its readings. */
  private acceptData(leaf: 'realtime' | 'batch', deviceId: string, msg: unknown): Refusal | null {
    const d = decodeMessage(leaf, deviceId, msg, Date.now(), this.window);
    const p = this.slot(deviceId, d.outboxId, d.floorSeq);
    for (const r of d.readings) p.readings.push(r);
    for (const q of d.refused) p.refused.push(q);
    this.c.refused += d.refused.length;
    this.added(d.readings.length);
    return d.refusal;
  }

  private slot(deviceId: string, outboxId: string, floorSeq: number): Pending {
    const key = `${deviceId}\u0000${outboxId}`;
    let p = this.pending.get(key);
    if (!p) {
      p = { deviceId, lane: this.laneOf(deviceId), outboxId, floorSeq, readings: [], refused: [] };
      this.pending.set(key, p);
    } else if (floorSeq > p.floorSeq) {
      p.floorSeq = floorSeq;
    }
    return p;
  }

  private added(n: number): void {
    this.oldestBufferedAt ??= Date.now();
    this.c.snapshots_received += n;
    this.bufferedRows += n;
    if (this.bufferedRows >= (this.o.flushMaxRows ?? 20_000)) this.scheduleFlush(0);
    else this.scheduleFlush();
  }

  private get concurrency(): number {
    return Math.max(1, this.o.flushConcurrency ?? 4);
  }

  /**
   * Each device belongs to one of `flushConcurrency` lanes, and each lane runs one flush at a time
   * with only its devices. The store locks a device for its transaction: two flushes holding the
   * same devices (every device sends all the time) would wait for each other's locks for their
   * whole length and write one after the other; lanes of disjoint devices write side by side.
   * A device's commits also come strictly in order.
   */
  private laneOf(deviceId: string): number {
    const n = this.concurrency;
    if (n === 1) return 0;
    let lane = this.laneByDevice.get(deviceId);
    if (lane === undefined) {
      // Round robin in the order devices first send: the lanes get equal numbers of devices. (A
      // device that changed lanes would only wait for its earlier flush's lock: still correct.)
      if (this.laneByDevice.size >= 100_000) this.laneByDevice.clear();
      lane = this.laneByDevice.size % n;
      this.laneByDevice.set(deviceId, lane);
    }
    return lane;
  }

  private scheduleFlush(delayMs?: number): void {
    if (this.inflight.size >= this.concurrency) return; // a finishing flush reschedules
    const interval = this.o.flushIntervalMs ?? 100;
    // Collect for up to `interval` from the oldest buffered message (or less when told).
    const due = delayMs ?? Math.max(0, (this.oldestBufferedAt ?? Date.now()) + interval - Date.now());
    if (this.flushTimer && due > 0) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.startFlush();
    }, due);
  }

  /** Starts a flush in every idle lane with something buffered (dead letters go with any). */
  private startFlush(): void {
    if (this.pending.size === 0 && this.deadLetters.length === 0) return;
    const lanes = new Set<number>();
    for (const p of this.pending.values()) lanes.add(p.lane);
    if (this.deadLetters.length > 0)
      for (let l = 0; l < this.concurrency; l++)
        if (!this.busyLanes.has(l)) {
          lanes.add(l);
          break;
        }
    for (const lane of lanes) if (!this.busyLanes.has(lane)) this.startLane(lane);
  }

  private startLane(lane: number): void {
    this.busyLanes.add(lane);
    const run: Promise<void> = this.flushOnce(lane)
      .catch(() => undefined)
      .then(() => {
        this.busyLanes.delete(lane);
        this.inflight.delete(run);
        if (this.pending.size > 0 || this.deadLetters.length > 0) {
          if (this.storeFailing) this.scheduleFlush(this.backoff.next());
          else this.scheduleFlush(this.bufferedRows >= (this.o.flushMaxRows ?? 20_000) ? 0 : undefined);
        }
      });
    this.inflight.add(run);
  }

  /** Writes everything buffered (stop()). */
  private async flushAll(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      if (this.pending.size > 0 || this.deadLetters.length > 0) this.startFlush();
      if (this.inflight.size === 0) return;
      await Promise.race(this.inflight);
      if (this.storeFailing && this.inflight.size === 0) return;
    }
  }

  private toBatch(p: Pending): InsertBatch {
    return {
      deviceId: p.deviceId,
      outboxId: p.outboxId,
      floorSeq: p.floorSeq,
      readings: p.readings, // {snapshot, seq, t} and more: no copy per reading
      refusedSeqs: p.refused,
    };
  }

  /** Writes what the lane's devices have buffered, and any dead letters. */
  private async flushOnce(lane: number): Promise<void> {
    const taking = new Map<string, Pending>();
    for (const [k, p] of this.pending) if (p.lane === lane) taking.set(k, p);
    for (const k of taking.keys()) this.pending.delete(k);
    const letters = this.deadLetters;
    const takenOldest = this.oldestBufferedAt;
    this.deadLetters = [];
    // What other lanes still buffer keeps the (older or equal) time it was first buffered.
    if (this.pending.size === 0) this.oldestBufferedAt = null;
    const entries = [...taking.values()];
    const started = Date.now();
    try {
      await this.writeDeadLetters(letters);
      const results = entries.length > 0 ? await this.o.store.insertMany(entries.map((p) => this.toBatch(p))) : [];
      this.committed(entries, results, started);
    } catch (err) {
      if (!isTransient(err) && entries.length > 1) {
        // Maybe one device's rows are poison: write each device's batch alone, so the rest goes on.
        this.log.warn(
          { err: errorMessage(err), batches: entries.length },
          'store rejected a flush; writing its batches one by one',
        );
        const back = new Map<string, Pending>();
        for (const p of entries) {
          try {
            this.committed([p], await this.o.store.insertMany([this.toBatch(p)]), started);
          } catch (e) {
            if (isTransient(e)) back.set(`${p.deviceId}\u0000${p.outboxId}`, p);
            else this.reject(p, e);
          }
        }
        if (back.size === 0) return;
        this.putBack(back, letters, takenOldest, err);
      } else if (!isTransient(err) && entries.length === 1) {
        this.reject(entries[0]!, err);
      } else {
        this.putBack(taking, letters, takenOldest, err);
      }
    }
  }

  /** Stores the dead letters (emptying `letters`); one the store refuses for good is dropped and logged. */
  private async writeDeadLetters(letters: DeadLetter[]): Promise<void> {
    while (letters.length > 0) {
      const l = letters[0]!;
      try {
        await this.o.store.addDeadLetter(l);
      } catch (err) {
        if (isTransient(err)) throw err;
        this.log.error(
          { err: errorMessage(err), topic: l.topic, reason: l.reason },
          'the store refused a dead letter; dropped',
        );
      }
      letters.shift();
    }
  }

  /** A batch the store refuses for good (not a connection problem): dead-lettered, so the stream goes on. */
  private reject(p: Pending, err: unknown): void {
    const seqs = p.readings.map((r) => r.seq);
    const reason = safeText(
      `store rejected ${p.readings.length} snapshots (seq ${Math.min(...seqs)}..${Math.max(...seqs)}): ${errorMessage(err)}`,
      MAX_REASON_CHARS,
    );
    this.c.dead_letters++;
    if (!this.limiter.take(p.deviceId, Date.now())) {
      // counted and logged by the limiter
    } else if (this.deadLetters.length >= 10_000) {
      this.bufferDropped++;
    } else {
      this.log.error({ device_id: p.deviceId, reason }, 'dead letter');
      const payload = JSON.stringify({
        outbox_id: p.outboxId,
        floor_seq: p.floorSeq,
        snapshots: p.readings.slice(0, 3).map((r) => r.snapshot),
      });
      this.deadLetters.push({
        topic: topic(this.o.prefix, p.deviceId, 'batch'),
        deviceId: p.deviceId,
        reason,
        payload: safeText(payload, this.o.deadLetterPayloadBytes ?? 4096),
      });
      this.oldestBufferedAt ??= Date.now();
    }
    this.bufferedRows -= p.readings.length;
    this.release();
  }

  private putBack(taken: Map<string, Pending>, letters: DeadLetter[], takenOldest: number | null, err: unknown): void {
    this.c.store_errors++;
    if (!this.storeFailing) this.log.error({ err: errorMessage(err) }, 'store write failed; retrying with backoff');
    this.storeFailing = true;
    this.oldestBufferedAt = takenOldest ?? this.oldestBufferedAt;
    // Put everything back in front of what arrived meanwhile.
    this.deadLetters = [...letters, ...this.deadLetters];
    const merged = new Map<string, Pending>();
    for (const [k, p] of taken) merged.set(k, p);
    for (const [k, p] of this.pending) {
      const m = merged.get(k);
      if (m) {
        m.readings.push(...p.readings);
        m.refused.push(...p.refused);
        m.floorSeq = Math.max(m.floorSeq, p.floorSeq);
      } else merged.set(k, p);
    }
    this.pending = merged;
  }

  /** After a commit: counters, acknowledgements, events. */
  private committed(entries: Pending[], results: InsertResult[], started: number): void {
    const committedAt = Date.now();
    if (this.storeFailing) this.log.info('store writes succeed again');
    this.storeFailing = false;
    this.backoff.reset();
    const rows = entries.reduce((n, p) => n + p.readings.length, 0);
    this.bufferedRows -= rows;
    this.c.batches++;
    let inserted = 0;
    const emitSnapshots = this.listenerCount('snapshot') > 0;
    let newest = -Infinity;
    let oldest = Infinity;
    for (let i = 0; i < entries.length; i++) {
      const p = entries[i]!;
      const r = results[i];
      if (!r) continue;
      inserted += r.inserted;
      this.c.ingested += r.inserted;
      this.c.duplicates += r.duplicates;
      if (r.ackedSeq !== null) {
        // Concurrent commits may finish out of order: never publish a lower watermark.
        const key = `${p.deviceId}\u0000${p.outboxId}`;
        const seq = Math.max(r.ackedSeq, this.lastAck.get(key) ?? 0);
        if (this.lastAck.size > 100_000) this.lastAck.clear();
        this.lastAck.set(key, seq);
        this.publishAck(p.deviceId, { outbox_id: p.outboxId, seq });
      }
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
      this.c.lag_ms = committedAt - newest;
      this.c.lag_max_ms = committedAt - oldest;
    }
    this.emit('commit', { rows, inserted, durationMs: committedAt - started });
    this.release();
  }

  /**
   * Retained at QoS 0. An ack is a watermark that the next one supersedes, and the edge resends
   * whatever stays unacknowledged, so nothing needs it delivered twice. At QoS 1, mqtt.js would keep
   * every ack until its PUBACK, and after a reconnect re-send them one at a time, each waiting for
   * its PUBACK behind the broker's queued messages, holding every newer ack back until the last
   * stale one is through: with thousands of homes the ingester fell further behind with each
   * reconnect (the soak benchmark's wedge).
   */
  private publishAck(deviceId: string, ack: AckMessage): void {
    const client = this.client;
    if (!client) return;
    if (!client.connected || client.disconnecting) {
      if (!this.stopping) this.ackFailed(deviceId, new Error('not connected to the broker'));
      return;
    }
    // No callback: at QoS 0 mqtt.js would otherwise wait for the socket's 'drain' once per ack
    // while the socket is full (thousands of listeners after one flush).
    client.publish(topic(this.o.prefix, deviceId, 'ack'), JSON.stringify(ack), { qos: 0, retain: true });
    this.c.acks_published++;
  }

  /**
   * An ack that could not be published (the connection dropped): the edge resends and the next
   * commit acknowledges again. Logged once every ACK_LOG_PERIOD_MS with the count, not once per
   * device: with thousands of homes a dropped connection would otherwise write a line per home.
   */
  private ackFailed(deviceId: string, err: Error): void {
    this.ackFailures++;
    const now = Date.now();
    if (now - this.ackFailLoggedAt < ACK_LOG_PERIOD_MS) return;
    this.log.warn(
      { err: errorMessage(err), device_id: deviceId, failed_since_last_line: this.ackFailures },
      'ack publish failed',
    );
    this.ackFailLoggedAt = now;
    this.ackFailures = 0;
  }
}

export function createIngester(opts: IngesterOptions): Ingester {
  return new MqttIngester(opts);
}
