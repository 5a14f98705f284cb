/**
 * The edge outbox: every snapshot is committed to SQLite (WAL) before anything is sent, and a row
 * is "forwarded" only when the server acknowledges its database commit (see core/wire.ts).
 *
 * Schema (spec 2.4): `readings(id, timestamp, payload, forwarded, created_at)`; `id` INTEGER PRIMARY
 * KEY AUTOINCREMENT is the outbox sequence number `seq`: monotonic and never reused, even after
 * the newest rows are deleted. `meta` holds the random `outbox_id` (made when the file is created),
 * the highest acknowledged seq, the eviction counter, and small pieces of the edge's own state under
 * `state:<key>` (the server's last day-ahead prices: keptState/keepState).
 *
 * Retention: forwarded rows are deleted 24 h after their timestamp; any row older than
 * `maxAgeDays` is deleted, and counted as evicted when it was never forwarded. A full disk
 * (SQLITE_FULL) evicts the oldest rows (forwarded first) and retries, so a full disk costs the oldest
 * data, counted, never a crash loop.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { KwartierError } from '../core/errors.js';
import type { Snapshot } from '../core/snapshot.js';
import { createLogger, type Logger } from '../lib/log.js';

export interface OutboxOptions {
  /** SQLite file (config `buffer.db_path`); created with its directory when missing. */
  path: string;
  /** Config `buffer.max_age_days` (default 7). */
  maxAgeDays?: number;
  /** Config `buffer.cleanup_interval_h` (default 1). */
  cleanupIntervalH?: number;
  /** How long forwarded rows are kept (default 24 h). */
  keepForwardedMs?: number;
  /** Hard cap on the database size in bytes (SQLite max_page_count); default none (the disk is the cap). */
  maxBytes?: number | null;
  log?: Logger;
  now?: () => number;
}

export interface OutboxRow {
  seq: number;
  /** The snapshot's timestamp (ISO 8601 UTC). */
  timestamp: string;
  /** The snapshot as JSON, exactly as committed. */
  payload: string;
}

export interface CleanupResult {
  /** Rows deleted. */
  deleted: number;
  /** Of those, rows never forwarded (lost to the server). */
  evicted: number;
}

export interface OutboxStats {
  appended: number;
  /** Unforwarded rows deleted since the outbox was created (age or full disk). */
  evicted: number;
  /** Appends that failed even after eviction (the snapshot was not stored). */
  appendFailures: number;
}

type AppendListener = (seq: number, snapshot: Snapshot) => void;

const DAY_MS = 86_400_000;
const EVICT_CHUNK = 1000;

function isFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE';
}

/** What a consumer needs to keep a small piece of state across restarts (Outbox.keptState/keepState). */
export type StateKeep = Pick<Outbox, 'keptState' | 'keepState'>;

export class Outbox {
  private readonly opts: OutboxOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private db: Database.Database | null = null;
  private timer: NodeJS.Timeout | null = null;
  private listeners: AppendListener[] = [];
  private id = '';
  private acked = 0;
  private unforwarded = 0;
  private readonly counters: OutboxStats = { appended: 0, evicted: 0, appendFailures: 0 };
  private stmts: {
    insert: Database.Statement<[string, string]>;
    pending: Database.Statement<[number, number]>;
    markForwarded: Database.Statement<[number]>;
    setMeta: Database.Statement<[string, string]>;
    minId: Database.Statement<[]>;
    seqOf: Database.Statement<[]>;
    countPending: Database.Statement<[]>;
  } | null = null;

  constructor(opts: OutboxOptions) {
    this.opts = opts;
    this.log = opts.log ?? createLogger('outbox');
    this.now = opts.now ?? Date.now;
  }

