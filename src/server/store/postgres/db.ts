/**
 * What every part of the PostgreSQL store shares: its options, the connection pool (opened on first
 * use), the named-statement cache, the schema's quoted name, its advisory lock keys and the layout
 * known after migrate(). The parts (schema.ts, partitions.ts, write.ts, reads.ts, dead-letters.ts,
 * retention.ts) each hold one PgDb; ../postgres.ts composes them into the Store.
 */
import pg from 'pg';
import { BucketCalendar, type CounterLimits, DEFAULT_COUNTER_LIMITS } from '../../../core/aggregate.js';
import { ConfigError, errorMessage, KwartierError } from '../../../core/errors.js';
import { createLogger, type Logger } from '../../../lib/log.js';
import { positiveOption, RETENTION_CHUNK } from '../common.js';
import type { StoreOptions } from '../types.js';

export const DAY_MS = 86_400_000;

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

/** A pool or one of its clients: what a statement can be sent to. */
export type Queryable = pg.Pool | pg.PoolClient;

export const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** A timestamptz column as float8 milliseconds since the epoch. */
export const ms = (col: string): string => `(extract(epoch from ${col}) * 1000)::float8`;
/** Milliseconds since the epoch (a float8 expression) as a timestamptz. */
export const ts = (expr: string): string => `(timestamptz 'epoch' + ${expr} * interval '1 millisecond')`;

export class PgDb {
  /** The schema's name as given (for catalog queries) and quoted (for SQL text). */
  readonly schemaName: string;
  readonly quotedSchema: string;
  readonly calendar: BucketCalendar;
  readonly retentionDays: number;
  readonly deadLetterDays: number;
  readonly chunkRows: number;
  readonly log: Logger;
  readonly limits: CounterLimits;
  /** The per-device advisory locks' first key (two-int key space): the schema's hash. */
  readonly lockSpace: number;
  /** Advisory lock keys (bigint key space, apart from the per-device two-int keys). */
  readonly migrateKey: string;
  readonly retentionKey: string;
  /** The layout in use: null until migrate() has run (and again after close()). */
  mode: PostgresMode | null = null;
  private connections: pg.Pool | null = null;
  private readonly names = new Map<string, string>();

  constructor(
    private readonly conn: PostgresConnection,
    readonly opts: PostgresStoreOptions,
  ) {
    const schema = conn.schema ?? 'kwartier';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
      throw new ConfigError(`store.schema: '${schema}' must match ^[a-z_][a-z0-9_]*$ (at most 63 characters)`);
    this.schemaName = schema;
    this.quotedSchema = ident(schema);
    this.calendar = new BucketCalendar(opts.timezone);
    this.retentionDays = positiveOption('raw_retention_days', opts.rawRetentionDays, 7);
    this.deadLetterDays = positiveOption('dead_letter_retention_days', opts.deadLetterRetentionDays, 30);
    this.chunkRows = Math.ceil(positiveOption('retentionChunkRows', opts.retentionChunkRows, RETENTION_CHUNK));
    this.log = opts.logger ?? createLogger('store', { type: 'postgres', schema });
    this.limits = { ...DEFAULT_COUNTER_LIMITS, ...opts.counterLimits };
    let hash = 0;
    for (const c of schema) hash = (Math.imul(hash, 31) + c.charCodeAt(0)) | 0;
    this.lockSpace = hash;
    this.migrateKey = String(BigInt(hash) * 2n);
    this.retentionKey = String(BigInt(hash) * 2n + 1n);
  }

  pool(): pg.Pool {
    if (this.connections) return this.connections;
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
    this.connections = pool;
    return pool;
  }

  requireMigrated(): PostgresMode {
    if (!this.mode) throw new KwartierError('store_not_migrated', 'store: call migrate() before using the store');
    return this.mode;
  }

  /** A named (prepared) query: parsed and planned once per connection. */
  q(text: string, values: unknown[] = []): pg.QueryConfig {
    let name = this.names.get(text);
    if (!name) {
      name = `kw${this.names.size}`;
      this.names.set(text, name);
    }
    return { name, text, values };
  }

  async close(): Promise<void> {
    const p = this.connections;
    this.connections = null;
    this.mode = null;
    this.names.clear();
    if (p) await p.end();
  }
}
