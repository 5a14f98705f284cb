/**
 * The PostgreSQL store's retention of raw readings and dead letters (aggregates stay forever).
 * Inserts hold the retention lock shared; retention takes it exclusively, one short transaction at a
 * time, so writers wait at most one chunk.
 */
import type pg from 'pg';
import { COUNTER_FIELDS } from '../../../core/aggregate.js';
import { retentionCut } from '../common.js';
import type { RetentionResult } from '../types.js';
import { DAY_MS, ms, type PgDb, type PostgresMode } from './db.js';
import { type Partitions, partitionName } from './partitions.js';

export class PgRetention {
  /** Each device's counters of its newest row before the cut ($1), kept in device_carry. */
  private readonly saveCarry: string;

  constructor(
    private readonly db: PgDb,
    private readonly partitions: Partitions,
  ) {
    const s = db.quotedSchema;
    this.saveCarry = `INSERT INTO ${s}.device_carry AS c (device_id, time, ${COUNTER_FIELDS.join(', ')})
       SELECT d.device_id, l.time, ${COUNTER_FIELDS.map((f) => `coalesce(l.${f}, l.carry_${f})`).join(', ')}
         FROM ${s}.devices d CROSS JOIN LATERAL (
           SELECT * FROM ${s}.energy_readings r WHERE r.device_id = d.device_id AND r.time < $1::timestamptz ORDER BY r.time DESC LIMIT 1) l
       ON CONFLICT (device_id) DO UPDATE SET time = excluded.time, ${COUNTER_FIELDS.map((f) => `${f} = excluded.${f}`).join(', ')}
       WHERE excluded.time > c.time`;
  }

  /**
   * Plain layout: under the retention lock (inserts share it), records each device's counters before
   * the cut (device_carry) and drops the day partitions wholly before it, in one short transaction;
   * then deletes the rest before the cut (the default partition, the day straddling the cut) in
   * chunks of `retentionChunkRows`, one transaction each, so writers wait at most one chunk.
   * TimescaleDB: whole chunks only. Then expired dead letters, in chunks too.
   */
  async apply(now: Date = new Date()): Promise<RetentionResult> {
    const mode = this.db.requireMigrated();
    const whole = await this.dropWhole(mode, retentionCut(now, this.db.retentionDays));
    const cut = whole.cut;
    let deleted = whole.deleted;
    if (mode === 'plain' && Number.isFinite(cut)) {
      const del = `DELETE FROM ${this.db.quotedSchema}.energy_readings r
        USING (SELECT device_id, time FROM ${this.db.quotedSchema}.energy_readings WHERE time < $1 LIMIT $2) x
        WHERE r.device_id = x.device_id AND r.time = x.time`;
      for (;;) {
        let n = 0;
        await this.inRetentionTx(async (client) => {
          n = (await client.query(del, [new Date(cut).toISOString(), this.db.chunkRows])).rowCount ?? 0;
        });
        deleted += n;
        if (n < this.db.chunkRows) break;
      }
    }
    const letterCut = retentionCut(now, this.db.deadLetterDays);
    const deadLetters = await this.deleteDeadLetters(letterCut);
    if (mode === 'plain') {
      await this.partitions.load();
      await this.partitions.ensureAhead(now.getTime());
    }
    if (deleted > 0)
      this.db.log.info({ deleted, before: new Date(cut).toISOString() }, 'raw readings removed by retention');
    if (deadLetters > 0)
      this.db.log.info(
        { dead_letters: deadLetters, before: new Date(letterCut).toISOString() },
        'dead letters removed',
      );
    return { deleted, deadLetters };
  }

  /**
   * One transaction under the retention lock: saves each device's counters before the cut and drops
   * the day partitions (TimescaleDB: chunks) wholly before it. Returns the rows they held and the
   * cut in force: TimescaleDB's is the end of the last whole chunk (−∞ without one: nothing to do).
   */
  private async dropWhole(mode: PostgresMode, wantedCut: number): Promise<{ cut: number; deleted: number }> {
    let cut = wantedCut;
    let deleted = 0;
    await this.inRetentionTx(async (client) => {
      let drop: string[] = [];
      if (mode === 'timescale') {
        // Whole chunks only: deleting rows inside the refresh window would re-materialise aggregates.
        const c = await client.query<{ chunk: string; end_ms: number }>(
          `SELECT format('%I.%I', chunk_schema, chunk_name) AS chunk, ${ms('range_end')} AS end_ms
             FROM timescaledb_information.chunks
            WHERE hypertable_schema = $1 AND hypertable_name = 'energy_readings' AND range_end <= $2`,
          [this.db.schemaName, new Date(cut).toISOString()],
        );
        drop = c.rows.map((x) => x.chunk);
        cut = c.rows.reduce((m, x) => Math.max(m, Number(x.end_ms)), Number.NEGATIVE_INFINITY);
      } else {
        await this.partitions.load(client);
        for (const day of [...this.partitions.days].sort((a, b) => a - b))
          if ((day + 1) * DAY_MS <= cut) drop.push(`${this.db.quotedSchema}.${partitionName(day)}`);
      }
      if (!Number.isFinite(cut)) return;
      // Remember each device's last known counters before the cut: the next reading's delta needs them.
      await client.query(this.saveCarry, [new Date(cut).toISOString()]);
      for (const rel of drop) {
        const n = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${rel}`);
        deleted += n.rows[0]?.n ?? 0;
      }
      if (mode === 'timescale') {
        if (drop.length > 0)
          await client.query(
            `SELECT drop_chunks('${this.db.quotedSchema}.energy_readings', older_than => $1::timestamptz)`,
            [new Date(cut).toISOString()],
          );
      } else {
        for (const rel of drop) await client.query(`DROP TABLE IF EXISTS ${rel}`);
      }
    });
    return { cut, deleted };
  }

  /** Dead letters received before `cut`, deleted in chunks: how many. */
  private async deleteDeadLetters(cut: number): Promise<number> {
    let deadLetters = 0;
    for (;;) {
      const r = await this.db.pool().query(
        `DELETE FROM ${this.db.quotedSchema}.dead_letters WHERE id IN
           (SELECT id FROM ${this.db.quotedSchema}.dead_letters WHERE received_at < $1 ORDER BY id LIMIT $2)`,
        [new Date(cut).toISOString(), this.db.chunkRows],
      );
      const n = r.rowCount ?? 0;
      deadLetters += n;
      if (n < this.db.chunkRows) return deadLetters;
    }
  }

  /** One transaction holding the retention lock exclusively (inserts hold it shared). */
  private async inRetentionTx(body: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.db.pool().connect();
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${this.db.retentionKey})`);
      await body(client);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
