/**
 * History: a week, month or year in bars (energy or cost per day, or per month for a year), beside the
 * period before it, with the totals of both and their difference, the capacity part of the cost on
 * its own row, and the period's cost per time-of-use band. Its data: history-data.ts.
 */
import { useEffect, useMemo } from 'preact/hooks';
import uPlot from 'uplot';
import { axis, Chart, labelEvery, numberTicks, type TableData } from '../components/chart.js';
import { OffGridNote } from '../components/off-grid.js';
import { ErrorBox, Loading } from '../components/status.js';
import { type HistoryPeriod, isIsoDate, type PeriodRange, periodRanges, shiftPeriod, today } from '../dates.js';
import { type I18n, type MessageKey, useI18n } from '../i18n/index.js';
import { navigate, type Route } from '../router.js';
import { useLoad, useSession } from '../session.js';
import { isOffGrid, latestSnapshot } from '../site.js';
import type { Palette } from '../theme.js';
import type { HistoryPoint } from '../types.js';
import { CostBands, capacityPart } from './cost-bands.js';
import { linesOf, loadSide, type Side } from './history-data.js';

type Metric = 'import' | 'export' | 'pv' | 'cost';
const METRICS: readonly Metric[] = ['import', 'export', 'pv', 'cost'];
const METRIC_LABEL: Record<Metric, MessageKey> = {
  import: 'totals.consumed',
  export: 'totals.returned',
  pv: 'totals.solar',
  cost: 'totals.cost',
};
const PERIODS: readonly HistoryPeriod[] = ['week', 'month', 'year'];

interface HistoryData {
  current: Side;
  previous: Side;
  offGrid: boolean;
}

function energy(p: HistoryPoint | undefined, m: Exclude<Metric, 'cost'>): number | null {
  if (!p) return null;
  return m === 'import' ? p.import_kwh : m === 'export' ? p.export_kwh : p.pv_kwh;
}

function sum(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? known.reduce((a, b) => a + b, 0) : null;
}

function bucketLabel(i: I18n, period: HistoryPeriod, b: string, short = false): string {
  if (period === 'year') return i.monthName(`${b}-01`);
  if (period === 'week') return short ? i.weekdayShort(b) : i.weekday(b);
  return String(Number(b.slice(8, 10)));
}

function periodTitle(i: I18n, period: HistoryPeriod, r: PeriodRange): string {
  if (period === 'year') return r.start.slice(0, 4);
  if (period === 'month') return i.monthName(r.start, true);
  return i.t('history.weekOf', { date: i.shortDate(r.start) });
}

