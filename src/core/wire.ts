/**
 * MQTT wire format between edge and server (topics under `{prefix}/{device_id}/`).
 *
 * Delivery is at-least-once, storage exactly-once, and an outbox row is "forwarded" only when the
 * server says its database commit holds it:
 * - `realtime`: one snapshot plus its outbox `seq`, the outbox's id and `floor_seq`.
 * - `batch`: a backlog, many snapshots per message. Two forms: `snapshots` (an array of snapshot
 *   objects, each with its seq: what edges sent before the compact form, still read so that their
 *   backlog is not lost) and the compact one the edge sends, `fields` + `rows` (the field
 *   names once, then one array of values per snapshot; about 60 % fewer bytes, and several times
 *   cheaper to parse, than repeating every key in every snapshot).
 * - `ack` (server → edge, retained): the highest seq of that outbox such that every seq up to it is
 *   committed. `floor_seq` (the oldest seq the edge still holds) lets the server skip seqs the edge
 *   evicted, so one lost row never stalls the acknowledgement.
 * `outbox_id` is random per outbox database: a re-installed edge restarts at seq 1 without being
 * mistaken for old, already acknowledged data.
 */
import { type Static, Type } from '@sinclair/typebox';
import {
  SNAPSHOT_ADDED_FIELDS,
  SNAPSHOT_NUMERIC_FIELDS,
  SNAPSHOT_TEXT_FIELDS,
  type Snapshot,
  SnapshotSchema,
} from './snapshot.js';

const Seq = Type.Integer({ minimum: 1 });
const OutboxId = Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' });

export const RealtimeMessageSchema = Type.Composite(
  [SnapshotSchema, Type.Object({ seq: Seq, outbox_id: OutboxId, floor_seq: Seq })],
  { additionalProperties: false },
);
export type RealtimeMessage = Static<typeof RealtimeMessageSchema>;

/** One snapshot of a batch, with its seq: what each `snapshots` item, or each row once named, is. */
export const BatchItemSchema = Type.Composite([SnapshotSchema, Type.Object({ seq: Seq })], {
  additionalProperties: false,
});
export type BatchItem = Static<typeof BatchItemSchema>;

export const BatchMessageSchema = Type.Object(
  {
    outbox_id: OutboxId,
    floor_seq: Seq,
    snapshots: Type.Array(BatchItemSchema, { minItems: 1, maxItems: 5000 }),
  },
  { additionalProperties: false },
);
export type BatchMessage = Static<typeof BatchMessageSchema>;

/**
 * The fields a compact batch may name: every snapshot field but device_id (given once), and seq.
 * A server accepts names it does not know (an edge newer than it): it stores what it knows and keeps
 * the rest (server/ingest).
 */
export const BATCH_FIELDS = [
  'seq',
  'timestamp',
  ...SNAPSHOT_TEXT_FIELDS,
  ...SNAPSHOT_NUMERIC_FIELDS,
  'stale_sources',
  'devices',
  'control',
] as const;
export type BatchField = (typeof BATCH_FIELDS)[number];

/**
 * A snapshot may carry at most this many fields its server does not know (an edge newer than its
 * server), and at most this many bytes of them as JSON; the server keeps them with the reading.
 */
export const MAX_UNKNOWN_FIELDS = 64;
export const MAX_UNKNOWN_BYTES = 16 * 1024;

/** What a field name of the wire looks like (snake_case). */
export const FIELD_NAME_PATTERN = '^[a-z][a-z0-9_]{0,63}$';

/**
 * The compact batch: `device_id` once, the names of the fields in `fields` (seq and timestamp among
 * them; a snapshot field not named is null, `stale_sources` empty), and per snapshot one array of
 * values in that order. The values are checked as the snapshot they make (BatchItemSchema).
 */
export const BatchColumnsMessageSchema = Type.Object(
  {
    outbox_id: OutboxId,
    floor_seq: Seq,
    device_id: Type.String({ minLength: 1, maxLength: 64 }),
    /** BATCH_FIELDS names, and names this server does not know (kept with each reading: see server/ingest). */
    fields: Type.Array(Type.String({ pattern: FIELD_NAME_PATTERN }), {
      minItems: 2,
      maxItems: BATCH_FIELDS.length + MAX_UNKNOWN_FIELDS,
      uniqueItems: true,
    }),
    rows: Type.Array(Type.Array(Type.Unknown(), { maxItems: BATCH_FIELDS.length + MAX_UNKNOWN_FIELDS }), {
      minItems: 1,
      maxItems: 5000,
    }),
  },
  { additionalProperties: false },
);
export type BatchColumnsMessage = Static<typeof BatchColumnsMessageSchema>;

