/**
 * The Belgian routes, wiring the pure logic of src/core/capacity and src/core/tariff to the store:
 *   GET /api/v1/capacity-tariff/{device_id}?month=YYYY-MM
 *   GET /api/v1/self-sufficiency/{device_id}?period=…
 *   GET /api/v1/cost-estimate/{device_id}?period=…
 * All three read 15-minute buckets (quarters are what the capacity tariff and dynamic prices are
 * counted in, and PV/battery flows are split per quarter). Monthly peaks of months that are over are
 * cached for a few minutes per device: the capacity tariff's 12-month value and the cost of a period
 * need the peaks of the 12 months before, which would otherwise mean reading ~35 000 quarters.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifySchema } from 'fastify';
import { CapacitySchema } from '../../../core/api/insights.js';
import {
  billedAverageW,
  billedKwByMonth,
  type CapacityTariffResponse,
  capacitySettings,
  capacityTariffReport,
  type FloorRules,
  indexQuarterBuckets,
  last12Months,
  meterPeakForMonth,
  monthPeak,
} from '../../../core/capacity/index.js';
import { KwartierError } from '../../../core/errors.js';
import { isOffGrid } from '../../../core/off-grid.js';
import {
  addMonths,
  type CostEstimate,
  costEstimate,
  monthOf,
  monthRange,
  type NetworkRule,
  networkRuleAt,
  type Period,
  parsePeriod,
  round,
  selfSufficiency,
  unpricedEstimate,
} from '../../../core/tariff/index.js';
import { quarterStart } from '../../../core/time/index.js';
import type { Logger } from '../../../lib/log.js';
import type { ServerConfig } from '../../config.js';
import type { Bucket, Store } from '../../store/types.js';
import { DayPrices } from '../day-prices.js';
import { CapacityQuery, DeviceParams, PeriodQuery } from '../schemas.js';
import { type LoadedTariff, loadTariffs } from '../tariffs.js';
import { BadRequest, checkYear, MAX_YEAR, MIN_YEAR, type ZoneClock } from '../time.js';
import { withDeadline } from '../util.js';

export interface InsightDeps {
  store: Store;
  config: ServerConfig;
  clock: ZoneClock;
  now: () => number;
  log: Logger;
  timeoutMs: number;
  /** Tariff file paths in config.devices are relative to this directory. */
  configDir: string;
  /** Tariffs per device; default: loaded from config.devices[id].tariffs at startup. */
  tariffs?: ReadonlyMap<string, LoadedTariff>;
  /** The error answers documented on each route. */
  errorResponses: Record<number, unknown>;
}

const DEFAULT_RULES: FloorRules = { floorKw: 2.5, floorAppliesTo: 'month' };
const PEAK_CACHE_MS = 5 * 60_000;
const PEAK_CACHE_MAX = 10_000;

/** Monthly peaks (W) from 15-minute buckets, cached per device for months that are over. */
class PeakCache {
  private readonly entries = new Map<string, { peak: number | null; at: number }>();

  constructor(private readonly deps: InsightDeps) {}

  async peaks(deviceId: string, months: readonly string[], tz: string): Promise<Map<string, number | null>> {
    const now = this.deps.now();
    const out = new Map<string, number | null>();
    const missing: string[] = [];
    for (const m of months) {
      const e = this.entries.get(`${deviceId}|${m}`);
      if (e && now - e.at < PEAK_CACHE_MS) out.set(m, e.peak);
      else missing.push(m);
    }
    if (missing.length > 0) {
      const sorted = [...missing].sort();
      const from = monthRange(sorted[0]!, tz).start;
      const to = monthRange(sorted[sorted.length - 1]!, tz).end;
      const buckets = await fifteen(this.deps, deviceId, from, to);
      const index = indexQuarterBuckets(buckets);
      for (const m of missing) {
        // Completed quarters only, as the capacity-tariff answer counts them.
        const peak = monthPeak(index, m, tz, quarterStart(now))?.peak_w ?? null;
        out.set(m, peak);
        if (monthRange(m, tz).end <= now) {
          if (this.entries.size >= PEAK_CACHE_MAX) this.entries.clear();
          this.entries.set(`${deviceId}|${m}`, { peak, at: now });
        }
      }
    }
    return out;
  }
}

function fifteen(deps: InsightDeps, deviceId: string, start: number, end: number): Promise<Bucket[]> {
  return withDeadline(
    deps.store.buckets(deviceId, '15min', new Date(start), new Date(end)),
    deps.timeoutMs,
    'store.buckets',
  );
}

