/** Day: power over the selected day (date=YYYY-MM-DD in the address) and the day's totals and cost. */
import { useEffect, useMemo } from 'preact/hooks';
import uPlot from 'uplot';
import { ApiError } from '../api.js';
import { carEnergyKwh, elapsedS, hasCar } from '../car-energy.js';
import { axis, Chart, powerTicks, type TableData } from '../components/chart.js';
import { OffGridNote } from '../components/off-grid.js';
import { ErrorBox, Loading, Stat } from '../components/status.js';
import { TIME_ZONE } from '../config.js';
import { addDays, isIsoDate, today } from '../dates.js';
import { type I18n, useI18n } from '../i18n/index.js';
import { navigate, type Route } from '../router.js';
import { useLoad, useSession } from '../session.js';
import { isOffGrid, latestSnapshot } from '../site.js';
import type { Palette } from '../theme.js';
import type { CostAnswer, DayPricesAnswer, HistoryAnswer, HistoryPoint } from '../types.js';
import { CostBands } from './cost-bands.js';
import { CostBreakdown } from './cost-breakdown.js';
import { DayPrices, noPriceKnown, pricesWorthShowing } from './day-prices.js';

type DayRes = '15min' | '1min';

interface DayData {
  history: HistoryAnswer;
  cost: CostAnswer;
  /** null: the server has no prices route (an older server) or could not answer. */
  prices: DayPricesAnswer | null;
  offGrid: boolean;
}

const kwToW = (kwh: number | null, seconds: number) => (kwh === null ? null : (kwh * 3_600_000) / seconds);

function series(history: HistoryAnswer, nowMs: number): uPlot.AlignedData {
  const pts = history.points;
  const x = pts.map((p) => Date.parse(p.timestamp) / 1000);
  const span = (k: number) => elapsedS(history, pts[k]?.timestamp ?? '', nowMs);
  const out: uPlot.AlignedData = [
    x,
    pts.map((p, k) => kwToW(p.import_kwh, span(k))),
    pts.map((p, k) => {
      const w = kwToW(p.export_kwh, span(k));
      return w === null ? null : -w;
    }),
    pts.map((p) => p.avg_pv_power_w),
    pts.map((p) => p.avg_battery_power_w),
    pts.map((p) => p.avg_load_power_w),
  ];
  return hasCar(history) ? [...out, pts.map((p) => p.avg_ev_power_w ?? null)] : out;
}

function hourlyTable(i: I18n, pts: HistoryPoint[]): TableData {
  const hours = new Map<string, number[]>();
  for (const p of pts) {
    const h = i.time(p.timestamp).slice(0, 2);
    const row = hours.get(h) ?? [0, 0, 0, 0, 0];
    row[0] = (row[0] ?? 0) + (p.import_kwh ?? 0);
    row[1] = (row[1] ?? 0) + (p.export_kwh ?? 0);
    row[2] = (row[2] ?? 0) + (p.pv_kwh ?? 0);
    row[3] = (row[3] ?? 0) + (p.battery_charge_kwh ?? 0);
    row[4] = (row[4] ?? 0) + (p.battery_discharge_kwh ?? 0);
    hours.set(h, row);
  }
  return {
    head: [
      i.t('common.time'),
      i.t('series.import'),
      i.t('series.export'),
      i.t('series.pv'),
      i.t('totals.batteryCharge'),
      i.t('totals.batteryDischarge'),
    ],
    rows: [...hours].map(([h, r]) => [`${h}:00`, ...r.map((v) => i.energy(v))]),
  };
}

