/**
 * The PostgreSQL store, in its own schema. Two layouts behind the same tables' names:
 *
 * - plain PostgreSQL (the default when TimescaleDB is absent): `energy_readings` is range-partitioned
 *   by UTC day (partitions created ahead as needed, dropped by retention), and the rollup tables
 *   energy_1min … energy_monthly are kept up to date inside the insert transaction, set-based: the
 *   maths (core/aggregate.ts) yields one delta row per touched bucket and one upsert per table adds
 *   them up.
 * - TimescaleDB (when the extension is installed or can be created): `energy_readings` is a
 *   hypertable with a retention policy; energy_1min, energy_15min, energy_hourly and energy_daily are
 *   continuous aggregates over the per-reading deltas, energy_weekly and energy_monthly views over
 *   energy_daily. Written with care, but not run on the development machine (no TimescaleDB there).
 *
 * Writes: one transaction per insertMany() (per MAX_BATCHES_PER_TX batches of it), a per-device advisory lock (the delta of a reading depends
 * on its neighbours); for the devices alone in the call, their neighbours read in one statement,
 * their new rows in one binary COPY and their rollups and acks in one statement. See docs/storage.md.
 */
import pg from 'pg';
import {
  BucketCalendar,
  COUNTER_FIELDS,
  type CounterLimits,
  continueChain,
  DEFAULT_COUNTER_LIMITS,
  ENERGY_KEYS,
  knownAfter,
  mergeRollup,
  planInsert,
  ROLLUP_RESOLUTIONS,
  type RollupRow,
  type RowChange,
  rollupChanges,
  type StoredRow,
  toBucket,
  type Vec,
  valuesAt,
} from '../../core/aggregate.js';
import { ConfigError, errorMessage, KwartierError } from '../../core/errors.js';
import { SNAPSHOT_NUMERIC_FIELDS, SNAPSHOT_TEXT_FIELDS, type Snapshot } from '../../core/snapshot.js';
import { createLogger, type Logger } from '../../lib/log.js';
import {
  batchSeqs,
  CARRY_COLUMNS,
  CHAIN_PAGE,
  type DbRow,
  DELTA_COLUMNS,
  devicesJson,
  existingLimit,
  NEXT_PAGE,
  type Prepared,
  positiveOption,
  prepareBatch,
  RETENTION_CHUNK,
  ROLLUP_COLUMNS,
  ROLLUP_MAX_COLUMNS,
  ROLLUP_TABLES,
  retentionCut,
  rollupFromRow,
  rollupValues,
  STATE_COLUMNS,
  seqRanges,
  snapshotFromRow,
  storedRow,
  VALUE_COLUMNS,
} from './common.js';
import { latestVersion, POSTGRES_MIGRATIONS, pending } from './migrations.js';
import { BinaryCopyWriter, copyFrom, float8Array, int4Array, int8Array, timestamptzArray } from './pg-binary.js';
import type {
  Bucket,
  DeadLetter,
  DeadLetterQuery,
  InsertBatch,
  InsertResult,
  Resolution,
  RetentionResult,
  Store,
  StoredDeadLetter,
  StoreOptions,
} from './types.js';

const DAY_MS = 86_400_000;
/** Days before today whose rows the write path still gives a day partition (the rest: default). */
const HOT_DAYS_BACK = 1;
/**
 * Batches (≈ devices) written in one transaction at most; a larger insertMany() is written in
 * several, one after the other. Each device is locked by one target of one statement (PostgreSQL
 * allows 1664) and holds a lock-table entry until COMMIT (max_locks_per_transaction × connections,
 * 6400 by default, for the whole server): 10 000 homes at 1 Hz put thousands of devices in a flush
 * as soon as the ingester is a moment behind.
 */
const MAX_BATCHES_PER_TX = 500;

export interface PostgresConnection {
  connectionString: string;
  /** Schema holding the tables (created by migrate()). Default 'kwartier'. */
  schema?: string;
}

export interface PostgresStoreOptions extends StoreOptions {
  logger?: Logger;
  /**
   * 'off' (default): plain PostgreSQL, the tested layout; 'on': TimescaleDB or fail; 'auto':
   * TimescaleDB when available. An opt-in, not run by the tests (no TimescaleDB on the development
   * machine). A schema keeps the layout recorded at its creation (kw_meta 'mode') whatever this says.
   */
  timescale?: 'auto' | 'on' | 'off';
  /** Connections in the pool. Default 8: the ingester's 4 flush lanes, and the API's reads beside them. */
  poolSize?: number;
  /** Server-side statement timeout, ms. Default 60 000. */
  statementTimeoutMs?: number;
  /** Connecting timeout, ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** application_name of the connections (pg_stat_activity). Default 'kwartier'. */
  applicationName?: string;
}

export type PostgresMode = 'plain' | 'timescale';

const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** PostgreSQL text cannot hold U+0000 (a dead letter may be binary garbage): U+FFFD stands in. */
const NUL = String.fromCharCode(0);
const noNul = (x: string): string => (x.includes(NUL) ? x.split(NUL).join('\uFFFD') : x);

const ms = (col: string): string => `(extract(epoch from ${col}) * 1000)::float8`;
const ts = (expr: string): string => `(timestamptz 'epoch' + ${expr} * interval '1 millisecond')`;

