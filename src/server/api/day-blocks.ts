/**
 * A history answer joined from day blocks: the points of each whole local day that ended are
 * rendered and compressed once, kept in the store (DayBlockStore in ../store/types.ts), and joined
 * with the parts rendered now (the partial days at either end, today) into one gzip answer. A month
 * at 15 minutes is then ~30 stored pieces and two short reads instead of 2 976 buckets read,
 * written as JSON and compressed on every request: the cold path of a server with many homes, where
 * few answers repeat but closed days are asked for again and again.
 *
 * The answer's bytes are exactly those of the answer rendered whole (a test holds them equal). A
 * day's block is made the first time an answer covers the day, from the buckets that answer reads;
 * a write that changes an ended day's buckets (late data, an edge's backlog) raises the day's epoch,
 * and its block is made anew on the next request.
 */
import type { BucketCalendar } from '../../core/bucket-calendar.js';
import type { HistoryResolution, Resolution } from '../../core/bucket-shape.js';
import type { BucketTable } from '../../core/bucket-table.js';
import { type DeflatePiece, deflatePiece, deflatePieceAsync } from '../../lib/deflate-join.js';
import { dayReach, SETTLE_MS } from '../store/day-epochs.js';
import type { DayBlock, DayBlockRead, Store } from '../store/types.js';
import { Rendered } from './cache.js';
import { firstBucketFrom, renderPoints } from './history.js';
import type { ZoneClock } from './time.js';
import { HttpError, withDeadline } from './util.js';

/** Resolutions joined from day blocks: a day holds 1 440, 96 or 24 of their points. */
const BLOCK_RESOLUTIONS: ReadonlySet<HistoryResolution> = new Set<Resolution>(['1min', '15min', 'hourly']);
const joinable = (r: HistoryResolution): r is Resolution => BLOCK_RESOLUTIONS.has(r);

/** The points' JSON as blocks hold it: raise it when that changes, and every kept block is made anew. */
export const DAY_BLOCK_FORMAT = 2;

/** Fewer whole ended days in the range than this: the answer is rendered whole. */
const MIN_DAYS = 2;

/** zlib levels: a block is made once and sent many times; the parts rendered now are sent once. */
const LEVEL = { block: 6, now: 1 } as const;
/** Parts rendered now shorter than this are compressed on the event loop (cheaper than a hop to the pool). */
const SYNC_BELOW = 16 * 1024;

const COMMA = Buffer.from(',');
const COMMA_PIECE = deflatePiece(COMMA, LEVEL.block);
const CLOSE = Buffer.from(']}');

export interface DayBlockRequest {
  id: string;
  resolution: HistoryResolution;
  start: number;
  end: number;
  /** The answer's text up to `"points":`. */
  head: string;
}

export interface DayBlockDeps {
  store: Store;
  calendar: BucketCalendar;
  clock: ZoneClock;
  now: number;
  timeoutMs: number;
  /** Logs a warning (at most one a minute: a store that cannot keep blocks must not flood the log). */
  warn: (obj: Record<string, unknown>, msg: string) => void;
  /** Counts the days joined from kept blocks and the blocks made (kwartier_history_day_blocks_total). */
  counted: (result: 'kept' | 'made', days: number) => void;
}

/**
 * The whole local days in [start, end) whose last `res` bucket ended at least SETTLE_MS before
 * `now` (the write path raises their epoch on any change: ../store/day-epochs.ts).
 */
export function settledDays(
  calendar: BucketCalendar,
  res: Resolution,
  start: number,
  end: number,
  now: number,
): number[] {
  let day = calendar.start('daily', start);
  if (day < start) day = calendar.end('daily', day);
  const days: number[] = [];
  for (;;) {
    const next = calendar.end('daily', day);
    if (next > end || dayReach(calendar, res, next) > now - SETTLE_MS) return days;
    days.push(day);
    day = next;
  }
}

