/** The PostgreSQL store's wanted control settings: one row per device, its revision rising by one per change. */
import type { ControlWant } from '../../../core/wire-control.js';
import type { DbRow } from '../common.js';
import type { StoredControl } from '../types.js';
import { ms, type PgDb } from './db.js';

const COLUMNS = `device_id, revision, settings, ${ms('updated_at')} AS updated_at, updated_by`;

function fromRow(r: DbRow): StoredControl {
  return {
    deviceId: String(r.device_id),
    revision: Number(r.revision),
    // jsonb comes back parsed.
    settings: r.settings as ControlWant,
    updatedAt: new Date(Number(r.updated_at)),
    updatedBy: String(r.updated_by),
  };
}

export class PgControl {
  constructor(private readonly db: PgDb) {}

  async put(deviceId: string, settings: ControlWant, updatedBy: string): Promise<StoredControl> {
    this.db.requireMigrated();
    const t = `${this.db.quotedSchema}.control_settings`;
    const r = await this.db.pool().query<DbRow>(
      this.db.q(
        `INSERT INTO ${t} (device_id, revision, settings, updated_by) VALUES ($1, 1, $2::jsonb, $3)
         ON CONFLICT (device_id) DO UPDATE SET revision = ${t}.revision + 1, settings = excluded.settings,
           updated_at = now(), updated_by = excluded.updated_by
         RETURNING ${COLUMNS}`,
        [deviceId, JSON.stringify(settings), updatedBy],
      ),
    );
    return fromRow(r.rows[0] as DbRow);
  }

  async read(deviceId: string): Promise<StoredControl | null> {
    this.db.requireMigrated();
    const r = await this.db
      .pool()
      .query<DbRow>(
        this.db.q(`SELECT ${COLUMNS} FROM ${this.db.quotedSchema}.control_settings WHERE device_id = $1`, [deviceId]),
      );
    return r.rows[0] ? fromRow(r.rows[0]) : null;
  }

  async all(): Promise<StoredControl[]> {
    this.db.requireMigrated();
    const r = await this.db
      .pool()
      .query<DbRow>(this.db.q(`SELECT ${COLUMNS} FROM ${this.db.quotedSchema}.control_settings ORDER BY device_id`));
    return r.rows.map(fromRow);
  }
}
