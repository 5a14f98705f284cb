/**
 * Reads a register table over a transport in few grouped requests, and learns what the device
 * does not support so it stops asking:
 * - A request answered with exception 2 (illegal data address) is split in halves until the bad
 *   row(s) are found. A bad row becomes null and is left out of later requests (requests never
 *   span its addresses) until `retryUnsupportedMs` has passed; then it is tried once more.
 *   When both halves of a failed request succeed, the hole between them is what the device
 *   refuses: those two rows are never put in one request again.
 * - A row that reads the not-available marker is null. After `markerLimit` markers in a row it is
 *   no longer a reason to send a request (it is still decoded when another request covers it,
 *   and any real value brings it back); it is retried after `retryUnsupportedMs` too.
 * - Any other Modbus exception makes the rows of that request null for this cycle only.
 * - Transport errors (timeout, closed) are thrown: the caller reconnects.
 */
import { planReads, type ReadGroup, sliceGroup, spanOf } from './read-plan.js';
import { decodeRows } from './register-codec.js';
import { DEFAULT_MARKERS, type Markers, type RegisterFn, type RegisterRow, rowEnd, rowKey } from './register-table.js';
import { EXCEPTION_ILLEGAL_DATA_ADDRESS, ModbusException, type RegisterTransport } from './tcp-client.js';

export interface TableReaderOptions {
  /** Most registers in one request. */
  maxCount: number;
  /** Most unused registers one request may span between rows. */
  maxGap: number;
  /** How long an unsupported row is left out before it is tried again (ms). */
  retryUnsupportedMs: number;
  /** Consecutive not-available markers after which a row no longer causes requests. */
  markerLimit?: number;
  /** Told once per row each time it is left out or comes back. */
  onRowStatus?: (event: RowStatusEvent) => void;
  /** The table's not-available markers (default: the Sungrow/Huawei convention). */
  markers?: Markers;
  now?: () => number;
}

export interface RowStatusEvent {
  row: RegisterRow;
  status: 'unsupported' | 'not_available' | 'supported';
  /** For 'unsupported' / 'not_available': when the row will be tried again (ms). */
  retryAt?: number;
}

export interface CycleResult<F extends string> {
  /** Every row's value: number/string, or null (unsupported, marker, failed request). */
  values: Map<F, number | string | null>;
  /** Requests that got an answer with data. */
  okRequests: number;
  /** Requests answered with a Modbus exception. */
  exceptionRequests: number;
}

interface Exclusion {
  reason: 'exception' | 'marker';
  until: number;
}

export class TableReader<F extends string> {
  private readonly excluded = new Map<string, Exclusion>();
  private readonly markerStreak = new Map<string, number>();
  /** Pairs of adjacent rows that must not share a request ("a|b" row keys). */
  private readonly apartPairs = new Set<string>();
  /** Rows that were left out at some point (to say so when they answer again). */
  private readonly everExcluded = new Set<string>();
  private readonly plans = new Map<string, ReadGroup<F>[]>();
  private readonly now: () => number;

