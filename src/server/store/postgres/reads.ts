/**
 * The PostgreSQL store's reads: the latest snapshot, raw snapshots, rollup buckets, the device list
 * and an outbox's acknowledged watermark.
 */
import { mergeRollup, type RollupRow, toBucket } from '../../../core/aggregate.js';
import { KwartierError } from '../../../core/errors.js';
import type { Snapshot } from '../../../core/snapshot.js';
import { type DbRow, ROLLUP_COLUMNS, ROLLUP_TABLES, rollupFromRow, snapshotFromRow, VALUE_COLUMNS } from '../common.js';
import type { Bucket, Resolution } from '../types.js';
import { DAY_MS, ms, type PgDb } from './db.js';

export class PgReader {
  private readonly rawSelect: string;
  private readonly ackGet: string;

  constructor(private readonly db: PgDb) {
    this.rawSelect = `device_id, ${ms('time')} AS t, ${VALUE_COLUMNS.join(', ')}`;
    this.ackGet = `SELECT acked_seq::float8 AS acked FROM ${db.s}.device_acks WHERE device_id = $1 AND outbox_id = $2`;
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
          `SELECT ${this.rawSelect} FROM ${this.db.s}.energy_readings WHERE device_id = $1 ORDER BY time DESC LIMIT 1`,
          [deviceId],
        ),
      );
    return r.rows[0] ? snapshotFromRow(r.rows[0]) : null;
  }

  async raw(deviceId: string, start: Date, end: Date, limit = 100_000): Promise<Snapshot[]> {
    this.db.requireMigrated();
    const r = await this.db.pool().query<DbRow>(
      this.db.q(
        `SELECT ${this.rawSelect} FROM ${this.db.s}.energy_readings
          WHERE device_id = $1 AND time >= $2 AND time < $3 ORDER BY time LIMIT $4`,
        [deviceId, start.toISOString(), end.toISOString(), limit],
      ),
    );
    return r.rows.map(snapshotFromRow);
  }

  async buckets(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<Bucket[]> {
    const mode = this.db.requireMigrated();
    const table = ROLLUP_TABLES[resolution];
    if (!table) throw new KwartierError('store_bad_resolution', `store: unknown resolution '${String(resolution)}'`);
    if (mode === 'timescale' && (resolution === 'weekly' || resolution === 'monthly'))
      return this.bucketsFromDaily(deviceId, resolution, start, end);
    const r = await this.db.pool().query<DbRow>(
      this.db.q(
        `SELECT ${ms('bucket')} AS b, ${ROLLUP_COLUMNS.join(', ')} FROM ${this.db.s}.${table}
          WHERE device_id = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket`,
        [deviceId, start.toISOString(), end.toISOString()],
      ),
    );
    return r.rows.map((row) => toBucket(rollupFromRow(row, Number(row.b)), resolution, this.db.calendar));
  }

  /** TimescaleDB layout: weeks and months summed from the daily continuous aggregate. */
  private async bucketsFromDaily(deviceId: string, res: Resolution, start: Date, end: Date): Promise<Bucket[]> {
    const r = await this.db.pool().query<DbRow>(
      this.db.q(
        `SELECT ${ms('bucket')} AS b, ${ROLLUP_COLUMNS.join(', ')} FROM ${this.db.s}.energy_daily
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
    return [...groups.values()].sort((a, b) => a.start - b.start).map((g) => toBucket(g, res, this.db.calendar));
  }

  async devices(): Promise<string[]> {
    this.db.requireMigrated();
    const r = await this.db
      .pool()
      .query<{ device_id: string }>(this.db.q(`SELECT device_id FROM ${this.db.s}.devices ORDER BY device_id`));
    return r.rows.map((x) => x.device_id);
  }
}
