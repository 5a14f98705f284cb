/**
 * The answer of GET /api/v1/capacity-tariff/{device_id}?month=YYYY-MM, built from 15-minute buckets.
 *
 * - quarters: every completed quarter of the month (up to the running quarter in the running
 *   month), null where there is no data.
 * - month_peak_w / month_peak_start: the highest completed quarter (the running quarter is in the
 *   forecast, not in the peak).
 * - meter_month_peak_w: the meter's own value (1-0:1.6.0 for the running month, else its 98.1.0
 *   history), shown beside ours; compareWithMeter (billing.ts) gives the difference per month.
 * - history: our monthly peaks for up to 12 months ending with this one (oldest first; months before
 *   the first month with data are left out; a month without data inside the window is null).
 * - rolling_12m_avg_w: the billed value (billing.ts); yearly_cost_eur = it (kW) × the rate.
 * - forecast: the running quarter (forecast.ts), only for the running month, else null.
 * All times ISO 8601 with the local offset.
 */
import type { Snapshot } from '../snapshot.js';
import { type EnergyBucket, importKwh, round } from '../tariff/bucket.js';
import { isoLocal, monthOf, monthRange } from '../tariff/local-time.js';
import { capacityRateAt, periodAt, type Tariff } from '../tariff/schema.js';
import { quarterStart } from '../time/index.js';
import { billedAverageW, type FloorRules, last12Months, type MonthPeak } from './billing.js';
import { type ForecastJson, forecastJson, forecastQuarter } from './forecast.js';
import { indexQuarterBuckets, monthPeak, peakOf, type QuarterOptions, quarterJson, quartersIn } from './quarters.js';

export interface CapacityTariffResponse {
  device_id: string;
  month: string;
  quarters: Array<{ start: string; avg_import_w: number | null }>;
  month_peak_w: number | null;
  month_peak_start: string | null;
  meter_month_peak_w: number | null;
  history: Array<{ month: string; peak_w: number | null }>;
  rolling_12m_avg_w: number | null;
  rate_eur_per_kw_year: number | null;
  yearly_cost_eur: number | null;
  forecast: ForecastJson | null;
}

export interface CapacityReportInput {
  deviceId: string;
  /** 'YYYY-MM', local. */
  month: string;
  now: number;
  timezone: string;
  /** 15-minute buckets from the start of the 11th month before `month` to its end (others ignored). */
  buckets: readonly EnergyBucket[];
  rules: FloorRules;
  /** €/kW/year excl. VAT; null: no capacity tariff configured. */
  rateEurPerKwYear: number | null;
  /** The meter's own peak of this month (see meterPeakForMonth); null when unknown. */
  meterMonthPeakW?: number | null;
  /** The meter's 98.1.0 history (billing.ts meterHistoryFromMaxDemand), for past months. */
  meterHistory?: readonly MonthPeak[];
  /** Current grid power (+ import, − export), W, for the forecast. */
  gridPowerW?: number | null;
  /** Import energy of the running quarter so far, kWh; default: the running quarter's bucket. */
  energySoFarKwh?: number | null;
  /** A user-set target for the headroom, W. */
  targetW?: number | null;
  quarterOptions?: QuarterOptions;
}

/** The capacity rate at `ms`: the file's, or the region preset's in force then; null when none. */
function capacityRateAtTime(tariff: Tariff, ms: number): number | null {
  const c = periodAt(tariff, ms);
  return c === null ? null : (capacityRateAt(tariff, c, ms)?.rate ?? null);
}

/** The timezone, floor rules and capacity rate of a tariff for a month (the rate valid at its end or now). */
export function capacitySettings(
  tariff: Tariff,
  month: string,
  now: number,
): { timezone: string; rules: FloorRules; rateEurPerKwYear: number | null } {
  const r = monthRange(month, tariff.timezone);
  const at = Math.max(r.start, Math.min(now, r.end - 1));
  return {
    timezone: tariff.timezone,
    rules: tariff.capacity,
    rateEurPerKwYear: capacityRateAtTime(tariff, at),
  };
}

/** The snapshot's 1-0:1.6.0 when the snapshot was taken in `month` (the meter resets it monthly). */
export function meterPeakForMonth(
  snapshot: Pick<Snapshot, 'timestamp' | 'grid_monthly_peak_w'> | null,
  month: string,
  tz: string,
): number | null {
  if (!snapshot || snapshot.grid_monthly_peak_w === null) return null;
  const t = Date.parse(snapshot.timestamp);
  if (Number.isNaN(t) || monthOf(t, tz) !== month) return null;
  return snapshot.grid_monthly_peak_w;
}

export function capacityTariffReport(input: CapacityReportInput): CapacityTariffResponse {
  const tz = input.timezone;
  const index = indexQuarterBuckets(input.buckets);
  const running = monthOf(input.now, tz) === input.month;
  const runningQuarter = quarterStart(input.now);
  const range = monthRange(input.month, tz);
  const until = running ? runningQuarter : range.end;
  const opts = input.quarterOptions ?? {};

  const quarters = quartersIn(index, range.start, Math.min(range.end, until), opts);
  const peak = peakOf(quarters);

  const months = last12Months(input.month);
  const peaks: MonthPeak[] = months.map((m) => ({
    month: m,
    peak_w: m === input.month ? (peak?.peak_w ?? null) : (monthPeak(index, m, tz, until, opts)?.peak_w ?? null),
  }));
  const first = peaks.findIndex((p) => p.peak_w !== null);
  const history = first < 0 ? peaks.slice(-1) : peaks.slice(first);

  const avg = billedAverageW(
    history.map((h) => h.peak_w),
    input.rules,
  );
  const rate = input.rateEurPerKwYear;
  const meterFromHistory = input.meterHistory?.find((h) => h.month === input.month)?.peak_w ?? null;

  let forecast: ForecastJson | null = null;
  if (running) {
    const b = index.get(runningQuarter);
    const soFar = input.energySoFarKwh !== undefined ? input.energySoFarKwh : b ? importKwh(b) : null;
    forecast = forecastJson(
      forecastQuarter({
        now: input.now,
        energySoFarKwh: soFar,
        gridPowerW: input.gridPowerW ?? null,
        monthPeakW: peak?.peak_w ?? null,
        targetW: input.targetW ?? null,
      }),
      tz,
    );
  }

  return {
    device_id: input.deviceId,
    month: input.month,
    quarters: quarters.map((q) => quarterJson(q, tz)),
    month_peak_w: peak?.peak_w ?? null,
    month_peak_start: peak ? isoLocal(peak.start, tz) : null,
    meter_month_peak_w: input.meterMonthPeakW ?? meterFromHistory,
    history,
    rolling_12m_avg_w: avg,
    rate_eur_per_kw_year: rate,
    yearly_cost_eur: avg === null || rate === null ? null : round((avg / 1000) * rate, 2),
    forecast,
  };
}
