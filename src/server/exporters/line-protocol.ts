/**
 * A snapshot as one InfluxDB line-protocol point (docs.influxdata.com, "Line protocol"):
 *
 *   kwartier,device_id=home-01 grid_power_w=412,pv_power_w=1830.5,charge_state="float" 1767225600123
 *
 * - The home's id is the only tag, so each home is one series and two homes never share a point.
 * - The timestamp is the snapshot's own, in milliseconds (the writer asks for `precision=ms`): the
 *   edge makes at most one snapshot per millisecond per home, so two snapshots never overwrite each
 *   other, and a point written twice (a retried request) is the same point, not a second one.
 * - Every numeric field that is not null becomes a float field (always float: InfluxDB refuses a
 *   field that changes type within a shard, and `grid_tariff: 1` must not become an integer).
 *   Null fields are left out (absent, never 0). `charge_state` is a string field.
 */
import { SNAPSHOT_NUMERIC_FIELDS, type Snapshot } from '../../core/snapshot.js';

/** Measurement names escape commas and spaces. */
export function escapeMeasurement(s: string): string {
  return s.replace(/[\\, ]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
}

/** Tag keys and values, and field keys, escape commas, equals signs and spaces. */
export function escapeKey(s: string): string {
  return s.replace(/[\\,= ]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
}

/** String field values are double-quoted; quotes and backslashes escaped, no newline. */
export function quoteString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, ' ')}"`;
}

/**
 * The point of one snapshot, or null when it has no value at all (a line needs a field). `ms` is the
 * snapshot's time in ms since 1970 (Date.parse of its timestamp).
 */
export function snapshotLine(measurement: string, snap: Snapshot, ms: number): string | null {
  const fields: string[] = [];
  const record = snap as unknown as Record<string, unknown>;
  for (const name of SNAPSHOT_NUMERIC_FIELDS) {
    const v = record[name];
    if (typeof v === 'number' && Number.isFinite(v)) fields.push(`${name}=${v}`); // no suffix: a float
  }
  if (typeof snap.charge_state === 'string' && snap.charge_state !== '')
    fields.push(`charge_state=${quoteString(snap.charge_state)}`);
  if (fields.length === 0) return null;
  return `${escapeMeasurement(measurement)},device_id=${escapeKey(snap.device_id)} ${fields.join(',')} ${Math.trunc(ms)}`;
}
