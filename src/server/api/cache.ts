/**
 * A cache of rendered history answers, so that 20 dashboards asking for the same year do not each
 * read and render 365 buckets: the JSON bytes, and their gzip form once a client accepts it.
 *
 * - Key: device, resolution and the start/end as sent. Identical requests in flight share one
 *   computation.
 * - Invalidation: every committed snapshot (the ingester's events) drops the device's entries that
 *   it can change: a reading at t changes the bucket holding t and the bucket of the next reading,
 *   so an entry is dropped unless its last bucket ends at or before t. A replayed backlog thus
 *   refreshes exactly the ranges it touches; live data only the ranges that reach now.
 * - TTL (default 60 s) bounds staleness from writers this process does not hear (another server
 *   instance's ingester on a shared PostgreSQL, raw retention).
 * - Bounded: at most `maxEntries` entries and `maxBytes` of bytes; the least recently used go first.
 */
import { promisify } from 'node:util';
import { constants, gunzipSync, gzip } from 'node:zlib';
import { type DeflatePiece, joinGzip } from '../../lib/deflate-join.js';

const gzipAsync = promisify(gzip);

/**
 * zlib levels: an answer kept in the cache is compressed once and sent many times, so it gets the
 * smaller form; one that is sent once (cache off, e.g. many homes whose answers seldom repeat) gets
 * the fast level, as web servers compress dynamic answers (for a month at 15 minutes level 1 takes
 * about half the time of level 5 for ~25 % more bytes).
 */
const GZIP_LEVEL = { kept: 5, once: 1 } as const;

/**
 * A rendered answer: JSON bytes, gzip made on first demand and kept. The gzip runs on libuv's
 * thread pool, not on the event loop: for a month at 15 min (~1 MB of JSON) it took about a sixth
 * of the server's busy time on the uncached path, with every other request waiting behind it.
 * An answer joined from compressed pieces (day-blocks.ts) has its gzip form at once and its text
 * only when a client does not take gzip.
 */
export class Rendered {
  private gz: Buffer | null = null;
  private gzipping: Promise<Buffer> | null = null;
  private text: Buffer | null;
  /** Length of the JSON text in bytes. */
  readonly length: number;

  /**
   * The answer's JSON, as text or already as UTF-8 bytes (which are then owned by it), or as
   * compressed pieces; `kept`: the cache holds it (its gzip form is then worth a slower, smaller
   * compression).
   */
  constructor(
    json: string | Buffer | readonly DeflatePiece[],
    private readonly kept = true,
  ) {
    if (Array.isArray(json)) {
      // The pieces are not kept (a kept block read from PostgreSQL is a view of a larger buffer).
      this.text = null;
      this.length = json.reduce((n, p) => n + p.bytes, 0);
      this.gz = joinGzip(json);
      this.gzipping = Promise.resolve(this.gz);
    } else {
      this.text = typeof json === 'string' ? Buffer.from(json, 'utf8') : (json as Buffer);
      this.length = this.text.length;
    }
  }

  /** The JSON bytes (of a joined answer: decompressed on first demand and kept; its size grows). */
  get body(): Buffer {
    this.text ??= gunzipSync(this.gz!);
    return this.text;
  }

  get size(): number {
    return (this.text?.length ?? 0) + (this.gz?.length ?? 0);
  }

  gzip(): Promise<Buffer> {
    const level = this.kept ? GZIP_LEVEL.kept : GZIP_LEVEL.once;
    this.gzipping ??= gzipAsync(this.body, { level, strategy: constants.Z_DEFAULT_STRATEGY }).then((gz) => {
      this.gz = gz;
      return gz;
    });
    return this.gzipping;
  }
}

/** What a computation gives: the JSON (text or bytes), or an answer already made (Rendered). */
export type RenderedJson = string | Buffer | Rendered;

interface Entry {
  deviceId: string;
  /** A reading at or after this instant cannot change the answer. */
  safeUntil: number;
  rendered: Rendered;
  /** Bytes counted for it (grows when its gzip form is made). */
  bytes: number;
  at: number;
}

export interface HistoryCacheOptions {
  ttlMs: number;
  maxEntries: number;
  maxBytes: number;
  now: () => number;
}

export class HistoryCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Rendered>>();
  /** Computations under way: one invalidated while running is returned but not stored. */
  private readonly running = new Set<{ deviceId: string; safeUntil: number; dirty: boolean }>();
  private bytes = 0;

  constructor(private readonly options: HistoryCacheOptions) {}

  get enabled(): boolean {
    return this.options.ttlMs > 0;
  }

  /** A fresh cached answer, or null. */
  lookup(key: string): Rendered | null {
    const e = this.entries.get(key);
    if (!e) return null;
    if (this.options.now() - e.at >= this.options.ttlMs) {
      this.remove(key, e);
      return null;
    }
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.rendered;
  }

  /**
   * Computes the answer under `key` once for all concurrent callers and caches it. `safeUntil`: the
   * end of the answer's last bucket (a reading at or after it cannot change the answer).
   */
  fill(deviceId: string, key: string, safeUntil: number, compute: () => Promise<RenderedJson>): Promise<Rendered> {
    if (!this.enabled) return compute().then((t) => (t instanceof Rendered ? t : new Rendered(t, false)));
    const shared = this.inflight.get(key);
    if (shared) return shared;
    const job = { deviceId, safeUntil, dirty: false };
    const at = this.options.now();
    this.running.add(job);
    const p = compute()
      .then((text) => {
        const rendered = text instanceof Rendered ? text : new Rendered(text, !job.dirty);
        if (!job.dirty) this.put(key, { deviceId, safeUntil, rendered, bytes: rendered.size, at });
        return rendered;
      })
      .finally(() => {
        this.running.delete(job);
        this.inflight.delete(key);
      });
    this.inflight.set(key, p);
    return p;
  }

  /** Accounts for bytes an entry grew by (its gzip form); evicts if over the budget. */
  grew(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    const size = e.rendered.size;
    this.bytes += size - e.bytes;
    e.bytes = size;
    this.evict();
  }

  /** A reading of `deviceId` at `ms` was committed. */
  invalidate(deviceId: string, ms: number): void {
    for (const job of this.running) {
      if (job.deviceId === deviceId && !(job.safeUntil <= ms)) job.dirty = true;
    }
    for (const [key, e] of this.entries) {
      if (e.deviceId === deviceId && !(e.safeUntil <= ms)) this.remove(key, e);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private put(key: string, e: Entry): void {
    if (e.bytes > this.options.maxBytes) return;
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    this.entries.set(key, e);
    this.bytes += e.bytes;
    this.evict();
  }

  private evict(): void {
    for (const [k, v] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.bytes <= this.options.maxBytes) break;
      this.remove(k, v);
    }
  }

  private remove(key: string, e: Entry): void {
    if (this.entries.delete(key)) this.bytes -= e.bytes;
  }
}