/** The answer joined from day blocks, or null when it is not worth it (rendered whole then). */
export async function answerFromDayBlocks(d: DayBlockDeps, q: DayBlockRequest): Promise<Rendered | null> {
  const { store, calendar } = d;
  const resolution = q.resolution;
  if (!store.dayBlocks.enabled || !joinable(resolution)) return null;
  const days = settledDays(calendar, resolution, q.start, q.end, d.now);
  if (days.length < MIN_DAYS) return null;
  const first = days[0]!;
  const after = calendar.end('daily', days[days.length - 1]!);
  let kept: DayBlockRead;
  try {
    kept = await withDeadline(
      store.dayBlocks.read(q.id, resolution, DAY_BLOCK_FORMAT, first, after),
      d.timeoutMs,
      'store.dayBlocks',
    );
  } catch (err) {
    if (err instanceof HttpError) throw err; // the store did not answer in time: neither would it now
    // The blocks are a shortcut: without them the answer is rendered whole, as it would be anyway.
    d.warn({ err, device_id: q.id }, 'api: day blocks not read (the answer is rendered whole)');
    return null;
  }
  const missing = days.filter((day) => !kept.blocks.has(day));
  d.counted('kept', days.length - missing.length);
  const table = (from: number, to: number): Promise<BucketTable | null> =>
    from < to
      ? withDeadline(store.bucketTable(q.id, resolution, new Date(from), new Date(to)), d.timeoutMs, 'store.buckets')
      : Promise.resolve(null);
  const points = (t: BucketTable | null, from = -Infinity, to = Infinity): Buffer =>
    t ? renderPoints(t, firstBucketFrom(t, from), firstBucketFrom(t, to), d.clock) : Buffer.alloc(0);
  // The partial days at either end, and each run of days without a kept block, one read each.
  const runs = runsOf(missing, calendar);
  const [startTable, endTable, ...runTables] = await Promise.all([
    table(q.start, first),
    table(after, q.end),
    ...runs.map(([from, to]) => table(from, to)),
  ]);
  const blocks = kept.blocks;
  if (missing.length > 0) {
    const made: DayBlock[] = [];
    for (const [r, [from, to]] of runs.entries())
      for (let day = from; day < to; day = calendar.end('daily', day)) {
        // One at a time on the thread pool: a year of hourly days does not queue 366 jobs there at once.
        const text = points(runTables[r]!, day, calendar.end('daily', day));
        const piece =
          text.length < SYNC_BELOW ? deflatePiece(text, LEVEL.block) : await deflatePieceAsync(text, LEVEL.block);
        made.push({ day, epoch: kept.epochs.get(day) ?? 0, piece });
        blocks.set(day, piece);
      }
    // Days without a point are not kept: a block is only ever as many as the days with data.
    const worth = made.filter((b) => b.piece.bytes > 0);
    d.counted('made', worth.length);
    await store.dayBlocks.put(q.id, resolution, DAY_BLOCK_FORMAT, worth).catch((err: unknown) => {
      d.warn({ err, device_id: q.id }, 'api: day blocks not kept (the answer is sent all the same)');
    });
  }
  const parts: (Buffer | DeflatePiece)[] = [
    points(startTable),
    ...days.map((day) => blocks.get(day)!),
    points(endTable),
  ];
  return new Rendered(await joinParts(q.head, parts));
}

/** Consecutive days (local day starts, in order) as [first day, end of the last) runs. */
function runsOf(days: readonly number[], calendar: BucketCalendar): [number, number][] {
  const runs: [number, number][] = [];
  for (const day of days) {
    const last = runs[runs.length - 1];
    const end = calendar.end('daily', day);
    if (last && last[1] === day) last[1] = end;
    else runs.push([day, end]);
  }
  return runs;
}

/**
 * `head[` + the non-empty parts joined by commas + `]}` as pieces: text parts next to each other are
 * compressed together; a comma alone between two blocks is a piece made once.
 */
async function joinParts(head: string, parts: readonly (Buffer | DeflatePiece)[]): Promise<DeflatePiece[]> {
  const out: (DeflatePiece | Promise<DeflatePiece>)[] = [];
  let text: Buffer[] = [Buffer.from(`${head}[`, 'utf8')];
  let any = false;
  const flush = (): void => {
    if (text.length === 1 && text[0] === COMMA) out.push(COMMA_PIECE);
    else {
      const t = Buffer.concat(text);
      out.push(t.length < SYNC_BELOW ? deflatePiece(t, LEVEL.now) : deflatePieceAsync(t, LEVEL.now));
    }
    text = [];
  };
  for (const p of parts) {
    const isText = Buffer.isBuffer(p);
    if ((isText ? p.length : p.bytes) === 0) continue;
    if (any) text.push(COMMA);
    any = true;
    if (isText) text.push(p);
    else {
      if (text.length > 0) flush();
      out.push(p);
    }
  }
  text.push(CLOSE);
  flush();
  return Promise.all(out);
}
