/**
 * Grouped reads of a register table: rows of one function share a request while the span, the
 * holes and the learnt splits allow (planReads), and a group's words are cut back into rows. Pure.
 */
import { decodeRows } from './register-codec.js';
import {
  DEFAULT_MARKERS,
  type Markers,
  type RegisterFn,
  type RegisterRow,
  rowEnd,
  rowLength,
} from './register-table.js';

/** One Modbus read request: `count` registers from `start`, covering `rows` (sorted by address). */
export interface ReadGroup<F extends string = string> {
  fn: RegisterFn;
  start: number;
  count: number;
  rows: RegisterRow<F>[];
}

export interface PlanOptions {
  /** Most registers in one request (the Modbus limit is 125; devices often want less). */
  maxCount: number;
  /** Most unused registers a request may span between two rows (0: only touching rows share a request). */
  maxGap: number;
  /** Addresses a request must never cover (registers known to answer "illegal address"). */
  avoid?: (fn: RegisterFn, wire: number) => boolean;
  /** True when `a` and the next row `b` must not share a request (a split learned at runtime). */
  apart?: (a: RegisterRow, b: RegisterRow) => boolean;
}

/** A group covering exactly `rows` (sorted by address, same function). */
export function spanOf<F extends string>(rows: RegisterRow<F>[]): ReadGroup<F> {
  const first = rows[0];
  if (!first) throw new Error('spanOf: no rows');
  const end = Math.max(...rows.map(rowEnd));
  return { fn: first.fn, start: first.wire, count: end - first.wire, rows };
}

/**
 * Groups rows into few read requests, computed from the table: rows of one function, in address
 * order, share a request while the span stays within maxCount, the hole between them is at most
 * maxGap registers, no avoided address lies in the span, and `apart` does not separate them.
 */
export function planReads<F extends string>(rows: readonly RegisterRow<F>[], opts: PlanOptions): ReadGroup<F>[] {
  const groups: ReadGroup<F>[] = [];
  for (const fn of ['input', 'holding'] as const) {
    const sorted = rows.filter((r) => r.fn === fn).sort((a, b) => a.wire - b.wire);
    let cur: RegisterRow<F>[] = [];
    let end = 0;
    for (const r of sorted) {
      const prev = cur[cur.length - 1];
      if (prev) {
        const gap = r.wire - end;
        const fits = rowEnd(r) - (cur[0]?.wire ?? r.wire) <= opts.maxCount;
        let blocked = gap > opts.maxGap || !fits || (opts.apart?.(prev, r) ?? false);
        if (!blocked && opts.avoid) {
          for (let a = end; a < r.wire; a++) {
            if (opts.avoid(fn, a)) {
              blocked = true;
              break;
            }
          }
        }
        if (blocked) {
          groups.push(spanOf(cur));
          cur = [];
        }
      }
      cur.push(r);
      end = Math.max(cur.length > 1 ? end : 0, rowEnd(r));
    }
    if (cur.length > 0) groups.push(spanOf(cur));
  }
  return groups;
}

/** The words of every row of `rows` lying inside a group's words (`words[0]` is at `start`). */
export function sliceGroup<F extends string>(
  start: number,
  words: readonly number[],
  rows: readonly RegisterRow<F>[],
): Map<F, number[]> {
  const out = new Map<F, number[]>();
  for (const r of rows) {
    const off = r.wire - start;
    if (off < 0 || off + rowLength(r) > words.length) continue;
    out.set(r.field, words.slice(off, off + rowLength(r)));
  }
  return out;
}

/** Decodes every row of `rows` lying inside a group's words (`words[0]` is at `start`). */
export function decodeGroup<F extends string>(
  start: number,
  words: readonly number[],
  rows: readonly RegisterRow<F>[],
  markers: Markers = DEFAULT_MARKERS,
): Map<F, number | string | null> {
  return decodeRows(rows, sliceGroup(start, words, rows), markers);
}