/**
 * What an edge sends, so that a server of an earlier release still takes it: the fields added since
 * the first release (SNAPSHOT_ADDED_FIELDS, `devices`, `control`) go on the wire only when they hold a
 * value.
 * A site that reports none of them (every config of the legacy sections) sends exactly what that
 * release's edge sent; one that does needs a server that knows them (or keeps unknown fields).
 */
const ADDED_WIRE_FIELDS: ReadonlySet<string> = new Set<string>([...SNAPSHOT_ADDED_FIELDS, 'devices', 'control']);

/** Object fields a snapshot leaves out when it has none (as a snapshot without them reads back). */
const OPTIONAL_OBJECTS = ['devices', 'control'] as const;

/** The batch fields every release's server knows: BATCH_FIELDS without the added ones. */
export const RELEASED_BATCH_FIELDS: readonly BatchField[] = BATCH_FIELDS.filter((f) => !ADDED_WIRE_FIELDS.has(f));

/** The snapshot as JSON for the outbox and `realtime`: added fields only when they hold a value. */
export function snapshotWireJson(s: Snapshot): string {
  const top = s as Record<string, unknown>;
  let out: Record<string, unknown> | null = null;
  for (const k of ADDED_WIRE_FIELDS) {
    if (top[k] !== null || !(k in top)) continue;
    out ??= { ...top };
    delete out[k];
  }
  return JSON.stringify(out ?? s);
}

/** The fields of a compact batch of these snapshots: the released ones, and the added ones some row holds. */
export function batchFieldsFor(snapshots: readonly Snapshot[]): BatchField[] {
  const fields: BatchField[] = [...RELEASED_BATCH_FIELDS];
  for (const f of BATCH_FIELDS) {
    if (!ADDED_WIRE_FIELDS.has(f)) continue;
    if (
      snapshots.some(
        (s) => (s as Record<string, unknown>)[f] !== null && (s as Record<string, unknown>)[f] !== undefined,
      )
    )
      fields.push(f);
  }
  return fields;
}

/** The head of a compact batch: everything up to the first row (close it with `rows.join(',')` + `]}`). */
export function batchColumnsHead(
  outboxId: string,
  floorSeq: number,
  deviceId: string,
  fields: readonly BatchField[] = BATCH_FIELDS,
): string {
  return `{"outbox_id":${JSON.stringify(outboxId)},"floor_seq":${floorSeq},"device_id":${JSON.stringify(deviceId)},"fields":${JSON.stringify(fields)},"rows":[`;
}

const NUMERIC_FIELDS: ReadonlySet<string> = new Set<string>(SNAPSHOT_NUMERIC_FIELDS);

/** One row of a compact batch (the values of `fields`, in order; default all of BATCH_FIELDS), as JSON. */
export function batchColumnsRow(s: Snapshot, seq: number, fields: readonly BatchField[] = BATCH_FIELDS): string {
  const row = s as Record<string, unknown>;
  let out = '[';
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as BatchField;
    if (i > 0) out += ',';
    if (f === 'seq') out += seq;
    else if (f === 'stale_sources') out += JSON.stringify(s.stale_sources ?? []);
    else if (NUMERIC_FIELDS.has(f)) {
      const v = row[f];
      // JSON has no NaN or Infinity: like JSON.stringify, they go as null (the schema refuses neither).
      out += typeof v === 'number' && Number.isFinite(v) ? v : 'null';
    } else {
      const v = row[f];
      out += v === null || v === undefined ? 'null' : JSON.stringify(v);
    }
  }
  return `${out}]`;
}

type RowBuilder = (row: readonly unknown[], deviceId: string) => Record<string, unknown>;
interface Builder {
  build: RowBuilder;
  /** The names the schema does not know, with their index in the row. */
  unknown: ReadonlyArray<readonly [string, number]>;
}
const builders = new Map<string, Builder>();
const KNOWN_BATCH_FIELDS = new Set<string>(BATCH_FIELDS);

