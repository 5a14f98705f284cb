/**
 * GET /api/v1/prices/{device_id}?date=YYYY-MM-DD: the prices the home pays on a local day, per
 * quarter-hour (92, 96 or 100 on DST days): the day-ahead price (spot), the contract's energy price
 * (multiplier × spot + adder for a dynamic contract, per quarter or per hour as the contract says;
 * the fixed price otherwise) and the all-in price per imported kWh (energy + network + levies, with
 * VAT). A price not known yet (not published, the feed down, no contract) is null. Spot prices come
 * from the tariff's price_file, else from the price feed's store (../day-prices.ts).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { DateTime } from 'luxon';
import type { DayPricePoint } from '../../../core/api/prices.js';
import { isoLocal, type PriceSeries, periodAt, priceAt, round, type Tariff } from '../../../core/tariff/index.js';
import { formPriceAt } from '../../../core/tariff/price-at.js';
import { localDay, QUARTER_MS } from '../../../core/time/index.js';
import type { ServerConfig } from '../../config.js';
import type { Store } from '../../store/types.js';
import { DayPrices } from '../day-prices.js';
import { DeviceParams } from '../schemas.js';
import type { LoadedTariff } from '../tariffs.js';
import { BadRequest, checkYear } from '../time.js';

export interface PriceRouteDeps {
  store: Store;
  config: ServerConfig;
  now: () => number;
  timeoutMs: number;
  /** The tariffs per device (the insight routes' map: loaded once). */
  tariffs: ReadonlyMap<string, LoadedTariff>;
  errorResponses: Record<number, unknown>;
}

const PricesQuery = Type.Object(
  {
    date: Type.Optional(
      Type.String({ description: 'The local day YYYY-MM-DD (default: today).', examples: ['2026-03-29'] }),
    ),
  },
  { additionalProperties: false },
);

/** The points of [start, end), quarter by quarter. */
export function dayPoints(
  tariff: Tariff | null,
  spot: PriceSeries | null,
  start: number,
  end: number,
  tz: string,
): DayPricePoint[] {
  const out: DayPricePoint[] = [];
  for (let q = start; q < end; q += QUARTER_MS) {
    const s = spot ? priceAt(spot, q) : null;
    const c = tariff ? periodAt(tariff, q) : null;
    let energy: number | null = null;
    let allIn: number | null = null;
    if (tariff && c) {
      energy = formPriceAt(tariff, c.importPrice, q, spot);
      const network = formPriceAt(tariff, c.networkPrice, q, spot);
      if (energy !== null && network !== null) allIn = (energy + network + c.leviesEurPerKwh) * (1 + c.vatPct / 100);
    }
    out.push({
      start: isoLocal(q, tz),
      end: isoLocal(q + QUARTER_MS, tz),
      spot_eur_per_kwh: s === null ? null : round(s, 6),
      energy_eur_per_kwh: energy === null ? null : round(energy, 6),
      all_in_eur_per_kwh: allIn === null ? null : round(allIn, 6),
    });
  }
  return out;
}

export const priceRoutes: FastifyPluginAsync<PriceRouteDeps> = async (app, d) => {
  const dayPrices = new DayPrices(d.store, d.config.prices.zone, d.timeoutMs);
  app.get<{ Params: { device_id: string }; Querystring: Static<typeof PricesQuery> }>(
    '/api/v1/prices/:device_id',
    {
      config: { auth: 'device' },
      schema: {
        summary: "A local day's prices per quarter-hour: day-ahead, the contract's energy price, all-in",
        description:
          "Day-ahead prices from the tariff file's price_file, else from the price feed (config prices:). A price " +
          'not known yet is null, never 0.',
        tags: ['insights'],
        params: DeviceParams,
        querystring: PricesQuery,
        response: { 200: Type.Ref('DayPrices'), ...d.errorResponses },
      },
    },
    async (req) => {
      const id = req.params.device_id;
      const loaded = d.tariffs.get(id) ?? null;
      const tz = loaded?.tariff.timezone ?? d.config.timezone;
      const now = d.now();
      const date = req.query.date ?? DateTime.fromMillis(now, { zone: tz }).toISODate();
      const day = /^\d{4}-\d{2}-\d{2}$/.test(date ?? '') ? DateTime.fromISO(date ?? '', { zone: tz }) : null;
      if (!day?.isValid) throw new BadRequest('date: must be a local day YYYY-MM-DD');
      const start = day.toMillis();
      checkYear(start, tz, 'date');
      const end = localDay(start, tz).end;
      const spot = loaded?.prices ?? (await dayPrices.stored(start, end));
      return {
        device_id: id,
        date: day.toISODate() ?? '',
        zone: d.config.prices.zone,
        resolution_minutes: 15,
        points: dayPoints(loaded?.tariff ?? null, spot, start, end, tz),
      };
    },
  );
};