function partitionName(day: number): string {
  return `energy_readings_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

function partitionDay(name: string): number | null {
  const m = /^energy_readings_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS;
}

class PostgresStore implements Store {
  private pool: pg.Pool | null = null;
  private readonly s: string;
  private readonly calendar: BucketCalendar;
  private readonly retentionDays: number;
  private readonly deadLetterDays: number;
  private readonly chunkRows: number;
  private readonly log: Logger;
  private readonly limits: CounterLimits;
  private mode: PostgresMode | null = null;
  private readonly partitions = new Set<number>();
  private readonly names = new Map<string, string>();
  private readonly lockSpace: number;
  /** Advisory lock keys (bigint key space, apart from the per-device two-int keys). */
  private readonly migrateKey: string;
  private readonly retentionKey: string;
  private readonly sql: ReturnType<typeof buildSql>;

  constructor(
    private readonly conn: PostgresConnection,
    private readonly opts: PostgresStoreOptions,
  ) {
    const schema = conn.schema ?? 'kwartier';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
      throw new ConfigError(`store.schema: '${schema}' must match ^[a-z_][a-z0-9_]*$ (at most 63 characters)`);
    this.s = ident(schema);
    this.calendar = new BucketCalendar(opts.timezone);
    this.retentionDays = positiveOption('raw_retention_days', opts.rawRetentionDays, 7);
    this.deadLetterDays = positiveOption('dead_letter_retention_days', opts.deadLetterRetentionDays, 30);
    this.chunkRows = Math.ceil(positiveOption('retentionChunkRows', opts.retentionChunkRows, RETENTION_CHUNK));
    this.log = opts.logger ?? createLogger('store', { type: 'postgres', schema });
    this.limits = { ...DEFAULT_COUNTER_LIMITS, ...opts.counterLimits };
    let h = 0;
    for (const c of schema) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
    this.lockSpace = h;
    this.migrateKey = String(BigInt(h) * 2n);
    this.retentionKey = String(BigInt(h) * 2n + 1n);
    this.sql = buildSql(this.s);
  }

  /** The layout in use (known after migrate()). */
  get layout(): PostgresMode | null {
    return this.mode;
  }

  private db(): pg.Pool {
    if (this.pool) return this.pool;
    const timeout = this.opts.statementTimeoutMs ?? 60_000;
    const pool = new pg.Pool({
      connectionString: this.conn.connectionString,
      max: this.opts.poolSize ?? 8,
      connectionTimeoutMillis: this.opts.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: timeout,
      query_timeout: timeout + 5_000,
      application_name: this.opts.applicationName ?? 'kwartier',
      // No JIT compilation: PostgreSQL's JIT (on by default since 11) compiles any statement whose
      // estimated cost passes jit_above_cost, and the rollup of a 10 000-row flush does; these
      // short writes gain nothing from compiled expressions and pay for the compiling. An
      // `options` in the connection string replaces this one.
      options: '-c jit=off',
    });
    pool.on('error', (err) => this.log.warn({ err: errorMessage(err) }, 'idle PostgreSQL connection failed'));
    // A connection that dies while checked out (PostgreSQL restarting) emits 'error' on its client;
    // without a listener that is an uncaught exception. The query in flight rejects on its own and
    // the caller's transaction handling takes it from there.
    pool.on('connect', (client) => {
      client.on('error', (err) => this.log.warn({ err: errorMessage(err) }, 'PostgreSQL connection failed'));
    });
    this.pool = pool;
    return pool;
  }

  private requireMigrated(): PostgresMode {
    if (!this.mode) throw new KwartierError('store_not_migrated', 'store: call migrate() before using the store');
    return this.mode;
  }

  /** A named (prepared) query: parsed and planned once per connection. */
  private q(text: string, values: unknown[] = []): pg.QueryConfig {
    let name = this.names.get(text);
    if (!name) {
      name = `kw${this.names.size}`;
      this.names.set(text, name);
    }
    return { name, text, values };
  }

  async migrate(): Promise<void> {
    const client = await this.db().connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(${this.migrateKey})`);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.s}.kw_meta (key text PRIMARY KEY, value text NOT NULL)`);
      const meta = new Map(
        (await client.query<{ key: string; value: string }>(`SELECT key, value FROM ${this.s}.kw_meta`)).rows.map(
          (r) => [r.key, r.value],
        ),
      );
      const tz = meta.get('timezone');
      if (tz && tz !== this.calendar.timezone)
        throw new ConfigError(
          `timezone: the store's aggregates were computed for '${tz}', not '${this.calendar.timezone}'`,
        );
      const mode = await this.chooseMode(client, meta.get('mode') as PostgresMode | undefined);
      if (mode === 'timescale' && this.retentionDays < 4)
        throw new ConfigError(
          'store.raw_retention_days: must be at least 4 with TimescaleDB (the aggregates refresh the last days from raw rows)',
        );
      // The numbered migrations this schema has not had (migrations.ts), in this transaction.
      const from = meta.get('schema_version') ?? null;
      const todo = pending(POSTGRES_MIGRATIONS, from, 'PostgreSQL');
      const ctx = {
        client,
        s: this.s,
        mode,
        timezone: this.calendar.timezone,
        retentionDays: this.retentionDays,
      };
      for (const m of todo) await m.up(ctx);
      if (todo.length > 0 && from !== null)
        this.log.info(
          { from, to: latestVersion(POSTGRES_MIGRATIONS), migrations: todo.map((m) => m.description) },
          'PostgreSQL store migrated',
        );
      const put = `INSERT INTO ${this.s}.kw_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
      await client.query(put, ['timezone', this.calendar.timezone]);
      await client.query(put, ['mode', mode]);
      await client.query(put, ['schema_version', String(latestVersion(POSTGRES_MIGRATIONS))]);
      await client.query('COMMIT');
      this.mode = mode;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    if (this.mode === 'plain') {
      await this.loadPartitions();
      const today = Math.floor(Date.now() / DAY_MS);
      await this.ensurePartitions([today, today + 1]);
    }
    this.log.info({ layout: this.mode }, 'PostgreSQL store ready');
  }

  private async chooseMode(client: pg.PoolClient, recorded: PostgresMode | undefined): Promise<PostgresMode> {
    const want = this.opts.timescale ?? 'off';
    const r = await client.query<{ installed: string | null; available: string | null; preload: string }>(
      `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS installed,
              (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
              current_setting('shared_preload_libraries') AS preload`,
    );
    const row = r.rows[0]!;
    const usable = (v: string | null): boolean => {
      if (!v) return false;
      const [maj, min] = v.split('.').map(Number);
      return (maj ?? 0) > 2 || ((maj ?? 0) === 2 && (min ?? 0) >= 9);
    };
    const canTimescale = usable(row.installed) || (usable(row.available) && /\btimescaledb\b/.test(row.preload));
    if (recorded === 'timescale') {
      if (!canTimescale)
        throw new ConfigError('store: this schema was created with TimescaleDB, which is not available any more');
    }
    if (recorded) return recorded;
    if (want === 'off') return 'plain';
    if (!canTimescale) {
      if (want === 'on')
        throw new ConfigError(
          'store: TimescaleDB ≥ 2.9 is not available (extension not installed or not in shared_preload_libraries)',
        );
      return 'plain';
    }
    if (!row.installed) await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
    return 'timescale';
  }

  // ---------------------------------------------------------------------------------------------
  // Partitions (plain layout)

  private async loadPartitions(): Promise<void> {
    const r = await this.db().query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = '${this.s}.energy_readings'::regclass`,
    );
    this.partitions.clear();
    for (const { name } of r.rows) {
      const d = partitionDay(name);
      if (d !== null) this.partitions.add(d);
    }
  }

  /**
   * Creates the daily partitions (UTC days since the epoch) that do not exist yet. A day whose rows
   * already went to the default partition (a reading from the future, before its day came) gets its
   * partition with those rows moved into it (movePartition).
   */
  private async ensurePartitions(days: Iterable<number>): Promise<void> {
    for (const day of days) {
      if (this.partitions.has(day)) continue;
      const from = new Date(day * DAY_MS).toISOString();
      const to = new Date((day + 1) * DAY_MS).toISOString();
      try {
        await this.db().query(
          `CREATE TABLE IF NOT EXISTS ${this.s}.${partitionName(day)} PARTITION OF ${this.s}.energy_readings FOR VALUES FROM ('${from}') TO ('${to}')`,
        );
      } catch (err) {
        const code = (err as { code?: string }).code;
        // 23514: the default partition holds rows of that day.
        if (code === '23514') await this.movePartition(day);
        // Another writer created it at the same moment (42P07, or 23505 on pg_type in the race).
        else if (code !== '42P07' && code !== '23505') throw err;
      }
      this.partitions.add(day);
    }
  }

  /**
   * The partition of `day`, created as a table of its own, filled with that day's rows taken out of
   * the default partition and attached: one transaction, under the retention lock (no insert
   * interleaves).
   */
  private async movePartition(day: number): Promise<void> {
    const from = new Date(day * DAY_MS).toISOString();
    const to = new Date((day + 1) * DAY_MS).toISOString();
    const part = `${this.s}.${partitionName(day)}`;
    const client = await this.db().connect();
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${this.retentionKey})`);
      await client.query(`CREATE TABLE ${part} (LIKE ${this.s}.energy_readings INCLUDING DEFAULTS)`);
      const moved = await client.query(
        `WITH m AS (DELETE FROM ${this.s}.energy_readings_default WHERE time >= $1 AND time < $2 RETURNING *)
         INSERT INTO ${part} SELECT * FROM m`,
        [from, to],
      );
      await client.query(
        `ALTER TABLE ${this.s}.energy_readings ATTACH PARTITION ${part} FOR VALUES FROM ('${from}') TO ('${to}')`,
      );
      await client.query('COMMIT');
      this.log.info(
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

  // ---------------------------------------------------------------------------------------------
  // Insert

  async insert(batch: InsertBatch): Promise<InsertResult> {
    const [r] = await this.insertMany([batch]);
    return r!;
  }

  async insertMany(batches: InsertBatch[]): Promise<InsertResult[]> {
    if (batches.length > MAX_BATCHES_PER_TX) {
      const out: InsertResult[] = [];
      for (let i = 0; i < batches.length; i += MAX_BATCHES_PER_TX)
        out.push(...(await this.insertMany(batches.slice(i, i + MAX_BATCHES_PER_TX))));
      return out;
    }
    const mode = this.requireMigrated();
    const prepared = batches.map(prepareBatch);
    try {
      return await this.insertPrepared(mode, batches, prepared);
    } catch (err) {
      // 23514: no partition for a row. Another process's retention dropped one this process still
      // knew about: look again and retry once.
      if (mode !== 'plain' || (err as { code?: string }).code !== '23514') throw err;
      await this.loadPartitions();
      return this.insertPrepared(mode, batches, prepared);
    }
  }

  private async insertPrepared(
    mode: PostgresMode,
    batches: InsertBatch[],
    prepared: Prepared[][],
  ): Promise<InsertResult[]> {
    if (mode === 'plain') {
      // Day partitions for yesterday, today and tomorrow only (at most 3 per flush, as a rule none:
      // migrate() and retention create them ahead); rows of any other day go to the default
      // partition, without DDL in the write path.
      const today = Math.floor(Date.now() / DAY_MS);
      const days = new Set<number>();
      for (const rows of prepared)
        for (const r of rows) {
          const day = Math.floor(r.t / DAY_MS);
          if (day >= today - HOT_DAYS_BACK && day <= today + 1) days.add(day);
        }
      await this.ensurePartitions(days);
    }
    // Lock every device of the call, in key order (no deadlock between concurrent calls), and share
    // the retention lock. One round trip with BEGIN.
    const keys = [...new Set(batches.map((b) => deviceLockKey(b.deviceId)))].sort((a, b) => a - b);
    const locks = keys.map((k) => `, pg_advisory_xact_lock(${this.lockSpace}, ${k})`).join('');
    const client = await this.db().connect();
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock_shared(${this.retentionKey})${locks}`);
      // A device alone in the call (the rule: the ingester sends one batch per device and outbox)
      // gets its context from one read for all of them; its new rows go into one COPY for all and
      // its rollups, device list and ack into one statement for all, both sent before COMMIT:
      // nothing else in the transaction reads them. Round trips per flush: 3 per device → 5.
      const perDevice = new Map<string, number>();
      for (const b of batches) perDevice.set(b.deviceId, (perDevice.get(b.deviceId) ?? 0) + 1);
      const alone = batches.map((b, i) => perDevice.get(b.deviceId) === 1 && prepared[i]!.length > 0);
      const contexts =
        alone.filter(Boolean).length > 1 ? await this.contextMany(client, batches, prepared, alone) : null;
      const copy: DeferredCopy = { w: new BinaryCopyWriter(1 << 16), expected: 0, writes: [], acks: [] };
      const out: InsertResult[] = [];
      for (let i = 0; i < batches.length; i++)
        out.push(
          await this.insertOne(client, batches[i]!, prepared[i]!, contexts?.get(i), alone[i] ? copy : undefined),
        );
      if (copy.writes.length > 0 || copy.acks.length > 0) {
        // The rollups, device list and ack watermarks of the deferred devices: one statement.
        const acked = await this.writeMany(client, copy);
        for (let i = 0; i < batches.length; i++) {
          const b = batches[i]!;
          if (alone[i] && b.outboxId !== null) out[i]!.ackedSeq = acked.get(batchKey(b)) ?? null;
        }
      }
      if (copy.expected > 0) {
        const n = await this.copyRows(client, copy.w.finish(), 'the devices of this flush');
        if (n !== copy.expected)
          throw new KwartierError('store_conflict', `store: copied ${n} rows of ${copy.expected}`, { retriable: true });
      }
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async insertOne(
    client: pg.PoolClient,
    batch: InsertBatch,
    all: Prepared[],
    ctx?: Context,
    copy?: DeferredCopy,
  ): Promise<InsertResult> {
    const st: SegmentState = { inserted: 0, ack: null };
    if (all.length > 0) await this.writeSegment(client, batch, all, true, st, ctx, copy);
    let ackedSeq: number | null = null;
    if (batch.outboxId !== null && copy && st.ack === null) {
      copy.acks.push(batch); // acknowledged by writeMany; insertPrepared fills ackedSeq in
    } else if (batch.outboxId !== null) {
      // The last segment's write statement advanced the watermark; without one (nothing new), alone.
      ackedSeq = st.ack ?? (await this.writeMany(client, { writes: [], acks: [batch] })).get(batchKey(batch)) ?? null;
    }
    return { inserted: st.inserted, duplicates: batch.readings.length - st.inserted, ackedSeq };
  }

  /**
   * Plans and writes readings (sorted, one device). When more stored rows lie inside their time
   * range than a few times their number (a sparse backlog over dense data), the readings are split
   * in two and written one half after the other, so what is read stays bounded.
   * `pre`: the context already read (contextMany); `copy`: add the new rows to the transaction's
   * one COPY instead of sending them now (only a whole batch, never a half: the second half reads
   * the first's rows).
   */
  private async writeSegment(
    client: pg.PoolClient,
    batch: InsertBatch,
    all: Prepared[],
    last: boolean,
    st: SegmentState,
    pre?: Context,
    copy?: DeferredCopy,
  ): Promise<void> {
    const dev = batch.deviceId;
    let rows = all;
    const limit = existingLimit(rows.length);
    let ctx = pre ?? (await this.context(client, dev, rows[0]!.t, rows[rows.length - 1]!.t, limit, NEXT_PAGE));
    // Readings at or before what retention removed are not aggregated again (their neighbours are gone).
    const horizon = ctx.carry?.t;
    if (horizon !== undefined && rows[0]!.t <= horizon) {
      rows = rows.filter((r) => r.t > horizon);
      if (rows.length === 0) return;
      ctx = await this.context(client, dev, rows[0]!.t, rows[rows.length - 1]!.t, limit, NEXT_PAGE);
    }
    if (ctx.existing.length > limit && rows.length > 1) {
      const mid = rows.length >> 1;
      await this.writeSegment(client, batch, rows.slice(0, mid), false, st);
      await this.writeSegment(client, batch, rows.slice(mid), last, st);
      return;
    }
    const prevKnown = ctx.prev ? knownAfter(ctx.prev) : ctx.carry ? ctx.carry.known : null;
    const incoming = rows.map((r) => ({ t: r.t, values: r.values, powers: r.powers }));
    const plan = planInsert({
      prevKnown,
      prevAt: ctx.prev ? valuesAt(ctx.prev) : null,
      limits: this.limits,
      existing: ctx.existing,
      next: ctx.next,
      nextIsAll: ctx.next.length < NEXT_PAGE,
      incoming,
    });
    if (plan.inserted === 0) return;
    if (plan.jumps.length > 0)
      this.log.warn({ device_id: dev, jumps: plan.jumps.slice(0, 10) }, 'counter jumps kept out of the aggregates');

    await this.updateRows(client, dev, plan.updates);
    // New rows: binary COPY (they are known to be new: the device is locked and its rows read).
    if (copy) {
      this.copyData(copy.w, batch, rows, plan);
      copy.expected += plan.inserted;
    } else {
      const w = new BinaryCopyWriter(plan.inserted * 700 + 64);
      this.copyData(w, batch, rows, plan);
      const n = await this.copyRows(client, w.finish(), `device '${dev}'`);
      if (n !== plan.inserted)
        throw new KwartierError('store_conflict', `store: copied ${n} rows of ${plan.inserted}`, { retriable: true });
    }
    st.inserted += plan.inserted;
    if (copy) {
      // Rollups and the device list with the other deferred devices (the ack too, see insertOne).
      copy.writes.push(deviceWrite(dev, rows, plan.changes));
    } else {
      // Rollups, the device list and (last segment) the ack watermark: one statement.
      const acks = last && batch.outboxId !== null ? [batch] : [];
      const acked = await this.writeMany(client, { writes: [deviceWrite(dev, rows, plan.changes)], acks });
      if (acks.length > 0) st.ack = acked.get(batchKey(batch)) ?? null;
    }

    // The stored rows after the batch whose carried values change, a page at a time (rare, see
    // continueChain). Their rollup deltas add to the same buckets, so they may come before or after.
    let chain = plan.chain;
    let after = ctx.next.length > 0 ? ctx.next[ctx.next.length - 1]!.t : rows[rows.length - 1]!.t;
    while (chain) {
      const page = (
        await client.query<DbRow>(this.q(this.sql.nextRows, [dev, new Date(after).toISOString(), CHAIN_PAGE]))
      ).rows.map(storedRow);
      const cont = continueChain(chain, page, page.length < CHAIN_PAGE);
      await this.updateRows(client, dev, cont.updates);
      if (cont.changes.length > 0)
        await this.writeMany(client, { writes: [deviceWrite(dev, rows, cont.changes)], acks: [] });
      chain = cont.chain;
      if (page.length > 0) after = page[page.length - 1]!.t;
    }
  }

  /**
   * Rollups and device-list entries of `writes`, and the ack watermarks of the batches in `acks`,
   * in one statement (sql.writeMany), for one device or many: batchKey → acknowledged seq.
   */
  private async writeMany(client: pg.PoolClient, d: DeferredWrites): Promise<Map<string, number>> {
    const params: unknown[] = [
      d.writes.map((w) => w.deviceId),
      float8Array(d.writes.map((w) => w.first)),
      float8Array(d.writes.map((w) => w.last)),
    ];
    if (this.mode === 'plain') {
      const perDevice = d.writes.map((w) => rollupChanges(w.changes, this.calendar, ROLLUP_RESOLUTIONS));
      for (const res of ROLLUP_RESOLUTIONS) {
        const devs: string[] = [];
        const buckets: RollupRow[] = [];
        d.writes.forEach((w, i) => {
          for (const b of perDevice[i]!.get(res) ?? []) {
            devs.push(w.deviceId);
            buckets.push(b);
          }
        });
        params.push(devs, timestamptzArray(buckets.map((b) => b.start)));
        const vals = buckets.map(rollupValues);
        ROLLUP_COLUMNS.forEach((c, k) => {
          const col = vals.map((v) => v[k]);
          params.push(isIntColumn(c) ? int4Array(col) : float8Array(col));
        });
      }
    }
    const rdev: string[] = [];
    const rob: string[] = [];
    const rlo: number[] = [];
    const rhi: number[] = [];
    for (const b of d.acks)
      for (const [lo, hi] of seqRanges(batchSeqs(b))) {
        rdev.push(b.deviceId);
        rob.push(b.outboxId!);
        rlo.push(lo);
        rhi.push(hi);
      }
    params.push(
      d.acks.map((b) => b.deviceId),
      d.acks.map((b) => b.outboxId!),
      int8Array(d.acks.map((b) => (b.floorSeq === null ? 0 : b.floorSeq - 1))),
      rdev,
      rob,
      int8Array(rlo),
      int8Array(rhi),
    );
    const r = await client.query<{ device_id: string; outbox_id: string; acked: number }>(
      this.q(this.mode === 'plain' ? this.sql.writeManyPlain : this.sql.writeManyTimescale, params),
    );
    return new Map(r.rows.map((x) => [`${x.device_id}\u0000${x.outbox_id}`, Number(x.acked)]));
  }

  /** Stored rows whose carry and deltas change: one UPDATE … FROM unnest(arrays). */
  private async updateRows(
    client: pg.PoolClient,
    dev: string,
    u: ReturnType<typeof planInsert>['updates'],
  ): Promise<void> {
    if (u.length === 0) return;
    const params: unknown[] = [dev, timestamptzArray(u.map((x) => x.t))];
    for (let c = 0; c < CARRY_COLUMNS.length; c++) params.push(float8Array(u.map((x) => x.carry[c])));
    for (let d = 0; d < DELTA_COLUMNS.length; d++) params.push(float8Array(u.map((x) => x.delta[d])));
    await client.query(this.q(this.sql.update, params));
  }

  private async context(
    client: pg.PoolClient,
    dev: string,
    first: number,
    last: number,
    existingLimit: number,
    nextLimit: number,
  ): Promise<Context> {
    const [ctx] = await this.contexts(client, [{ dev, first, last, limit: existingLimit + 1 }], nextLimit);
    return ctx!;
  }

  /**
   * The contexts of the batches marked in `which` (each one device's, sorted rows), as context()
   * reads them, in one statement: batch index → context.
   */
  private async contextMany(
    client: pg.PoolClient,
    batches: InsertBatch[],
    prepared: Prepared[][],
    which: boolean[],
  ): Promise<Map<number, Context>> {
    const idx: number[] = [];
    for (let i = 0; i < which.length; i++) if (which[i]) idx.push(i);
    const ctxs = await this.contexts(
      client,
      idx.map((i) => {
        const p = prepared[i]!;
        return {
          dev: batches[i]!.deviceId,
          first: p[0]!.t,
          last: p[p.length - 1]!.t,
          limit: existingLimit(p.length) + 1,
        };
      }),
      NEXT_PAGE,
    );
    return new Map(idx.map((i, k) => [i, ctxs[k]!]));
  }

  /** What is stored around each device's range (sql.context), one statement for all of them. */
  private async contexts(
    client: pg.PoolClient,
    ranges: Array<{ dev: string; first: number; last: number; limit: number }>,
    nextLimit: number,
  ): Promise<Context[]> {
    const r = await client.query<DbRow>(
      this.q(this.sql.context, [
        ranges.map((x) => x.dev),
        timestamptzArray(ranges.map((x) => x.first)),
        timestamptzArray(ranges.map((x) => x.last)),
        int4Array(ranges.map((x) => x.limit)),
        nextLimit,
      ]),
    );
    const out = ranges.map(emptyContext);
    for (const row of r.rows) addContextRow(out[Number(row.q) - 1]!, row);
    return out.map(sortContext);
  }

  /** COPY of encoded rows; a unique violation (another writer got there first) is worth a retry. */
  private async copyRows(client: pg.PoolClient, data: Buffer, whose: string): Promise<number> {
    try {
      return await copyFrom(client, this.sql.copyTarget, data);
    } catch (err) {
      if ((err as { code?: string }).code === '23505')
        throw new KwartierError('store_conflict', `store: concurrent write for ${whose}`, {
          retriable: true,
          cause: err,
        });
      throw err;
    }
  }

  /** Writes the new rows in binary COPY format to `w`, columns as in `sql.copyTarget`. */
  private copyData(
    w: BinaryCopyWriter,
    batch: InsertBatch,
    rows: Prepared[],
    plan: ReturnType<typeof planInsert>,
  ): void {
    const nFields = 4 + VALUE_COLUMNS.length + CARRY_COLUMNS.length + DELTA_COLUMNS.length;
    const device = Buffer.from(batch.deviceId, 'utf8');
    const outbox = batch.outboxId === null ? null : Buffer.from(batch.outboxId, 'utf8');
    for (let i = 0; i < rows.length; i++) {
      const f = plan.fresh[i];
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

  // ---------------------------------------------------------------------------------------------
  // Reads

  async ackedSeq(deviceId: string, outboxId: string): Promise<number | null> {
    this.requireMigrated();
    const r = await this.db().query<{ acked: number }>(this.q(this.sql.ackGet, [deviceId, outboxId]));
    return r.rows[0]?.acked ?? null;
  }

  async addDeadLetter(letter: DeadLetter): Promise<void> {
    this.requireMigrated();
    await this.db().query(
      this.q(`INSERT INTO ${this.s}.dead_letters (topic, device_id, reason, payload) VALUES ($1, $2, $3, $4)`, [
        noNul(letter.topic),
        letter.deviceId === null ? null : noNul(letter.deviceId),
        noNul(letter.reason),
        noNul(letter.payload),
      ]),
    );
  }

  async deadLetterCount(): Promise<number> {
    this.requireMigrated();
    const r = await this.db().query<{ n: number }>(this.q(`SELECT count(*)::int AS n FROM ${this.s}.dead_letters`));
    return r.rows[0]?.n ?? 0;
  }

  async deadLetters(q: DeadLetterQuery): Promise<StoredDeadLetter[]> {
    this.requireMigrated();
    const r = await this.db().query<DbRow>(
      this.q(
        `SELECT id::float8 AS id, ${ms('received_at')} AS received_at, topic, device_id, reason, payload
           FROM ${this.s}.dead_letters
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
    this.requireMigrated();
    if (ids.length === 0) return 0;
    const r = await this.db().query(
      this.q(`DELETE FROM ${this.s}.dead_letters WHERE id = ANY($1::bigint[])`, [ids.map(String)]),
    );
    return r.rowCount ?? 0;
  }

  async latest(deviceId: string): Promise<Snapshot | null> {
    this.requireMigrated();
    const r = await this.db().query<DbRow>(
      this.q(
        `SELECT ${this.sql.rawSelect} FROM ${this.s}.energy_readings WHERE device_id = $1 ORDER BY time DESC LIMIT 1`,
        [deviceId],
      ),
    );
    return r.rows[0] ? snapshotFromRow(r.rows[0]) : null;
  }

  async raw(deviceId: string, start: Date, end: Date, limit = 100_000): Promise<Snapshot[]> {
    this.requireMigrated();
    const r = await this.db().query<DbRow>(
      this.q(
        `SELECT ${this.sql.rawSelect} FROM ${this.s}.energy_readings
          WHERE device_id = $1 AND time >= $2 AND time < $3 ORDER BY time LIMIT $4`,
        [deviceId, start.toISOString(), end.toISOString(), limit],
      ),
    );
    return r.rows.map(snapshotFromRow);
  }

  async buckets(deviceId: string, resolution: Resolution, start: Date, end: Date): Promise<Bucket[]> {
    const mode = this.requireMigrated();
    const table = ROLLUP_TABLES[resolution];
    if (!table) throw new KwartierError('store_bad_resolution', `store: unknown resolution '${String(resolution)}'`);
    if (mode === 'timescale' && (resolution === 'weekly' || resolution === 'monthly'))
      return this.bucketsFromDaily(deviceId, resolution, start, end);
    const r = await this.db().query<DbRow>(
      this.q(
        `SELECT ${ms('bucket')} AS b, ${ROLLUP_COLUMNS.join(', ')} FROM ${this.s}.${table}
          WHERE device_id = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket`,
        [deviceId, start.toISOString(), end.toISOString()],
      ),
    );
    return r.rows.map((row) => toBucket(rollupFromRow(row, Number(row.b)), resolution, this.calendar));
  }

  /** TimescaleDB layout: weeks and months summed from the daily continuous aggregate. */
  private async bucketsFromDaily(deviceId: string, res: Resolution, start: Date, end: Date): Promise<Bucket[]> {
    const r = await this.db().query<DbRow>(
      this.q(
        `SELECT ${ms('bucket')} AS b, ${ROLLUP_COLUMNS.join(', ')} FROM ${this.s}.energy_daily
          WHERE device_id = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket`,
        [deviceId, start.toISOString(), new Date(end.getTime() + 32 * DAY_MS).toISOString()],
      ),
    );
    const groups = new Map<number, RollupRow>();
    for (const row of r.rows) {
      const day = rollupFromRow(row, Number(row.b));
      const s = this.calendar.start(res, day.start);
      if (s < start.getTime() || s >= end.getTime()) continue;
      const g = groups.get(s);
      if (g) mergeRollup(g, day);
      else groups.set(s, { ...day, start: s });
    }
    return [...groups.values()].sort((a, b) => a.start - b.start).map((g) => toBucket(g, res, this.calendar));
  }

  async devices(): Promise<string[]> {
    this.requireMigrated();
    const r = await this.db().query<{ device_id: string }>(
      this.q(`SELECT device_id FROM ${this.s}.devices ORDER BY device_id`),
    );
    return r.rows.map((x) => x.device_id);
  }

  // ---------------------------------------------------------------------------------------------
  // Retention

  /**
   * Plain layout: under the retention lock (inserts share it), records each device's counters before
   * the cut (device_carry) and drops the day partitions wholly before it, in one short transaction;
   * then deletes the rest before the cut (the default partition, the day straddling the cut) in
   * chunks of `retentionChunkRows`, one transaction each, so writers wait at most one chunk.
   * TimescaleDB: whole chunks only. Then expired dead letters, in chunks too.
   */
  async applyRetention(now: Date = new Date()): Promise<RetentionResult> {
    const mode = this.requireMigrated();
    let cut = retentionCut(now, this.retentionDays);
    let deleted = 0;
    await this.inRetentionTx(async (client) => {
      let drop: string[] = [];
      if (mode === 'timescale') {
        // Whole chunks only: deleting rows inside the refresh window would re-materialise aggregates.
        const c = await client.query<{ chunk: string; end_ms: number }>(
          `SELECT format('%I.%I', chunk_schema, chunk_name) AS chunk, ${ms('range_end')} AS end_ms
             FROM timescaledb_information.chunks
            WHERE hypertable_schema = $1 AND hypertable_name = 'energy_readings' AND range_end <= $2`,
          [this.conn.schema ?? 'kwartier', new Date(cut).toISOString()],
        );
        drop = c.rows.map((x) => x.chunk);
        cut = c.rows.reduce((m, x) => Math.max(m, Number(x.end_ms)), Number.NEGATIVE_INFINITY);
      } else {
        await this.loadPartitionsWith(client);
        for (const day of [...this.partitions].sort((a, b) => a - b))
          if ((day + 1) * DAY_MS <= cut) drop.push(`${this.s}.${partitionName(day)}`);
      }
      if (!Number.isFinite(cut)) return;
      // Remember each device's last known counters before the cut: the next reading's delta needs them.
      await client.query(this.sql.saveCarry, [new Date(cut).toISOString()]);
      for (const rel of drop) {
        const n = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${rel}`);
        deleted += n.rows[0]?.n ?? 0;
      }
      if (mode === 'timescale') {
        if (drop.length > 0)
          await client.query(`SELECT drop_chunks('${this.s}.energy_readings', older_than => $1::timestamptz)`, [
            new Date(cut).toISOString(),
          ]);
      } else {
        for (const rel of drop) await client.query(`DROP TABLE IF EXISTS ${rel}`);
      }
    });
    if (mode === 'plain' && Number.isFinite(cut)) {
      const del = `DELETE FROM ${this.s}.energy_readings r
        USING (SELECT device_id, time FROM ${this.s}.energy_readings WHERE time < $1 LIMIT $2) x
        WHERE r.device_id = x.device_id AND r.time = x.time`;
      for (;;) {
        let n = 0;
        await this.inRetentionTx(async (client) => {
          n = (await client.query(del, [new Date(cut).toISOString(), this.chunkRows])).rowCount ?? 0;
        });
        deleted += n;
        if (n < this.chunkRows) break;
      }
    }
    const letterCut = retentionCut(now, this.deadLetterDays);
    let deadLetters = 0;
    for (;;) {
      const r = await this.db().query(
        `DELETE FROM ${this.s}.dead_letters WHERE id IN
           (SELECT id FROM ${this.s}.dead_letters WHERE received_at < $1 ORDER BY id LIMIT $2)`,
        [new Date(letterCut).toISOString(), this.chunkRows],
      );
      const n = r.rowCount ?? 0;
      deadLetters += n;
      if (n < this.chunkRows) break;
    }
    if (mode === 'plain') {
      await this.loadPartitions();
      const today = Math.floor(now.getTime() / DAY_MS);
      await this.ensurePartitions([today, today + 1]);
    }
    if (deleted > 0)
      this.log.info({ deleted, before: new Date(cut).toISOString() }, 'raw readings removed by retention');
    if (deadLetters > 0)
      this.log.info({ dead_letters: deadLetters, before: new Date(letterCut).toISOString() }, 'dead letters removed');
    return { deleted, deadLetters };
  }

  /** One transaction holding the retention lock exclusively (inserts hold it shared). */
  private async inRetentionTx(body: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.db().connect();
    try {
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${this.retentionKey})`);
      await body(client);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async loadPartitionsWith(client: pg.PoolClient): Promise<void> {
    const r = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = '${this.s}.energy_readings'::regclass`,
    );
    this.partitions.clear();
    for (const { name } of r.rows) {
      const d = partitionDay(name);
      if (d !== null) this.partitions.add(d);
    }
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    this.mode = null;
    this.names.clear();
    if (p) await p.end();
  }
}

