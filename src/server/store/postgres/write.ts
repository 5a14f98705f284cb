/**
 * The PostgreSQL store's write path: one transaction per insertMany() (per MAX_BATCHES_PER_TX
 * batches of it) under a per-device advisory lock (the delta of a reading depends on its
 * neighbours) and the shared retention lock. For the devices alone in the call, their neighbours are
 * read in one statement (write-context.ts), their new rows sent in one binary COPY and their rollups
 * and acks in one statement (write-sql.ts). See docs/storage.md.
 */
import type pg from 'pg';
import {
  continueChain,
  knownAfter,
  planInsert,
  type RollupRow,
  type RowChange,
  rollupChanges,
  valuesAt,
} from '../../../core/aggregate.js';
import { ROLLUP_RESOLUTIONS } from '../../../core/bucket-shape.js';
import { KwartierError } from '../../../core/errors.js';
import {
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
  rollupValues,
  seqRanges,
  storedRow,
} from '../common.js';
import { daysToRaise } from '../day-epochs.js';
import { BinaryCopyWriter, copyFrom, float8Array, int4Array, int8Array, timestamptzArray } from '../pg-binary.js';
import type { InsertBatch, InsertResult } from '../types.js';
import { DAY_MS, type PgDb, type PostgresMode } from './db.js';
import type { Partitions } from './partitions.js';
import { type Context, ContextReader } from './write-context.js';
import { buildWriteSql, isIntColumn, type WriteSql, writeNewRows } from './write-sql.js';

/** Days before today whose rows the write path still gives a day partition (the rest: default). */
const HOT_DAYS_BACK = 1;
/**
 * Batches (≈ devices) written in one transaction at most; a larger insertMany() is written in
 * several, one after the other. Each device is locked by one target of one statement (PostgreSQL
 * allows 1664) and holds a lock-table entry until COMMIT (max_locks_per_transaction × connections,
 * 6400 by default, for the whole server): 10 000 homes at 1 Hz put thousands of devices in a flush
 * as soon as the ingester is a moment behind.
 */
const MAX_BATCHES_PER_TX = 500;

/**
 * What the devices alone in an insertMany() leave to its end: their new rows (one COPY), their
 * rollups and device list (`writes`), and their batches to acknowledge (`acks`): one statement.
 */
interface DeferredCopy extends DeferredWrites {
  w: BinaryCopyWriter;
  expected: number;
}

/** The input of writeMany: rollup deltas per device, and the batches to acknowledge. */
interface DeferredWrites {
  writes: DeviceWrite[];
  acks: InsertBatch[];
}

interface DeviceWrite {
  deviceId: string;
  /** First and last time of its readings (ms), for the device list. */
  first: number;
  last: number;
  changes: RowChange[];
}

function deviceWrite(deviceId: string, rows: Prepared[], changes: RowChange[]): DeviceWrite {
  return { deviceId, first: rows[0]!.t, last: rows[rows.length - 1]!.t, changes };
}

/** The key of a batch's ack in writeMany's answer. */
function batchKey(b: InsertBatch): string {
  return `${b.deviceId}\u0000${b.outboxId}`;
}

/** What the segments of one batch add up to. */
interface SegmentState {
  inserted: number;
  /** The acknowledged seq computed by the last segment's write statement. */
  ack: number | null;
}

