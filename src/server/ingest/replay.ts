/**
 * Replays stored dead letters through the ingester's decoding (decode.ts: the same schema, topic and
 * plausibility checks, no MQTT), once their cause is fixed (a server upgraded to know a field, a
 * widened `ingest` window). A letter whose every snapshot now passes is stored (idempotently: the
 * store skips readings it already has) and then deleted; one that still fails stays, counted by reason.
 * A letter is all or nothing: a batch with one snapshot still refused stores none of it.
 */
import { errorMessage } from '../../core/errors.js';
import type { TimeWindow } from '../../core/plausibility.js';
import { TOPICS } from '../../core/wire.js';
import type { InsertBatch, Store, StoredDeadLetter } from '../store/types.js';
import { BadMessage, decodeMessage } from './decode.js';

export interface ReplayOptions {
  store: Store;
  /** The MQTT topic prefix of the server config (mqtt.topic_prefix). */
  prefix: string;
  window: TimeWindow;
  deviceId?: string;
  since?: Date;
  /** Decode and count only: nothing stored or deleted. */
  dryRun?: boolean;
  /** Letters read (and stored, and deleted) at a time. Default 500. */
  pageSize?: number;
  /** The clock for the time window (default Date.now). */
  now?: () => number;
}

export interface ReplaySummary {
  examined: number;
  /** Letters that now pass (stored and deleted; with dryRun: would be). */
  replayed: number;
  /** Their snapshots newly stored, and those the store already had. */
  stored: number;
  duplicates: number;
  /** Letters that still fail, by reason (the reason as the decoding gives it now). */
  failing: Map<string, number>;
}

/** The data topic's device id and leaf, or why the letter is not a data message. */
function parseTopic(topic: string, prefix: string): { deviceId: string; leaf: 'realtime' | 'batch' } | string {
  const parts = topic.split('/');
  const leaf = parts[2];
  if (parts.length !== 3 || parts[0] !== prefix || !parts[1] || (leaf !== TOPICS.realtime && leaf !== TOPICS.batch))
    return `unexpected topic ${topic}`;
  return { deviceId: parts[1], leaf };
}

/** The batch to store for one letter, or why it still fails. */
function decodeLetter(letter: StoredDeadLetter, o: ReplayOptions, nowMs: number): InsertBatch | string {
  const where = parseTopic(letter.topic, o.prefix);
  if (typeof where === 'string') return where;
  let msg: unknown;
  try {
    msg = JSON.parse(letter.payload);
  } catch (err) {
    return `not JSON: ${errorMessage(err)}`;
  }
  try {
    const d = decodeMessage(where.leaf, where.deviceId, msg, nowMs, o.window);
    if (d.refusal) return d.refusal.reason;
    return { deviceId: where.deviceId, outboxId: d.outboxId, floorSeq: d.floorSeq, readings: d.readings };
  } catch (err) {
    if (err instanceof BadMessage) return err.message;
    throw err;
  }
}

export async function replayDeadLetters(o: ReplayOptions): Promise<ReplaySummary> {
  const sum: ReplaySummary = { examined: 0, replayed: 0, stored: 0, duplicates: 0, failing: new Map() };
  const page = o.pageSize ?? 500;
  const now = o.now ?? Date.now;
  let afterId = 0;
  for (;;) {
    const letters = await o.store.deadLetters({
      afterId,
      limit: page,
      ...(o.deviceId !== undefined ? { deviceId: o.deviceId } : {}),
      ...(o.since !== undefined ? { since: o.since } : {}),
    });
    if (letters.length === 0) break;
    afterId = letters[letters.length - 1]!.id;
    const batches: InsertBatch[] = [];
    const passed: number[] = [];
    for (const letter of letters) {
      sum.examined++;
      const r = decodeLetter(letter, o, now());
      if (typeof r === 'string') {
        const reason = r.length > 300 ? `${r.slice(0, 300)}…` : r;
        sum.failing.set(reason, (sum.failing.get(reason) ?? 0) + 1);
        continue;
      }
      passed.push(letter.id);
      batches.push(r);
    }
    sum.replayed += passed.length;
    if (o.dryRun) {
      for (const b of batches) sum.stored += b.readings.length;
    } else if (batches.length > 0) {
      // Stored first, deleted after the commit: a crash in between replays them again, as duplicates.
      for (const r of await o.store.insertMany(batches)) {
        sum.stored += r.inserted;
        sum.duplicates += r.duplicates;
      }
      await o.store.deleteDeadLetters(passed);
    }
    if (letters.length < page) break;
  }
  return sum;
}

/** The summary as the command prints it. */
export function formatSummary(s: ReplaySummary, dryRun: boolean): string {
  const failing = [...s.failing.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `dead letters examined: ${s.examined}`,
    dryRun
      ? `would be replayed: ${s.replayed} (${s.stored} snapshots; dry run: nothing stored or deleted)`
      : `replayed: ${s.replayed} (${s.stored} snapshots stored, ${s.duplicates} already stored; the letters deleted)`,
    `still failing: ${failing}`,
  ];
  const byCount = [...s.failing.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  for (const [reason, n] of byCount.slice(0, 20)) lines.push(`  ${n} × ${reason}`);
  if (byCount.length > 20) lines.push(`  … and ${byCount.length - 20} other reasons`);
  return `${lines.join('\n')}\n`;
}
