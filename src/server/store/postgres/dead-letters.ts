/** The PostgreSQL store's dead letters: payloads the ingester refused, kept with their reason. */
import type { DbRow } from '../common.js';
import type { DeadLetter, DeadLetterQuery, StoredDeadLetter } from '../types.js';
import { ms, type PgDb } from './db.js';

/** PostgreSQL text cannot hold U+0000 (a dead letter may be binary garbage): U+FFFD stands in. */
const NUL = String.fromCharCode(0);
const noNul = (x: string): string => (x.includes(NUL) ? x.split(NUL).join('\uFFFD') : x);

export class PgDeadLetters {
  constructor(private readonly db: PgDb) {}

  async addDeadLetter(letter: DeadLetter): Promise<void> {
    this.db.requireMigrated();
    await this.db
      .pool()
      .query(
        this.db.q(
          `INSERT INTO ${this.db.quotedSchema}.dead_letters (topic, device_id, reason, payload) VALUES ($1, $2, $3, $4)`,
          [
            noNul(letter.topic),
            letter.deviceId === null ? null : noNul(letter.deviceId),
            noNul(letter.reason),
            noNul(letter.payload),
          ],
        ),
      );
  }

  async deadLetterCount(): Promise<number> {
    this.db.requireMigrated();
    const r = await this.db
      .pool()
      .query<{ n: number }>(this.db.q(`SELECT count(*)::int AS n FROM ${this.db.quotedSchema}.dead_letters`));
    return r.rows[0]?.n ?? 0;
  }

  async deadLetters(q: DeadLetterQuery): Promise<StoredDeadLetter[]> {
    this.db.requireMigrated();
    const r = await this.db.pool().query<DbRow>(
      this.db.q(
        `SELECT id::float8 AS id, ${ms('received_at')} AS received_at, topic, device_id, reason, payload
           FROM ${this.db.quotedSchema}.dead_letters
          WHERE id > $1 AND received_at >= $2 AND ($3::text IS NULL OR device_id = $3) ORDER BY id LIMIT $4`,
        [q.afterId ?? 0, (q.since ?? new Date(0)).toISOString(), q.deviceId ?? null, q.limit],
      ),
    );
    return r.rows.map((x) => ({
      id: Number(x.id),
      receivedAt: new Date(Number(x.received_at)),
      topic: String(x.topic),
      deviceId: x.device_id === null ? null : String(x.device_id),
      reason: String(x.reason),
      payload: String(x.payload),
    }));
  }

  async deleteDeadLetters(ids: readonly number[]): Promise<number> {
    this.db.requireMigrated();
    if (ids.length === 0) return 0;
    const r = await this.db
      .pool()
      .query(
        this.db.q(`DELETE FROM ${this.db.quotedSchema}.dead_letters WHERE id = ANY($1::bigint[])`, [ids.map(String)]),
      );
    return r.rowCount ?? 0;
  }
}
