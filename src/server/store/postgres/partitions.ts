/**
 * The plain layout's day partitions of `energy_readings` (UTC days since the epoch): which exist,
 * creating those the write path and retention need, and taking a day's rows out of the default
 * partition when its partition comes after them.
 */
import { DAY_MS, type PgDb, type Queryable } from './db.js';

export function partitionName(day: number): string {
  return `energy_readings_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

function partitionDay(name: string): number | null {
  const m = /^energy_readings_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS;
}

export class Partitions {
  /** The days that have a partition, as last read or created by this process. */
  readonly days = new Set<number>();

  constructor(private readonly db: PgDb) {}

  /** Reads which day partitions exist (through `via`: a transaction's client, or the pool). */
  async load(via: Queryable = this.db.pool()): Promise<void> {
    const r = await via.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = '${this.db.quotedSchema}.energy_readings'::regclass`,
    );
    this.days.clear();
    for (const { name } of r.rows) {
      const d = partitionDay(name);
      if (d !== null) this.days.add(d);
    }
  }

  /**
   * Creates the daily partitions (UTC days since the epoch) that do not exist yet. A day whose rows
   * already went to the default partition (a reading from the future, before its day came) gets its
   * partition with those rows moved into it (move).
   */
  async ensure(days: Iterable<number>): Promise<void> {
    const s = this.db.quotedSchema;
    for (const day of days) {
      if (this.days.has(day)) continue;
      const from = new Date(day * DAY_MS).toISOString();
      const to = new Date((day + 1) * DAY_MS).toISOString();
      try {
        await this.db
          .pool()
          .query(
            `CREATE TABLE IF NOT EXISTS ${s}.${partitionName(day)} PARTITION OF ${s}.energy_readings FOR VALUES FROM ('${from}') TO ('${to}')`,
          );
      } catch (err) {
        const code = (err as { code?: string }).code;
        // 23514: the default partition holds rows of that day.
        if (code === '23514') await this.move(day);
        // Another writer created it at the same moment (42P07, or 23505 on pg_type in the race).
        else if (code !== '42P07' && code !== '23505') throw err;
      }
      this.days.add(day);
    }
  }

  /** Today's and tomorrow's partitions (migrate() and retention create them ahead of the writes). */
  async ensureAhead(nowMs: number): Promise<void> {
    const today = Math.floor(nowMs / DAY_MS);
    await this.ensure([today, today + 1]);
  }

  /**
   * The partition of `day`, created as a table of its own, filled with that day's rows taken out of
   * the default partition and attached: one transaction, under the retention lock (no insert
   * interleaves).
   */
  private async move(day: number): Promise<void> {
    const s = this.db.quotedSchema;
    const from = new Date(day * DAY_MS).toISOString();
    const to = new Date((day + 1) * DAY_MS).toISOString();
    const part = `${s}.${partitionName(day)}`;
    const client = await this.db.pool().connect();
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${this.db.retentionKey})`);
      await client.query(`CREATE TABLE ${part} (LIKE ${s}.energy_readings INCLUDING DEFAULTS)`);
      const moved = await client.query(
        `WITH m AS (DELETE FROM ${s}.energy_readings_default WHERE time >= $1 AND time < $2 RETURNING *)
         INSERT INTO ${part} SELECT * FROM m`,
        [from, to],
      );
      await client.query(
        `ALTER TABLE ${s}.energy_readings ATTACH PARTITION ${part} FOR VALUES FROM ('${from}') TO ('${to}')`,
      );
      await client.query('COMMIT');
      this.db.log.info(
        { partition: partitionName(day), moved: moved.rowCount ?? 0 },
        'day partition created from the default partition',
      );
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((err as { code?: string }).code !== '42P07') throw err; // 42P07: another writer made it
    } finally {
      client.release();
    }
  }
}
