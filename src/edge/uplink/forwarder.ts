/**
 * The uplink's forwarder: sends the outbox from a cursor, bounded by a window beyond the server's
 * acknowledgement, live as `realtime` when caught up and as compact `batch` messages when behind;
 * takes the acks in and resends from ack+1 when they stop advancing.
 */
import { errorMessage } from '../../core/errors.js';
import type { Snapshot } from '../../core/snapshot.js';
import { checker } from '../../core/validate.js';
import {
  AckMessageSchema,
  batchColumnsHead,
  batchColumnsRow,
  batchFieldsFor,
  snapshotWireJson,
} from '../../core/wire.js';
import type { Logger } from '../../lib/log.js';
import type { Outbox, OutboxRow } from '../outbox.js';
import type { BrokerConnection, Conn } from './connection.js';
import type { MqttConfig, TopicOf, UplinkCounters } from './types.js';

const ackCheck = checker(AckMessageSchema);

/** `{...snapshot, seq, ...extra}` from the committed JSON, without parsing it. */
function withSeq(payload: string, seq: number, extra = ''): string {
  return `${payload.slice(0, -1)},"seq":${seq}${extra}}`;
}

/**
 * A compact batch (core/wire.ts: `fields` once, one array of values per snapshot) of the rows that
 * fit in `maxBytes`. Rows of another device id than the first (the id was changed with rows still in
 * the outbox) end the batch: each batch is one device's.
 */
export function batchPayload(
  rows: OutboxRow[],
  outbox: { outboxId: string; floor: number },
  maxBytes: number,
): { payload: string; last: number; count: number } {
  const snaps: Array<{ snap: Snapshot; seq: number }> = [];
  for (const row of rows) {
    const snap = JSON.parse(row.payload) as Snapshot;
    if (snaps.length > 0 && snap.device_id !== snaps[0]?.snap.device_id) break;
    snaps.push({ snap, seq: row.seq });
  }
  // Only the fields these rows hold a value for beyond the released ones (wire.ts: batchFieldsFor),
  // so a server of an earlier release still takes a batch of a site that sends nothing new.
  const fields = batchFieldsFor(snaps.map((x) => x.snap));
  const deviceId = snaps[0]?.snap.device_id ?? '';
  const head = batchColumnsHead(outbox.outboxId, outbox.floor, deviceId, fields);
  let bytes = head.length + 2;
  const parts: string[] = [];
  let last = 0;
  for (const { snap, seq } of snaps) {
    const part = batchColumnsRow(snap, seq, fields);
    const n = Buffer.byteLength(part) + 1;
    if (parts.length > 0 && bytes + n > maxBytes) break;
    parts.push(part);
    bytes += n;
    last = seq;
  }
  return { payload: `${head}${parts.join(',')}]}`, last, count: parts.length };
}

export interface ForwarderOptions {
  outbox: Outbox;
  connection: BrokerConnection;
  topicOf: TopicOf;
  qos: MqttConfig['qos'];
  counters: UplinkCounters;
  log: Logger;
  ackTimeoutMs: number;
  maxAckTimeoutMs: number;
  windowSeqs: number;
  maxInflightBatches: number;
  batchMaxBytes: number;
  batchMaxSnapshots: number;
}

export class Forwarder {
  /** Next seq to send. */
  private cursor = 1;
  /** Highest seq of this outbox the server has acknowledged. */
  private acked = 0;
  private lastProgressAt = Date.now();
  /** How long the ack may stand still with rows outstanding before a resend (doubles while stuck). */
  private stallMs: number;
  /** Wakes the waiting sender (new rows, an ack, a PUBACK). */
  private wake: (() => void) | null = null;

  constructor(private readonly options: ForwarderOptions) {
    this.stallMs = options.ackTimeoutMs;
  }

  get ackedSeq(): number {
    return this.acked;
  }

  get nextSeq(): number {
    return this.cursor;
  }

  /** Starts from the outbox's own acknowledgement. */
  begin(): void {
    this.acked = this.options.outbox.ackedSeq;
    this.cursor = Math.max(this.acked + 1, this.options.outbox.floorSeq());
  }

  /** After any (re)connect: resend everything after the acknowledged seq. */
  resume(): void {
    this.cursor = Math.max(this.acked + 1, this.options.outbox.floorSeq());
    this.lastProgressAt = Date.now();
    this.stallMs = this.options.ackTimeoutMs;
  }

