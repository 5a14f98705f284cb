/**
 * What is stored around a batch's time range, read before planning it (core/aggregate.ts
 * planInsert): the row before, the rows inside, the first rows after, and the counters retention
 * kept. One statement (WriteSql.context) reads it for one device or for every device of a flush.
 */
import type pg from 'pg';
import type { StoredRow, Vec } from '../../../core/aggregate.js';
import { type DbRow, existingLimit, NEXT_PAGE, type Prepared, storedRow } from '../common.js';
import { int4Array, timestamptzArray } from '../pg-binary.js';
import type { InsertBatch } from '../types.js';
import type { PgDb } from './db.js';
import type { WriteSql } from './write-sql.js';

/** What is stored around a batch's time range. */
export interface Context {
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

export class ContextReader {
  constructor(
    private readonly db: PgDb,
    private readonly sql: WriteSql,
  ) {}

  /** One device's context: `existingLimit` + 1 rows inside at most (more means: split the batch). */
  async context(
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
  async contextMany(
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
      this.db.q(this.sql.context, [
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
}
