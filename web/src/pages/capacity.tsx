/**
 * Capacity tariff (capaciteitstarief): which network rule applies to the home, then, under the
 * Flemish capacity tariff, the running quarter against this month's peak, the month's peak as we
 * measured it and as the meter registered it, and the last 12 months' peaks. A Walloon, Brussels or
 * Dutch home gets its own rule instead (network-rule.tsx), an off-grid home a notice.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { QUARTER_MS } from '../../../src/core/time/quarter.js';
import { axis, Chart, labelEvery, powerTicks } from '../components/chart.js';
import { OffGridNote } from '../components/off-grid.js';
import { ErrorBox, Loading, Stat } from '../components/status.js';
import { CAPACITY_REFRESH_MS, TIME_ZONE } from '../config.js';
import { localDateOf } from '../dates.js';
import { useI18n } from '../i18n/index.js';
import { useLoad, useSession } from '../session.js';
import { isOffGrid, latestSnapshot } from '../site.js';
import type { Palette } from '../theme.js';
import type { CapacityAnswer } from '../types.js';
import { NetworkRuleCard, showsPeaks } from './network-rule.js';

/** Tick steps of the month's quarters chart, in seconds: 1, 2, 3, 5, 7 and 14 days. */
const DAY_INCRS = [1, 2, 3, 5, 7, 14].map((d) => d * 86_400);

const QUARTER_S = QUARTER_MS / 1000;

