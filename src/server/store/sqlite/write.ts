/**
 * The SQLite store's write path: one immediate transaction per insertMany(); per batch, the stored
 * neighbours of its readings are read, the plan (core/aggregate.ts planInsert) inserted, the rows
 * whose carry changes updated, the rollup deltas added to their buckets and the ack watermark
 * advanced through the outbox's contiguous seqs.
 */
import {
  COUNTER_FIELDS,
  continueChain,
  ENERGY_KEYS,
  knownAfter,
  planInsert,
  type RowChange,
  rollupChanges,
  type StoredRow,
  type Vec,
  valuesAt,
} from '../../../core/aggregate.js';
import { ROLLUP_RESOLUTIONS } from '../../../core/bucket-shape.js';
import { KwartierError } from '../../../core/errors.js';
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
  prepareBatch,
  ROLLUP_COLUMNS,
  ROLLUP_MAX_COLUMNS,
  ROLLUP_TABLES,
  rollupValues,
  snapshotValues,
  storedRow,
  VALUE_COLUMNS,
  walkAck,
} from '../common.js';
import { daysToRaise } from '../day-epochs.js';
import type { InsertBatch, InsertResult } from '../types.js';
import { raiseDayEpochs } from './day-blocks.js';
import { type SqliteDb, STATE_SELECT } from './db.js';

const ENERGY_COLS: readonly string[] = ENERGY_KEYS;

export class SqliteWriter {
  constructor(private readonly db: SqliteDb) {}

  insertMany(batches: InsertBatch[]): InsertResult[] {
    this.db.requireMigrated();
    const tx = this.db.conn().transaction((bs: InsertBatch[]) => bs.map((b) => this.insertOne(b)));
    return tx.immediate(batches);
  }

  private insertOne(batch: InsertBatch): InsertResult {
    const dev = batch.deviceId;
    let rows = prepareBatch(batch);
    const horizon = this.db
      .stmt(`SELECT time AS t, ${COUNTER_FIELDS.join(', ')} FROM device_carry WHERE device_id = ?`)
      .get(dev) as DbRow | undefined;
    if (horizon) rows = rows.filter((r) => r.t > Number(horizon.t));
    let inserted = 0;
    if (rows.length > 0) inserted = this.writeRows(dev, batch, rows, horizon);
    const ackedSeq = batch.outboxId === null ? null : this.advanceAck(batch);
    return { inserted, duplicates: batch.readings.length - inserted, ackedSeq };
  }

  private writeRows(dev: string, batch: InsertBatch, rows: Prepared[], horizon: DbRow | undefined): number {
    const first = rows[0]!.t;
    const last = rows[rows.length - 1]!.t;
    const prev = this.db
      .stmt(`SELECT ${STATE_SELECT} FROM energy_readings WHERE device_id = ? AND time < ? ORDER BY time DESC LIMIT 1`)
      .get(dev, first) as DbRow | undefined;
    const prevKnown: Vec | null = prev
      ? knownAfter(storedRow(prev))
      : horizon
        ? COUNTER_FIELDS.map((f) => (horizon[f] as number | null) ?? null)
        : null;
    // Sparse readings over dense stored data: split, so what is read stays bounded (see postgres.ts).
    const limit = existingLimit(rows.length);
    const existing = (
      this.db
        .stmt(
          `SELECT ${STATE_SELECT} FROM energy_readings WHERE device_id = ? AND time >= ? AND time <= ? ORDER BY time LIMIT ?`,
        )
        .all(dev, first, last, limit + 1) as DbRow[]
    ).map(storedRow);
    if (existing.length > limit && rows.length > 1) {
      const mid = rows.length >> 1;
      return (
        this.writeRows(dev, batch, rows.slice(0, mid), horizon) + this.writeRows(dev, batch, rows.slice(mid), horizon)
      );
    }
    const nextPage = (after: number, limit: number): StoredRow[] =>
      (
        this.db
          .stmt(`SELECT ${STATE_SELECT} FROM energy_readings WHERE device_id = ? AND time > ? ORDER BY time LIMIT ?`)
          .all(dev, after, limit) as DbRow[]
      ).map(storedRow);
    const next = nextPage(last, NEXT_PAGE);
    const incoming = rows.map((r) => ({ t: r.t, values: r.values, powers: r.powers }));
    const prevAt = prev ? valuesAt(storedRow(prev)) : null;
    const plan = planInsert({
      prevKnown,
      prevAt,
      limits: this.db.limits,
      existing,
      next,
      nextIsAll: next.length < NEXT_PAGE,
      incoming,
    });
    if (plan.inserted === 0) return 0;
    if (plan.jumps.length > 0)
      this.db.log.warn({ device_id: dev, jumps: plan.jumps.slice(0, 10) }, 'counter jumps kept out of the aggregates');

    const n = this.insertFresh(dev, batch, rows, plan.fresh);
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

    this.db
      .stmt(
        'INSERT INTO devices (device_id, first_time, last_time) VALUES (?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET ' +
          'first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time)',
      )
      .run(dev, first, last);
    return n;
  }

