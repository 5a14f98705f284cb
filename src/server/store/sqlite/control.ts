/** The SQLite store's wanted control settings: one row per device, its revision rising by one per change. */
import type { ControlWant } from '../../../core/wire-control.js';
import type { DbRow } from '../common.js';
import type { StoredControl } from '../types.js';
import type { SqliteDb } from './db.js';

const COLUMNS = 'device_id, revision, settings, updated_at, updated_by';

function fromRow(r: DbRow): StoredControl {
  return {
    deviceId: String(r.device_id),
    revision: Number(r.revision),
    settings: JSON.parse(String(r.settings)) as ControlWant,
    updatedAt: new Date(Number(r.updated_at)),
    updatedBy: String(r.updated_by),
  };
}

export class SqliteControl {
  constructor(private readonly db: SqliteDb) {}

  async put(deviceId: string, settings: ControlWant, updatedBy: string): Promise<StoredControl> {
    const row = this.db
      .stmt(
        `INSERT INTO control_settings (${COLUMNS}) VALUES (?, 1, ?, ?, ?) ` +
          'ON CONFLICT (device_id) DO UPDATE SET revision = control_settings.revision + 1, ' +
          'settings = excluded.settings, updated_at = excluded.updated_at, updated_by = excluded.updated_by ' +
          `RETURNING ${COLUMNS}`,
      )
      .get(deviceId, JSON.stringify(settings), Date.now(), updatedBy) as DbRow;
    return fromRow(row);
  }

  async read(deviceId: string): Promise<StoredControl | null> {
    const row = this.db.stmt(`SELECT ${COLUMNS} FROM control_settings WHERE device_id = ?`).get(deviceId) as
      | DbRow
      | undefined;
    return row ? fromRow(row) : null;
  }

  async all(): Promise<StoredControl[]> {
    const rows = this.db.stmt(`SELECT ${COLUMNS} FROM control_settings ORDER BY device_id`).all() as DbRow[];
    return rows.map(fromRow);
  }
}