export function CapacityPage() {
  const i = useI18n();
  const { t } = i;
  const session = useSession();
  const loaded = useLoad<{ answer: CapacityAnswer; at: number }>(
    'capacity',
    async (api) => ({
      answer: await api<CapacityAnswer>(`capacity-tariff/${encodeURIComponent(session.device)}`),
      at: Date.now(),
    }),
    CAPACITY_REFRESH_MS,
  );
  // Once per visit: an off-grid home has no grid meter, hence no peaks to show.
  const site = useLoad('site', (api) => latestSnapshot(api, session.device));
  const offGrid = isOffGrid(site.data);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  const c = loaded.data?.answer ?? null;
  const f = c?.forecast ?? null;
  const elapsed = f && loaded.data ? Math.min(QUARTER_S, f.elapsed_s + (now - loaded.data.at) / 1000) : 0;
  const danger = f?.new_peak_expected === true;
  const peak = c?.month_peak_w ?? null;
  const scale = Math.max(1, peak ?? 0, f?.projected_w ?? 0, f?.avg_so_far_w ?? 0) * 1.1;
  const diff =
    c && c.month_peak_w !== null && c.meter_month_peak_w !== null ? c.month_peak_w - c.meter_month_peak_w : null;

  const history = useMemo(() => {
    if (!c) return null;
    const data: uPlot.AlignedData = [
      c.history.map((_, k) => k),
      c.history.map((h) => h.peak_w),
      c.history.map(() => c.rolling_12m_avg_w),
    ];
    return data;
  }, [c]);
  const quarters = useMemo(() => {
    if (!c) return null;
    const data: uPlot.AlignedData = [
      c.quarters.map((q) => Date.parse(q.start) / 1000),
      c.quarters.map((q) => q.avg_import_w),
      c.quarters.map(() => c.month_peak_w),
    ];
    return data;
  }, [c]);

  const monthLabel = (m: string) => i.monthName(`${m}-01`);
  const historyOptions = (width: number, colors: Palette): uPlot.Options => {
    const months = c?.history.map((h) => h.month) ?? [];
    const n = Math.max(1, months.length);
    return {
      width,
      height: width < 500 ? 220 : 260,
      scales: {
        x: { time: false, range: () => [-0.5, n - 0.5] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
      },
      series: [
        { label: t('cap.month'), value: (_u, v) => (v === null ? '' : monthLabel(months[v] ?? '')) },
        {
          label: t('cap.peak'),
          stroke: colors.import,
          fill: colors.import,
          width: 0,
          paths: uPlot.paths.bars?.({ size: [0.6, 40] }),
          points: { show: false },
          value: (_u, v) => i.power(v),
        },
        {
          label: t('series.average'),
          stroke: colors.text,
          width: 2,
          dash: [6, 4],
          points: { show: false },
          value: (_u, v) => i.power(v),
        },
      ],
      axes: [
        axis(colors, {
          splits: () => {
            const every = labelEvery(width, n, 4);
            // label the newest month and every `every`-th before it
            return months.map((_, k) => k).filter((k) => (n - 1 - k) % every === 0);
          },
          values: (_u, splits) => splits.map((k) => (months[k] ? monthLabel(months[k]) : '')),
          grid: { show: false },
        }),
        axis(colors, { size: 64, values: (_u, splits) => powerTicks(i, splits) }),
      ],
      cursor: { drag: { x: false, y: false } },
    };
  };
  const quartersOptions = (width: number, colors: Palette): uPlot.Options => ({
    width,
    height: width < 500 ? 200 : 240,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), TIME_ZONE),
    scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    series: [
      { label: t('common.time'), value: (_u, v) => (v === null ? '' : i.dateTime(v * 1000)) },
      {
        label: t('series.quarter'),
        stroke: colors.import,
        fill: `${colors.import}33`,
        width: 1,
        points: { show: false },
        value: (_u, v) => i.power(v),
      },
      {
        label: t('series.peak'),
        stroke: colors.danger,
        width: 1.5,
        dash: [6, 4],
        points: { show: false },
        value: (_u, v) => i.power(v),
      },
    ],
    axes: [
      // Whole days between ticks (uPlot puts them on local midnights), so each date is written once.
      axis(colors, {
        incrs: DAY_INCRS,
        space: 56,
        values: (_u, splits) => splits.map((v) => i.shortDate(localDateOf(v * 1000))),
      }),
      axis(colors, { size: 64, values: (_u, splits) => powerTicks(i, splits) }),
    ],
    cursor: { drag: { x: false, y: false } },
  });

  const qStart = f ? Date.parse(f.quarter_start) : null;

  return (
    <section class="page page-capacity" aria-labelledby="cap-h">
      <div class="page-head">
        <h1 id="cap-h">{t('cap.title')}</h1>
      </div>
      {loaded.error && <ErrorBox error={loaded.error} retry={loaded.reload} />}
      {((!c && loaded.loading) || (c && site.loading)) && <Loading />}
      {c && !site.loading && offGrid && <OffGridNote />}
      {c && !site.loading && !offGrid && <NetworkRuleCard rule={c.network_rule} />}
      {c && !site.loading && !offGrid && showsPeaks(c.network_rule) && (
        <>
          <div class={`card quarter${danger ? ' is-danger' : ''}`} data-testid="cap-quarter">
            <h2>
              {t('cap.quarter')}
              {qStart !== null && (
                <span class="muted">
                  {' '}
                  · {t('cap.quarterRange', { from: i.time(qStart), to: i.time(qStart + QUARTER_S * 1000) })}
                </span>
              )}
            </h2>
            {f ? (
              <>
                <div class="progress-label">
                  <span id="cap-elapsed">{t('cap.elapsed', { elapsed: i.duration(elapsed) })}</span>
                </div>
                <div
                  class="progress"
                  role="progressbar"
                  aria-labelledby="cap-elapsed"
                  aria-valuemin={0}
                  aria-valuemax={QUARTER_S}
                  aria-valuenow={Math.round(elapsed)}
                  aria-valuetext={t('cap.elapsed', { elapsed: i.duration(elapsed) })}
                  data-testid="cap-progress"
                >
                  <div class="progress-fill" style={{ width: `${(elapsed / QUARTER_S) * 100}%` }} />
                </div>
                <div class="gauge" aria-hidden="true">
                  <div class="gauge-bar gauge-sofar" style={{ width: `${((f.avg_so_far_w ?? 0) / scale) * 100}%` }} />
                  <div
                    class="gauge-bar gauge-projected"
                    style={{ width: `${((f.projected_w ?? 0) / scale) * 100}%` }}
                  />
                  {peak !== null && <div class="gauge-peak" style={{ left: `${(peak / scale) * 100}%` }} />}
                </div>
                <ul class="gauge-legend" aria-hidden="true">
                  <li>
                    <span class="swatch swatch-sofar" />
                    {t('cap.avgSoFar')}
                  </li>
                  <li>
                    <span class="swatch swatch-projected" />
                    {t('cap.projected')}
                  </li>
                  <li>
                    <span class="swatch swatch-peak" />
                    {t('cap.monthPeak')}
                  </li>
                </ul>
                <dl class="stats">
                  <Stat label={t('cap.avgSoFar')} value={i.power(f.avg_so_far_w)} testId="cap-sofar" />
                  <Stat
                    label={t('cap.projected')}
                    value={i.power(f.projected_w)}
                    tone={danger ? 'danger' : undefined}
                    testId="cap-projected"
                  />
                  <Stat label={t('cap.monthPeak')} value={i.power(peak)} testId="cap-peak" />
                  <Stat
                    label={t('cap.headroom')}
                    value={i.power(f.headroom_w)}
                    tone={danger ? 'danger' : 'export'}
                    testId="cap-headroom"
                  />
                </dl>
                <p
                  class={`alert ${danger ? 'alert-danger' : 'alert-ok'}`}
                  role={danger ? 'alert' : 'status'}
                  data-testid="cap-alert"
                >
                  {danger ? t('cap.newPeak') : t('cap.belowPeak')}
                </p>
              </>
            ) : (
              <p class="muted">{t('cap.noForecast')}</p>
            )}
          </div>
          <div class="card">
            <h2>{t('cap.peaks')}</h2>
            <dl class="stats">
              <Stat
                label={t('cap.ourPeak')}
                value={i.power(c.month_peak_w)}
                sub={c.month_peak_start ? t('cap.peakAt', { date: i.dateTime(c.month_peak_start) }) : undefined}
                testId="cap-our-peak"
              />
              <Stat label={t('cap.meterPeak')} value={i.power(c.meter_month_peak_w)} testId="cap-meter-peak" />
              <Stat
                label={t('cap.difference')}
                value={diff === null ? t('common.none') : `${diff > 0 ? '+' : ''}${i.power(diff)}`}
                testId="cap-diff"
              />
              <Stat label={t('cap.avg12')} value={i.power(c.rolling_12m_avg_w)} testId="cap-avg12" />
              <Stat
                label={t('cap.yearlyCost')}
                value={i.eur(c.yearly_cost_eur)}
                sub={
                  c.rate_eur_per_kw_year !== null
                    ? t('cap.perKwYear', { price: i.eur(c.rate_eur_per_kw_year) })
                    : undefined
                }
                testId="cap-yearly"
              />
            </dl>
          </div>
          {history && (
            <Chart
              title={t('cap.last12')}
              desc={t('cap.historyDesc', { avg: i.power(c.rolling_12m_avg_w) })}
              options={historyOptions}
              data={history}
              rebuild={`${c.month}|${c.history.length}`}
              table={{
                head: [t('cap.month'), t('cap.peak')],
                rows: c.history.map((h) => [i.monthName(`${h.month}-01`, true), i.power(h.peak_w)]),
              }}
              testId="cap-history"
            />
          )}
          {quarters && c.quarters.length > 0 && (
            <Chart
              title={t('cap.quartersChart')}
              desc={t('cap.quartersDesc', { month: i.monthName(`${c.month}-01`, true), peak: i.power(c.month_peak_w) })}
              options={quartersOptions}
              data={quarters}
              rebuild={c.month}
              testId="cap-quarters"
            />
          )}
        </>
      )}
    </section>
  );
}
