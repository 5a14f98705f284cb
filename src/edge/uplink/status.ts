/**
 * The uplink's retained `status` message (core/wire.ts StatusMessageSchema): online with the
 * outbox's depth and the sources' health, or offline (also the connection's last will).
 */
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Outbox } from '../outbox.js';
import type { SourceHealth, StatusMessage } from './types.js';

export interface StatusInputs {
  deviceId: string;
  outbox: Outbox;
  /** The highest acknowledged seq of this outbox. */
  ackedSeq: number;
  sources?: () => Record<string, SourceHealth>;
  log: Logger;
}

/**
 * The status as JSON. The last will is made when connecting and read whenever the connection
 * drops, so it holds no figure that would be stale by then (nulls, no sources).
 */
export function statusPayload(state: 'online' | 'offline', inputs: StatusInputs, will = false): string {
  let depth: number | null = null;
  let outboxId: string | null = null;
  let evicted: number | null = null;
  let sources: Record<string, SourceHealth> = {};
  if (!will) {
    try {
      depth = inputs.outbox.depth();
      outboxId = inputs.outbox.outboxId;
      evicted = inputs.outbox.stats.evicted;
    } catch {
      // outbox closed: unknown
    }
    try {
      sources = inputs.sources?.() ?? {};
    } catch (err) {
      inputs.log.warn({ err: errorMessage(err) }, 'source health callback failed');
    }
  }
  const message: StatusMessage = {
    device_id: inputs.deviceId,
    timestamp: new Date().toISOString(),
    state,
    buffer_depth: depth,
    outbox_id: outboxId,
    acked_seq: will ? null : inputs.ackedSeq,
    evicted,
    sources,
  };
  return JSON.stringify(message);
}