export function HistoryPage({ route }: { route: Route }) {
  const i = useI18n();
  const { t } = i;
  const session = useSession();
  const now = today();
  const pParam = route.params.get('period');
  const period: HistoryPeriod = pParam === 'month' || pParam === 'year' ? pParam : 'week';
  const dParam = route.params.get('date');
  const date = isIsoDate(dParam) && dParam <= now ? dParam : now;
  const mParam = route.params.get('metric');
  const metric: Metric = METRICS.includes(mParam as Metric) ? (mParam as Metric) : 'import';
  const ranges = periodRanges(period, date);

  useEffect(() => {
    if (pParam !== period || dParam !== date) navigate('history', { period, date, metric }, true);
  }, [pParam, dParam, period, date, metric]);

  const go = (p: Partial<{ period: HistoryPeriod; date: string; metric: Metric }>) =>
    navigate('history', { period: p.period ?? period, date: p.date ?? date, metric: p.metric ?? metric });

  const withBucketCosts = metric === 'cost';
  const loaded = useLoad<HistoryData>(`${period}|${ranges.current.start}|${withBucketCosts}`, async (api) => {
    const [current, previous, snapshot] = await Promise.all([
      loadSide(api, session.device, period, ranges.current, withBucketCosts),
      loadSide(api, session.device, period, ranges.previous, withBucketCosts),
      latestSnapshot(api, session.device),
    ]);
    return { current, previous, offGrid: isOffGrid(snapshot) };
  });
  const d = loaded.data && loaded.data.current.range.start === ranges.current.start ? loaded.data : null;

  const values = (side: Side) =>
    side.buckets.map((b, k) => (metric === 'cost' ? (side.costs[k] ?? null) : energy(side.points.get(b), metric)));
  const chart = useMemo(() => {
    if (!d) return null;
    const cur = values(d.current);
    const prev = values(d.previous);
    const n = Math.max(cur.length, prev.length);
    const pad = (a: (number | null)[]) => Array.from({ length: n }, (_, k) => a[k] ?? null);
    const data: uPlot.AlignedData = [Array.from({ length: n }, (_, k) => k), pad(cur), pad(prev)];
    const labels = Array.from({ length: n }, (_, k) => {
      const b = d.current.buckets[k] ?? d.previous.buckets[k];
      return b ? bucketLabel(i, period, b) : '';
    });
    const fmt = (v: number | null) => (metric === 'cost' ? i.eur(v) : i.energy(v));
    const table: TableData = {
      head: [
        period === 'year' ? t('cap.month') : t('common.time'),
        periodTitle(i, period, d.current.range),
        periodTitle(i, period, d.previous.range),
      ],
      rows: labels.map((l, k) => [l, fmt(cur[k] ?? null), fmt(prev[k] ?? null)]),
    };
    const shortLabels = Array.from({ length: n }, (_, k) => {
      const b = d.current.buckets[k] ?? d.previous.buckets[k];
      return b ? bucketLabel(i, period, b, true) : '';
    });
    return { data, labels, shortLabels, table, n };
  }, [d, metric, i]);

  const totals = useMemo(() => {
    if (!d) return [];
    const tot = (side: Side, f: (p: HistoryPoint) => number | null) =>
      sum(
        side.buckets.map((b) => {
          const p = side.points.get(b);
          return p ? f(p) : null;
        }),
      );
    const cost = (side: Side) => (period === 'week' ? sum(side.costs) : (side.total?.cost_eur ?? null));
    type Row = { key: MessageKey; cur: number | null; prev: number | null; eur?: boolean; moreIsBetter?: boolean };
    const rows: Row[] = [
      {
        key: 'totals.consumed',
        cur: tot(d.current, (p) => p.import_kwh),
        prev: tot(d.previous, (p) => p.import_kwh),
      },
      {
        key: 'totals.returned',
        cur: tot(d.current, (p) => p.export_kwh),
        prev: tot(d.previous, (p) => p.export_kwh),
        moreIsBetter: true,
      },
      {
        key: 'totals.solar',
        cur: tot(d.current, (p) => p.pv_kwh),
        prev: tot(d.previous, (p) => p.pv_kwh),
        moreIsBetter: true,
      },
      {
        key: 'totals.batteryCharge',
        cur: tot(d.current, (p) => p.battery_charge_kwh),
        prev: tot(d.previous, (p) => p.battery_charge_kwh),
      },
      {
        key: 'totals.batteryDischarge',
        cur: tot(d.current, (p) => p.battery_discharge_kwh),
        prev: tot(d.previous, (p) => p.battery_discharge_kwh),
      },
      { key: 'totals.cost', cur: cost(d.current), prev: cost(d.previous), eur: true },
    ];
    // The capacity part of the cost (Flanders' capacity tariff, Brussels' connection term), on its own row.
    const capCur = capacityPart(linesOf(d.current));
    const capPrev = capacityPart(linesOf(d.previous));
    if (capCur || capPrev) {
      const connection = (capCur ?? capPrev)?.kind === 'connection';
      rows.push({
        key: connection ? 'history.connectionPart' : 'history.capacityPart',
        cur: capCur?.eur ?? null,
        prev: capPrev?.eur ?? null,
        eur: true,
      });
    }
    // Off-grid: no grid energy and no grid cost to compare.
    const grid: MessageKey[] = ['totals.consumed', 'totals.returned', 'totals.cost'];
    return d.offGrid ? rows.filter((r) => !grid.includes(r.key) && r.eur !== true) : rows;
  }, [d, period]);

  const options = (width: number, colors: Palette): uPlot.Options => {
    const n = chart?.n ?? 1;
    const labels = chart?.labels ?? [];
    const wide = width >= 560;
    const axisLabels = wide ? labels : (chart?.shortLabels ?? labels);
    const every = labelEvery(width, n, Math.max(2, ...axisLabels.map((l) => l.length)));
    const fmt = (v: number | null) => (metric === 'cost' ? i.eur(v) : i.energy(v));
    const bars = (align: -1 | 1) => uPlot.paths.bars?.({ size: [0.42, 48], align, gap: 1 });
    const color =
      metric === 'import'
        ? colors.import
        : metric === 'export'
          ? colors.export
          : metric === 'pv'
            ? colors.pv
            : colors.accent;
    return {
      width,
      height: width < 500 ? 240 : 300,
      scales: {
        x: { time: false, range: () => [-0.5, n - 0.5] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      series: [
        {
          label: period === 'year' ? t('cap.month') : t('common.day'),
          value: (_u, v) => (v === null ? '' : (labels[v] ?? '')),
        },
        {
          label: t('series.current'),
          stroke: color,
          fill: color,
          width: 0,
          paths: bars(-1),
          points: { show: false },
          value: (_u, v) => fmt(v),
        },
        {
          label: t('series.previous'),
          stroke: colors.previous,
          fill: colors.previous,
          width: 0,
          paths: bars(1),
          points: { show: false },
          value: (_u, v) => fmt(v),
        },
      ],
      axes: [
        axis(colors, {
          splits: () => Array.from({ length: n }, (_, k) => k).filter((k) => k % every === 0),
          values: (_u, splits) => splits.map((k) => axisLabels[k] ?? ''),
          grid: { show: false },
        }),
        axis(colors, {
          label: metric === 'cost' ? '€' : 'kWh',
          size: 56,
          values: (_u, splits) => numberTicks(i, splits),
        }),
      ],
      cursor: { drag: { x: false, y: false } },
    };
  };

  const periodName = t(`history.${period}`).toLowerCase();
  const isCurrent = ranges.current.end > now;

  return (
    <section class="page page-history" aria-labelledby="hist-h">
      <div class="page-head">
        <h1 id="hist-h">
          {t('history.title')}: <span data-testid="hist-period">{periodTitle(i, period, ranges.current)}</span>
        </h1>
      </div>
      <div class="toolbar">
        <fieldset class="segmented">
          <legend class="sr-only">{t('history.period')}</legend>
          {PERIODS.map((p) => (
            <label key={p} class={p === period ? 'is-active' : ''}>
              <input
                type="radio"
                name="hist-period"
                value={p}
                checked={p === period}
                onChange={() => go({ period: p })}
                data-testid={`period-${p}`}
              />
              {t(`history.${p}`)}
            </label>
          ))}
        </fieldset>
        <button type="button" onClick={() => go({ date: shiftPeriod(period, date, -1) })} data-testid="hist-prev">
          <span aria-hidden="true">‹ </span>
          {t('history.prev', { period: periodName })}
        </button>
        <button type="button" onClick={() => go({ date: now })} disabled={isCurrent}>
          {t('history.current')}
        </button>
        <button
          type="button"
          onClick={() => go({ date: shiftPeriod(period, date, 1) })}
          disabled={isCurrent}
          data-testid="hist-next"
        >
          {t('history.next', { period: periodName })}
          <span aria-hidden="true"> ›</span>
        </button>
        <label class="inline-field">
          <span>{t('history.metric')}</span>
          <select
            value={metric}
            onChange={(e) => go({ metric: e.currentTarget.value as Metric })}
            data-testid="hist-metric"
          >
            {METRICS.map((m) => (
              <option key={m} value={m}>
                {t(METRIC_LABEL[m])}
              </option>
            ))}
          </select>
        </label>
      </div>
      {loaded.error && <ErrorBox error={loaded.error} retry={loaded.reload} />}
      {!d && loaded.loading && <Loading />}
      {d && chart && (
        <div aria-busy={loaded.loading}>
          {d.offGrid && <OffGridNote />}
          <Chart
            title={t(metric === 'cost' ? 'history.costChart' : 'history.energyChart', {
              bucket: t(period === 'year' ? 'history.bucket.month' : 'history.bucket.day'),
              current: periodTitle(i, period, d.current.range),
              previous: periodTitle(i, period, d.previous.range),
            })}
            desc={`${t(METRIC_LABEL[metric])}. ${t('series.current')}: ${periodTitle(i, period, d.current.range)}; ${t('series.previous')}: ${periodTitle(i, period, d.previous.range)}.`}
            options={options}
            data={chart.data}
            rebuild={`${period}|${metric}|${ranges.current.start}|${chart.n}`}
            table={chart.table}
            testId="hist-chart"
          />
          <div class="table-scroll card">
            <table class="compare" data-testid="hist-totals">
              <caption>{t('history.compare')}</caption>
              <thead>
                <tr>
                  <th scope="col">
                    <span class="sr-only">{t('breakdown.label')}</span>
                  </th>
                  <th scope="col">{periodTitle(i, period, d.current.range)}</th>
                  <th scope="col">{periodTitle(i, period, d.previous.range)}</th>
                  <th scope="col">{t('history.delta')}</th>
                </tr>
              </thead>
              <tbody>
                {totals.map((r) => {
                  const fmt = (v: number | null) => (r.eur ? i.eur(v) : i.energy(v));
                  const delta = r.cur !== null && r.prev !== null ? r.cur - r.prev : null;
                  const pct = delta !== null && r.prev ? (delta / Math.abs(r.prev)) * 100 : null;
                  return (
                    <tr key={r.key}>
                      <th scope="row">{t(r.key)}</th>
                      <td>{fmt(r.cur)}</td>
                      <td>{fmt(r.prev)}</td>
                      <td
                        class={
                          delta === null || r.key.startsWith('totals.battery')
                            ? ''
                            : delta > 0 === (r.moreIsBetter === true)
                              ? 'better'
                              : 'worse'
                        }
                      >
                        {delta === null ? t('common.none') : `${delta > 0 ? '+' : ''}${fmt(delta)}`}
                        {pct !== null && ` (${pct > 0 ? '+' : ''}${i.pct(pct)})`}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {!d.offGrid && <CostBands lines={linesOf(d.current)} testId="hist-bands" />}
        </div>
      )}
    </section>
  );
}