  /** A message on the `ack` topic: rows up to its seq of this outbox are forwarded. */
  receiveAck(topic: string, payload: Buffer): void {
    const { outbox, log, counters } = this.options;
    let msg: unknown;
    try {
      msg = JSON.parse(payload.toString('utf8'));
    } catch {
      log.warn({ topic }, 'ack is not JSON; ignored');
      return;
    }
    if (!ackCheck.Check(msg)) {
      log.warn({ topic }, 'ack does not match the schema; ignored');
      return;
    }
    counters.acks_received++;
    if (msg.outbox_id !== outbox.outboxId) return; // an earlier installation's outbox
    if (msg.seq > this.acked) {
      outbox.markForwardedUpTo(msg.seq);
      this.acked = Math.max(this.acked, outbox.ackedSeq);
      this.lastProgressAt = Date.now();
      this.stallMs = this.options.ackTimeoutMs;
      if (this.cursor <= this.acked) this.cursor = this.acked + 1;
      this.kick();
    }
  }

  /** Resends from ack+1 when the ack has stood still with rows outstanding for `stallMs`. */
  checkStall(): void {
    const conn = this.options.connection.current;
    if (!conn?.ready) return;
    const outstanding = this.cursor - 1 > this.acked;
    if (!outstanding) {
      this.lastProgressAt = Date.now();
      return;
    }
    if (Date.now() - this.lastProgressAt < this.stallMs) return;
    const from = Math.max(this.acked + 1, this.options.outbox.floorSeq());
    this.options.log.warn(
      { acked_seq: this.acked, sent_up_to: this.cursor - 1, waited_ms: this.stallMs },
      'ack not advancing: resending',
    );
    this.options.counters.resends++;
    this.cursor = from;
    this.lastProgressAt = Date.now();
    this.stallMs = Math.min(this.stallMs * 2, this.options.maxAckTimeoutMs);
    this.kick();
  }

  kick(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** A row committed to the outbox. */
  onAppend(seq: number, snap: Snapshot): void {
    const conn = this.options.connection.current;
    if (!conn?.ready) return;
    if (seq - this.cursor > 10) {
      // Well behind (a backlog goes in batches): this one also goes out live now.
      const payload = withSeq(snapshotWireJson(snap), seq, this.wireExtra());
      conn.client.publish(this.options.topicOf('realtime'), payload, { qos: this.options.qos });
      this.options.counters.live_extra_published++;
    }
    this.kick();
  }

  private wireExtra(): string {
    const { outbox } = this.options;
    return `,"outbox_id":${JSON.stringify(outbox.outboxId)},"floor_seq":${outbox.floorSeq()}`;
  }

  /** The sender: one per connection; sends while there is something to send and room to send it. */
  async pump(conn: Conn): Promise<void> {
    const { connection } = this.options;
    while (!conn.closed && connection.current === conn && !connection.isStopping) {
      let sent = false;
      try {
        sent = this.sendSome(conn);
      } catch (err) {
        this.options.log.error({ err: errorMessage(err) }, 'reading the outbox failed');
      }
      if (sent) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private sendSome(conn: Conn): boolean {
    const { outbox, counters, topicOf, qos } = this.options;
    const floor = outbox.floorSeq();
    if (this.cursor < floor) this.cursor = floor;
    const head = outbox.lastSeq();
    if (this.cursor > head) return false;
    const room = this.acked + this.options.windowSeqs - (this.cursor - 1);
    if (room <= 0) return false;
    if (conn.inflightBatches >= this.options.maxInflightBatches) return false;
    const rows = outbox.pending(this.cursor - 1, Math.min(this.options.batchMaxSnapshots, room));
    const first = rows[0];
    if (!first) {
      this.cursor = head + 1;
      return false;
    }
    if (rows.length === 1) {
      // As the wire wants it (fields added since the release only when they hold a value).
      const wire = snapshotWireJson(JSON.parse(first.payload) as Snapshot);
      conn.client.publish(topicOf('realtime'), withSeq(wire, first.seq, this.wireExtra()), { qos });
      counters.realtime_published++;
      this.cursor = first.seq + 1;
      return true;
    }
    const batch = batchPayload(rows, { outboxId: outbox.outboxId, floor }, this.options.batchMaxBytes);
    conn.inflightBatches++;
    conn.client.publish(topicOf('batch'), batch.payload, { qos }, () => {
      conn.inflightBatches--;
      this.kick();
    });
    counters.batches_published++;
    counters.batch_snapshots_published += batch.count;
    this.cursor = batch.last + 1;
    return true;
  }
}
