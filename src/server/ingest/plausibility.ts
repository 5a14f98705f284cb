/**
 * The ingester's plausibility step, after the wire schema: a snapshot core/plausibility.ts refuses
 * is dead-lettered with the reason (its field and the bound) and its seq acknowledged, so the edge
 * does not send it again and again; the other snapshots of the same batch are stored.
 */
import { type SnapshotLike, snapshotProblem, type TimeWindow } from '../../core/plausibility.js';

/** A dead letter to write for (part of) a message; `payload` replaces the message's own when given. */
export interface Refusal {
  reason: string;
  payload?: string;
}

/** Why the snapshot is refused (the field and the bound), or null. `t` = Date.parse(timestamp). */
export function refusalOf(s: SnapshotLike, t: number, nowMs: number, window: TimeWindow): string | null {
  return snapshotProblem(s, nowMs, window, t);
}

/** The refusal of a realtime message's one snapshot, or null. */
export function refusedOne(s: SnapshotLike, t: number, nowMs: number, window: TimeWindow): Refusal | null {
  const reason = refusalOf(s, t, nowMs, window);
  return reason === null ? null : { reason };
}
