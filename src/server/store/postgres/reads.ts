/**
 * The PostgreSQL store's reads: the latest snapshot, raw snapshots, rollup buckets, the device list
 * and an outbox's acknowledged watermark.
 */
import { mergeRollup, type RollupRow } from '../../../core/aggregate.js';
import { type BucketTable, BucketTableBuilder, bucketsOf } from '../../../core/bucket-table.js';
import { KwartierError } from '../../../core/errors.js';
import type { Snapshot } from '../../../core/snapshot.js';
import {
  type DbRow,
  ROLLUP_COLUMNS,
  ROLLUP_TABLES,
  rollupFromRow,
  rollupSelectList,
  rollupValues,
  snapshotFromRow,
  VALUE_COLUMNS,
} from '../common.js';
import { copyFloat8Rows } from '../pg-binary.js';
import type { Bucket, Resolution } from '../types.js';
import { DAY_MS, ms, type PgDb } from './db.js';

export class PgReader {
  private readonly rawSelect: string;
  private readonly ackGet: string;

  constructor(private readonly db: PgDb) {
    this.rawSelect = `device_id, ${ms('time')} AS t, ${VALUE_COLUMNS.join(', ')}`;
    this.ackGet = `SELECT acked_seq::float8 AS acked FROM ${db.quotedSchema}.device_acks WHERE device_id = $1 AND outbox_id = $2`;
  }

  async ackedSeq(deviceId: string, outboxId: string): Promise<number | null> {
    this.db.requireMigrated();
    const r = await this.db.pool().query<{ acked: number }>(this.db.q(this.ackGet, [deviceId, outboxId]));
    return r.rows[0]?.acked ?? null;
  }

  async latest(deviceId: string): Promise<Snapshot | null> {
    this.db.requireMigrated();
    const r = await this.db
      .pool()
      .query<DbRow>(
        this.db.q(
          `SELECT ${this.rawSelect} FROM ${this.db.quotedSchema}.energy_readings WHERE device_id = $1 ORDER BY time DESC LIMIT 1`,
          [deviceId],
        ),
      );
    return r.rows[0] ? snapshotFromRow(r.rows[0]) : null;
  }

  async raw(deviceId: string, start: Date, end: Date, limit = 100_000): Promise<Snapshot[]> {
    this.db.requireMigrated();
    const r = await this.db.pool().query<DbRow>(
      this.db.q(
        `SELECT ${this.rawSelect} FROM ${this.db.quotedSchema}.energy_readings
          WHERE device_id = $1 AND time >= $2 AND time < $3 ORDER BY time LIMIT $4`,
        [deviceId, start.toISOString(), end.toISOString(), limit],
      ),
    );
    return r.rows.map(snapshotFromRow);
  }

  async buckets(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<Bucket[]> {
    return bucketsOf(await this.bucketTable(deviceId, resolution, start, end), resolution, this.db.calendar);
  }

  async bucketTable(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<BucketTable> {
    const mode = this.db.requireMigrated();
    const table = ROLLUP_TABLES[resolution];
    if (!table) throw new KwartierError('store_bad_resolution', `store: unknown resolution '${String(resolution)}'`);
    if (mode === 'timescale' && (resolution === 'weekly' || resolution === 'monthly'))
      return this.tableFromDaily(deviceId, resolution, start, end);
    // One range scan whose rows come back as binary COPY data: no text to decode per value (a month at
    // 15 minutes is ~3 000 rows of 24 numbers). COPY takes no parameters: the values are literals.
    const expected = expectedBuckets(resolution, start, end);
    const out = new BucketTableBuilder(expected);
    const at = ROLLUP_COLUMNS.length;
    const client = await this.db.pool().connect();
    try {
      await copyFloat8Rows(
        client,
        `SELECT ${rollupSelectList(mode === 'timescale', '::float8')}, ${ms('bucket')} FROM ${this.db.quotedSchema}.${table}
          WHERE device_id = ${client.escapeLiteral(deviceId)} AND bucket >= '${start.toISOString()}'::timestamptz
            AND bucket < '${end.toISOString()}'::timestamptz ORDER BY bucket`,
        (row) => out.add(row[at]!, row),
        32 + expected * (2 + 12 * (at + 1)),
      );
    } finally {
      client.release();
    }
    return out.finish();
  }

  /** TimescaleDB layout: weeks and months summed from the daily continuous aggregate. */
  private async tableFromDaily(deviceId: string, res: Resolution, start: Date, end: Date): Promise<BucketTable> {
    const r = await this.db.pool().query<DbRow>(
      this.db.q(
        `SELECT ${ms('bucket')} AS b, ${rollupSelectList(true)} FROM ${this.db.quotedSchema}.energy_daily
          WHERE device_id = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket`,
        [deviceId, start.toISOString(), new Date(end.getTime() + 32 * DAY_MS).toISOString()],
      ),
    );
    const groups = new Map<number, RollupRow>();
    for (const row of r.rows) {
      const day = rollupFromRow(row, Number(row.b));
      const s = this.db.calendar.start(res, day.start);
      if (s < start.getTime() || s >= end.getTime()) continue;
      const g = groups.get(s);
      if (g) mergeRollup(g, day);
      else groups.set(s, { ...day, start: s });
    }
    const out = new BucketTableBuilder(groups.size);
    for (const g of [...groups.values()].sort((a, b) => a.start - b.start)) out.add(g.start, rollupValues(g));
    return out.finish();
  }

  async devices(): Promise<string[]> {
    this.db.requireMigrated();
    const r = await this.db
      .pool()
      .query<{ device_id: string }>(
        this.db.q(`SELECT device_id FROM ${this.db.quotedSchema}.devices ORDER BY device_id`),
      );
    return r.rows.map((x) => x.device_id);
  }
}

/** Shortest length of a bucket per resolution (a local day may be 23 hours, a month 28 days). */
const STEP_MS: Record<Resolution, number> = {
  '1min': 60_000,
  '15min': 900_000,
  hourly: 3_600_000,
  daily: 82_800_000,
  weekly: 7 * 82_800_000,
  monthly: 28 * 82_800_000,
};

/** The buckets a range can hold, up to 4 096 (a table grows past its first size): its first size. */
function expectedBuckets(resolution: Resolution, start: Date, end: Date): number {
  const n = Math.ceil((end.getTime() - start.getTime()) / STEP_MS[resolution]) + 1;
  return Number.isFinite(n) ? Math.min(4096, Math.max(16, n)) : 16;
}
