/**
 * The ingester's decoding of one data message (`realtime` or `batch`), with no MQTT: JSON already
 * parsed → wire schema → topic id = payload device_id → plausibility. The ingester runs every message
 * through it, and `kwartier server replay-dead-letters` runs stored dead letters through the same code.
 *
 * Version skew: an edge newer than its server may send fields the server does not know. A top-level
 * key of a snapshot (realtime, a `snapshots` item) or a name in a compact batch's `fields` that is not
 * in the schema is taken out before the check and kept with the reading (`extra`, stored as JSON),
 * at most MAX_UNKNOWN_FIELDS keys and MAX_UNKNOWN_BYTES of JSON per snapshot (a null value is not
 * kept: absent means null), else the message is
 * refused with that reason. Known fields keep their strict checks. Unknown keys of a batch's envelope
 * (beside `outbox_id`, `floor_seq`, `snapshots`/`fields`/`rows`) carry no reading and are ignored.
 */
import type { TSchema } from '@sinclair/typebox';
import { errorMessage } from '../../core/errors.js';
import type { TimeWindow } from '../../core/plausibility.js';
import { type Snapshot, SnapshotSchema, withAddedFields } from '../../core/snapshot.js';
import { checker, validationErrors } from '../../core/validate.js';
import {
  BatchColumnsMessageSchema,
  BatchItemSchema,
  BatchMessageSchema,
  batchColumnsDecode,
  MAX_UNKNOWN_BYTES,
  MAX_UNKNOWN_FIELDS,
  RealtimeMessageSchema,
} from '../../core/wire.js';
import { type Refusal, refusalOf, refusedOne } from './plausibility.js';

/** A message the wire contract refuses: its reason is the dead letter's. */
export class BadMessage extends Error {}

export interface DecodedReading {
  snapshot: Snapshot;
  seq: number;
  /** Realtime (true) or from a batch. */
  live: boolean;
  /** Date.parse(snapshot.timestamp). */
  t: number;
  /** The snapshot's fields this server does not know, or null. */
  extra: Record<string, unknown> | null;
}

export interface Decoded {
  outboxId: string;
  floorSeq: number;
  readings: DecodedReading[];
  /** Seqs refused by plausibility: acknowledged, never stored. */
  refused: number[];
  /** The dead letter to write for the refused ones, or null. */
  refusal: Refusal | null;
}

const realtimeCheck = checker(RealtimeMessageSchema);
const batchCheck = checker(BatchMessageSchema);
const batchColumnsCheck = checker(BatchColumnsMessageSchema);
const batchItemCheck = checker(BatchItemSchema);

const SNAPSHOT_KEYS = new Set<string>(Object.keys(SnapshotSchema.properties));
const REALTIME_KEYS = new Set<string>([...SNAPSHOT_KEYS, 'seq', 'outbox_id', 'floor_seq']);
const ITEM_KEYS = new Set<string>([...SNAPSHOT_KEYS, 'seq']);
const BATCH_KEYS = new Set<string>(Object.keys(BatchMessageSchema.properties));
const COLUMNS_KEYS = new Set<string>(Object.keys(BatchColumnsMessageSchema.properties));

function schemaError(schema: TSchema, msg: unknown, prefix = ''): BadMessage {
  const errs = validationErrors(schema, msg, prefix);
  const shown = errs.slice(0, 5).join('; ');
  return new BadMessage(`schema: ${shown}${errs.length > 5 ? `; … (${errs.length} problems)` : ''}`);
}

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);

/** Checks the size of a snapshot's unknown fields; the error names where and which bound. */
export function checkUnknown(extra: Record<string, unknown>, where: string): void {
  const n = Object.keys(extra).length;
  if (n > MAX_UNKNOWN_FIELDS)
    throw new BadMessage(`${where}unknown fields: ${n} are more than the ${MAX_UNKNOWN_FIELDS} kept`);
  const bytes = Buffer.byteLength(JSON.stringify(extra), 'utf8');
  if (bytes > MAX_UNKNOWN_BYTES)
    throw new BadMessage(`${where}unknown fields: ${bytes} bytes are more than the ${MAX_UNKNOWN_BYTES} kept`);
}

/**
 * Takes the keys of `o` that are not in `known` out of it (in place) and returns them (null when
 * none). Built with Object.fromEntries, so a key such as `__proto__` stays a plain property.
 */
function takeUnknown(
  o: Record<string, unknown>,
  known: ReadonlySet<string>,
  where: string,
): Record<string, unknown> | null {
  let found: Array<[string, unknown]> | null = null;
  for (const k of Object.keys(o)) {
    if (known.has(k)) continue;
    const v = o[k];
    delete o[k];
    if (v === null) continue; // absent means null: nothing to keep
    found ??= [];
    found.push([k, v]);
  }
  if (found === null) return null;
  const extra = Object.fromEntries(found);
  checkUnknown(extra, where);
  return extra;
}

/** Drops the unknown keys of a batch envelope (they carry no reading). */
function dropUnknown(o: Record<string, unknown>, known: ReadonlySet<string>): void {
  for (const k of Object.keys(o)) if (!known.has(k)) delete o[k];
}

function mismatch(got: unknown, deviceId: string): BadMessage {
  return new BadMessage(`device_id ${JSON.stringify(got)} does not match the topic's ${JSON.stringify(deviceId)}`);
}

/**
 * The snapshot without the wire's extra keys, in place (the object is fresh from JSON.parse). The
 * edge appends them last, and deleting an object's newest properties newest-first keeps V8's fast
 * object shape; an object-rest copy of every snapshot costs far more in a backlog.
 */
function clean(s: Record<string, unknown>): Snapshot {
  delete s.floor_seq;
  delete s.outbox_id;
  delete s.seq;
  return s as Snapshot;
}

