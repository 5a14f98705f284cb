/**
 * The price of one price form at one instant: for code that asks "what does a kWh cost at 22:15?"
 * (the controller's planning) rather than pricing a period's buckets (cost.ts). Null when the price
 * is not known (a dynamic price not fetched yet, a band without a price).
 */
import { clockBand } from './day-night.js';
import { indexPriceAt, type PriceSeries } from './prices.js';
import type { PriceForm, Tariff } from './schema.js';
import { bandAt } from './time-of-use.js';

export function formPriceAt(
  tariff: Pick<Tariff, 'timezone' | 'dayNight' | 'schedules'>,
  form: PriceForm,
  ms: number,
  prices: PriceSeries | null,
): number | null {
  switch (form.kind) {
    case 'single':
      return form.single;
    case 'day_night':
      return clockBand(ms, tariff) === 'day' ? form.day : form.night;
    case 'bands': {
      const schedule = tariff.schedules.find((s) => s.id === form.schedule);
      if (!schedule) return null;
      return form.prices[bandAt(schedule, ms, tariff.timezone)] ?? null;
    }
    case 'dynamic': {
      const spot = indexPriceAt(prices, ms, form.resolution);
      return spot === null ? null : form.multiplier * spot + form.adder;
    }
  }
}
