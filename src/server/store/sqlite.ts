/**
 * The SQLite store (better-sqlite3, WAL): the embedded default for one home. Same tables and
 * semantics as the PostgreSQL store; times are integer milliseconds since the epoch (UTC).
 * The driver is synchronous; every method runs to completion inside the returned promise.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  BucketCalendar,
  COUNTER_FIELDS,
  type CounterLimits,
  continueChain,
  DEFAULT_COUNTER_LIMITS,
  ENERGY_KEYS,
  knownAfter,
  planInsert,
  ROLLUP_RESOLUTIONS,
  type RowChange,
  rollupChanges,
  type StoredRow,
  toBucket,
  type Vec,
  valuesAt,
} from '../../core/aggregate.js';
import { ConfigError, KwartierError } from '../../core/errors.js';
import type { Snapshot } from '../../core/snapshot.js';
import { createLogger, type Logger } from '../../lib/log.js';
import {
  ACK_PAGE,
  batchSeqs,
  CARRY_COLUMNS,
  CHAIN_PAGE,
  type DbRow,
  DELTA_COLUMNS,
  existingLimit,
  NEXT_PAGE,
  type Prepared,
  positiveOption,
  prepareBatch,
  RETENTION_CHUNK,
  ROLLUP_COLUMNS,
  ROLLUP_MAX_COLUMNS,
  ROLLUP_TABLES,
  retentionCut,
  rollupFromValues,
  rollupValues,
  STATE_COLUMNS,
  snapshotFromRow,
  snapshotValues,
  storedRow,
  VALUE_COLUMNS,
  walkAck,
} from './common.js';
import { latestVersion, pending, SQLITE_MIGRATIONS } from './migrations.js';
import type {
  Bucket,
  DeadLetter,
  DeadLetterQuery,
  InsertBatch,
  InsertResult,
  Resolution,
  RetentionResult,
  Store,
  StoredDeadLetter,
  StoreOptions,
} from './types.js';

/** Lets the event loop run (the ingester's flushes, the API) between two retention chunks. */
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export interface SqliteStoreOptions extends StoreOptions {
  logger?: Logger;
  /** busy_timeout in ms (another process holding the write lock). Default 10 000. */
  busyTimeoutMs?: number;
}

const ENERGY_COLS: readonly string[] = ENERGY_KEYS;

const STATE_SELECT = `time AS t, ${STATE_COLUMNS.join(', ')}`;
const RAW_SELECT = `device_id, time AS t, ${VALUE_COLUMNS.join(', ')}`;

class SqliteStore implements Store {
  private db: Database.Database | null = null;
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly calendar: BucketCalendar;
  private readonly retentionDays: number;
  private readonly deadLetterDays: number;
  private readonly chunkRows: number;
  private readonly log: Logger;
  private readonly limits: CounterLimits;
  private migrated = false;

  constructor(
    private readonly path: string,
    private readonly opts: SqliteStoreOptions,
  ) {
    this.calendar = new BucketCalendar(opts.timezone);
    this.retentionDays = positiveOption('raw_retention_days', opts.rawRetentionDays, 7);
    this.deadLetterDays = positiveOption('dead_letter_retention_days', opts.deadLetterRetentionDays, 30);
    this.chunkRows = Math.ceil(positiveOption('retentionChunkRows', opts.retentionChunkRows, RETENTION_CHUNK));
    this.log = opts.logger ?? createLogger('store', { type: 'sqlite' });
    this.limits = { ...DEFAULT_COUNTER_LIMITS, ...opts.counterLimits };
  }

