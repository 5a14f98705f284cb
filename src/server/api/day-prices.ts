/**
 * The day-ahead prices a device's costs use: its tariff file's `price_file` when it names one (as
 * before the price feed), else the prices the feed stored for the server's zone (`prices.zone`).
 * Read per request for the range asked, with an hour either side (a contract on the hourly index
 * needs the whole hour around a quarter).
 */
import { type PriceSeries, usesDynamic } from '../../core/tariff/index.js';
import type { Store } from '../store/types.js';
import type { LoadedTariff } from './tariffs.js';
import { withDeadline } from './util.js';

const HOUR = 3_600_000;

export class DayPrices {
  constructor(
    private readonly store: Store,
    readonly zone: string,
    private readonly timeoutMs: number,
  ) {}

  /** The stored prices of [start, end) (€/kWh), or null when none is stored. */
  async stored(start: number, end: number): Promise<PriceSeries | null> {
    const rows = await withDeadline(
      this.store.dayAheadPrices(this.zone, new Date(start - HOUR), new Date(end + HOUR)),
      this.timeoutMs,
      'store.dayAheadPrices',
    );
    if (rows.length === 0) return null;
    return {
      starts: rows.map((r) => r.start.getTime()),
      ends: rows.map((r) => r.end.getTime()),
      prices: rows.map((r) => r.eurPerMwh / 1000),
    };
  }

  /** What the cost of [start, end) prices dynamic contracts with: the price file's, else the stored prices. */
  async forTariff(loaded: LoadedTariff, start: number, end: number): Promise<PriceSeries | null> {
    if (loaded.prices) return loaded.prices;
    if (!usesDynamic(loaded.tariff)) return null;
    return this.stored(start, end);
  }
}
