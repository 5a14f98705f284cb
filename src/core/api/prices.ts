/** The prices of a local day (GET /api/v1/prices/{device_id}?date=YYYY-MM-DD), per quarter-hour. */
import { type Static, Type } from '@sinclair/typebox';
import { Nullable } from './json-schema.js';

const EurPerKwh = (description: string) =>
  Nullable(Type.Number({ description: `${description} €/kWh; null when not known.` }));

export const DayPricesSchema = Type.Object(
  {
    device_id: Type.String(),
    date: Type.String({ description: 'The local day YYYY-MM-DD.' }),
    zone: Type.String({ description: 'The bidding zone of the stored day-ahead prices (config prices.zone).' }),
    resolution_minutes: Type.Integer({ description: 'Length of each point: 15.' }),
    points: Type.Array(
      Type.Object({
        start: Type.String({
          format: 'date-time',
          description: 'Start of the quarter, ISO 8601 with the local offset.',
        }),
        end: Type.String({ format: 'date-time', description: 'End of the quarter (exclusive).' }),
        spot_eur_per_kwh: EurPerKwh('The day-ahead price of the quarter (the market price, excl. VAT).'),
        energy_eur_per_kwh: EurPerKwh(
          "The contract's energy price at that quarter, excl. VAT: multiplier × day-ahead + adder for a dynamic " +
            'contract (per quarter, or the mean of the hour for a contract on the hourly index).',
        ),
        all_in_eur_per_kwh: EurPerKwh(
          'What one imported kWh costs: energy + network + levies, VAT included (no capacity term, no fixed fees).',
        ),
      }),
      { description: 'Every quarter-hour of the local day, oldest first: 96, or 92 / 100 on the DST days.' },
    ),
  },
  { $id: 'DayPrices' },
);
export type DayPricesAnswer = Static<typeof DayPricesSchema>;
export type DayPricePoint = DayPricesAnswer['points'][number];