  private conn(): Database.Database {
    if (this.db) return this.db;
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    const db = new Database(this.path, { timeout: this.opts.busyTimeoutMs ?? 10_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    this.db = db;
    return db;
  }

  private requireMigrated(): void {
    if (!this.migrated) throw new KwartierError('store_not_migrated', 'store: call migrate() before using the store');
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      this.requireMigrated();
      s = this.conn().prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** A prepared statement returning rows as arrays (its own cache entry: raw mode is per statement). */
  private rawStmt(sql: string): Database.Statement {
    const key = `raw:${sql}`;
    let s = this.stmts.get(key);
    if (!s) {
      this.requireMigrated();
      s = this.conn().prepare(sql).raw(true);
      this.stmts.set(key, s);
    }
    return s;
  }

  /**
   * Runs the migrations this database has not had (migrations.ts), in one transaction: a failure
   * leaves it as it was.
   */
  async migrate(): Promise<void> {
    const db = this.conn();
    const run = db.transaction(() => {
      db.exec('CREATE TABLE IF NOT EXISTS kw_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);');
      const get = db.prepare('SELECT value FROM kw_meta WHERE key = ?').pluck();
      const tz = get.get('timezone') as string | undefined;
      if (tz !== undefined && tz !== this.calendar.timezone)
        throw new ConfigError(
          `timezone: the store's aggregates were computed for '${tz}', not '${this.calendar.timezone}'`,
        );
      const from = (get.get('schema_version') as string | undefined) ?? null;
      const todo = pending(SQLITE_MIGRATIONS, from, 'SQLite');
      for (const m of todo) m.up({ db });
      const put = db.prepare(
        'INSERT INTO kw_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      );
      put.run('timezone', this.calendar.timezone);
      put.run('schema_version', String(latestVersion(SQLITE_MIGRATIONS)));
      return { from, todo };
    });
    const { from, todo } = run.immediate();
    if (todo.length > 0 && from !== null)
      this.log.info(
        { path: this.path, from, to: latestVersion(SQLITE_MIGRATIONS), migrations: todo.map((m) => m.description) },
        'sqlite store migrated',
      );
    this.migrated = true;
    this.log.debug({ path: this.path }, 'sqlite store ready');
  }

  async insert(batch: InsertBatch): Promise<InsertResult> {
    const [r] = await this.insertMany([batch]);
    return r!;
  }

  async insertMany(batches: InsertBatch[]): Promise<InsertResult[]> {
    this.requireMigrated();
    const tx = this.conn().transaction((bs: InsertBatch[]) => bs.map((b) => this.insertOne(b)));
    return tx.immediate(batches);
  }

  private insertOne(batch: InsertBatch): InsertResult {
    const dev = batch.deviceId;
    let rows = prepareBatch(batch);
    const horizon = this.stmt(
      `SELECT time AS t, ${COUNTER_FIELDS.join(', ')} FROM device_carry WHERE device_id = ?`,
    ).get(dev) as DbRow | undefined;
    if (horizon) rows = rows.filter((r) => r.t > Number(horizon.t));
    let inserted = 0;
    if (rows.length > 0) inserted = this.writeRows(dev, batch, rows, horizon);
    const ackedSeq = batch.outboxId === null ? null : this.advanceAck(batch);
    return { inserted, duplicates: batch.readings.length - inserted, ackedSeq };
  }

  private writeRows(dev: string, batch: InsertBatch, rows: Prepared[], horizon: DbRow | undefined): number {
    const first = rows[0]!.t;
    const last = rows[rows.length - 1]!.t;
    const prev = this.stmt(
      `SELECT ${STATE_SELECT} FROM energy_readings WHERE device_id = ? AND time < ? ORDER BY time DESC LIMIT 1`,
    ).get(dev, first) as DbRow | undefined;
    const prevKnown: Vec | null = prev
      ? knownAfter(storedRow(prev))
      : horizon
        ? COUNTER_FIELDS.map((f) => (horizon[f] as number | null) ?? null)
        : null;
    // Sparse readings over dense stored data: split, so what is read stays bounded (see postgres.ts).
    const limit = existingLimit(rows.length);
    const existing = (
      this.stmt(
        `SELECT ${STATE_SELECT} FROM energy_readings WHERE device_id = ? AND time >= ? AND time <= ? ORDER BY time LIMIT ?`,
      ).all(dev, first, last, limit + 1) as DbRow[]
    ).map(storedRow);
    if (existing.length > limit && rows.length > 1) {
      const mid = rows.length >> 1;
      return (
        this.writeRows(dev, batch, rows.slice(0, mid), horizon) + this.writeRows(dev, batch, rows.slice(mid), horizon)
      );
    }
    const nextPage = (after: number, limit: number): StoredRow[] =>
      (
        this.stmt(
          `SELECT ${STATE_SELECT} FROM energy_readings WHERE device_id = ? AND time > ? ORDER BY time LIMIT ?`,
        ).all(dev, after, limit) as DbRow[]
      ).map(storedRow);
    const next = nextPage(last, NEXT_PAGE);
    const incoming = rows.map((r) => ({ t: r.t, values: r.values, powers: r.powers }));
    const prevAt = prev ? valuesAt(storedRow(prev)) : null;
    const plan = planInsert({
      prevKnown,
      prevAt,
      limits: this.limits,
      existing,
      next,
      nextIsAll: next.length < NEXT_PAGE,
      incoming,
    });
    if (plan.inserted === 0) return 0;
    if (plan.jumps.length > 0)
      this.log.warn({ device_id: dev, jumps: plan.jumps.slice(0, 10) }, 'counter jumps kept out of the aggregates');

    const now = Date.now();
    const ins = this.stmt(
      `INSERT INTO energy_readings (device_id, time, seq, outbox_id, received_at, ${[...VALUE_COLUMNS, ...CARRY_COLUMNS, ...DELTA_COLUMNS].join(', ')}) ` +
        `VALUES (${new Array(5 + VALUE_COLUMNS.length + CARRY_COLUMNS.length + DELTA_COLUMNS.length).fill('?').join(', ')}) ` +
        'ON CONFLICT (device_id, time) DO NOTHING',
    );
    let n = 0;
    for (let i = 0; i < rows.length; i++) {
      const f = plan.fresh[i];
      if (!f) continue;
      const r = rows[i]!;
      const seq = batch.outboxId === null ? null : r.seq;
      const res = ins.run(
        dev,
        r.t,
        seq,
        batch.outboxId,
        now,
        ...snapshotValues(r.snapshot, r.extra),
        ...f.carry,
        ...f.delta,
      );
      n += res.changes;
    }
    if (n !== plan.inserted)
      throw new KwartierError('store_conflict', `store: concurrent write for device '${dev}'`, { retriable: true });

    this.updateRows(dev, plan.updates);
    this.addToRollups(dev, plan.changes);

    // The stored rows after the batch whose carried values change, a page at a time (rare, see
    // continueChain).
    let chain = plan.chain;
    let after = next.length > 0 ? next[next.length - 1]!.t : last;
    while (chain) {
      const page = nextPage(after, CHAIN_PAGE);
      const cont = continueChain(chain, page, page.length < CHAIN_PAGE);
      this.updateRows(dev, cont.updates);
      this.addToRollups(dev, cont.changes);
      chain = cont.chain;
      if (page.length > 0) after = page[page.length - 1]!.t;
    }

    this.stmt(
      'INSERT INTO devices (device_id, first_time, last_time) VALUES (?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET ' +
        'first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time)',
    ).run(dev, first, last);
    return n;
  }

  private updateRows(dev: string, updates: { t: number; carry: Vec; delta: Vec }[]): void {
    if (updates.length === 0) return;
    const upd = this.stmt(
      `UPDATE energy_readings SET ${[...CARRY_COLUMNS, ...DELTA_COLUMNS].map((c) => `${c} = ?`).join(', ')} WHERE device_id = ? AND time = ?`,
    );
    for (const u of updates) upd.run(...u.carry, ...u.delta, dev, u.t);
  }

  private addToRollups(dev: string, changes: RowChange[]): void {
    if (changes.length === 0) return;
    for (const [res, buckets] of rollupChanges(changes, this.calendar, ROLLUP_RESOLUTIONS)) {
      const up = this.stmt(upsertRollupSql(ROLLUP_TABLES[res]));
      for (const b of buckets) up.run(dev, b.start, ...rollupValues(b));
    }
  }

  private advanceAck(batch: InsertBatch): number {
    const dev = batch.deviceId;
    const outbox = batch.outboxId!;
    const cur = this.stmt('SELECT acked_seq FROM device_acks WHERE device_id = ? AND outbox_id = ?').get(dev, outbox) as
      | { acked_seq: number }
      | undefined;
    let acked = Math.max(cur?.acked_seq ?? 0, batch.floorSeq === null ? 0 : batch.floorSeq - 1);
    const extra = batchSeqs(batch);
    const page = this.stmt(
      'SELECT DISTINCT seq FROM energy_readings WHERE device_id = ? AND outbox_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    ).pluck();
    for (;;) {
      const stored = page.all(dev, outbox, acked, ACK_PAGE) as number[];
      const w = walkAck(acked, stored, extra, ACK_PAGE);
      acked = w.acked;
      if (!w.more) break;
    }
    this.stmt(
      'INSERT INTO device_acks (device_id, outbox_id, acked_seq, updated_at) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (device_id, outbox_id) DO UPDATE SET acked_seq = max(acked_seq, excluded.acked_seq), updated_at = excluded.updated_at',
    ).run(dev, outbox, acked, Date.now());
    return acked;
  }

  async ackedSeq(deviceId: string, outboxId: string): Promise<number | null> {
    const r = this.stmt('SELECT acked_seq FROM device_acks WHERE device_id = ? AND outbox_id = ?').get(
      deviceId,
      outboxId,
    ) as { acked_seq: number } | undefined;
    return r ? r.acked_seq : null;
  }

  async addDeadLetter(letter: DeadLetter): Promise<void> {
    this.stmt('INSERT INTO dead_letters (received_at, topic, device_id, reason, payload) VALUES (?, ?, ?, ?, ?)').run(
      Date.now(),
      letter.topic,
      letter.deviceId,
      letter.reason,
      letter.payload,
    );
  }

  async deadLetterCount(): Promise<number> {
    return this.stmt('SELECT count(*) FROM dead_letters').pluck().get() as number;
  }

  async deadLetters(q: DeadLetterQuery): Promise<StoredDeadLetter[]> {
    const rows = this.stmt(
      'SELECT id, received_at, topic, device_id, reason, payload FROM dead_letters ' +
        'WHERE id > ? AND received_at >= ? AND (? IS NULL OR device_id = ?) ORDER BY id LIMIT ?',
    ).all(q.afterId ?? 0, q.since?.getTime() ?? 0, q.deviceId ?? null, q.deviceId ?? null, q.limit) as DbRow[];
    return rows.map((r) => ({
      id: Number(r.id),
      receivedAt: new Date(Number(r.received_at)),
      topic: String(r.topic),
      deviceId: r.device_id === null ? null : String(r.device_id),
      reason: String(r.reason),
      payload: String(r.payload),
    }));
  }

  async deleteDeadLetters(ids: readonly number[]): Promise<number> {
    const del = this.stmt('DELETE FROM dead_letters WHERE id = ?');
    const tx = this.conn().transaction((xs: readonly number[]) => xs.reduce((n, id) => n + del.run(id).changes, 0));
    return tx.immediate(ids);
  }

  async latest(deviceId: string): Promise<Snapshot | null> {
    const r = this.stmt(`SELECT ${RAW_SELECT} FROM energy_readings WHERE device_id = ? ORDER BY time DESC LIMIT 1`).get(
      deviceId,
    ) as DbRow | undefined;
    return r ? snapshotFromRow(r) : null;
  }

  async raw(deviceId: string, start: Date, end: Date, limit = 100_000): Promise<Snapshot[]> {
    const rows = this.stmt(
      `SELECT ${RAW_SELECT} FROM energy_readings WHERE device_id = ? AND time >= ? AND time < ? ORDER BY time LIMIT ?`,
    ).all(deviceId, start.getTime(), end.getTime(), limit) as DbRow[];
    return rows.map(snapshotFromRow);
  }

  async buckets(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<Bucket[]> {
    const table = ROLLUP_TABLES[resolution];
    if (!table) throw new KwartierError('store_bad_resolution', `store: unknown resolution '${String(resolution)}'`);
    const rows = this.rawStmt(
      `SELECT ${ROLLUP_COLUMNS.join(', ')}, bucket FROM ${table} WHERE device_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`,
    ).all(deviceId, start.getTime(), end.getTime()) as unknown[][];
    const at = ROLLUP_COLUMNS.length;
    return rows.map((r) => toBucket(rollupFromValues(r, Number(r[at])), resolution, this.calendar));
  }

  async devices(): Promise<string[]> {
    return this.stmt('SELECT device_id FROM devices ORDER BY device_id').pluck().all() as string[];
  }

  /**
   * Per device: records the counters of the newest row before the cut (device_carry, one short
   * transaction), then deletes the older rows in chunks of `retentionChunkRows`, each its own
   * transaction, yielding to the event loop in between so the ingester's writes go on. Then the
   * expired dead letters, the same way.
   */
  async applyRetention(now: Date = new Date()): Promise<RetentionResult> {
    this.requireMigrated();
    const cut = retentionCut(now, this.retentionDays);
    const carry = this.stmt(
      `INSERT INTO device_carry (device_id, time, ${COUNTER_FIELDS.join(', ')}) VALUES (?, ?, ${COUNTER_FIELDS.map(() => '?').join(', ')}) ` +
        `ON CONFLICT (device_id) DO UPDATE SET time = excluded.time, ${COUNTER_FIELDS.map((c) => `${c} = excluded.${c}`).join(', ')} ` +
        'WHERE excluded.time > device_carry.time',
    );
    const lastBefore = this.stmt(
      `SELECT ${STATE_SELECT} FROM energy_readings WHERE device_id = ? AND time < ? ORDER BY time DESC LIMIT 1`,
    );
    const delRaw = this.stmt(
      'DELETE FROM energy_readings WHERE rowid IN (SELECT rowid FROM energy_readings WHERE device_id = ? AND time < ? ORDER BY time LIMIT ?)',
    );
    const saveCarry = this.conn().transaction((dev: string): boolean => {
      const last = lastBefore.get(dev, cut) as DbRow | undefined;
      if (!last) return false;
      carry.run(dev, Number(last.t), ...knownAfter(storedRow(last)));
      return true;
    });
    let deleted = 0;
    for (const dev of await this.devices()) {
      if (!saveCarry.immediate(dev)) continue;
      for (;;) {
        const n = delRaw.run(dev, cut, this.chunkRows).changes;
        deleted += n;
        if (n < this.chunkRows) break;
        await yieldToLoop();
      }
    }
    const letterCut = retentionCut(now, this.deadLetterDays);
    const delLetters = this.stmt(
      'DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE received_at < ? ORDER BY id LIMIT ?)',
    );
    let deadLetters = 0;
    for (;;) {
      const n = delLetters.run(letterCut, this.chunkRows).changes;
      deadLetters += n;
      if (n < this.chunkRows) break;
      await yieldToLoop();
    }
    if (deleted > 0)
      this.log.info({ deleted, before: new Date(cut).toISOString() }, 'raw readings removed by retention');
    if (deadLetters > 0)
      this.log.info({ dead_letters: deadLetters, before: new Date(letterCut).toISOString() }, 'dead letters removed');
    return { deleted, deadLetters };
  }

  async close(): Promise<void> {
    this.stmts.clear();
    this.db?.close();
    this.db = null;
    this.migrated = false;
  }
}

/** Adds a rollup delta to a bucket: sums and counts add up, maxima take the greater. */
function upsertRollupSql(table: string): string {
  const set = ROLLUP_COLUMNS.map((c) => {
    if (ROLLUP_MAX_COLUMNS.includes(c)) return `${c} = coalesce(max(${c}, excluded.${c}), ${c}, excluded.${c})`;
    if (ENERGY_COLS.includes(c))
      return `${c} = CASE WHEN excluded.${c} IS NULL THEN ${c} ELSE coalesce(${c}, 0) + excluded.${c} END`;
    return `${c} = ${c} + excluded.${c}`;
  });
  return (
    `INSERT INTO ${table} (device_id, bucket, ${ROLLUP_COLUMNS.join(', ')}) VALUES (?, ?, ${ROLLUP_COLUMNS.map(() => '?').join(', ')}) ` +
    `ON CONFLICT (device_id, bucket) DO UPDATE SET ${set.join(', ')}`
  );
}

/** The SQLite store at `path` (a file; created with its directory when missing; ':memory:' for tests). */
export function createSqliteStore(path: string, opts: SqliteStoreOptions): Store {
  return new SqliteStore(path, opts);
}
