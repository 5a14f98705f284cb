/**
 * The history page's data: a period's buckets from the history route and its costs from the
 * cost-estimate route (per day for a week, else the period's total), cached for closed periods.
 */
import { mapLimit, type Params } from '../api.js';
import { addDays, daysBetween, type HistoryPeriod, type PeriodRange, today } from '../dates.js';
import type { CostAnswer, CostLine, HistoryAnswer, HistoryPoint } from '../types.js';

/** Cost answers of closed periods never change: kept for the page's lifetime. */
const costCache = new Map<string, CostAnswer | null>();

type Api = <A>(path: string, params?: Params) => Promise<A>;

async function costOf(api: Api, device: string, period: string, closed: boolean): Promise<CostAnswer | null> {
  const key = `${device}|${period}`;
  if (closed && costCache.has(key)) return costCache.get(key) ?? null;
  let answer: CostAnswer | null;
  try {
    answer = await api<CostAnswer>(`cost-estimate/${encodeURIComponent(device)}`, { period });
  } catch (err) {
    if (err instanceof Error && 'kind' in err && (err as { kind: string }).kind === 'unauthorized') throw err;
    answer = null; // a period the server cannot price: shown as unknown
  }
  // a period without readings is priced at its fixed fees only: shown as unknown, like its energy
  if (answer && answer.consumed_kwh === null) answer = { ...answer, cost_eur: null };
  if (closed) costCache.set(key, answer);
  return answer;
}

/** The buckets of a range: days (week, month) or months (year). */
function bucketsOf(period: HistoryPeriod, r: PeriodRange): string[] {
  if (period === 'year')
    return Array.from({ length: 12 }, (_, m) => `${r.start.slice(0, 4)}-${String(m + 1).padStart(2, '0')}`);
  return Array.from({ length: daysBetween(r.start, r.end) }, (_, d) => addDays(r.start, d));
}

export interface Side {
  range: PeriodRange;
  buckets: string[];
  points: Map<string, HistoryPoint>;
  /** Cost per bucket (null: unknown or in the future). */
  costs: (number | null)[];
  /** The cost answers per bucket (week; month and year with metric=cost). */
  answers: (CostAnswer | null)[];
  total: CostAnswer | null;
}

/** The breakdown lines of a side: the total's, or (a week) those of its days. */
export function linesOf(side: Side): CostLine[] {
  // a period without readings is priced at its fixed fees only, shown as unknown (costOf): no lines either
  const lines = (a: CostAnswer | null) => (a && a.consumed_kwh !== null ? a.breakdown : []);
  if (side.total) return lines(side.total);
  return side.answers.flatMap(lines);
}

export async function loadSide(
  api: Api,
  device: string,
  period: HistoryPeriod,
  range: PeriodRange,
  withBucketCosts: boolean,
): Promise<Side> {
  const now = today();
  const buckets = bucketsOf(period, range);
  const resolution = period === 'year' ? 'monthly' : 'daily';
  const history = await api<HistoryAnswer>(`history/${encodeURIComponent(device)}`, {
    start: range.start,
    end: range.end,
    resolution,
  });
  const points = new Map<string, HistoryPoint>();
  for (const p of history.points) points.set(period === 'year' ? p.timestamp.slice(0, 7) : p.timestamp.slice(0, 10), p);
  const thisMonth = now.slice(0, 7);
  const closed = (b: string) => (b.length === 7 ? b < thisMonth : b < now);
  const future = (b: string) => (b.length === 7 ? b > thisMonth : b > now);
  // week: the days are the costs (and their sum the total); month, year: one call for the total
  const needBuckets = period === 'week' || withBucketCosts;
  const answers = needBuckets
    ? await mapLimit(buckets, 4, async (b) => (future(b) ? null : await costOf(api, device, b, closed(b))))
    : buckets.map(() => null);
  const costs = answers.map((a) => a?.cost_eur ?? null);
  let total: CostAnswer | null = null;
  if (period !== 'week') {
    const p = period === 'year' ? range.start.slice(0, 4) : range.start.slice(0, 7);
    total = await costOf(api, device, p, range.end <= now);
  }
  return { range, buckets, points, costs, answers, total };
}
