/**
 * The ingester's write path: decoded readings wait here, per (device, outbox), until a flush writes
 * them with one `store.insertMany` per lane.
 *
 * - Collected for up to `flushIntervalMs` from the oldest waiting reading, or until `flushMaxRows`.
 * - Each device belongs to one of `concurrency` lanes, and each lane runs one flush at a time with
 *   only its devices. The store locks a device for its transaction: two flushes holding the same
 *   devices (every device sends all the time) would wait for each other's locks for their whole
 *   length and write one after the other; lanes of disjoint devices write side by side. A device's
 *   commits also come strictly in order.
 * - A store error that looks transient (isTransient) puts the flush back, in front of what arrived
 *   meanwhile, and retries with backoff. An error about the data itself writes each device's batch
 *   alone, so one device's poison rows are dead-lettered and the rest goes on.
 * - Dead letters go with any flush, limited per device (DeadLetterLimiter) and in number.
 */
import { Backoff } from '../../core/backoff.js';
import { errorMessage, KwartierError } from '../../core/errors.js';
import { topic } from '../../core/wire.js';
import type { Logger } from '../../lib/log.js';
import type { DeadLetter, InsertBatch, InsertResult, Store } from '../store/types.js';
import type { DeadLetterLimiter } from './dead-letter-limiter.js';
import type { DecodedReading } from './decode.js';

/** The readings of one (device, outbox) waiting to be written. */
export interface Pending {
  deviceId: string;
  /** The flush lane of the device (laneOf). */
  lane: number;
  outboxId: string;
  floorSeq: number;
  readings: DecodedReading[];
  /** Seqs refused (dead-lettered): acknowledged with the others, never stored. */
  refused: number[];
}

/** The write path's share of the ingester's counters (it updates them in place). */
export interface WriteCounters {
  dead_letters: number;
  batches: number;
  store_errors: number;
}

export interface WriteLanesOptions {
  store: Store;
  log: Logger;
  prefix: string;
  limiter: DeadLetterLimiter;
  counters: WriteCounters;
  flushIntervalMs?: number;
  flushMaxRows?: number;
  concurrency?: number;
  deadLetterPayloadBytes?: number;
  /** After a commit: acknowledgements, counters, events. */
  onCommit(entries: Pending[], results: InsertResult[], startedAt: number): void;
  /** Buffered rows went down (a commit, a refused batch): reading may resume. */
  onRoom(): void;
}

/** The longest dead-letter reason and topic kept. */
export const MAX_REASON_CHARS = 1000;
export const MAX_TOPIC_CHARS = 256;
/** Dead letters waiting for a flush beyond this are counted and dropped (a store down for long). */
const MAX_WAITING_DEAD_LETTERS = 10_000;
/** Lane assignments remembered before the map starts over. */
const MAX_REMEMBERED_DEVICES = 100_000;

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

/** Text the store can keep: no NUL characters (PostgreSQL text refuses them), at most `max` chars. */
export function safeText(s: string, max: number): string {
  return s.slice(0, max).replaceAll(String.fromCharCode(0), '\uFFFD');
}

export class WriteLanes {
  private readonly options: WriteLanesOptions;
  private pending = new Map<string, Pending>();
  private deadLetters: DeadLetter[] = [];
  private rows = 0;
  private oldestBufferedAt: number | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly inflight = new Set<Promise<void>>();
  /** Lanes with a flush running. */
  private readonly busyLanes = new Set<number>();
  private readonly laneByDevice = new Map<string, number>();
  private storeFailing = false;
  private readonly backoff = new Backoff({ baseMs: 200, maxMs: 10_000 });
  /** Dead letters dropped because too many waited (a store down for long). */
  droppedDeadLetters = 0;

  constructor(options: WriteLanesOptions) {
    this.options = options;
  }

  /** Snapshots waiting to be written. */
  get bufferedRows(): number {
    return this.rows;
  }

  private get concurrency(): number {
    return Math.max(1, this.options.concurrency ?? 4);
  }

  private get flushMaxRows(): number {
    return this.options.flushMaxRows ?? 20_000;
  }

  /** The waiting readings of (device, outbox), created empty. */
  slot(deviceId: string, outboxId: string, floorSeq: number): Pending {
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

  /** `n` readings were put in a slot: schedules their flush. */
  added(n: number): void {
    this.oldestBufferedAt ??= Date.now();
    this.rows += n;
    this.scheduleFlush(this.rows >= this.flushMaxRows ? 0 : undefined);
  }

  /**
   * Queues a dead letter for the next flush, within the device's rate and the waiting cap (the rest
   * is only counted); `build` makes it only when it is kept.
   */
  addDeadLetter(deviceId: string | null, build: () => DeadLetter): void {
    if (!this.options.limiter.take(deviceId ?? '(unknown)', Date.now())) return;
    if (this.deadLetters.length >= MAX_WAITING_DEAD_LETTERS) {
      this.droppedDeadLetters++;
      return;
    }
    const letter = build();
    this.deadLetters.push(letter);
    this.options.log.warn({ topic: letter.topic, reason: letter.reason }, 'dead letter');
    this.oldestBufferedAt ??= Date.now();
    this.scheduleFlush();
  }

  /** Flushes now (backpressure: the buffer is full). */
  flushSoon(): void {
    this.scheduleFlush(0);
  }

  /** Writes everything buffered (stop), giving up when the store keeps failing. */
  async flushAll(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      this.clearTimer();
      if (this.pending.size > 0 || this.deadLetters.length > 0) this.startFlush();
      if (this.inflight.size === 0) return;
      await Promise.race(this.inflight);
      if (this.storeFailing && this.inflight.size === 0) return;
    }
  }

