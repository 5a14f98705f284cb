/**
 * The SQL text of the PostgreSQL store's write path, built once per schema: the context read around
 * a batch, the one statement that adds rollup deltas and advances ack watermarks for many devices,
 * the update of stored rows whose carry changes, and the COPY target of new rows with their row
 * layout (writeNewRows).
 */
import { COUNTER_FIELDS, ENERGY_KEYS, type planInsert } from '../../../core/aggregate.js';
import { ROLLUP_RESOLUTIONS } from '../../../core/bucket-shape.js';
import { SNAPSHOT_NUMERIC_FIELDS, SNAPSHOT_TEXT_FIELDS } from '../../../core/snapshot.js';
import {
  CARRY_COLUMNS,
  DELTA_COLUMNS,
  devicesJson,
  type Prepared,
  ROLLUP_COLUMNS,
  ROLLUP_MAX_COLUMNS,
  ROLLUP_TABLES,
  STATE_COLUMNS,
  VALUE_COLUMNS,
} from '../common.js';
import type { BinaryCopyWriter } from '../pg-binary.js';
import type { InsertBatch } from '../types.js';
import { ms, ts } from './db.js';

/** Rollup columns sent as int4 arrays (counts); the others are float8. */
export function isIntColumn(c: string): boolean {
  return c === 'samples' || c.startsWith('n_');
}

/** A rollup upsert's SET: the delta row `excluded` added to the stored bucket `x`. */
function rollupSet(): string {
  return ROLLUP_COLUMNS.map((c) => {
    if (ROLLUP_MAX_COLUMNS.includes(c)) return `${c} = GREATEST(x.${c}, excluded.${c})`;
    if ((ENERGY_KEYS as readonly string[]).includes(c))
      return `${c} = CASE WHEN excluded.${c} IS NULL THEN x.${c} ELSE coalesce(x.${c}, 0) + excluded.${c} END`;
    return `${c} = x.${c} + excluded.${c}`;
  }).join(', ');
}

/**
 * The write statement, for one device or several (each once): $1 devices, $2/$3 their first/last
 * times (ms); (plain layout) per rollup table a device array, a bucket array and one array per
 * column of the delta rows, and the ended days whose epoch to raise (devices, day starts); then the batches to acknowledge: devices, outboxes, floor − 1, and
 * their seq ranges as four arrays (device, outbox, lo, hi). Returns (device_id, outbox_id, acked)
 * per batch to acknowledge. Data-modifying CTEs all run, whether the final SELECT reads them or not.
 *
 * The ack watermark, set-based and without reading the readings: `device_ack_ranges` holds the
 * committed seqs above the watermark as ranges (islands left by batches that came out of order; as
 * a rule there are none). Per (device, outbox), the stored islands and the batch's own ranges, cut
 * to what lies above max(stored watermark, floor − 1), are merged where they overlap or touch (gaps
 * and islands); the range that starts at most one above the watermark moves it to its end, the
 * others are stored again.
 */
