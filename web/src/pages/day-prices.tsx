/**
 * The day's prices per quarter-hour (GET /api/v1/prices) as a small chart under the day's power:
 * what one kWh from the grid costs (all-in, VAT included) and the day-ahead price, as steps. A
 * price not known (not published yet, the feed down, no contract) is a gap, never 0.
 */
import { useMemo } from 'preact/hooks';
import uPlot from 'uplot';
import { axis, Chart, numberTicks, type TableData } from '../components/chart.js';
import { TIME_ZONE } from '../config.js';
import { useI18n } from '../i18n/index.js';
import type { Palette } from '../theme.js';
import type { DayPricePoint, DayPricesAnswer } from '../types.js';

const known = (v: number | null): v is number => v !== null;

/**
 * Worth a chart: the day has a day-ahead price, or its price changes over the day (a dynamic
 * contract, time-of-use bands). A fixed price all day is one number, already in the breakdown.
 */
export function pricesWorthShowing(points: readonly DayPricePoint[]): boolean {
  if (points.some((p) => known(p.spot_eur_per_kwh))) return true;
  const allIn = new Set(points.map((p) => p.all_in_eur_per_kwh).filter(known));
  return allIn.size > 1;
}

/** True when no price of the day is known at all. */
export function noPriceKnown(points: readonly DayPricePoint[]): boolean {
  return points.every(
    (p) => p.spot_eur_per_kwh === null && p.energy_eur_per_kwh === null && p.all_in_eur_per_kwh === null,
  );
}

export function DayPrices({ prices }: { prices: DayPricesAnswer }) {
  const i = useI18n();
  const { t } = i;
  const pts = prices.points;
  const withSpot = pts.some((p) => known(p.spot_eur_per_kwh));
  const last = pts[pts.length - 1];
  const data = useMemo<uPlot.AlignedData>(() => {
    // One point per quarter at its start, and the day's end repeating the last price so the last
    // quarter's step is drawn to the end of the day.
    const x = pts.map((p) => Date.parse(p.start) / 1000);
    const allIn = pts.map((p) => p.all_in_eur_per_kwh);
    const spot = pts.map((p) => p.spot_eur_per_kwh);
    if (last) {
      x.push(Date.parse(last.end) / 1000);
      allIn.push(last.all_in_eur_per_kwh);
      spot.push(last.spot_eur_per_kwh);
    }
    return withSpot ? [x, allIn, spot] : [x, allIn];
  }, [prices]);
  const unknown = pts.filter((p) => p.all_in_eur_per_kwh === null).length;
  const times = pts.map((p) => i.time(p.start));
  const seen = new Map<string, number>();
  for (const tm of times) seen.set(tm, (seen.get(tm) ?? 0) + 1);
  const table: TableData = {
    head: [t('common.time'), t('prices.allIn'), t('prices.energy'), t('prices.spot')],
    rows: pts.map((p, k) => [
      // the hour an October day repeats is told apart by its offset
      (seen.get(times[k] ?? '') ?? 0) > 1 ? `${times[k]} (${p.start.slice(-6)})` : (times[k] ?? ''),
      i.eur(p.all_in_eur_per_kwh, 4),
      i.eur(p.energy_eur_per_kwh, 4),
      i.eur(p.spot_eur_per_kwh, 4),
    ]),
  };
  const range = pts.length > 0 && last ? [Date.parse(pts[0]!.start) / 1000, Date.parse(last.end) / 1000] : [0, 1];

  const options = (width: number, colors: Palette): uPlot.Options => {
    const steps = uPlot.paths.stepped?.({ align: 1 });
    const s = (label: string, stroke: string, dash?: number[]): uPlot.Series => ({
      label,
      stroke,
      width: 2,
      dash,
      paths: steps,
      spanGaps: false,
      points: { show: false },
      value: (_u, v) => i.eur(v, 4),
    });
    return {
      width,
      height: width < 500 ? 160 : 200,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), TIME_ZONE),
      scales: { x: { time: true, range: () => [range[0] ?? 0, range[1] ?? 1] } },
      series: [
        { label: t('common.time'), value: (_u, v) => (v === null ? '' : i.time(v * 1000)) },
        s(t('prices.allIn'), colors.accent),
        ...(withSpot ? [s(t('prices.spot'), colors.muted, [4, 3])] : []),
      ],
      axes: [
        axis(colors, { values: (_u, splits) => splits.map((v) => i.time(v * 1000)) }),
        axis(colors, { label: '€/kWh', size: 64, values: (_u, splits) => numberTicks(i, splits) }),
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
  };

  return (
    <Chart
      title={t('prices.title')}
      desc={t('prices.desc')}
      options={options}
      data={data}
      rebuild={`${prices.date}|${withSpot}`}
      table={table}
      testId="day-prices"
    >
      {unknown > 0 && (
        <p class="muted" data-testid="prices-unknown">
          {t('prices.unknown', { n: unknown, total: pts.length })}
        </p>
      )}
    </Chart>
  );
}