  /** The readings the plan marks as new (`fresh[i]`: their carry and deltas): how many were inserted. */
  private insertFresh(
    dev: string,
    batch: InsertBatch,
    rows: Prepared[],
    fresh: ReturnType<typeof planInsert>['fresh'],
  ): number {
    const now = Date.now();
    const ins = this.db.stmt(
      `INSERT INTO energy_readings (device_id, time, seq, outbox_id, received_at, ${[...VALUE_COLUMNS, ...CARRY_COLUMNS, ...DELTA_COLUMNS].join(', ')}) ` +
        `VALUES (${new Array(5 + VALUE_COLUMNS.length + CARRY_COLUMNS.length + DELTA_COLUMNS.length).fill('?').join(', ')}) ` +
        'ON CONFLICT (device_id, time) DO NOTHING',
    );
    let n = 0;
    for (let i = 0; i < rows.length; i++) {
      const f = fresh[i];
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
    return n;
  }

  private updateRows(dev: string, updates: { t: number; carry: Vec; delta: Vec }[]): void {
    if (updates.length === 0) return;
    const upd = this.db.stmt(
      `UPDATE energy_readings SET ${[...CARRY_COLUMNS, ...DELTA_COLUMNS].map((c) => `${c} = ?`).join(', ')} WHERE device_id = ? AND time = ?`,
    );
    for (const u of updates) upd.run(...u.carry, ...u.delta, dev, u.t);
  }

  private addToRollups(dev: string, changes: RowChange[]): void {
    if (changes.length === 0) return;
    const byRes = rollupChanges(changes, this.db.calendar, ROLLUP_RESOLUTIONS);
    for (const [res, buckets] of byRes) {
      const up = this.db.stmt(upsertRollupSql(ROLLUP_TABLES[res]));
      for (const b of buckets) up.run(dev, b.start, ...rollupValues(b));
    }
    // The kept blocks of the (ended) days these buckets are in are stale now.
    raiseDayEpochs(this.db, dev, daysToRaise(this.db.calendar, byRes, Date.now()));
  }

  private advanceAck(batch: InsertBatch): number {
    const dev = batch.deviceId;
    const outbox = batch.outboxId!;
    const cur = this.db
      .stmt('SELECT acked_seq FROM device_acks WHERE device_id = ? AND outbox_id = ?')
      .get(dev, outbox) as { acked_seq: number } | undefined;
    let acked = Math.max(cur?.acked_seq ?? 0, batch.floorSeq === null ? 0 : batch.floorSeq - 1);
    const extra = batchSeqs(batch);
    const page = this.db
      .stmt(
        'SELECT DISTINCT seq FROM energy_readings WHERE device_id = ? AND outbox_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      )
      .pluck();
    for (;;) {
      const stored = page.all(dev, outbox, acked, ACK_PAGE) as number[];
      const w = walkAck(acked, stored, extra, ACK_PAGE);
      acked = w.acked;
      if (!w.more) break;
    }
    this.db
      .stmt(
        'INSERT INTO device_acks (device_id, outbox_id, acked_seq, updated_at) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (device_id, outbox_id) DO UPDATE SET acked_seq = max(acked_seq, excluded.acked_seq), updated_at = excluded.updated_at',
      )
      .run(dev, outbox, acked, Date.now());
    return acked;
  }
}

/** Adds a rollup delta to a bucket: sums and counts add up, maxima take the greater. */
function upsertRollupSql(table: string): string {
  const set = ROLLUP_COLUMNS.map((c) => {
    if (ROLLUP_MAX_COLUMNS.includes(c)) return `${c} = coalesce(max(${c}, excluded.${c}), ${c}, excluded.${c})`;
    if (ENERGY_COLS.includes(c))
      return `${c} = CASE WHEN excluded.${c} IS NULL THEN ${c} ELSE coalesce(${c}, 0) + excluded.${c} END`;
    // Sums and counts are never NULL (an added one is NOT NULL DEFAULT 0: migrations.ts, SQLite 7).
    return `${c} = ${c} + excluded.${c}`;
  });
  return (
    `INSERT INTO ${table} (device_id, bucket, ${ROLLUP_COLUMNS.join(', ')}) VALUES (?, ?, ${ROLLUP_COLUMNS.map(() => '?').join(', ')}) ` +
    `ON CONFLICT (device_id, bucket) DO UPDATE SET ${set.join(', ')}`
  );
}