/** FNV-1a of a device id: its advisory lock key (within the store's lock space). */
function deviceLockKey(deviceId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < deviceId.length; i++) {
    h ^= deviceId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

export class PgWriter {
  private readonly sql: WriteSql;
  private readonly contexts: ContextReader;

  constructor(
    private readonly db: PgDb,
    private readonly partitions: Partitions,
  ) {
    this.sql = buildWriteSql(db.quotedSchema);
    this.contexts = new ContextReader(db, this.sql);
  }

  async insertMany(batches: InsertBatch[]): Promise<InsertResult[]> {
    if (batches.length > MAX_BATCHES_PER_TX) {
      const out: InsertResult[] = [];
      for (let i = 0; i < batches.length; i += MAX_BATCHES_PER_TX)
        out.push(...(await this.insertMany(batches.slice(i, i + MAX_BATCHES_PER_TX))));
      return out;
    }
    const mode = this.db.requireMigrated();
    const prepared = batches.map(prepareBatch);
    try {
      return await this.insertPrepared(mode, batches, prepared);
    } catch (err) {
      // 23514: no partition for a row. Another process's retention dropped one this process still
      // knew about: look again and retry once.
      if (mode !== 'plain' || (err as { code?: string }).code !== '23514') throw err;
      await this.partitions.load();
      return this.insertPrepared(mode, batches, prepared);
    }
  }

  private async insertPrepared(
    mode: PostgresMode,
    batches: InsertBatch[],
    prepared: Prepared[][],
  ): Promise<InsertResult[]> {
    if (mode === 'plain') {
      // Day partitions for yesterday, today and tomorrow only (at most 3 per flush, as a rule none:
      // migrate() and retention create them ahead); rows of any other day go to the default
      // partition, without DDL in the write path.
      const today = Math.floor(Date.now() / DAY_MS);
      const days = new Set<number>();
      for (const rows of prepared)
        for (const r of rows) {
          const day = Math.floor(r.t / DAY_MS);
          if (day >= today - HOT_DAYS_BACK && day <= today + 1) days.add(day);
        }
      await this.partitions.ensure(days);
    }
    // Lock every device of the call, in key order (no deadlock between concurrent calls), and share
    // the retention lock. One round trip with BEGIN.
    const keys = [...new Set(batches.map((b) => deviceLockKey(b.deviceId)))].sort((a, b) => a - b);
    const locks = keys.map((k) => `, pg_advisory_xact_lock(${this.db.lockSpace}, ${k})`).join('');
    const client = await this.db.pool().connect();
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock_shared(${this.db.retentionKey})${locks}`);
      // A device alone in the call (the rule: the ingester sends one batch per device and outbox)
      // gets its context from one read for all of them; its new rows go into one COPY for all and
      // its rollups, device list and ack into one statement for all, both sent before COMMIT:
      // nothing else in the transaction reads them. Round trips per flush: 3 per device → 5.
      const perDevice = new Map<string, number>();
      for (const b of batches) perDevice.set(b.deviceId, (perDevice.get(b.deviceId) ?? 0) + 1);
      const alone = batches.map((b, i) => perDevice.get(b.deviceId) === 1 && prepared[i]!.length > 0);
      const contexts =
        alone.filter(Boolean).length > 1 ? await this.contexts.contextMany(client, batches, prepared, alone) : null;
      const copy: DeferredCopy = { w: new BinaryCopyWriter(1 << 16), expected: 0, writes: [], acks: [] };
      const out: InsertResult[] = [];
      for (let i = 0; i < batches.length; i++)
        out.push(
          await this.insertOne(client, batches[i]!, prepared[i]!, contexts?.get(i), alone[i] ? copy : undefined),
        );
      if (copy.writes.length > 0 || copy.acks.length > 0) {
        // The rollups, device list and ack watermarks of the deferred devices: one statement.
        const acked = await this.writeMany(client, copy);
        for (let i = 0; i < batches.length; i++) {
          const b = batches[i]!;
          if (alone[i] && b.outboxId !== null) out[i]!.ackedSeq = acked.get(batchKey(b)) ?? null;
        }
      }
      if (copy.expected > 0) {
        const n = await this.copyRows(client, copy.w.finish(), 'the devices of this flush');
        if (n !== copy.expected)
          throw new KwartierError('store_conflict', `store: copied ${n} rows of ${copy.expected}`, { retriable: true });
      }
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async insertOne(
    client: pg.PoolClient,
    batch: InsertBatch,
    all: Prepared[],
    ctx?: Context,
    copy?: DeferredCopy,
  ): Promise<InsertResult> {
    const st: SegmentState = { inserted: 0, ack: null };
    if (all.length > 0) await this.writeSegment(client, batch, all, true, st, ctx, copy);
    let ackedSeq: number | null = null;
    if (batch.outboxId !== null && copy && st.ack === null) {
      copy.acks.push(batch); // acknowledged by writeMany; insertPrepared fills ackedSeq in
    } else if (batch.outboxId !== null) {
      // The last segment's write statement advanced the watermark; without one (nothing new), alone.
      ackedSeq = st.ack ?? (await this.writeMany(client, { writes: [], acks: [batch] })).get(batchKey(batch)) ?? null;
    }
    return { inserted: st.inserted, duplicates: batch.readings.length - st.inserted, ackedSeq };
  }

  /**
   * Plans and writes readings (sorted, one device). When more stored rows lie inside their time
   * range than a few times their number (a sparse backlog over dense data), the readings are split
   * in two and written one half after the other, so what is read stays bounded.
   * `pre`: the context already read (contextMany); `copy`: add the new rows to the transaction's
   * one COPY instead of sending them now (only a whole batch, never a half: the second half reads
   * the first's rows).
   */
  private async writeSegment(
    client: pg.PoolClient,
    batch: InsertBatch,
    all: Prepared[],
    last: boolean,
    st: SegmentState,
    pre?: Context,
    copy?: DeferredCopy,
  ): Promise<void> {
    const dev = batch.deviceId;
    let rows = all;
    const limit = existingLimit(rows.length);
    let ctx = pre ?? (await this.contexts.context(client, dev, rows[0]!.t, rows[rows.length - 1]!.t, limit, NEXT_PAGE));
    // Readings at or before what retention removed are not aggregated again (their neighbours are gone).
    const horizon = ctx.carry?.t;
    if (horizon !== undefined && rows[0]!.t <= horizon) {
      rows = rows.filter((r) => r.t > horizon);
      if (rows.length === 0) return;
      ctx = await this.contexts.context(client, dev, rows[0]!.t, rows[rows.length - 1]!.t, limit, NEXT_PAGE);
    }
    if (ctx.existing.length > limit && rows.length > 1) {
      const mid = rows.length >> 1;
      await this.writeSegment(client, batch, rows.slice(0, mid), false, st);
      await this.writeSegment(client, batch, rows.slice(mid), last, st);
      return;
    }
    const prevKnown = ctx.prev ? knownAfter(ctx.prev) : ctx.carry ? ctx.carry.known : null;
    const incoming = rows.map((r) => ({ t: r.t, values: r.values, powers: r.powers }));
    const plan = planInsert({
      prevKnown,
      prevAt: ctx.prev ? valuesAt(ctx.prev) : null,
      limits: this.db.limits,
      existing: ctx.existing,
      next: ctx.next,
      nextIsAll: ctx.next.length < NEXT_PAGE,
      incoming,
    });
    if (plan.inserted === 0) return;
    if (plan.jumps.length > 0)
      this.db.log.warn({ device_id: dev, jumps: plan.jumps.slice(0, 10) }, 'counter jumps kept out of the aggregates');

    await this.updateRows(client, dev, plan.updates);
    // New rows: binary COPY (they are known to be new: the device is locked and its rows read).
    if (copy) {
      writeNewRows(copy.w, batch, rows, plan.fresh);
      copy.expected += plan.inserted;
    } else {
      const w = new BinaryCopyWriter(plan.inserted * 700 + 64);
      writeNewRows(w, batch, rows, plan.fresh);
      const n = await this.copyRows(client, w.finish(), `device '${dev}'`);
      if (n !== plan.inserted)
        throw new KwartierError('store_conflict', `store: copied ${n} rows of ${plan.inserted}`, { retriable: true });
    }
    st.inserted += plan.inserted;
    if (copy) {
      // Rollups and the device list with the other deferred devices (the ack too, see insertOne).
      copy.writes.push(deviceWrite(dev, rows, plan.changes));
    } else {
      // Rollups, the device list and (last segment) the ack watermark: one statement.
      const acks = last && batch.outboxId !== null ? [batch] : [];
      const acked = await this.writeMany(client, { writes: [deviceWrite(dev, rows, plan.changes)], acks });
      if (acks.length > 0) st.ack = acked.get(batchKey(batch)) ?? null;
    }

    // The stored rows after the batch whose carried values change, a page at a time (rare, see
    // continueChain). Their rollup deltas add to the same buckets, so they may come before or after.
    let chain = plan.chain;
    let after = ctx.next.length > 0 ? ctx.next[ctx.next.length - 1]!.t : rows[rows.length - 1]!.t;
    while (chain) {
      const page = (
        await client.query<DbRow>(this.db.q(this.sql.nextRows, [dev, new Date(after).toISOString(), CHAIN_PAGE]))
      ).rows.map(storedRow);
      const cont = continueChain(chain, page, page.length < CHAIN_PAGE);
      await this.updateRows(client, dev, cont.updates);
      if (cont.changes.length > 0)
        await this.writeMany(client, { writes: [deviceWrite(dev, rows, cont.changes)], acks: [] });
      chain = cont.chain;
      if (page.length > 0) after = page[page.length - 1]!.t;
    }
  }

  /**
   * Rollups and device-list entries of `writes`, and the ack watermarks of the batches in `acks`,
   * in one statement (sql.writeMany), for one device or many: batchKey → acknowledged seq.
   */
  private async writeMany(client: pg.PoolClient, d: DeferredWrites): Promise<Map<string, number>> {
    const params: unknown[] = [
      d.writes.map((w) => w.deviceId),
      float8Array(d.writes.map((w) => w.first)),
      float8Array(d.writes.map((w) => w.last)),
    ];
    if (this.db.mode === 'plain') {
      const perDevice = d.writes.map((w) => rollupChanges(w.changes, this.db.calendar, ROLLUP_RESOLUTIONS));
      for (const res of ROLLUP_RESOLUTIONS) {
        const devs: string[] = [];
        const buckets: RollupRow[] = [];
        d.writes.forEach((w, i) => {
          for (const b of perDevice[i]!.get(res) ?? []) {
            devs.push(w.deviceId);
            buckets.push(b);
          }
        });
        params.push(devs, timestamptzArray(buckets.map((b) => b.start)));
        const vals = buckets.map(rollupValues);
        ROLLUP_COLUMNS.forEach((c, k) => {
          const col = vals.map((v) => v[k]);
          params.push(isIntColumn(c) ? int4Array(col) : float8Array(col));
        });
      }
      const now = Date.now();
      const ended = d.writes.flatMap((w, i) =>
        daysToRaise(this.db.calendar, perDevice[i]!, now).map((day) => [w.deviceId, day] as const),
      );
      params.push(
        ended.map((e) => e[0]),
        timestamptzArray(ended.map((e) => e[1])),
      );
    }
    const rdev: string[] = [];
    const rob: string[] = [];
    const rlo: number[] = [];
    const rhi: number[] = [];
    for (const b of d.acks)
      for (const [lo, hi] of seqRanges(batchSeqs(b))) {
        rdev.push(b.deviceId);
        rob.push(b.outboxId!);
        rlo.push(lo);
        rhi.push(hi);
      }
    params.push(
      d.acks.map((b) => b.deviceId),
      d.acks.map((b) => b.outboxId!),
      int8Array(d.acks.map((b) => (b.floorSeq === null ? 0 : b.floorSeq - 1))),
      rdev,
      rob,
      int8Array(rlo),
      int8Array(rhi),
    );
    const r = await client.query<{ device_id: string; outbox_id: string; acked: number }>(
      this.db.q(this.db.mode === 'plain' ? this.sql.writeManyPlain : this.sql.writeManyTimescale, params),
    );
    return new Map(r.rows.map((x) => [`${x.device_id}\u0000${x.outbox_id}`, Number(x.acked)]));
  }

  /** Stored rows whose carry and deltas change: one UPDATE … FROM unnest(arrays). */
  private async updateRows(
    client: pg.PoolClient,
    dev: string,
    u: ReturnType<typeof planInsert>['updates'],
  ): Promise<void> {
    if (u.length === 0) return;
    const params: unknown[] = [dev, timestamptzArray(u.map((x) => x.t))];
    for (let c = 0; c < CARRY_COLUMNS.length; c++) params.push(float8Array(u.map((x) => x.carry[c])));
    for (let d = 0; d < DELTA_COLUMNS.length; d++) params.push(float8Array(u.map((x) => x.delta[d])));
    await client.query(this.db.q(this.sql.update, params));
  }

  /** COPY of encoded rows; a unique violation (another writer got there first) is worth a retry. */
  private async copyRows(client: pg.PoolClient, data: Buffer, whose: string): Promise<number> {
    try {
      return await copyFrom(client, this.sql.copyTarget, data);
    } catch (err) {
      if ((err as { code?: string }).code === '23505')
        throw new KwartierError('store_conflict', `store: concurrent write for ${whose}`, {
          retriable: true,
          cause: err,
        });
      throw err;
    }
  }
}