// -----------------------------------------------------------------------------------------------
// SQL

/** jsonb's binary COPY form: version 1, then the JSON text. */
function jsonb(text: string | null): Buffer | null {
  return text === null ? null : Buffer.concat([JSONB_VERSION, Buffer.from(text, 'utf8')]);
}
const JSONB_VERSION = Buffer.from([1]);

function isIntColumn(c: string): boolean {
  return c === 'samples' || c.startsWith('n_');
}

/** What is stored around a batch's time range (see context()). */
interface Context {
  prev: StoredRow | null;
  existing: StoredRow[];
  next: StoredRow[];
  carry: { t: number; known: Vec } | null;
}

function emptyContext(): Context {
  return { prev: null, existing: [], next: [], carry: null };
}

/** A row of the context statements: `k` says which part (0 prev, 1 existing, 2 next, 3 carry). */
function addContextRow(ctx: Context, row: DbRow): void {
  const k = Number(row.k);
  const sr = storedRow(row);
  if (k === 0) ctx.prev = sr;
  else if (k === 1) ctx.existing.push(sr);
  else if (k === 2) ctx.next.push(sr);
  else ctx.carry = { t: sr.t, known: sr.values };
}

function sortContext(ctx: Context): Context {
  ctx.existing.sort((a, b) => a.t - b.t);
  ctx.next.sort((a, b) => a.t - b.t);
  return ctx;
}

