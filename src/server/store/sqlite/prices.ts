/** The SQLite store's day-ahead prices: one row per (zone, start), written once (a published price is final). */
import type { DbRow } from '../common.js';
import type { DayAheadPrice } from '../types.js';
import type { SqliteDb } from './db.js';

export class SqlitePrices {
  constructor(private readonly db: SqliteDb) {}

  async put(zone: string, prices: readonly DayAheadPrice[]): Promise<number> {
    const ins = this.db.stmt(
      'INSERT INTO day_ahead_prices (zone, start_time, end_time, eur_per_mwh, source, fetched_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (zone, start_time) DO NOTHING',
    );
    const now = Date.now();
    const tx = this.db
      .conn()
      .transaction((xs: readonly DayAheadPrice[]) =>
        xs.reduce(
          (n, p) => n + ins.run(zone, p.start.getTime(), p.end.getTime(), p.eurPerMwh, p.source, now).changes,
          0,
        ),
      );
    return tx.immediate(prices);
  }

  async read(zone: string, start: Date, end: Date): Promise<DayAheadPrice[]> {
    const rows = this.db
      .stmt(
        'SELECT start_time, end_time, eur_per_mwh, source FROM day_ahead_prices ' +
          'WHERE zone = ? AND start_time >= ? AND start_time < ? ORDER BY start_time',
      )
      .all(zone, start.getTime(), end.getTime()) as DbRow[];
    return rows.map((r) => ({
      start: new Date(Number(r.start_time)),
      end: new Date(Number(r.end_time)),
      eurPerMwh: Number(r.eur_per_mwh),
      source: String(r.source),
    }));
  }
}
