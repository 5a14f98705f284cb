/**
 * The edge uplink: forwards the outbox to the broker over MQTT (TLS with a client certificate) and
 * marks rows forwarded only when the server acknowledges its database commit (core/wire.ts).
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
import { isIP } from 'node:net';
import type { Static } from '@sinclair/typebox';
import type { IClientOptions, MqttClient } from 'mqtt';
import { Backoff } from '../core/backoff.js';
import { errorMessage } from '../core/errors.js';
import type { Snapshot } from '../core/snapshot.js';
import { checker } from '../core/validate.js';
import {
  AckMessageSchema,
  batchColumnsHead,
  batchColumnsRow,
  batchFieldsFor,
  type CapacityAlert,
  type CapacityMessage,
  type StatusMessage,
  type StatusSource,
  snapshotWireJson,
  topic,
} from '../core/wire.js';
import { createLogger, type Logger } from '../lib/log.js';
import { connectMqtt } from '../lib/mqtt-connect.js';
import { loadTlsFiles } from '../lib/tls-files.js';
import type { EdgeBus } from './bus.js';
import type { MqttConfigSchema } from './config.js';
import type { Outbox, OutboxRow } from './outbox.js';

export type MqttConfig = Static<typeof MqttConfigSchema>;

/** Fields of the subset topics (besides device_id and timestamp). */
export const SUBSET_FIELDS = {
  grid: [
    'grid_power_w',
    'grid_import_t1_kwh',
    'grid_import_t2_kwh',
    'grid_export_t1_kwh',
    'grid_export_t2_kwh',
    'grid_tariff',
    'power_l1_w',
    'power_l2_w',
    'power_l3_w',
    'voltage_l1_v',
    'voltage_l2_v',
    'voltage_l3_v',
    'current_l1_a',
    'current_l2_a',
    'current_l3_a',
    'gas_total_m3',
    'water_total_m3',
    'meter_timestamp',
  ],
  solar: [
    'pv_power_w',
    'pv_daily_kwh',
    'pv_total_kwh',
    'mppt1_voltage_v',
    'mppt1_current_a',
    'mppt2_voltage_v',
    'mppt2_current_a',
  ],
  battery: [
    'battery_power_w',
    'battery_soc_pct',
    'battery_temp_c',
    'battery_daily_charge_kwh',
    'battery_daily_discharge_kwh',
    'battery_total_charge_kwh',
    'battery_total_discharge_kwh',
  ],
  capacity: ['grid_avg_15m_w', 'grid_monthly_peak_w', 'grid_monthly_peak_timestamp', 'country'],
} as const satisfies Record<string, ReadonlyArray<keyof Snapshot>>;

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

/**
 * Another reader of this edge's connection (control-remote.ts): the leaves of its own topics it
 * reads (subscribed at QoS 1 on every connection, after the ack) and a call after each connection.
 */
export interface UplinkChannel {
  read: Partial<Record<'control', (payload: Buffer) => void>>;
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

export interface UplinkStats {
  connected: boolean;
  connects: number;
  realtime_published: number;
  live_extra_published: number;
  batches_published: number;
  batch_snapshots_published: number;
  resends: number;
  acks_received: number;
  acked_seq: number;
  /** Next seq the sender will send. */
  cursor: number;
}

interface Conn {
  client: MqttClient;
  ready: boolean;
  inflightBatches: number;
  closed: boolean;
}

const ackCheck = checker(AckMessageSchema);

/** `{...snapshot, seq, ...extra}` from the committed JSON, without parsing it. */
function withSeq(payload: string, seq: number, extra = ''): string {
  return `${payload.slice(0, -1)},"seq":${seq}${extra}}`;
}

export class Uplink {
  private readonly o: UplinkOptions;
  private readonly log: Logger;
  private readonly prefix: string;
  private conn: Conn | null = null;
  private stopping = false;
  private started = false;
  private cursor = 1;
  private acked = 0;
  private lastProgressAt = Date.now();
  private stallMs: number;
  private latest: Snapshot | null = null;
  private wake: (() => void) | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;
  private unlisten: (() => void) | null = null;
  private readonly channels: UplinkChannel[] = [];
  private readonly counters = {
    connects: 0,
    realtime_published: 0,
    live_extra_published: 0,
    batches_published: 0,
    batch_snapshots_published: 0,
    resends: 0,
    acks_received: 0,
  };