/**
 * What the devices alone in an insertMany() leave to its end: their new rows (one COPY), their
 * rollups and device list (`writes`), and their batches to acknowledge (`acks`): one statement.
 */
interface DeferredCopy extends DeferredWrites {
  w: BinaryCopyWriter;
  expected: number;
}

/** The input of writeMany: rollup deltas per device, and the batches to acknowledge. */
interface DeferredWrites {
  writes: DeviceWrite[];
  acks: InsertBatch[];
}

interface DeviceWrite {
  deviceId: string;
  /** First and last time of its readings (ms), for the device list. */
  first: number;
  last: number;
  changes: RowChange[];
}

function deviceWrite(deviceId: string, rows: Prepared[], changes: RowChange[]): DeviceWrite {
  return { deviceId, first: rows[0]!.t, last: rows[rows.length - 1]!.t, changes };
}

/** The key of a batch's ack in writeMany's answer. */
function batchKey(b: InsertBatch): string {
  return `${b.deviceId}\u0000${b.outboxId}`;
}

/** What the segments of one batch add up to. */
interface SegmentState {
  inserted: number;
  /** The acknowledged seq computed by the last segment's write statement. */
  ack: number | null;
}

/** FNV-1a of a device id: its advisory lock key (within the store's lock space). */
function deviceLockKey(deviceId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < deviceId.length; i++) {
    h ^= deviceId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
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

function buildSql(s: string) {
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

  // The write statement, for one device or several (each once): $1 devices, $2/$3 their first/last
  // times (ms); (plain layout) per rollup table a device array, a bucket array and one array per
  // column of the delta rows; then the batches to acknowledge: devices, outboxes, floor − 1, and
  // their seq ranges as four arrays (device, outbox, lo, hi). Returns (device_id, outbox_id, acked)
  // per batch to acknowledge. Data-modifying CTEs all run, whether the final SELECT reads them or not.
  //
  // The ack watermark, set-based and without reading the readings: `device_ack_ranges` holds the
  // committed seqs above the watermark as ranges (islands left by batches that came out of order; as
  // a rule there are none). Per (device, outbox), the stored islands and the batch's own ranges, cut
  // to what lies above max(stored watermark, floor − 1), are merged where they overlap or touch (gaps
  // and islands); the range that starts at most one above the watermark moves it to its end, the
  // others are stored again.
  const writeMany = (plain: boolean): string => {
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
  };

  const updCols = [...CARRY_COLUMNS, ...DELTA_COLUMNS];
  const update = `UPDATE ${s}.energy_readings r SET ${updCols.map((c) => `${c} = u.${c}`).join(', ')}
       FROM unnest($2::timestamptz[], ${updCols.map((_, i) => `$${i + 3}::float8[]`).join(', ')}) AS u(t, ${updCols.join(', ')})
      WHERE r.device_id = $1 AND r.time = u.t`;

  return {
    rawSelect: `device_id, ${ms('time')} AS t, ${VALUE_COLUMNS.join(', ')}`,
    copyTarget: `${s}.energy_readings (time, device_id, outbox_id, seq, ${[...VALUE_COLUMNS, ...CARRY_COLUMNS, ...DELTA_COLUMNS].join(', ')})`,
    context,
    nextRows: `SELECT ${stateSelect} FROM ${s}.energy_readings WHERE device_id = $1 AND time > $2::timestamptz ORDER BY time LIMIT $3`,
    writeManyPlain: writeMany(true),
    writeManyTimescale: writeMany(false),
    update,
    ackGet: `SELECT acked_seq::float8 AS acked FROM ${s}.device_acks WHERE device_id = $1 AND outbox_id = $2`,
    saveCarry: `INSERT INTO ${s}.device_carry AS c (device_id, time, ${COUNTER_FIELDS.join(', ')})
       SELECT d.device_id, l.time, ${COUNTER_FIELDS.map((f) => `coalesce(l.${f}, l.carry_${f})`).join(', ')}
         FROM ${s}.devices d CROSS JOIN LATERAL (
           SELECT * FROM ${s}.energy_readings r WHERE r.device_id = d.device_id AND r.time < $1::timestamptz ORDER BY r.time DESC LIMIT 1) l
       ON CONFLICT (device_id) DO UPDATE SET time = excluded.time, ${COUNTER_FIELDS.map((f) => `${f} = excluded.${f}`).join(', ')}
       WHERE excluded.time > c.time`,
  };
}

/** The PostgreSQL store in `conn.schema` (TimescaleDB when available, see PostgresStoreOptions.timescale). */
export function createPostgresStore(
  conn: PostgresConnection,
  opts: PostgresStoreOptions,
): Store & {
  readonly layout: PostgresMode | null;
} {
  return new PostgresStore(conn, opts);
}
