/**
 * MQTT wire format between edge and server (topics under `{prefix}/{device_id}/`).
 *
 * Delivery is at-least-once, storage exactly-once, and an outbox row is "forwarded" only when the
 * server says its database commit holds it:
 * - `realtime`: one snapshot plus its outbox `seq`, the outbox's id and `floor_seq`.
 * - `batch`: a backlog, many snapshots per message.
 * - `ack` (server → edge, retained): the highest seq of that outbox such that every seq up to it is
 *   committed. `floor_seq` (the oldest seq the edge still holds) lets the server skip seqs the edge
 *   evicted, so one lost row never stalls the acknowledgement.
 * `outbox_id` is random per outbox database: a re-installed edge restarts at seq 1 without being
 * mistaken for old, already acknowledged data.
 */
import { type Static, Type } from '@sinclair/typebox';
import { SnapshotSchema } from './snapshot.js';

const Seq = Type.Integer({ minimum: 1 });
const OutboxId = Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' });

export const RealtimeMessageSchema = Type.Composite(
  [SnapshotSchema, Type.Object({ seq: Seq, outbox_id: OutboxId, floor_seq: Seq })],
  { additionalProperties: false },
);
export type RealtimeMessage = Static<typeof RealtimeMessageSchema>;

export const BatchMessageSchema = Type.Object(
  {
    outbox_id: OutboxId,
    floor_seq: Seq,
    snapshots: Type.Array(
      Type.Composite([SnapshotSchema, Type.Object({ seq: Seq })], { additionalProperties: false }),
      {
        minItems: 1,
        maxItems: 5000,
      },
    ),
  },
  { additionalProperties: false },
);
export type BatchMessage = Static<typeof BatchMessageSchema>;

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
} as const;

export function topic(prefix: string, deviceId: string, leaf: keyof typeof TOPICS): string {
  return `${prefix}/${deviceId}/${TOPICS[leaf]}`;
}