function writeManySql(s: string, plain: boolean): string {
  let n = 4;
  const p = (type: string): string => `$${n++}::${type}`;
  const ctes = [
    `dev AS (INSERT INTO ${s}.devices AS d (device_id, first_time, last_time)
       SELECT u.dev, ${ts('u.f')}, ${ts('u.l')} FROM unnest($1::text[], $2::float8[], $3::float8[]) AS u(dev, f, l)
     ON CONFLICT (device_id) DO UPDATE SET first_time = LEAST(d.first_time, excluded.first_time), last_time = GREATEST(d.last_time, excluded.last_time))`,
  ];
  if (plain) {
    ROLLUP_RESOLUTIONS.forEach((res, i) => {
      const args = [
        p('text[]'),
        p('timestamptz[]'),
        ...ROLLUP_COLUMNS.map((c) => p(isIntColumn(c) ? 'int4[]' : 'float8[]')),
      ];
      ctes.push(`r${i} AS (INSERT INTO ${s}.${ROLLUP_TABLES[res]} AS x (device_id, bucket, ${ROLLUP_COLUMNS.join(', ')})
         SELECT u.dev, u.b, ${ROLLUP_COLUMNS.map((c) => `u.${c}`).join(', ')}
           FROM unnest(${args.join(', ')}) AS u(dev, b, ${ROLLUP_COLUMNS.join(', ')})
         ON CONFLICT (device_id, bucket) DO UPDATE SET ${rollupSet()})`);
    });
    // The ended local days whose buckets this changes: their kept day blocks become stale (types.ts DayBlockStore).
    ctes.push(`ep AS (INSERT INTO ${s}.day_epochs AS x (device_id, day, epoch)
       SELECT u.dev, u.d, 1 FROM unnest(${p('text[]')}, ${p('timestamptz[]')}) AS u(dev, d)
       ON CONFLICT (device_id, day) DO UPDATE SET epoch = x.epoch + 1)`);
  }
  const [kd, ko, kf, rd, ro, rl, rh] = [
    p('text[]'),
    p('text[]'),
    p('int8[]'),
    p('text[]'),
    p('text[]'),
    p('int8[]'),
    p('int8[]'),
  ];
  const key = 'device_id, outbox_id';
  ctes.push(
    `keys AS (SELECT * FROM unnest(${kd}, ${ko}, ${kf}) AS k(device_id, outbox_id, fl))`,
    `cur AS (SELECT k.device_id, k.outbox_id, GREATEST(coalesce(a.acked_seq, 0), k.fl) AS a
               FROM keys k LEFT JOIN ${s}.device_acks a USING (${key}))`,
    `old AS (DELETE FROM ${s}.device_ack_ranges r USING keys k WHERE r.device_id = k.device_id AND r.outbox_id = k.outbox_id
              RETURNING r.device_id, r.outbox_id, r.lo, r.hi)`,
    `rin AS (SELECT x.device_id, x.outbox_id, GREATEST(x.lo, cur.a + 1) AS lo, x.hi FROM cur JOIN
               (SELECT device_id, outbox_id, lo, hi FROM old
                UNION ALL SELECT * FROM unnest(${rd}, ${ro}, ${rl}, ${rh}) AS u(device_id, outbox_id, lo, hi)) x
               ON x.device_id = cur.device_id AND x.outbox_id = cur.outbox_id
              WHERE x.hi > cur.a)`,
    `mark AS (SELECT ${key}, lo, hi,
                CASE WHEN lo <= max(hi) OVER (PARTITION BY ${key} ORDER BY lo, hi ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + 1
                     THEN 0 ELSE 1 END AS s FROM rin)`,
    `grp AS (SELECT ${key}, lo, hi, sum(s) OVER (PARTITION BY ${key} ORDER BY lo, hi) AS g FROM mark)`,
    `merged AS (SELECT ${key}, min(lo) AS lo, max(hi) AS hi FROM grp GROUP BY ${key}, g)`,
    `res AS (SELECT cur.device_id, cur.outbox_id,
                coalesce((SELECT max(m.hi) FROM merged m
                           WHERE m.device_id = cur.device_id AND m.outbox_id = cur.outbox_id AND m.lo <= cur.a + 1), cur.a) AS acked
               FROM cur)`,
    `keep AS (INSERT INTO ${s}.device_ack_ranges (device_id, outbox_id, lo, hi)
                SELECT m.device_id, m.outbox_id, m.lo, m.hi FROM merged m JOIN res
                    ON res.device_id = m.device_id AND res.outbox_id = m.outbox_id
                 WHERE m.lo > res.acked + 1)`,
    `ackput AS (INSERT INTO ${s}.device_acks AS k (device_id, outbox_id, acked_seq, updated_at)
                  SELECT device_id, outbox_id, acked, now() FROM res
       ON CONFLICT (device_id, outbox_id) DO UPDATE SET acked_seq = GREATEST(k.acked_seq, excluded.acked_seq), updated_at = now())`,
  );
  return `WITH ${ctes.join(',\n')} SELECT res.device_id, res.outbox_id, res.acked::float8 AS acked FROM res`;
}

export type WriteSql = ReturnType<typeof buildWriteSql>;

