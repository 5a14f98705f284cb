/** The SQLite store's dead letters: payloads the ingester refused, kept with their reason. */
import type { DbRow } from '../common.js';
import type { DeadLetter, DeadLetterQuery, StoredDeadLetter } from '../types.js';
import type { SqliteDb } from './db.js';

export class SqliteDeadLetters {
  constructor(private readonly db: SqliteDb) {}

  async addDeadLetter(letter: DeadLetter): Promise<void> {
    this.db
      .stmt('INSERT INTO dead_letters (received_at, topic, device_id, reason, payload) VALUES (?, ?, ?, ?, ?)')
      .run(Date.now(), letter.topic, letter.deviceId, letter.reason, letter.payload);
  }

  async deadLetterCount(): Promise<number> {
    return this.db.stmt('SELECT count(*) FROM dead_letters').pluck().get() as number;
  }

  async deadLetters(q: DeadLetterQuery): Promise<StoredDeadLetter[]> {
    const rows = this.db
      .stmt(
        'SELECT id, received_at, topic, device_id, reason, payload FROM dead_letters ' +
          'WHERE id > ? AND received_at >= ? AND (? IS NULL OR device_id = ?) ORDER BY id LIMIT ?',
      )
      .all(q.afterId ?? 0, q.since?.getTime() ?? 0, q.deviceId ?? null, q.deviceId ?? null, q.limit) as DbRow[];
    return rows.map((r) => ({
      id: Number(r.id),
      receivedAt: new Date(Number(r.received_at)),
      topic: String(r.topic),
      deviceId: r.device_id === null ? null : String(r.device_id),
      reason: String(r.reason),
      payload: String(r.payload),
    }));
  }

  async deleteDeadLetters(ids: readonly number[]): Promise<number> {
    const del = this.db.stmt('DELETE FROM dead_letters WHERE id = ?');
    const tx = this.db.conn().transaction((xs: readonly number[]) => xs.reduce((n, id) => n + del.run(id).changes, 0));
    return tx.immediate(ids);
  }
}
