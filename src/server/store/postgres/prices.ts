/** The PostgreSQL store's day-ahead prices: one row per (zone, start), written once (a published price is final). */
import type { DbRow } from '../common.js';
import type { DayAheadPrice } from '../types.js';
import { ms, type PgDb } from './db.js';

export class PgPrices {
  constructor(private readonly db: PgDb) {}

  async put(zone: string, prices: readonly DayAheadPrice[]): Promise<number> {
    this.db.requireMigrated();
    if (prices.length === 0) return 0;
    const r = await this.db.pool().query(
      this.db.q(
        `INSERT INTO ${this.db.quotedSchema}.day_ahead_prices (zone, start_time, end_time, eur_per_mwh, source)
         SELECT $1, s, e, p, src FROM unnest($2::timestamptz[], $3::timestamptz[], $4::float8[], $5::text[]) AS x(s, e, p, src)
         ON CONFLICT (zone, start_time) DO NOTHING`,
        [
          zone,
          prices.map((p) => p.start.toISOString()),
          prices.map((p) => p.end.toISOString()),
          prices.map((p) => p.eurPerMwh),
          prices.map((p) => p.source),
        ],
      ),
    );
    return r.rowCount ?? 0;
  }

  async read(zone: string, start: Date, end: Date): Promise<DayAheadPrice[]> {
    this.db.requireMigrated();
    const r = await this.db.pool().query<DbRow>(
      this.db.q(
        `SELECT ${ms('start_time')} AS start_time, ${ms('end_time')} AS end_time, eur_per_mwh, source
           FROM ${this.db.quotedSchema}.day_ahead_prices
          WHERE zone = $1 AND start_time >= $2 AND start_time < $3 ORDER BY start_time`,
        [zone, start.toISOString(), end.toISOString()],
      ),
    );
    return r.rows.map((x) => ({
      start: new Date(Number(x.start_time)),
      end: new Date(Number(x.end_time)),
      eurPerMwh: Number(x.eur_per_mwh),
      source: String(x.source),
    }));
  }
}
