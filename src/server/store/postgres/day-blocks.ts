/**
 * The PostgreSQL store's day blocks (closed days' history points kept rendered, see DayBlockStore in
 * ../types.ts). The write path raises the day epochs in its one statement (write-sql.ts, `ep`).
 * Plain layout only: TimescaleDB's continuous aggregates refresh apart from the writes, so no write
 * could mark a day's blocks stale.
 */
import type { DeflatePiece } from '../../../lib/deflate-join.js';
import { copyBinaryRows } from '../pg-binary.js';
import type { DayBlock, DayBlockRead, DayBlockStore, Resolution } from '../types.js';
import { DAY_MS, ms, type PgDb } from './db.js';

export class PgDayBlocks implements DayBlockStore {
  constructor(private readonly db: PgDb) {}

  get enabled(): boolean {
    return this.db.mode === 'plain';
  }

  async read(
    deviceId: string,
    resolution: Resolution,
    format: number,
    from: number,
    to: number,
  ): Promise<DayBlockRead> {
    this.db.requireMigrated();
    const s = this.db.quotedSchema;
    const client = await this.db.pool().connect();
    const epochs = new Map<number, number>();
    const blocks = new Map<number, DeflatePiece>();
    try {
      const [dev, res] = [client.escapeLiteral(deviceId), client.escapeLiteral(resolution)];
      const [lo, hi] = [from, to].map((t) => `'${new Date(t).toISOString()}'::timestamptz`);
      // One statement, one snapshot: the epochs are read before the buckets a missing block is made
      // from (see DayBlockStore). Binary COPY: the blocks' bytes come as they are, not as hex text.
      await copyBinaryRows(
        client,
        `SELECT ${ms('day')}, epoch, NULL::float8, NULL::int4, NULL::bytea FROM ${s}.day_epochs
          WHERE device_id = ${dev} AND day >= ${lo} AND day < ${hi}
         UNION ALL
         SELECT ${ms('b.day')}, NULL, b.crc::float8, b.bytes, b.deflate FROM ${s}.day_blocks b
           LEFT JOIN ${s}.day_epochs e ON e.device_id = b.device_id AND e.day = b.day
          WHERE b.device_id = ${dev} AND b.resolution = ${res} AND b.format = ${Math.trunc(format)}
            AND b.day >= ${lo} AND b.day < ${hi} AND b.epoch = coalesce(e.epoch, 0)`,
        ([day, epoch, crc, bytes, deflate]) => {
          const at = day!.readDoubleBE(0);
          if (epoch) epochs.set(at, epoch.readInt32BE(0));
          else blocks.set(at, { crc: crc!.readDoubleBE(0), bytes: bytes!.readInt32BE(0), deflate: deflate! });
        },
        // First size: ~8 KiB a day (a 15-minute day's block is ~5 KiB); the buffer grows when more.
        64 + Math.ceil((to - from) / DAY_MS) * 8192,
      );
    } finally {
      client.release();
    }
    return { blocks, epochs };
  }

  async put(deviceId: string, resolution: Resolution, format: number, blocks: readonly DayBlock[]): Promise<void> {
    this.db.requireMigrated();
    if (blocks.length === 0) return;
    await this.db.pool().query(
      this.db.q(
        `INSERT INTO ${this.db.quotedSchema}.day_blocks AS x (device_id, resolution, day, format, epoch, crc, bytes, deflate)
         SELECT $1, $2, u.day, $3, u.epoch, u.crc, u.bytes, u.deflate
           FROM unnest($4::timestamptz[], $5::int4[], $6::int8[], $7::int4[], $8::bytea[]) AS u(day, epoch, crc, bytes, deflate)
         ON CONFLICT (device_id, resolution, day) DO UPDATE SET format = excluded.format, epoch = excluded.epoch,
           crc = excluded.crc, bytes = excluded.bytes, deflate = excluded.deflate
         WHERE x.epoch <= excluded.epoch OR x.format <> excluded.format`,
        [
          deviceId,
          resolution,
          format,
          blocks.map((b) => new Date(b.day).toISOString()),
          blocks.map((b) => b.epoch),
          blocks.map((b) => b.piece.crc),
          blocks.map((b) => b.piece.bytes),
          blocks.map((b) => b.piece.deflate),
        ],
      ),
    );
  }
}