export function buildWriteSql(s: string) {
  const stateSelect = `${ms('time')} AS t, ${STATE_COLUMNS.join(', ')}`;
  const nullState = [...CARRY_COLUMNS, ...DELTA_COLUMNS].map((c) => `NULL::float8 AS ${c}`).join(', ');
  // What is stored around each device's range: $1 devices, $2/$3 first/last times, $4 existing limits,
  // $5 next limit. `k` says which part a row is (0 the one before, 1 inside, 2 after, 3 the carry
  // kept by retention); `q` the 1-based position of its device in $1.
  const context = `SELECT q.i AS q, c.* FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::int4[]) WITH ORDINALITY AS q(dev, f, l, lim, i)
     CROSS JOIN LATERAL (
       SELECT 0 AS k, * FROM (SELECT ${stateSelect} FROM ${s}.energy_readings WHERE device_id = q.dev AND time < q.f ORDER BY time DESC LIMIT 1) p
       UNION ALL SELECT 1, * FROM (SELECT ${stateSelect} FROM ${s}.energy_readings WHERE device_id = q.dev AND time >= q.f AND time <= q.l ORDER BY time LIMIT q.lim) e
       UNION ALL SELECT 2, * FROM (SELECT ${stateSelect} FROM ${s}.energy_readings WHERE device_id = q.dev AND time > q.l ORDER BY time LIMIT $5) n
       UNION ALL SELECT 3, ${ms('time')}, ${COUNTER_FIELDS.join(', ')}, ${nullState} FROM ${s}.device_carry WHERE device_id = q.dev) c`;

  const updCols = [...CARRY_COLUMNS, ...DELTA_COLUMNS];
  const update = `UPDATE ${s}.energy_readings r SET ${updCols.map((c) => `${c} = u.${c}`).join(', ')}
       FROM unnest($2::timestamptz[], ${updCols.map((_, i) => `$${i + 3}::float8[]`).join(', ')}) AS u(t, ${updCols.join(', ')})
      WHERE r.device_id = $1 AND r.time = u.t`;

  return {
    copyTarget: `${s}.energy_readings (time, device_id, outbox_id, seq, ${[...VALUE_COLUMNS, ...CARRY_COLUMNS, ...DELTA_COLUMNS].join(', ')})`,
    context,
    nextRows: `SELECT ${stateSelect} FROM ${s}.energy_readings WHERE device_id = $1 AND time > $2::timestamptz ORDER BY time LIMIT $3`,
    writeManyPlain: writeManySql(s, true),
    writeManyTimescale: writeManySql(s, false),
    update,
  };
}

/** jsonb's binary COPY form: version 1, then the JSON text. */
function jsonb(text: string | null): Buffer | null {
  return text === null ? null : Buffer.concat([JSONB_VERSION, Buffer.from(text, 'utf8')]);
}
const JSONB_VERSION = Buffer.from([1]);

/**
 * Writes the readings the plan marks as new (`fresh[i]`: their carry and deltas) to `w` in binary
 * COPY format, columns as in WriteSql.copyTarget.
 */
export function writeNewRows(
  w: BinaryCopyWriter,
  batch: InsertBatch,
  rows: Prepared[],
  fresh: ReturnType<typeof planInsert>['fresh'],
): void {
  const nFields = 4 + VALUE_COLUMNS.length + CARRY_COLUMNS.length + DELTA_COLUMNS.length;
  const device = Buffer.from(batch.deviceId, 'utf8');
  const outbox = batch.outboxId === null ? null : Buffer.from(batch.outboxId, 'utf8');
  for (let i = 0; i < rows.length; i++) {
    const f = fresh[i];
    if (!f) continue;
    const r = rows[i]!;
    w.row(nFields);
    w.timestamptz(r.t);
    w.bytes(device);
    w.bytes(outbox);
    w.int8(batch.outboxId === null ? null : r.seq);
    // VALUE_COLUMNS, written straight from the snapshot (no intermediate array per row).
    const snap = r.snapshot;
    for (const k of SNAPSHOT_NUMERIC_FIELDS) w.float8(snap[k]);
    for (const k of SNAPSHOT_TEXT_FIELDS) w.text(snap[k]);
    w.text(snap.stale_sources.length > 0 ? JSON.stringify(snap.stale_sources) : null);
    w.bytes(jsonb(devicesJson(snap)));
    w.bytes(jsonb(r.extra));
    for (const x of f.carry) w.float8(x);
    for (const x of f.delta) w.float8(x);
  }
}
