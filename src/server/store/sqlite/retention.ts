/**
 * The SQLite store's retention of raw readings and dead letters (aggregates stay forever), in
 * chunks, each its own transaction, yielding to the event loop in between.
 */
import { COUNTER_FIELDS, knownAfter } from '../../../core/aggregate.js';
import { type DbRow, retentionCut, storedRow } from '../common.js';
import type { RetentionResult } from '../types.js';
import { type SqliteDb, STATE_SELECT } from './db.js';

/** Lets the event loop run (the ingester's flushes, the API) between two retention chunks. */
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export class SqliteRetention {
  constructor(private readonly db: SqliteDb) {}

  /**
   * Per device: records the counters of the newest row before the cut (device_carry, one short
   * transaction), then deletes the older rows in chunks of `retentionChunkRows`, each its own
   * transaction, yielding to the event loop in between so the ingester's writes go on. Then the
   * expired dead letters, the same way.
   */
  async apply(now: Date = new Date()): Promise<RetentionResult> {
    this.db.requireMigrated();
    const cut = retentionCut(now, this.db.retentionDays);
    const carry = this.db.stmt(
      `INSERT INTO device_carry (device_id, time, ${COUNTER_FIELDS.join(', ')}) VALUES (?, ?, ${COUNTER_FIELDS.map(() => '?').join(', ')}) ` +
        `ON CONFLICT (device_id) DO UPDATE SET time = excluded.time, ${COUNTER_FIELDS.map((c) => `${c} = excluded.${c}`).join(', ')} ` +
        'WHERE excluded.time > device_carry.time',
    );
    const lastBefore = this.db.stmt(
      `SELECT ${STATE_SELECT} FROM energy_readings WHERE device_id = ? AND time < ? ORDER BY time DESC LIMIT 1`,
    );
    const delRaw = this.db.stmt(
      'DELETE FROM energy_readings WHERE rowid IN (SELECT rowid FROM energy_readings WHERE device_id = ? AND time < ? ORDER BY time LIMIT ?)',
    );
    const saveCarry = this.db.conn().transaction((dev: string): boolean => {
      const last = lastBefore.get(dev, cut) as DbRow | undefined;
      if (!last) return false;
      carry.run(dev, Number(last.t), ...knownAfter(storedRow(last)));
      return true;
    });
    let deleted = 0;
    const devices = this.db.stmt('SELECT device_id FROM devices ORDER BY device_id').pluck().all() as string[];
    for (const dev of devices) {
      if (!saveCarry.immediate(dev)) continue;
      for (;;) {
        const n = delRaw.run(dev, cut, this.db.chunkRows).changes;
        deleted += n;
        if (n < this.db.chunkRows) break;
        await yieldToLoop();
      }
    }
    const letterCut = retentionCut(now, this.db.deadLetterDays);
    const delLetters = this.db.stmt(
      'DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE received_at < ? ORDER BY id LIMIT ?)',
    );
    let deadLetters = 0;
    for (;;) {
      const n = delLetters.run(letterCut, this.db.chunkRows).changes;
      deadLetters += n;
      if (n < this.db.chunkRows) break;
      await yieldToLoop();
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
}