  constructor(opts: UplinkOptions) {
    this.o = opts;
    this.log = opts.log ?? createLogger('uplink');
    this.prefix = opts.mqtt.topic_prefix;
    this.stallMs = opts.ackTimeoutMs ?? 30_000;
    this.backoff = new Backoff({ baseMs: opts.backoff?.baseMs ?? 1000, maxMs: opts.backoff?.maxMs ?? 60_000 });
  }

  private t(leaf: Parameters<typeof topic>[2]): string {
    return topic(this.prefix, this.o.deviceId, leaf);
  }

  get stats(): UplinkStats {
    return { connected: this.conn?.ready ?? false, ...this.counters, acked_seq: this.acked, cursor: this.cursor };
  }

  get connected(): boolean {
    return this.conn?.ready ?? false;
  }

  /**
   * As a consumer of the edge's bus (bus.ts), named `uplink`: the subset topics take the newest
   * snapshot from it (as from the outbox when the uplink runs alone), and each capacity alert goes out
   * on `capacity`. Returns its removal (or `bus.unsubscribe('uplink')`).
   */
  consume(bus: EdgeBus): () => void {
    const a = bus.subscribe('uplink', 'snapshot', (s) => {
      this.latest = s;
    });
    const b = bus.subscribe('uplink', 'capacity_alert', async (alert) => {
      await this.publishCapacity({ kind: 'alert', ...alert });
    });
    return () => {
      a();
      b();
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
    const conn = this.conn;
    if (!conn?.ready) return false;
    try {
      await conn.client.publishAsync(this.t(leaf), payload, { qos: 1, retain: true });
      return true;
    } catch (err) {
      this.log.debug({ topic: this.t(leaf), err: errorMessage(err) }, 'publish failed');
      return false;
    }
  }

  /** Connects (and keeps reconnecting with backoff) and starts the periodic publications. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    this.acked = this.o.outbox.ackedSeq;
    this.cursor = Math.max(this.acked + 1, this.o.outbox.floorSeq());
    this.unlisten = this.o.outbox.onAppend((seq, snap) => this.onAppend(seq, snap));
    const every = (ms: number, fn: () => void): void => {
      const h = setInterval(fn, ms);
      h.unref();
      this.timers.push(h);
    };
    every(this.o.subsetIntervalMs ?? 5000, () => this.publishSubsets());
    every(this.o.statusIntervalMs ?? 60_000, () => void this.publishStatus('online'));
    every(Math.max(200, Math.min(5000, Math.floor((this.o.ackTimeoutMs ?? 30_000) / 4))), () => this.checkStall());
    this.scheduleCapacity();
    this.connect();
  }

  /** Publishes `offline` status, disconnects cleanly and stops every timer. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.started = false;
    for (const h of this.timers.splice(0)) clearInterval(h);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.unlisten?.();
    this.unlisten = null;
    this.kick();
    const conn = this.conn;
    this.conn = null;
    if (conn) {
      if (conn.ready) {
        await Promise.race([this.publishStatus('offline', conn), new Promise((r) => setTimeout(r, 2000))]);
      }
      conn.closed = true;
      await Promise.race([conn.client.endAsync(false).catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
      conn.client.end(true);
    }
  }

  private clientOptions(): IClientOptions {
    const m = this.o.mqtt;
    const will = this.statusPayload('offline', true);
    const opts: IClientOptions = {
      clientId: this.o.clientId ?? `kwartier-edge-${this.o.deviceId}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: this.o.connectTimeoutMs ?? 10_000,
      keepalive: this.o.keepaliveS ?? 30,
      queueQoSZero: false,
      // mqtt-packet's number cache: 65 536 two-byte Buffers, one per packet id, made on the first
      // write and kept for good (6.3 MB of heap, a tenth of the edge's RSS, to save an allocation of
      // 2 bytes per packet once a second). mqtt.js's own option turns it off for the process.
      writeCache: false,
      will: { topic: this.t('status'), payload: Buffer.from(will), qos: 1, retain: true },
    };
    if (m.tls) {
      // Read on every connection (a renewed certificate needs no restart); checked at start-up
      // (edge/app.ts), so an error here names a file that went away since: logged, and retried.
      const f = loadTlsFiles({
        ca: { key: 'mqtt.tls.ca_cert', path: m.tls.ca_cert },
        cert: { key: 'mqtt.tls.client_cert', path: m.tls.client_cert },
        privateKey: { key: 'mqtt.tls.client_key', path: m.tls.client_key },
      });
      if (f.ca) opts.ca = f.ca;
      if (f.cert) opts.cert = f.cert;
      if (f.key) opts.key = f.key;
      opts.rejectUnauthorized = true;
      if (isIP(m.host) === 0) opts.servername = m.host;
    } else {
      // Plain MQTT (loopback, embedded broker): the username is the identity.
      opts.username = this.o.deviceId;
    }
    return opts;
  }

  private connect(): void {
    if (this.stopping) return;
    const m = this.o.mqtt;
    const url = `${m.tls ? 'mqtts' : 'mqtt'}://${m.host.includes(':') ? `[${m.host}]` : m.host}:${m.port}`;
    let client: MqttClient;
    try {
      client = connectMqtt(url, this.clientOptions());
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'cannot connect');
      this.scheduleReconnect();
      return;
    }
    const conn: Conn = { client, ready: false, inflightBatches: 0, closed: false };
    this.conn = conn;
    let lastError: string | null = null;
    client.on('error', (err) => {
      lastError = errorMessage(err);
    });
    client.on('message', (t, payload) => this.onMessage(t, payload));
    client.on('connect', () => void this.onConnect(conn));
    client.on('close', () => {
      if (conn.closed) return;
      conn.closed = true;
      const wasReady = conn.ready;
      conn.ready = false;
      client.removeAllListeners('connect');
      client.end(true);
      if (this.conn === conn) this.conn = null;
      if (this.stopping) return;
      if (wasReady) this.log.warn({ url }, 'disconnected from the broker');
      else if (this.backoff.attempts === 0 || this.backoff.attempts % 10 === 0)
        this.log.warn({ url, err: lastError }, 'cannot reach the broker');
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

  private async onConnect(conn: Conn): Promise<void> {
    try {
      await conn.client.subscribeAsync(this.t('ack'), { qos: 1 });
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'cannot subscribe to the ack topic');
      conn.client.end(true);
      return;
    }
    // The retained ack follows the SUBACK: give it a moment so a reconnect does not resend needlessly.
    const before = this.counters.acks_received;
    for (let i = 0; i < 10 && this.counters.acks_received === before && !conn.closed; i++)
      await new Promise((r) => setTimeout(r, 30));
    if (conn.closed || this.conn !== conn) return;
    conn.ready = true;
    this.counters.connects++;
    this.backoff.reset();
    // After any reconnect: resend everything after the acknowledged seq.
    this.cursor = Math.max(this.acked + 1, this.o.outbox.floorSeq());
    this.lastProgressAt = Date.now();
    this.stallMs = this.o.ackTimeoutMs ?? 30_000;
    this.log.info(
      { depth: this.o.outbox.depth(), acked_seq: this.acked, resend_from: this.cursor },
      'connected to the broker',
    );
    void this.publishStatus('online', conn);
    void this.pump(conn);
    const read = this.channels.flatMap((c) => Object.keys(c.read).map((leaf) => this.t(leaf as 'control')));
    if (read.length > 0) {
      conn.client
        .subscribeAsync(read, { qos: 1 })
        .catch((err: unknown) => this.log.warn({ topics: read, err: errorMessage(err) }, 'cannot subscribe'));
    }
    for (const c of this.channels) c.connected?.();
  }

  private onMessage(t: string, payload: Buffer): void {
    if (t !== this.t('ack')) {
      for (const c of this.channels) if (t === this.t('control')) c.read.control?.(payload);
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(payload.toString('utf8'));
    } catch {
      this.log.warn({ topic: t }, 'ack is not JSON; ignored');
      return;
    }
    if (!ackCheck.Check(msg)) {
      this.log.warn({ topic: t }, 'ack does not match the schema; ignored');
      return;
    }
    this.counters.acks_received++;
    if (msg.outbox_id !== this.o.outbox.outboxId) return; // an earlier installation's outbox
    if (msg.seq > this.acked) {
      this.o.outbox.markForwardedUpTo(msg.seq);
      this.acked = Math.max(this.acked, this.o.outbox.ackedSeq);
      this.lastProgressAt = Date.now();
      this.stallMs = this.o.ackTimeoutMs ?? 30_000;
      if (this.cursor <= this.acked) this.cursor = this.acked + 1;
      this.kick();
    }
  }

  private checkStall(): void {
    const conn = this.conn;
    if (!conn?.ready) return;
    const outstanding = this.cursor - 1 > this.acked;
    if (!outstanding) {
      this.lastProgressAt = Date.now();
      return;
    }
    if (Date.now() - this.lastProgressAt < this.stallMs) return;
    const from = Math.max(this.acked + 1, this.o.outbox.floorSeq());
    this.log.warn(
      { acked_seq: this.acked, sent_up_to: this.cursor - 1, waited_ms: this.stallMs },
      'ack not advancing: resending',
    );
    this.counters.resends++;
    this.cursor = from;
    this.lastProgressAt = Date.now();
    this.stallMs = Math.min(this.stallMs * 2, this.o.maxAckTimeoutMs ?? 300_000);
    this.kick();
  }

  private kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private onAppend(seq: number, snap: Snapshot): void {
    this.latest = snap;
    const conn = this.conn;
    if (!conn?.ready) return;
    if (seq - this.cursor > 10) {
      // Well behind (a backlog goes in batches): this one also goes out live now.
      const payload = withSeq(snapshotWireJson(snap), seq, this.wireExtra());
      conn.client.publish(this.t('realtime'), payload, { qos: this.o.mqtt.qos });
      this.counters.live_extra_published++;
    }
    this.kick();
  }

  private wireExtra(): string {
    return `,"outbox_id":${JSON.stringify(this.o.outbox.outboxId)},"floor_seq":${this.o.outbox.floorSeq()}`;
  }

  /** The sender: one per connection; sends while there is something to send and room to send it. */
  private async pump(conn: Conn): Promise<void> {
    while (!conn.closed && this.conn === conn && !this.stopping) {
      let sent = false;
      try {
        sent = this.sendSome(conn);
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, 'reading the outbox failed');
      }
      if (sent) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private sendSome(conn: Conn): boolean {
    const ob = this.o.outbox;
    const floor = ob.floorSeq();
    if (this.cursor < floor) this.cursor = floor;
    const head = ob.lastSeq();
    if (this.cursor > head) return false;
    const room = this.acked + (this.o.windowSeqs ?? 60_000) - (this.cursor - 1);
    if (room <= 0) return false;
    if (conn.inflightBatches >= (this.o.maxInflightBatches ?? 4)) return false;
    const rows = ob.pending(this.cursor - 1, Math.min(this.o.batchMaxSnapshots ?? 2000, room));
    const first = rows[0];
    if (!first) {
      this.cursor = head + 1;
      return false;
    }
    if (rows.length === 1) {
      // As the wire wants it (fields added since the release only when they hold a value).
      const wire = snapshotWireJson(JSON.parse(first.payload) as Snapshot);
      conn.client.publish(this.t('realtime'), withSeq(wire, first.seq, this.wireExtra()), {
        qos: this.o.mqtt.qos,
      });
      this.counters.realtime_published++;
      this.cursor = first.seq + 1;
      return true;
    }
    const { payload, last, count } = this.batchPayload(rows, floor);
    conn.inflightBatches++;
    conn.client.publish(this.t('batch'), payload, { qos: this.o.mqtt.qos }, () => {
      conn.inflightBatches--;
      this.kick();
    });
    this.counters.batches_published++;
    this.counters.batch_snapshots_published += count;
    this.cursor = last + 1;
    return true;
  }

  /**
   * A compact batch (core/wire.ts: `fields` once, one array of values per snapshot) of the rows that
   * fit in `batchMaxBytes`. Rows of another device id than the first (the id was changed with rows
   * still in the outbox) end the batch: each batch is one device's.
   */
  private batchPayload(rows: OutboxRow[], floor: number): { payload: string; last: number; count: number } {
    const max = this.o.batchMaxBytes ?? 768 * 1024;
    // One device's rows (the id changed with rows still in the outbox: the batch ends there).
    const snaps: Array<{ snap: Snapshot; seq: number }> = [];
    for (const r of rows) {
      const snap = JSON.parse(r.payload) as Snapshot;
      if (snaps.length > 0 && snap.device_id !== snaps[0]?.snap.device_id) break;
      snaps.push({ snap, seq: r.seq });
    }
    // Only the fields these rows hold a value for beyond the released ones (wire.ts: batchFieldsFor),
    // so a server of an earlier release still takes a batch of a site that sends nothing new.
    const fields = batchFieldsFor(snaps.map((x) => x.snap));
    const deviceId = snaps[0]?.snap.device_id ?? '';
    const head = batchColumnsHead(this.o.outbox.outboxId, floor, deviceId, fields);
    let bytes = head.length + 2;
    const parts: string[] = [];
    let last = 0;
    for (const { snap, seq } of snaps) {
      const part = batchColumnsRow(snap, seq, fields);
      const n = Buffer.byteLength(part) + 1;
      if (parts.length > 0 && bytes + n > max) break;
      parts.push(part);
      bytes += n;
      last = seq;
    }
    return { payload: `${head}${parts.join(',')}]}`, last, count: parts.length };
  }

  private publishSubsets(): void {
    const conn = this.conn;
    const s = this.latest;
    if (!conn?.ready || !s) return;
    for (const leaf of ['grid', 'solar', 'battery'] as const) {
      conn.client.publish(this.t(leaf), JSON.stringify(this.subset(s, SUBSET_FIELDS[leaf])), { qos: this.o.mqtt.qos });
    }
  }

  private subset(s: Snapshot, fields: ReadonlyArray<keyof Snapshot>): Record<string, unknown> {
    const out: Record<string, unknown> = { device_id: s.device_id, timestamp: s.timestamp };
    for (const f of fields) out[f] = s[f];
    return out;
  }

  private scheduleCapacity(): void {
    const every = this.o.capacityIntervalMs ?? 15 * 60_000;
    // Just after each quarter-hour boundary, when the meter's quarter average is fresh.
    const delay = every - (Date.now() % every) + 2000;
    const h = setTimeout(() => {
      void this.publishCapacity({ kind: 'report' });
      const i = setInterval(() => void this.publishCapacity({ kind: 'report' }), every);
      i.unref();
      this.timers.push(i);
    }, delay);
    h.unref();
    this.timers.push(h);
  }

  /**
   * Publishes on `capacity` (core/wire.ts CapacityMessageSchema): the newest snapshot's capacity-tariff
   * fields plus `extra` (`{kind: 'report'}` or an alert). Resolves false when not connected.
   */
  async publishCapacity(extra: CapacityExtra = { kind: 'report' }): Promise<boolean> {
    const conn = this.conn;
    const s = this.latest;
    if (!conn?.ready) return false;
    const base = s
      ? this.subset(s, SUBSET_FIELDS.capacity)
      : { device_id: this.o.deviceId, timestamp: new Date().toISOString() };
    const message: CapacityMessage = { ...base, ...extra };
    try {
      await conn.client.publishAsync(this.t('capacity'), JSON.stringify(message), {
        qos: this.o.mqtt.qos,
      });
      return true;
    } catch {
      return false;
    }
  }

  private statusPayload(state: 'online' | 'offline', will = false): string {
    let depth: number | null = null;
    let outboxId: string | null = null;
    let evicted: number | null = null;
    if (!will) {
      try {
        depth = this.o.outbox.depth();
        outboxId = this.o.outbox.outboxId;
        evicted = this.o.outbox.stats.evicted;
      } catch {
        // outbox closed: unknown
      }
    }
    let sources: Record<string, SourceHealth> = {};
    if (!will) {
      try {
        sources = this.o.sources?.() ?? {};
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'source health callback failed');
      }
    }
    const msg: StatusMessage = {
      device_id: this.o.deviceId,
      timestamp: new Date().toISOString(),
      state,
      buffer_depth: depth,
      outbox_id: outboxId,
      acked_seq: will ? null : this.acked,
      evicted,
      sources,
    };
    return JSON.stringify(msg);
  }

  /** Publishes the retained status now (also every `statusIntervalMs`). */
  async publishStatus(state: 'online' | 'offline' = 'online', conn = this.conn): Promise<boolean> {
    if (!conn?.ready) return false;
    try {
      await conn.client.publishAsync(this.t('status'), this.statusPayload(state), { qos: 1, retain: true });
      return true;
    } catch {
      return false;
    }
  }
}

export function createUplink(opts: UplinkOptions): Uplink {
  return new Uplink(opts);
}