  clearTimer(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  /** Round robin in the order devices first send: the lanes get equal numbers of devices. */
  private laneOf(deviceId: string): number {
    const n = this.concurrency;
    if (n === 1) return 0;
    let lane = this.laneByDevice.get(deviceId);
    if (lane === undefined) {
      // (A device that changed lanes would only wait for its earlier flush's lock: still correct.)
      if (this.laneByDevice.size >= MAX_REMEMBERED_DEVICES) this.laneByDevice.clear();
      lane = this.laneByDevice.size % n;
      this.laneByDevice.set(deviceId, lane);
    }
    return lane;
  }

  private scheduleFlush(delayMs?: number): void {
    if (this.inflight.size >= this.concurrency) return; // a finishing flush reschedules
    const interval = this.options.flushIntervalMs ?? 100;
    // Collect for up to `interval` from the oldest buffered message (or less when told).
    const due = delayMs ?? Math.max(0, (this.oldestBufferedAt ?? Date.now()) + interval - Date.now());
    if (this.flushTimer && due > 0) return;
    this.clearTimer();
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
          else this.scheduleFlush(this.rows >= this.flushMaxRows ? 0 : undefined);
        }
      });
    this.inflight.add(run);
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
      const results =
        entries.length > 0 ? await this.options.store.insertMany(entries.map((p) => this.toBatch(p))) : [];
      this.committed(entries, results, started);
    } catch (err) {
      if (!isTransient(err) && entries.length > 1)
        await this.writeOneByOne(entries, letters, takenOldest, err, started);
      else if (!isTransient(err) && entries.length === 1) this.reject(entries[0]!, err);
      else this.putBack(taking, letters, takenOldest, err);
    }
  }

  /** Maybe one device's rows are poison: writes each device's batch alone, so the rest goes on. */
  private async writeOneByOne(
    entries: Pending[],
    letters: DeadLetter[],
    takenOldest: number | null,
    err: unknown,
    started: number,
  ): Promise<void> {
    this.options.log.warn(
      { err: errorMessage(err), batches: entries.length },
      'store rejected a flush; writing its batches one by one',
    );
    const back = new Map<string, Pending>();
    for (const p of entries) {
      try {
        this.committed([p], await this.options.store.insertMany([this.toBatch(p)]), started);
      } catch (e) {
        if (isTransient(e)) back.set(`${p.deviceId}\u0000${p.outboxId}`, p);
        else this.reject(p, e);
      }
    }
    if (back.size > 0) this.putBack(back, letters, takenOldest, err);
  }

  /** Stores the dead letters (emptying `letters`); one the store refuses for good is dropped and logged. */
  private async writeDeadLetters(letters: DeadLetter[]): Promise<void> {
    while (letters.length > 0) {
      const l = letters[0]!;
      try {
        await this.options.store.addDeadLetter(l);
      } catch (err) {
        if (isTransient(err)) throw err;
        this.options.log.error(
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
    this.options.counters.dead_letters++;
    if (!this.options.limiter.take(p.deviceId, Date.now())) {
      // counted and logged by the limiter
    } else if (this.deadLetters.length >= MAX_WAITING_DEAD_LETTERS) {
      this.droppedDeadLetters++;
    } else {
      this.options.log.error({ device_id: p.deviceId, reason }, 'dead letter');
      const payload = JSON.stringify({
        outbox_id: p.outboxId,
        floor_seq: p.floorSeq,
        snapshots: p.readings.slice(0, 3).map((r) => r.snapshot),
      });
      this.deadLetters.push({
        topic: topic(this.options.prefix, p.deviceId, 'batch'),
        deviceId: p.deviceId,
        reason,
        payload: safeText(payload, this.options.deadLetterPayloadBytes ?? 4096),
      });
      this.oldestBufferedAt ??= Date.now();
    }
    this.rows -= p.readings.length;
    this.options.onRoom();
  }

  private putBack(taken: Map<string, Pending>, letters: DeadLetter[], takenOldest: number | null, err: unknown): void {
    this.options.counters.store_errors++;
    if (!this.storeFailing)
      this.options.log.error({ err: errorMessage(err) }, 'store write failed; retrying with backoff');
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

  private committed(entries: Pending[], results: InsertResult[], started: number): void {
    if (this.storeFailing) this.options.log.info('store writes succeed again');
    this.storeFailing = false;
    this.backoff.reset();
    this.rows -= entries.reduce((n, p) => n + p.readings.length, 0);
    this.options.counters.batches++;
    this.options.onCommit(entries, results, started);
    this.options.onRoom();
  }
}
