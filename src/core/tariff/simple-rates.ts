/**
 * The earlier system's rates.json (spec 004, rudyvan/digital_meter), accepted and converted:
 *
 *   {"Electricity": {"+": {"Day": 0.4, "Night": 0.3}, "-": {"Day": 0.1, "Night": 0.1}},
 *    "Gas": {"+": 1.576, "cnv": ["kWh", 11.510]}, "Water": {"+": 6.1}}
 *
 * How that system used it (its usage.py / screens.py): cost = counter delta × rate, nothing added.
 * - "+" is the price of import (consumption), "-" the price of export (injection), in €/kWh; either
 *   a number or {"Day", "Night"} (Day = meter tariff 1, Night = tariff 2, Belgian meaning).
 * - Gas "+" is € per m3 (it multiplied the m3 counter by it). "cnv": [unit, factor] only converted
 *   the m3 shown on screen into that unit: 1 m3 = 11.510 kWh. We keep it as kwh_per_m3.
 * - Water "+" is € per m3.
 * - The prices are all-in prices as paid (VAT, network costs and levies included; no fixed fees, no
 *   capacity tariff). So the conversion gives one open-ended period with vat_pct 0 and nothing else.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ConfigError } from '../errors.js';
import { parseWithSchema } from '../validate.js';
import type { EnergyPrice, TariffFile } from './file-schema.js';

const Rate = Type.Number({ minimum: 0, maximum: 100 });
const DayNight = Type.Union([Rate, Type.Object({ Day: Rate, Night: Rate }, { additionalProperties: false })]);

export const SimpleRatesSchema = Type.Object(
  {
    Electricity: Type.Object({ '+': DayNight, '-': Type.Optional(DayNight) }, { additionalProperties: false }),
    Gas: Type.Optional(
      Type.Object(
        {
          '+': Rate,
          cnv: Type.Optional(Type.Tuple([Type.String(), Type.Number({ exclusiveMinimum: 0, maximum: 100 })])),
        },
        { additionalProperties: false },
      ),
    ),
    Water: Type.Optional(Type.Object({ '+': Rate }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export type SimpleRates = Static<typeof SimpleRatesSchema>;

/** A document is taken as rates.json when it has one of its capitalised keys and no `periods`. */
export function isSimpleRates(doc: unknown): doc is Record<string, unknown> {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return false;
  const o = doc as Record<string, unknown>;
  return !('periods' in o) && ('Electricity' in o || 'Gas' in o || 'Water' in o);
}

function price(v: number | { Day: number; Night: number }): EnergyPrice {
  return typeof v === 'number' ? { single: v } : { day: v.Day, night: v.Night };
}

/** Converts rates.json to the full tariff-file form (not yet validated against TariffFileSchema). */
export function simpleRatesToTariffFile(doc: unknown, what: string): TariffFile {
  const r = parseWithSchema(SimpleRatesSchema, doc, what);
  let gas: TariffFile['periods'][number]['gas'];
  if (r.Gas) {
    let kwhPerM3: number | undefined;
    if (r.Gas.cnv) {
      const [unit, factor] = r.Gas.cnv;
      if (unit.toLowerCase() !== 'kwh') {
        throw new ConfigError(
          `${what}: Gas.cnv[0]: only "kWh" is supported as conversion unit, got ${JSON.stringify(unit)}`,
        );
      }
      kwhPerM3 = factor;
    }
    gas = {
      price_eur_per_m3: r.Gas['+'],
      ...(kwhPerM3 === undefined ? {} : { kwh_per_m3: kwhPerM3 }),
      network_eur_per_kwh: 0,
      levies_eur_per_kwh: 0,
      fixed_eur_per_year: 0,
    };
  }
  const e = r.Electricity;
  return {
    timezone: 'Europe/Brussels',
    country: 'be',
    day_night: { day_start_hour: 7, day_end_hour: 22, weekend_is_night: true },
    capacity: { floor_kw: 2.5, floor_applies_to: 'month' },
    periods: [
      {
        valid_from: '1970-01-01',
        label: 'rates.json',
        vat_pct: 0,
        electricity: {
          import: price(e['+']),
          ...(e['-'] === undefined ? {} : { export: price(e['-']) }),
          network_eur_per_kwh: 0,
          levies_eur_per_kwh: 0,
          fixed_eur_per_year: 0,
          net_metering: false,
          export_fee_eur_per_kwh: 0,
        },
        ...(gas ? { gas } : {}),
        ...(r.Water ? { water: { price_eur_per_m3: r.Water['+'], fixed_eur_per_year: 0 } } : {}),
      },
    ],
  };
}