/** A realtime message (one snapshot with its seq and outbox). */
export function decodeRealtime(deviceId: string, msg: unknown, nowMs: number, window: TimeWindow): Decoded {
  const extra = isObject(msg) ? takeUnknown(msg, REALTIME_KEYS, '') : null;
  if (!realtimeCheck.Check(msg)) throw schemaError(RealtimeMessageSchema, msg);
  if (msg.device_id !== deviceId) throw mismatch(msg.device_id, deviceId);
  const seq = msg.seq;
  const t = Date.parse(msg.timestamp);
  const outboxId = msg.outbox_id;
  const floorSeq = msg.floor_seq;
  const refusal = refusedOne(msg, t, nowMs, window);
  if (refusal) return { outboxId, floorSeq, readings: [], refused: [seq], refusal };
  const snapshot = withAddedFields(clean(msg));
  return { outboxId, floorSeq, readings: [{ seq, live: true, t, snapshot, extra }], refused: [], refusal: null };
}

/** Keeps the plausible readings of a batch; the refused ones' seqs are acknowledged, and dead-lettered as one. */
function decodeItems(
  outboxId: string,
  floorSeq: number,
  where: string,
  items: readonly Record<string, unknown>[],
  extras: readonly (Record<string, unknown> | null)[] | null,
  nowMs: number,
  window: TimeWindow,
): Decoded {
  const refused: Array<{ index: number; seq: number; reason: string }> = [];
  let firstRefused: Record<string, unknown> | null = null;
  const readings: DecodedReading[] = [];
  for (let i = 0; i < items.length; i++) {
    const o = items[i]!;
    const seq = o.seq as number;
    const snapshot = o as Snapshot;
    const t = Date.parse(snapshot.timestamp);
    const reason = refusalOf(snapshot, t, nowMs, window);
    const extra = extras?.[i] ?? null;
    if (reason !== null) {
      refused.push({ index: i, seq, reason });
      firstRefused ??= extra ? { ...o, ...extra } : o;
      continue;
    }
    delete o.seq; // the newest property: V8 keeps the object's fast shape
    readings.push({ seq, live: false, t, snapshot: withAddedFields(snapshot), extra });
  }
  const seqs = refused.map((r) => r.seq);
  if (refused.length === 0) return { outboxId, floorSeq, readings, refused: seqs, refusal: null };
  const shown = refused
    .slice(0, 3)
    .map((r) => `${where}[${r.index}] (seq ${r.seq}): ${r.reason}`)
    .join('; ');
  const more = refused.length > 3 ? `; … ${refused.length} of ${items.length} snapshots refused` : '';
  // The first refused snapshot, as a batch of one: replayable once the cause is fixed.
  const payload = JSON.stringify({ outbox_id: outboxId, floor_seq: floorSeq, snapshots: [firstRefused] });
  return { outboxId, floorSeq, readings, refused: seqs, refusal: { reason: `${shown}${more}`, payload } };
}

/** A batch message, either form (`snapshots`, or the compact `fields` + `rows`). */
export function decodeBatch(deviceId: string, msg: unknown, nowMs: number, window: TimeWindow): Decoded {
  if (isObject(msg) && 'rows' in msg) return decodeBatchColumns(deviceId, msg, nowMs, window);
  let extras: (Record<string, unknown> | null)[] | null = null;
  if (isObject(msg)) {
    dropUnknown(msg, BATCH_KEYS);
    const list = msg.snapshots;
    if (Array.isArray(list) && list.length <= 5000)
      extras = list.map((s, i) => (isObject(s) ? takeUnknown(s, ITEM_KEYS, `snapshots[${i}]: `) : null));
  }
  if (!batchCheck.Check(msg)) throw schemaError(BatchMessageSchema, msg);
  for (const s of msg.snapshots) if (s.device_id !== deviceId) throw mismatch(s.device_id, deviceId);
  const items = msg.snapshots as unknown as Record<string, unknown>[];
  return decodeItems(msg.outbox_id, msg.floor_seq, 'snapshots', items, extras, nowMs, window);
}

/** The compact batch (`fields` + `rows`): each row made into a snapshot and checked as one. */
function decodeBatchColumns(
  deviceId: string,
  msg: Record<string, unknown>,
  nowMs: number,
  window: TimeWindow,
): Decoded {
  dropUnknown(msg, COLUMNS_KEYS);
  if (!batchColumnsCheck.Check(msg)) throw schemaError(BatchColumnsMessageSchema, msg);
  if (msg.device_id !== deviceId) throw mismatch(msg.device_id, deviceId);
  let decoded: ReturnType<typeof batchColumnsDecode>;
  try {
    decoded = batchColumnsDecode(msg);
  } catch (err) {
    throw new BadMessage(`schema: ${errorMessage(err)}`);
  }
  const { items, extras } = decoded;
  for (let i = 0; i < items.length; i++) {
    if (!batchItemCheck.Check(items[i])) {
      const errs = validationErrors(BatchItemSchema, items[i], `rows[${i}]`);
      throw new BadMessage(`schema: ${errs.slice(0, 5).join('; ')}`);
    }
    const e = extras?.[i];
    if (e) checkUnknown(e, `rows[${i}]: `);
  }
  return decodeItems(msg.outbox_id, msg.floor_seq, 'rows', items, extras, nowMs, window);
}

/** A data message of topic leaf `realtime` or `batch`. */
export function decodeMessage(
  leaf: 'realtime' | 'batch',
  deviceId: string,
  msg: unknown,
  nowMs: number,
  window: TimeWindow,
): Decoded {
  return leaf === 'realtime' ? decodeRealtime(deviceId, msg, nowMs, window) : decodeBatch(deviceId, msg, nowMs, window);
}
