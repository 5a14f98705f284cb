/**
 * The SQLite store's day blocks (closed days' history points kept rendered, see DayBlockStore in
 * ../types.ts) and the day epochs the write path raises.
 */
import type { DeflatePiece } from '../../../lib/deflate-join.js';
import type { DayBlock, DayBlockRead, DayBlockStore, Resolution } from '../types.js';
import type { SqliteDb } from './db.js';

export class SqliteDayBlocks implements DayBlockStore {
  readonly enabled = true;

  constructor(private readonly db: SqliteDb) {}

  async read(
    deviceId: string,
    resolution: Resolution,
    format: number,
    from: number,
    to: number,
  ): Promise<DayBlockRead> {
    this.db.requireMigrated();
    const epochs = new Map<number, number>();
    const e = this.db
      .rawStmt('SELECT day, epoch FROM day_epochs WHERE device_id = ? AND day >= ? AND day < ?')
      .all(deviceId, from, to) as [number, number][];
    for (const [day, epoch] of e) epochs.set(day, epoch);
    const blocks = new Map<number, DeflatePiece>();
    const rows = this.db
      .rawStmt(
        'SELECT day, epoch, crc, bytes, deflate FROM day_blocks WHERE device_id = ? AND resolution = ? AND format = ? AND day >= ? AND day < ?',
      )
      .all(deviceId, resolution, format, from, to) as [number, number, number, number, Buffer][];
    for (const [day, epoch, crc, bytes, deflate] of rows)
      if (epoch === (epochs.get(day) ?? 0)) blocks.set(day, { crc, bytes, deflate });
    return { blocks, epochs };
  }

  async put(deviceId: string, resolution: Resolution, format: number, blocks: readonly DayBlock[]): Promise<void> {
    this.db.requireMigrated();
    const up = this.db.stmt(
      'INSERT INTO day_blocks (device_id, resolution, day, format, epoch, crc, bytes, deflate) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (device_id, resolution, day) DO UPDATE SET format = excluded.format, epoch = excluded.epoch, ' +
        'crc = excluded.crc, bytes = excluded.bytes, deflate = excluded.deflate ' +
        // A slower request's block made under an older epoch does not replace a newer one.
        'WHERE day_blocks.epoch <= excluded.epoch OR day_blocks.format <> excluded.format',
    );
    this.db.conn().transaction(() => {
      for (const b of blocks)
        up.run(deviceId, resolution, b.day, format, b.epoch, b.piece.crc, b.piece.bytes, b.piece.deflate);
    })();
  }
}

/**
 * Raises the epoch of each of `days` (their starts, ../day-epochs.ts daysToRaise) for a device:
 * inside the write transaction that changed their rollup buckets, so a block rendered before is
 * never served.
 */
export function raiseDayEpochs(db: SqliteDb, deviceId: string, days: readonly number[]): void {
  if (days.length === 0) return;
  const up = db.stmt(
    'INSERT INTO day_epochs (device_id, day, epoch) VALUES (?, ?, 1) ON CONFLICT (device_id, day) DO UPDATE SET epoch = epoch + 1',
  );
  for (const day of days) up.run(deviceId, day);
}
