/**
 * A data message from MQTT into the write lanes: size cap, topic, JSON, then decode.ts (the wire
 * schema, topic id = payload device_id, plausibility). A message that fails any check becomes a
 * dead letter with its reason, within the device's dead-letter rate; the stream goes on.
 */
import { errorMessage } from '../../core/errors.js';
import type { TimeWindow } from '../../core/plausibility.js';
import { TOPICS } from '../../core/wire.js';
import { BadMessage, decodeMessage } from './decode.js';
import type { Refusal } from './plausibility.js';
import type { IngesterCounters } from './types.js';
import { MAX_REASON_CHARS, MAX_TOPIC_CHARS, safeText, type WriteLanes } from './write-lanes.js';

export interface IntakeDeps {
  prefix: string;
  lanes: WriteLanes;
  /** The ingester's counters, updated in place. */
  counters: Pick<
    IngesterCounters,
    'messages_received' | 'snapshots_received' | 'dead_letters' | 'oversize' | 'refused'
  >;
  timeWindow: TimeWindow;
  maxPayloadBytes: number;
  deadLetterPayloadBytes: number;
}

export class MessageIntake {
  constructor(private readonly deps: IntakeDeps) {}

  private deadLetter(topicName: string, deviceId: string | null, reason: string, payload: Buffer | string): void {
    this.deps.counters.dead_letters++;
    // Per device: a burst, then a few a minute; the rest only counted (DeadLetterLimiter).
    this.deps.lanes.addDeadLetter(deviceId, () => {
      const max = this.deps.deadLetterPayloadBytes;
      const text = typeof payload === 'string' ? payload.slice(0, max) : payload.subarray(0, max).toString('utf8');
      return {
        topic: safeText(topicName, MAX_TOPIC_CHARS),
        deviceId,
        reason: safeText(reason, MAX_REASON_CHARS),
        payload: safeText(text, max),
      };
    });
  }

  /** A data message (`realtime` or `batch`): decoded into the write lanes, or dead-lettered with its reason. */
  accept(topicName: string, payload: Buffer): void {
    this.deps.counters.messages_received++;
    const parts = topicName.split('/');
    const deviceId = parts.length === 3 && parts[0] === this.deps.prefix ? (parts[1] ?? null) : null;
    const leaf = parts[2];
    const maxBytes = this.deps.maxPayloadBytes;
    if (payload.length > maxBytes) {
      this.deps.counters.oversize++;
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

  /** Decodes a data message (decode.ts, shared with the dead-letter replay) and buffers its readings. */
  private acceptData(leaf: 'realtime' | 'batch', deviceId: string, msg: unknown): Refusal | null {
    const d = decodeMessage(leaf, deviceId, msg, Date.now(), this.deps.timeWindow);
    const p = this.deps.lanes.slot(deviceId, d.outboxId, d.floorSeq);
    for (const r of d.readings) p.readings.push(r);
    for (const q of d.refused) p.refused.push(q);
    this.deps.counters.refused += d.refused.length;
    this.deps.counters.snapshots_received += d.readings.length;
    this.deps.lanes.added(d.readings.length);
    return d.refusal;
  }
}