  /** Opens (or creates) the database. Idempotent; start() calls it. */
  open(): void {
    if (this.db) return;
    mkdirSync(dirname(this.opts.path), { recursive: true });
    const db = new Database(this.opts.path, { timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // A 256 KiB page cache instead of SQLite's 2 MB: the edge appends and reads the newest pages,
    // older ones come from the OS page cache when a backlog is sent (no slower: 7 days read and
    // marked in 12.5 s either way). The default cache kept filling for the edge's first hour:
    // 1.2 MB more RSS after 20 minutes at 1 Hz, on its way to 2 MB.
    db.pragma('cache_size = -256');
    db.exec(`
      CREATE TABLE IF NOT EXISTS readings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        timestamp TEXT NOT NULL,
        payload TEXT NOT NULL,
        forwarded INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      );
      CREATE INDEX IF NOT EXISTS idx_readings_pending ON readings(forwarded, timestamp);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    if (this.opts.maxBytes) {
      const pageSize = Number(db.pragma('page_size', { simple: true }));
      db.pragma(`max_page_count = ${Math.max(16, Math.floor(this.opts.maxBytes / pageSize))}`);
    }
    const getMeta = (k: string): string | undefined =>
      (db.prepare('SELECT value FROM meta WHERE key = ?').get(k) as { value: string } | undefined)?.value;
    let id = getMeta('outbox_id');
    if (id === undefined) {
      id = randomUUID();
      db.prepare('INSERT INTO meta(key, value) VALUES (?, ?)').run('outbox_id', id);
    }
    // Counters exist from the start, so updating them on a full disk needs no new page.
    db.prepare("INSERT OR IGNORE INTO meta(key, value) VALUES ('acked_seq', '0'), ('evicted', '0')").run();
    this.id = id;
    this.acked = Number(getMeta('acked_seq') ?? 0);
    this.counters.evicted = Number(getMeta('evicted') ?? 0);
    this.stmts = {
      insert: db.prepare('INSERT INTO readings(timestamp, payload) VALUES (?, ?)'),
      pending: db.prepare('SELECT id AS seq, timestamp, payload FROM readings WHERE id > ? ORDER BY id LIMIT ?'),
      markForwarded: db.prepare('UPDATE readings SET forwarded = 1 WHERE forwarded = 0 AND id <= ?'),
      setMeta: db.prepare(
        'INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      minId: db.prepare('SELECT MIN(id) AS v FROM readings'),
      seqOf: db.prepare("SELECT seq AS v FROM sqlite_sequence WHERE name = 'readings'"),
      countPending: db.prepare('SELECT COUNT(*) AS v FROM readings WHERE forwarded = 0'),
    };
    this.db = db;
    this.unforwarded = (this.stmts.countPending.get() as { v: number }).v;
    this.log.info(
      { path: this.opts.path, outbox_id: id, depth: this.unforwarded, acked_seq: this.acked },
      'outbox open',
    );
  }

  /** Opens the database, runs a cleanup and starts the periodic one (`cleanupIntervalH`). */
  start(): void {
    this.open();
    this.runCleanup();
    if (this.timer) return;
    const everyMs = (this.opts.cleanupIntervalH ?? 1) * 3_600_000;
    this.timer = setInterval(() => this.runCleanup(), everyMs);
    this.timer.unref();
  }

  /** Stops the cleanup timer and closes the database (a WAL checkpoint happens on close). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.db) {
      try {
        this.db.close();
      } catch (err) {
        this.log.warn({ err }, 'closing the outbox failed');
      }
    }
    this.db = null;
    this.stmts = null;
  }

  private runCleanup(): void {
    try {
      const r = this.cleanup();
      if (r.deleted > 0) this.log.info({ ...r, depth: this.unforwarded }, 'outbox cleanup');
    } catch (err) {
      this.log.error({ err }, 'outbox cleanup failed');
    }
  }

  private get prepared(): NonNullable<Outbox['stmts']> {
    if (!this.stmts) throw new KwartierError('outbox_closed', `outbox ${this.opts.path} is not open`);
    return this.stmts;
  }

  private get database(): Database.Database {
    if (!this.db) throw new KwartierError('outbox_closed', `outbox ${this.opts.path} is not open`);
    return this.db;
  }

  /** The random id of this outbox database (wire `outbox_id`). */
  get outboxId(): string {
    if (!this.db) throw new KwartierError('outbox_closed', `outbox ${this.opts.path} is not open`);
    return this.id;
  }

  /** The highest seq the server has acknowledged (0: none yet). */
  get ackedSeq(): number {
    return this.acked;
  }

  get stats(): Readonly<OutboxStats> {
    return { ...this.counters };
  }

  /**
   * A small piece of the edge's own state kept with the outbox (`meta`, under a key of its own: the
   * server's last day-ahead prices, prices-remote.ts; its control settings, control-remote.ts), or
   * null when none is kept.
   */
  keptState(key: string): string | null {
    const row = this.database.prepare('SELECT value FROM meta WHERE key = ?').get(`state:${key}`) as
      | { value: string }
      | undefined;
    return row?.value ?? null;
  }

  /** Keeps (or, with null, forgets) a piece of state under `key`; see keptState. */
  keepState(key: string, value: string | null): void {
    if (value === null) this.database.prepare('DELETE FROM meta WHERE key = ?').run(`state:${key}`);
    else this.prepared.setMeta.run(`state:${key}`, value);
  }

  /** Called after each committed append (the uplink sends it live). */
  onAppend(listener: AppendListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Commits a snapshot and returns its seq. On a full disk, evicts the oldest rows and retries;
   * throws (retriable) only when even that fails, and counts it.
   */
  append(snapshot: Snapshot): number {
    const s = this.prepared;
    const payload = JSON.stringify(snapshot);
    const ts = new Date(snapshot.timestamp).toISOString();
    let seq: number | null = null;
    for (let attempt = 0; attempt < 4 && seq === null; attempt++) {
      try {
        seq = Number(s.insert.run(ts, payload).lastInsertRowid);
      } catch (err) {
        if (!isFull(err)) throw err;
        const n = this.evictOldest(EVICT_CHUNK * 2 ** attempt);
        this.log.warn({ evicted_rows: n, attempt }, 'outbox full: evicted the oldest rows');
        if (n === 0) break;
      }
    }
    if (seq === null) {
      this.counters.appendFailures++;
      throw new KwartierError('outbox_full', `outbox ${this.opts.path}: disk full, snapshot not stored`, {
        retriable: true,
      });
    }
    this.counters.appended++;
    this.unforwarded++;
    for (const l of this.listeners) {
      try {
        l(seq, snapshot);
      } catch (err) {
        this.log.error({ err }, 'outbox append listener failed');
      }
    }
    return seq;
  }

  /** Up to `limit` rows with seq > afterSeq, oldest first. */
  pending(afterSeq: number, limit: number): OutboxRow[] {
    return this.prepared.pending.all(afterSeq, limit) as OutboxRow[];
  }

  /**
   * The server has committed every seq ≤ `seq`: mark them forwarded and remember the watermark.
   * Returns the number of rows newly marked. A seq at or below the current watermark is a no-op.
   */
  markForwardedUpTo(seq: number): number {
    if (!Number.isInteger(seq) || seq <= this.acked) return 0;
    const last = this.lastSeq();
    if (seq > last) {
      // Only possible with a copied or restored database file: never skip seqs not yet written.
      this.log.warn({ acked: seq, last_seq: last }, 'ack beyond the newest row; clamped');
      seq = last;
      if (seq <= this.acked) return 0;
    }
    const db = this.database;
    const s = this.prepared;
    let changed = 0;
    db.transaction(() => {
      changed = s.markForwarded.run(seq).changes;
      s.setMeta.run('acked_seq', String(seq));
    })();
    this.acked = seq;
    this.unforwarded = Math.max(0, this.unforwarded - changed);
    return changed;
  }

  /** The oldest seq still held (wire `floor_seq`); with an empty table, the next seq to be assigned. */
  floorSeq(): number {
    const min = (this.prepared.minId.get() as { v: number | null }).v;
    if (min !== null) return min;
    return this.lastSeq() + 1;
  }

  /** The highest seq ever assigned (0: none). */
  lastSeq(): number {
    const row = this.prepared.seqOf.get() as { v: number } | undefined;
    return row?.v ?? 0;
  }

  /** Rows not yet acknowledged by the server. */
  depth(): number {
    if (!this.db) throw new KwartierError('outbox_closed', `outbox ${this.opts.path} is not open`);
    return this.unforwarded;
  }

  /**
   * Deletes forwarded rows older than `keepForwardedMs` (24 h) and every row older than
   * `maxAgeDays`; unforwarded ones among the latter are counted as evicted.
   */
  cleanup(now: number | Date = this.now()): CleanupResult {
    const db = this.database;
    const t = typeof now === 'number' ? now : now.getTime();
    const forwardedBefore = new Date(t - (this.opts.keepForwardedMs ?? DAY_MS)).toISOString();
    const anyBefore = new Date(t - (this.opts.maxAgeDays ?? 7) * DAY_MS).toISOString();
    let deleted = 0;
    let evicted = 0;
    db.transaction(() => {
      deleted += db.prepare('DELETE FROM readings WHERE forwarded = 1 AND timestamp < ?').run(forwardedBefore).changes;
      evicted = db.prepare('DELETE FROM readings WHERE forwarded = 0 AND timestamp < ?').run(anyBefore).changes;
      deleted += evicted;
      if (evicted > 0) this.countEvicted(evicted);
    })();
    this.unforwarded = Math.max(0, this.unforwarded - evicted);
    if (evicted > 0)
      this.log.warn({ evicted, older_than: anyBefore }, 'outbox: evicted unforwarded rows past max_age_days');
    return { deleted, evicted };
  }

  private countEvicted(n: number): void {
    this.counters.evicted += n;
    this.prepared.setMeta.run('evicted', String(this.counters.evicted));
  }

  /** Frees room: forwarded rows first, then the oldest unforwarded. Returns rows deleted. */
  private evictOldest(n: number): number {
    const db = this.database;
    let deleted = 0;
    let evicted = 0;
    try {
      db.transaction(() => {
        deleted = db
          .prepare('DELETE FROM readings WHERE id IN (SELECT id FROM readings WHERE forwarded = 1 ORDER BY id LIMIT ?)')
          .run(n).changes;
        if (deleted < n) {
          evicted = db
            .prepare(
              'DELETE FROM readings WHERE id IN (SELECT id FROM readings WHERE forwarded = 0 ORDER BY id LIMIT ?)',
            )
            .run(n - deleted).changes;
          deleted += evicted;
          // The counter lives in meta: an update of an existing row needs no new page.
          if (evicted > 0) this.countEvicted(evicted);
        }
      })();
    } catch (err) {
      this.log.error({ err }, 'outbox: eviction failed');
      return 0;
    }
    this.unforwarded = Math.max(0, this.unforwarded - evicted);
    return deleted;
  }
}

export function createOutbox(opts: OutboxOptions): Outbox {
  return new Outbox(opts);
}