/** A period within the years MIN_YEAR..MAX_YEAR (year 0000 would answer with offsets like +00:17). */
function period(spec: string, now: number, tz: string): Period {
  let p: Period;
  try {
    p = parsePeriod(spec, now, tz);
  } catch (err) {
    if (err instanceof KwartierError && err.code === 'invalid_period') throw new BadRequest(err.message);
    throw err;
  }
  checkYear(p.start, tz, 'period');
  checkYear(p.end - 1, tz, 'period');
  return p;
}

/** Local months 'YYYY-MM' that [start, end) touches. */
function monthsOf(start: number, end: number, tz: string): string[] {
  const out: string[] = [];
  const last = monthOf(end - 1, tz);
  for (let m = monthOf(start, tz); m <= last; m = addMonths(m, 1)) out.push(m);
  return out;
}

type Params = { device_id: string };

/**
 * The three routes, one plugin. Their answer schemas are in core/api/insights.ts; SelfSufficiency and
 * CostEstimate are added on the root instance with the API's other shared schemas (../openapi.ts).
 */
export const insightRoutes: FastifyPluginAsync<InsightDeps> = async (app, deps) => {
  const ctx: InsightContext = {
    deps,
    tariffs: deps.tariffs ?? loadTariffs(deps.config, deps.configDir),
    cache: new PeakCache(deps),
    dayPrices: new DayPrices(deps.store, deps.config.prices.zone, deps.timeoutMs),
  };
  const schema = (summary: string, description: string, querystring: unknown, ok: unknown): FastifySchema => ({
    summary,
    description,
    tags: ['insights'],
    params: DeviceParams,
    querystring,
    response: { 200: ok, ...deps.errorResponses },
  });

  app.get<{ Params: Params; Querystring: Static<typeof CapacityQuery> }>(
    '/api/v1/capacity-tariff/:device_id',
    {
      config: { auth: 'device' },
      schema: schema(
        'Flemish capacity tariff: quarters, monthly peak, 12-month billed value, forecast of the running quarter',
        "Quarters are clock quarters; a quarter's power = its import energy (from the counters) × 4. The billed value " +
          'is the average of the last 12 monthly peaks, each raised to the floor (2.5 kW). meter_month_peak_w is the ' +
          "meter's own 1-0:1.6.0 for the running month. forecast only for the running month.",
        CapacityQuery,
        CapacitySchema,
      ),
    },
    async (req) => capacityTariff(ctx, req.params.device_id, req.query.month),
  );

  app.get<{ Params: Params; Querystring: Static<typeof PeriodQuery> }>(
    '/api/v1/self-sufficiency/:device_id',
    {
      config: { auth: 'device' },
      schema: schema(
        'Self-sufficiency and self-consumption of a period, with the kWh behind them',
        'Per 15-minute bucket, summed: load = import + PV − export − battery charge + battery discharge; ' +
          'self_sufficiency_pct = (load − import) / load; self_consumption_pct = PV used at home / PV.',
        PeriodQuery,
        Type.Ref('SelfSufficiency'),
      ),
    },
    async (req) => {
      const id = req.params.device_id;
      const tz = deps.config.timezone;
      const p = period(req.query.period, deps.now(), tz);
      const buckets = await fifteen(deps, id, p.start, p.end);
      return { device_id: id, ...selfSufficiency(p, buckets, tz) };
    },
  );

  app.get<{ Params: Params; Querystring: Static<typeof PeriodQuery> }>(
    '/api/v1/cost-estimate/:device_id',
    {
      config: { auth: 'device' },
      schema: schema(
        "Cost of a period from the device's tariff file (config devices.<id>.tariffs), as a bill-like breakdown",
        'Energy × the contract price valid at each quarter (day/night from the meter counters, dynamic prices per ' +
          'quarter), network costs and levies, the capacity tariff (billed value of each month), fixed fees per day ' +
          'up to now, VAT. cost_without_pv_eur: the PV used at home imported instead; pv_profit_eur the difference.',
        PeriodQuery,
        Type.Ref('CostEstimate'),
      ),
    },
    async (req) => costEstimateAnswer(ctx, req.params.device_id, req.query.period),
  );
};

/** What the insight routes share: their deps, the tariffs per device and the monthly peak cache. */
interface InsightContext {
  deps: InsightDeps;
  tariffs: ReadonlyMap<string, LoadedTariff>;
  cache: PeakCache;
  dayPrices: DayPrices;
}