  constructor(
    private readonly rows: readonly RegisterRow<F>[],
    private readonly transport: RegisterTransport,
    private readonly opts: TableReaderOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Rows left out of requests right now, with the reason. */
  excludedRows(): Array<{ row: RegisterRow<F>; reason: 'exception' | 'marker'; until: number }> {
    const out: Array<{ row: RegisterRow<F>; reason: 'exception' | 'marker'; until: number }> = [];
    for (const r of this.rows) {
      const e = this.excluded.get(rowKey(r));
      if (e) out.push({ row: r, ...e });
    }
    return out;
  }

  /**
   * The requests the next read of `poll` rows will send (before any new learning); `blocks`: only
   * the rows of these blocks (`RegisterRow.block`, '' for rows without one).
   */
  plan(poll: 'cycle' | 'start' = 'cycle', blocks?: ReadonlySet<string>): ReadGroup<F>[] {
    this.expireExclusions();
    const key = blocks ? `${poll}|${[...blocks].sort().join('|')}` : poll;
    let p = this.plans.get(key);
    if (!p) {
      const wanted = this.rowsOf(poll, blocks).filter((r) => !this.excluded.has(rowKey(r)));
      p = planReads(wanted, {
        maxCount: this.opts.maxCount,
        maxGap: this.opts.maxGap,
        avoid: (fn, wire) => this.isAvoided(fn, wire),
        apart: (a, b) => this.apartPairs.has(`${rowKey(a)}|${rowKey(b)}`),
      });
      this.plans.set(key, p);
    }
    return p;
  }

  private rowsOf(poll: 'cycle' | 'start', blocks?: ReadonlySet<string>): RegisterRow<F>[] {
    return this.rows.filter((r) => (r.poll ?? 'cycle') === poll && (!blocks || blocks.has(r.block ?? '')));
  }

  /**
   * Reads every row of one kind (`cycle`: each poll; `start`: identity, once per connection);
   * `blocks`: only the rows of these blocks (the values hold only those rows).
   */
  async read(poll: 'cycle' | 'start' = 'cycle', blocks?: ReadonlySet<string>): Promise<CycleResult<F>> {
    const result: CycleResult<F> = { values: new Map(), okRequests: 0, exceptionRequests: 0 };
    const rows = this.rowsOf(poll, blocks);
    for (const r of rows) result.values.set(r.field, null);
    const decoded = new Set<string>();
    const words = new Map<F, number[]>();
    for (const g of this.plan(poll, blocks)) await this.readGroup(g, rows, result, decoded, words);
    for (const [field, v] of decodeRows(rows, words, this.opts.markers ?? DEFAULT_MARKERS)) result.values.set(field, v);
    this.afterRead(rows, result.values, decoded);
    return result;
  }

  /**
   * Reads `rows` (any poll kind, e.g. one row before and after a write) in as few requests as the
   * plan allows, with the same exception handling. Rows not read are null.
   */
  async readRows(rows: readonly RegisterRow<F>[]): Promise<CycleResult<F>> {
    const result: CycleResult<F> = { values: new Map(), okRequests: 0, exceptionRequests: 0 };
    for (const r of rows) result.values.set(r.field, null);
    const words = new Map<F, number[]>();
    const groups = planReads(rows, { maxCount: this.opts.maxCount, maxGap: this.opts.maxGap });
    for (const g of groups) await this.readGroup(g, [...rows], result, new Set(), words);
    for (const [field, v] of decodeRows(rows, words, this.opts.markers ?? DEFAULT_MARKERS)) result.values.set(field, v);
    return result;
  }

  private isAvoided(fn: RegisterFn, wire: number): boolean {
    for (const r of this.rows) {
      if (r.fn !== fn || wire < r.wire || wire >= rowEnd(r)) continue;
      return this.excluded.get(rowKey(r))?.reason === 'exception';
    }
    return false;
  }

  private expireExclusions(): void {
    const now = this.now();
    for (const [k, e] of this.excluded) {
      if (e.until <= now) {
        this.excluded.delete(k);
        this.markerStreak.delete(k);
        this.plans.clear();
      }
    }
  }

  private exclude(row: RegisterRow<F>, reason: 'exception' | 'marker'): void {
    const k = rowKey(row);
    const until = this.now() + this.opts.retryUnsupportedMs;
    this.excluded.set(k, { reason, until });
    this.markerStreak.delete(k);
    this.everExcluded.add(k);
    this.plans.clear();
    this.opts.onRowStatus?.({ row, status: reason === 'exception' ? 'unsupported' : 'not_available', retryAt: until });
  }

  /** Reads one planned group, splitting it on exception 2. Transport errors propagate. */
  private async readGroup(
    g: ReadGroup<F>,
    pollRows: RegisterRow<F>[],
    result: CycleResult<F>,
    decoded: Set<string>,
    out: Map<F, number[]>,
  ): Promise<boolean> {
    let words: number[];
    try {
      words = await this.transport.readRegisters(g.fn, g.start, g.count);
    } catch (err) {
      if (!(err instanceof ModbusException)) throw err;
      result.exceptionRequests++;
      if (err.exceptionCode !== EXCEPTION_ILLEGAL_DATA_ADDRESS) return false;
      if (g.rows.length === 1) {
        const only = g.rows[0];
        if (only) this.exclude(only, 'exception');
        return false;
      }
      const mid = Math.ceil(g.rows.length / 2);
      const left = g.rows.slice(0, mid);
      const right = g.rows.slice(mid);
      const okLeft = await this.readGroup(spanOf(left), pollRows, result, decoded, out);
      const okRight = await this.readGroup(spanOf(right), pollRows, result, decoded, out);
      const a = left[left.length - 1];
      const b = right[0];
      if (okLeft && okRight && a && b) {
        // Each half reads fine on its own: the device refuses something between them.
        this.apartPairs.add(`${rowKey(a)}|${rowKey(b)}`);
        this.plans.clear();
      }
      return false;
    }
    result.okRequests++;
    // Decode every row the answer covers, also rows that were not the reason for the request.
    const inSpan = pollRows.filter((r) => r.fn === g.fn && r.wire >= g.start && rowEnd(r) <= g.start + g.count);
    for (const [field, w] of sliceGroup(g.start, words, inSpan)) out.set(field, w);
    for (const r of inSpan) decoded.add(rowKey(r));
    return true;
  }

  /** Markers: count them per row, leave out persistent ones, bring back rows that answer again. */
  private afterRead(rows: RegisterRow<F>[], values: Map<F, number | string | null>, decoded: Set<string>): void {
    const limit = this.opts.markerLimit ?? 3;
    for (const r of rows) {
      const k = rowKey(r);
      if (!decoded.has(k)) continue; // not read this cycle: unsupported, or its request failed
      const ex = this.excluded.get(k);
      const v = values.get(r.field);
      if (v !== null && v !== undefined) {
        this.markerStreak.delete(k);
        if (ex) {
          this.excluded.delete(k);
          this.plans.clear();
        }
        if (this.everExcluded.delete(k)) this.opts.onRowStatus?.({ row: r, status: 'supported' });
        continue;
      }
      if (ex) continue;
      const n = (this.markerStreak.get(k) ?? 0) + 1;
      this.markerStreak.set(k, n);
      if (n >= limit) this.exclude(r, 'marker');
    }
  }
}