/**
 * A function that makes one row into a snapshot object (keys in SnapshotSchema's order, then seq) for
 * one list of fields. It is compiled once per list: an object literal with constant keys gets V8's
 * fast object shape and costs a fraction of setting 45 keys one by one. The code holds only names
 * from SnapshotSchema and indexes; the names of the list that are not in BATCH_FIELDS are returned
 * apart (never part of the code).
 */
function rowBuilder(fields: readonly string[]): Builder {
  const key = fields.join(',');
  let b = builders.get(key);
  if (b) return b;
  const idx = new Map<string, number>(fields.map((f, i) => [f, i]));
  if (!idx.has('seq') || !idx.has('timestamp')) throw new Error('fields: must name seq and timestamp');
  const unknown = fields.flatMap((f, i) => (KNOWN_BATCH_FIELDS.has(f) ? [] : [[f, i] as const]));
  const value = (f: string): string => {
    const i = KNOWN_BATCH_FIELDS.has(f) ? idx.get(f) : undefined;
    if (i !== undefined) return `row[${i}]`;
    return f === 'stale_sources' ? '[]' : 'null';
  };
  // `devices` and `control` are left out when the batch does not name them or the row's value is
  // null (none: as a snapshot without them reads back), so the code has one literal per combination,
  // each of constant keys.
  const literal = (included: readonly string[]): string => {
    const props = Object.keys(SnapshotSchema.properties)
      .filter((k) => !(OPTIONAL_OBJECTS as readonly string[]).includes(k) || included.includes(k))
      .map((k) => (k === 'device_id' ? 'device_id: deviceId' : `${k}: ${value(k)}`));
    props.push(`seq: ${value('seq')}`);
    return `{ ${props.join(', ')} }`;
  };
  const named = OPTIONAL_OBJECTS.filter((f) => idx.has(f));
  const branch = (i: number, included: readonly string[]): string => {
    if (i === named.length) return `return ${literal(included)};`;
    const f = named[i] as string;
    return `if (row[${idx.get(f)}] === null) { ${branch(i + 1, included)} } else { ${branch(i + 1, [...included, f])} }`;
  };
  const code = branch(0, []);
  const build = new Function('row', 'deviceId', code) as RowBuilder;
  b = { build, unknown };
  if (builders.size >= 64) builders.clear();
  builders.set(key, b);
  return b;
}

/**
 * The snapshots of a compact batch whose head has been checked (BatchColumnsMessageSchema): each row
 * made into a snapshot object with its seq, every one of the same shape, and per row the values of
 * the fields the schema does not know (`extras`: null when the batch names none; a row's entry null
 * when all of them are null there). A row of the wrong length is an error naming it; the values are
 * left to the caller's check of each item.
 */
export function batchColumnsDecode(msg: BatchColumnsMessage): {
  items: Record<string, unknown>[];
  extras: (Record<string, unknown> | null)[] | null;
} {
  const { build, unknown } = rowBuilder(msg.fields);
  const n = msg.fields.length;
  const items: Record<string, unknown>[] = new Array(msg.rows.length);
  const extras: (Record<string, unknown> | null)[] | null = unknown.length > 0 ? new Array(msg.rows.length) : null;
  for (let r = 0; r < msg.rows.length; r++) {
    const row = msg.rows[r]!;
    if (row.length !== n) throw new Error(`rows[${r}]: has ${row.length} values for ${n} fields`);
    items[r] = build(row, msg.device_id);
    if (extras) {
      const kept = unknown.filter(([, i]) => row[i] !== null).map(([f, i]) => [f, row[i]] as const);
      extras[r] = kept.length > 0 ? Object.fromEntries(kept) : null;
    }
  }
  return { items, extras };
}

/** The snapshots of a compact batch (see batchColumnsDecode), without the fields the schema does not know. */
export function batchColumnsItems(msg: BatchColumnsMessage): Record<string, unknown>[] {
  return batchColumnsDecode(msg).items;
}