/** GET /api/v1/capacity-tariff/{id}?month: the month's quarters and peak, the 12-month value, the forecast. */
async function capacityTariff(
  ctx: InsightContext,
  id: string,
  asked: string | undefined,
): Promise<CapacityTariffResponse & { network_rule: NetworkRule | null }> {
  const { deps } = ctx;
  const now = deps.now();
  const loaded = ctx.tariffs.get(id) ?? null;
  const tz = loaded?.tariff.timezone ?? deps.config.timezone;
  const month = asked ?? monthOf(now, tz);
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw new BadRequest('month: must be a month YYYY-MM');
  const year = Number(month.slice(0, 4));
  if (year < MIN_YEAR || year > MAX_YEAR) throw new BadRequest(`month: must be in the years ${MIN_YEAR}..${MAX_YEAR}`);
  const settings = loaded
    ? capacitySettings(loaded.tariff, month, now)
    : { timezone: tz, rules: DEFAULT_RULES, rateEurPerKwYear: null };
  const range = monthRange(month, tz);
  const months = last12Months(month);
  // The month's own quarters from the store; the 11 months before as monthly peaks (cached once over).
  const [buckets, latest, before] = await Promise.all([
    fifteen(deps, id, range.start, range.end),
    withDeadline(deps.store.latest(id), deps.timeoutMs, 'store.latest'),
    ctx.cache.peaks(id, months.slice(0, -1), tz),
  ]);
  const fresh = latest !== null && now - Date.parse(latest.timestamp) < 60_000;
  const report = capacityTariffReport({
    deviceId: id,
    month,
    now,
    timezone: tz,
    buckets,
    rules: settings.rules,
    rateEurPerKwYear: settings.rateEurPerKwYear,
    meterMonthPeakW: meterPeakForMonth(latest, month, tz),
    gridPowerW: fresh ? latest.grid_power_w : null,
    targetW: deps.config.devices[id]?.capacity_target_w ?? null,
  });
  // The 12-month figures as capacityTariffReport makes them from 12 months of quarters (a test
  // holds the two equal): months before the first with data left out, the floor per the rules.
  const peaks = months.map((m) => ({
    month: m,
    peak_w: m === month ? report.month_peak_w : (before.get(m) ?? null),
  }));
  const first = peaks.findIndex((p) => p.peak_w !== null);
  const history = first < 0 ? peaks.slice(-1) : peaks.slice(first);
  const avg = billedAverageW(
    history.map((h) => h.peak_w),
    settings.rules,
  );
  const rate = settings.rateEurPerKwYear;
  return {
    ...report,
    history,
    rolling_12m_avg_w: avg,
    yearly_cost_eur: avg === null || rate === null ? null : round((avg / 1000) * rate, 2),
    // The rule in force now (a page says "no capacity tariff here" instead of a Flemish figure).
    network_rule: loaded ? networkRuleAt(loaded.tariff, now) : null,
  };
}

/** GET /api/v1/cost-estimate/{id}?period: the period's cost from the device's tariff, as a bill. */
async function costEstimateAnswer(
  ctx: InsightContext,
  id: string,
  spec: string,
): Promise<CostEstimate & { device_id: string }> {
  const { deps } = ctx;
  const now = deps.now();
  const loaded = ctx.tariffs.get(id) ?? null;
  const tz = loaded?.tariff.timezone ?? deps.config.timezone;
  const p = period(spec, now, tz);
  const [buckets, latest] = await Promise.all([
    fifteen(deps, id, p.start, p.end),
    loaded ? withDeadline(deps.store.latest(id), deps.timeoutMs, 'store.latest') : null,
  ]);
  if (!loaded) {
    const why = `No tariff configured for this device (config: devices.${id}.tariffs)`;
    return { device_id: id, ...unpricedEstimate(p, buckets, tz, why) };
  }
  // A home without a grid meter buys nothing from the grid: its tariff's fixed fees and capacity
  // floor would be a bill that does not exist.
  if (isOffGrid(latest))
    return {
      device_id: id,
      ...unpricedEstimate(p, buckets, tz, 'Off-grid: no grid meter, so no electricity bill to estimate'),
    };
  let billed: Record<string, number> | undefined;
  // Peaks are needed wherever a capacity tariff applies, its rate known or not (a region preset
  // without a rate for the day still bills the peak, as an unpriced line).
  if (loaded.tariff.periods.some((c) => c.capacityFrom !== null)) {
    const months = monthsOf(p.start, Math.min(p.end, Math.max(now, p.start + 1)), tz);
    const window = new Set<string>();
    for (const m of months) for (const x of last12Months(m)) window.add(x);
    const peaks = await ctx.cache.peaks(id, [...window], tz);
    billed = billedKwByMonth(peaks, months, loaded.tariff.capacity);
  }
  return {
    device_id: id,
    ...costEstimate({
      period: p,
      tariff: loaded.tariff,
      buckets,
      now,
      prices: await ctx.dayPrices.forTariff(loaded, p.start, p.end),
      ...(billed ? { billedPeakKwByMonth: billed } : {}),
    }),
  };
}

export type { CostEstimate };