export function DayPage({ route }: { route: Route }) {
  const i = useI18n();
  const { t } = i;
  const session = useSession();
  const now = today();
  const dateParam = route.params.get('date');
  const date = isIsoDate(dateParam) ? dateParam : now;
  const res: DayRes = route.params.get('res') === '1min' ? '1min' : '15min';

  useEffect(() => {
    if (!isIsoDate(dateParam)) navigate('day', { date: now, res: res === '1min' ? res : undefined }, true);
  }, [dateParam, now, res]);

  const go = (d: string) => navigate('day', { date: d, res: res === '1min' ? res : undefined });
  const device = encodeURIComponent(session.device);
  const loaded = useLoad<DayData>(`${date}|${res}`, async (api) => {
    const [history, cost, prices, snapshot] = await Promise.all([
      api<HistoryAnswer>(`history/${device}`, { start: date, end: addDays(date, 1), resolution: res }),
      api<CostAnswer>(`cost-estimate/${device}`, { period: date }),
      api<DayPricesAnswer>(`prices/${device}`, { date }).catch((err: unknown) => {
        if (err instanceof ApiError && err.kind === 'unauthorized') throw err;
        return null;
      }),
      latestSnapshot(api, session.device),
    ]);
    return { history, cost, prices, offGrid: isOffGrid(snapshot) };
  });
  const d = loaded.data;
  const range = d ? ([Date.parse(d.history.start) / 1000, Date.parse(d.history.end) / 1000] as const) : null;
  const data = useMemo(() => (d ? series(d.history, Date.now()) : null), [d]);
  const table = useMemo(() => (d ? hourlyTable(i, d.history.points) : undefined), [d, i]);
  const c = d?.cost;
  const carKwh = useMemo(() => (d ? carEnergyKwh(d.history, Date.now()) : null), [d]);

  const options = (width: number, colors: Palette): uPlot.Options => {
    const s = (label: string, stroke: string, fill?: string): uPlot.Series => ({
      label,
      stroke,
      width: 2,
      fill,
      spanGaps: false,
      points: { show: false },
      value: (_u, v) => i.power(v),
    });
    return {
      width,
      height: width < 500 ? 240 : 320,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), TIME_ZONE),
      scales: { x: { time: true, range: () => (range ? [range[0], range[1]] : [0, 1]) } },
      series: [
        { label: t('common.time'), value: (_u, v) => (v === null ? '' : i.time(v * 1000)) },
        s(t('series.import'), colors.import, `${colors.import}33`),
        s(t('series.export'), colors.export, `${colors.export}33`),
        s(t('series.pv'), colors.pv),
        s(t('series.battery'), colors.battery),
        s(t('series.load'), colors.load),
        ...(d && hasCar(d.history) ? [s(t('series.car'), colors.car)] : []),
      ],
      axes: [
        axis(colors, { values: (_u, splits) => splits.map((v) => i.time(v * 1000)) }),
        axis(colors, { size: 64, values: (_u, splits) => powerTicks(i, splits) }),
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
  };

  return (
    <section class="page page-day" aria-labelledby="day-h">
      <div class="page-head">
        <h1 id="day-h">
          {t('day.title')}: <span data-testid="day-date">{i.longDate(date)}</span>
        </h1>
      </div>
      <nav class="toolbar" aria-label={t('day.pick')}>
        <button type="button" onClick={() => go(addDays(date, -1))} data-testid="day-prev">
          <span aria-hidden="true">‹ </span>
          {t('day.prev')}
        </button>
        <button type="button" onClick={() => go(now)} disabled={date === now} data-testid="day-today">
          {t('day.today')}
        </button>
        <button type="button" onClick={() => go(addDays(date, 1))} disabled={date >= now} data-testid="day-next">
          {t('day.next')}
          <span aria-hidden="true"> ›</span>
        </button>
        <label class="inline-field">
          <span>{t('day.pick')}</span>
          <input
            type="date"
            value={date}
            max={now}
            onChange={(e) => isIsoDate(e.currentTarget.value) && go(e.currentTarget.value)}
          />
        </label>
        <fieldset class="segmented">
          <legend class="sr-only">{t('day.resolution')}</legend>
          {(['15min', '1min'] as const).map((r) => (
            <label key={r} class={r === res ? 'is-active' : ''}>
              <input
                type="radio"
                name="day-res"
                value={r}
                checked={r === res}
                onChange={() => navigate('day', { date, res: r === '1min' ? r : undefined })}
              />
              {t(r === '1min' ? 'res.1min' : 'res.15min')}
            </label>
          ))}
        </fieldset>
      </nav>
      {loaded.error && <ErrorBox error={loaded.error} retry={loaded.reload} />}
      {!d && loaded.loading && <Loading />}
      {d && data && (
        <div class={loaded.loading ? 'is-loading' : ''} aria-busy={loaded.loading}>
          <Chart
            title={t('day.chart')}
            desc={t('day.chartDesc', { res: t(res === '1min' ? 'res.1min' : 'res.15min') })}
            options={options}
            data={data}
            // rebuilt when the shown data's day changes (not the address's: the old day stays shown while the next loads)
            rebuild={`${d.history.start}|${d.history.resolution}|${hasCar(d.history)}`}
            table={table}
            testId="day-chart"
          />
          {d.history.points.length === 0 && <p class="muted">{t('common.noData')}</p>}
          {!d.offGrid && d.prices && pricesWorthShowing(d.prices.points) && <DayPrices prices={d.prices} />}
          {!d.offGrid && d.prices && noPriceKnown(d.prices.points) && (
            <p class="muted" data-testid="prices-none">
              {t('prices.none')}
            </p>
          )}
          {d.offGrid && <OffGridNote />}
          <h2>{t('day.totals')}</h2>
          <dl class="stats card" data-testid="day-totals">
            {!d.offGrid && (
              <>
                <Stat
                  label={t('totals.consumed')}
                  value={i.energy(c?.consumed_kwh)}
                  tone="import"
                  testId="tot-consumed"
                />
                <Stat
                  label={t('totals.returned')}
                  value={i.energy(c?.returned_kwh)}
                  tone="export"
                  testId="tot-returned"
                />
              </>
            )}
            <Stat
              label={t('totals.direct')}
              value={i.energy(c?.direct_consumption_kwh)}
              tone="pv"
              testId="tot-direct"
            />
            <Stat label={t('totals.solar')} value={i.energy(c?.solar_kwh)} tone="pv" testId="tot-solar" />
            <Stat
              label={t('totals.batteryCharge')}
              value={i.energy(c?.battery_charge_kwh)}
              tone="battery"
              testId="tot-bcharge"
            />
            <Stat
              label={t('totals.batteryDischarge')}
              value={i.energy(c?.battery_discharge_kwh)}
              tone="battery"
              testId="tot-bdischarge"
            />
            {!d.offGrid && (
              <>
                <Stat label={t('totals.cost')} value={i.eur(c?.cost_eur)} testId="tot-cost" />
                <Stat label={t('totals.pvProfit')} value={i.eur(c?.pv_profit_eur)} tone="export" testId="tot-profit" />
              </>
            )}
            {carKwh !== null && <Stat label={t('totals.car')} value={i.energy(carKwh)} tone="car" testId="tot-car" />}
            {c?.gas_m3 !== null && c?.gas_m3 !== undefined && (
              <Stat label={t('totals.gas')} value={i.volume(c.gas_m3)} testId="tot-gas" />
            )}
          </dl>
          {c && !d.offGrid && <CostBands lines={c.breakdown} />}
          {c && !d.offGrid && <CostBreakdown cost={c} />}
        </div>
      )}
    </section>
  );
}