export const AckMessageSchema = Type.Object(
  { outbox_id: OutboxId, seq: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
export type AckMessage = Static<typeof AckMessageSchema>;

export const TOPICS = {
  realtime: 'realtime',
  batch: 'batch',
  grid: 'grid',
  solar: 'solar',
  battery: 'battery',
  capacity: 'capacity',
  status: 'status',
  ack: 'ack',
  control: 'control',
  control_state: 'control_state',
  prices: 'prices',
} as const;

export function topic(prefix: string, deviceId: string, leaf: keyof typeof TOPICS): string {
  return `${prefix}/${deviceId}/${TOPICS[leaf]}`;
}

// ---- status and capacity (edge → anyone; the ingester validates them, drops and counts the invalid) ----
//
// Not data: an invalid one is dropped with a debug log and counted (IngesterCounters.side_invalid),
// never dead-lettered. Keys beyond the ones named here are allowed and passed on, so a newer edge that
// adds one is not silenced by an older server; the named ones must have their types. Bounded by the
// ingester's 64 KiB cap on these topics and the limits below.

const DeviceIdField = Type.String({ minLength: 1, maxLength: 64 });
const TimestampField = Type.String({ format: 'date-time', minLength: 20, maxLength: 30 });
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);
const NullableCount = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);
const ShortText = (maxLength: number) => Type.Union([Type.String({ maxLength }), Type.Null()]);

/** One source's health on `status` (edge/edge.ts SourceHealth; an older edge sends state and detail only). */
export const StatusSourceSchema = Type.Object({
  state: Type.String({ minLength: 1, maxLength: 32 }),
  detail: Type.Optional(ShortText(4096)),
  last_reading_at: Type.Optional(Type.Union([TimestampField, Type.Null()])),
  stale: Type.Optional(Type.Boolean()),
  readings: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type StatusSource = Static<typeof StatusSourceSchema>;

/**
 * `status` (QoS 1, retained; also the edge's last will, with `state: 'offline'`, `buffer_depth`,
 * `outbox_id`, `acked_seq` and `evicted` null and no sources).
 */
export const StatusMessageSchema = Type.Object({
  device_id: DeviceIdField,
  timestamp: TimestampField,
  state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  /** Rows not yet acknowledged by the server; null when unknown (the will). */
  buffer_depth: NullableCount,
  outbox_id: Type.Union([OutboxId, Type.Null()]),
  acked_seq: NullableCount,
  evicted: NullableCount,
  /** Per source (device) name. */
  sources: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), StatusSourceSchema, { maxProperties: 64 }),
});
export type StatusMessage = Static<typeof StatusMessageSchema>;

/** The capacity-tariff fields of the newest snapshot, which every `capacity` message carries when the edge has one. */
const CapacityBase = {
  device_id: Type.Optional(DeviceIdField),
  timestamp: Type.Optional(TimestampField),
  grid_avg_15m_w: Type.Optional(NullableNumber),
  grid_monthly_peak_w: Type.Optional(NullableNumber),
  grid_monthly_peak_timestamp: Type.Optional(ShortText(64)),
  country: Type.Optional(ShortText(64)),
};

/** `capacity` every quarter hour: `{kind: 'report', …}`. */
export const CapacityReportSchema = Type.Object({ kind: Type.Literal('report'), ...CapacityBase });
export type CapacityReport = Static<typeof CapacityReportSchema>;

/**
 * `capacity` when a new monthly peak is in the making (edge/capacity-watch.ts): what the dashboard
 * shows is required (quarter, projection, limit, reason), the rest is typed when present.
 */
export const CapacityAlertSchema = Type.Object({
  kind: Type.Literal('alert'),
  ...CapacityBase,
  type: Type.Literal('capacity_alert'),
  quarter_start: TimestampField,
  elapsed_s: Type.Optional(Type.Number({ minimum: 0 })),
  avg_so_far_w: Type.Optional(NullableNumber),
  projected_w: Type.Number(),
  limit_w: Type.Number(),
  headroom_w: Type.Optional(NullableNumber),
  month_peak_w: Type.Optional(NullableNumber),
  reason: Type.Union([Type.Literal('lead_time'), Type.Literal('crossed')]),
});
export type CapacityAlert = Static<typeof CapacityAlertSchema>;

export const CapacityMessageSchema = Type.Union([CapacityReportSchema, CapacityAlertSchema]);
export type CapacityMessage = Static<typeof CapacityMessageSchema>;

// control (server → edge) and control_state (edge → server): wire-control.ts, part of this contract.
export * from './wire-control.js';
// prices (server → edge): wire-prices.ts, part of this contract.
export * from './wire-prices.js';
