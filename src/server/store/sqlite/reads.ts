/**
 * The SQLite store's reads: the latest snapshot, raw snapshots, rollup buckets, the device list and
 * an outbox's acknowledged watermark.
 */
import { type BucketTable, BucketTableBuilder, bucketsOf } from '../../../core/bucket-table.js';
import { KwartierError } from '../../../core/errors.js';
import type { Snapshot } from '../../../core/snapshot.js';
import { type DbRow, ROLLUP_COLUMNS, ROLLUP_TABLES, snapshotFromRow, VALUE_COLUMNS } from '../common.js';
import type { Bucket, Resolution } from '../types.js';
import type { SqliteDb } from './db.js';

const RAW_SELECT = `device_id, time AS t, ${VALUE_COLUMNS.join(', ')}`;

export class SqliteReader {
  constructor(private readonly db: SqliteDb) {}

  async ackedSeq(deviceId: string, outboxId: string): Promise<number | null> {
    const r = this.db
      .stmt('SELECT acked_seq FROM device_acks WHERE device_id = ? AND outbox_id = ?')
      .get(deviceId, outboxId) as { acked_seq: number } | undefined;
    return r ? r.acked_seq : null;
  }

  async latest(deviceId: string): Promise<Snapshot | null> {
    const r = this.db
      .stmt(`SELECT ${RAW_SELECT} FROM energy_readings WHERE device_id = ? ORDER BY time DESC LIMIT 1`)
      .get(deviceId) as DbRow | undefined;
    return r ? snapshotFromRow(r) : null;
  }

  async raw(deviceId: string, start: Date, end: Date, limit = 100_000): Promise<Snapshot[]> {
    const rows = this.db
      .stmt(
        `SELECT ${RAW_SELECT} FROM energy_readings WHERE device_id = ? AND time >= ? AND time < ? ORDER BY time LIMIT ?`,
      )
      .all(deviceId, start.getTime(), end.getTime(), limit) as DbRow[];
    return rows.map(snapshotFromRow);
  }

  async buckets(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<Bucket[]> {
    return bucketsOf(await this.bucketTable(deviceId, resolution, start, end), resolution, this.db.calendar);
  }

  async bucketTable(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<BucketTable> {
    const table = ROLLUP_TABLES[resolution];
    if (!table) throw new KwartierError('store_bad_resolution', `store: unknown resolution '${String(resolution)}'`);
    // Rows as arrays (raw): an object per row costs more than the query for thousands of rows.
    const rows = this.db
      .rawStmt(
        `SELECT ${ROLLUP_COLUMNS.join(', ')}, bucket FROM ${table} WHERE device_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`,
      )
      .all(deviceId, start.getTime(), end.getTime()) as (number | null)[][];
    const at = ROLLUP_COLUMNS.length;
    const out = new BucketTableBuilder(rows.length);
    for (const r of rows) out.add(Number(r[at]), r);
    return out.finish();
  }

  async devices(): Promise<string[]> {
    return this.db.stmt('SELECT device_id FROM devices ORDER BY device_id').pluck().all() as string[];
  }
}
