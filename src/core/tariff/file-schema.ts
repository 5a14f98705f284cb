/**
 * The tariff file's TypeBox schema: what a file may contain. Reference: docs/tariffs.md; examples:
 * config/tariffs.example.yaml and config/tariffs/*.yaml. The checks a schema cannot express (forms,
 * order, band names) and the resolution into a Tariff live in schema.ts and resolve-period.ts.
 *
 * VAT convention: **every price in the file is excluding VAT**; each contract period states its
 * `vat_pct`, which is added on top of every charge (not on injection income). A contract whose
 * prices are final prices (VAT included) is written with `vat_pct: 0`.
 */
import { type Static, Type } from '@sinclair/typebox';
import { REGION_IDS, SCHEDULE_IDS } from './regions.js';

/** €/kWh or €/m3, excluding VAT. Negative prices exist only through dynamic contracts. */
const Price = Type.Number({ minimum: 0, maximum: 100 });
const Annual = Type.Number({ minimum: 0, maximum: 100_000 });
const BandName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' });

/** A price per named band: `{peak: 0.19, medium: 0.13, eco: 0.07}`. */
const BandPrices = Type.Record(BandName, Price, { additionalProperties: false, minProperties: 2 });

export const DynamicPriceSchema = Type.Object(
  {
    /**
     * Contract price = multiplier × day-ahead price + adder (both excl. VAT). The day-ahead price is
     * the price file's, else the one the server's price feed stored for the zone.
     */
    multiplier: Type.Number({ default: 1, minimum: -100, maximum: 100 }),
    adder_eur_per_kwh: Type.Number({ default: 0, minimum: -100, maximum: 100 }),
    /**
     * The index the contract follows: `quarter` (the quarter-hour price, Belpex 15-min / eSpot_15;
     * the default) or `hour` (the hourly index, Belpex H: the mean of the hour's four quarters).
     */
    resolution: Type.Union([Type.Literal('quarter'), Type.Literal('hour')], {
      default: 'quarter',
      errorMessage: 'must be quarter or hour',
    }),
  },
  { additionalProperties: false },
);

/** Exactly one of: `single`; `day` + `night`; `bands`; `dynamic`. Checked in resolve-period.ts. */
export const EnergyPriceSchema = Type.Object(
  {
    single: Type.Optional(Price),
    day: Type.Optional(Price),
    night: Type.Optional(Price),
    /** A price per band of a time-of-use schedule (the file's `time_of_use`). */
    bands: Type.Optional(BandPrices),
    dynamic: Type.Optional(DynamicPriceSchema),
  },
  { additionalProperties: false },
);

const ConnectionBand = Type.Object(
  {
    /** This amount applies to connections up to this size (kVA); the last band has none. */
    up_to_kva: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100_000 })),
    eur_per_year: Annual,
  },
  { additionalProperties: false },
);

export const ElectricityPricesSchema = Type.Object(
  {
    /** Supplier's energy price for import (afname), €/kWh excl. VAT. */
    import: EnergyPriceSchema,
    /** Injection compensation, €/kWh excl. VAT. Absent: injection earns nothing. */
    export: Type.Optional(EnergyPriceSchema),
    /** Distribution + transmission per imported kWh, €/kWh excl. VAT: one price, or one per band. */
    network_eur_per_kwh: Type.Union([Type.Number({ minimum: 0, maximum: 100 }), BandPrices], {
      default: 0,
      errorMessage: 'must be a price >= 0 (EUR/kWh) or a price per band, e.g. {peak: 0.19, medium: 0.13, eco: 0.07}',
    }),
    /** Levies, contributions and excise per imported kWh, €/kWh excl. VAT. */
    levies_eur_per_kwh: Type.Number({ default: 0, minimum: 0, maximum: 100 }),
    /**
     * Capacity tariff on the monthly peak, €/kW/year excl. VAT (Flanders). Absent: the region
     * preset's published rate (`region: fluvius-…`), else no capacity tariff.
     */
    capacity_eur_per_kw_year: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000 })),
    /**
     * A yearly capacity term by connection size (Brussels: "puissance mise à disposition"), excl.
     * VAT: one amount, or bands by size picked with the file's `connection_kva`.
     */
    connection_capacity_eur_per_year: Type.Optional(
      Type.Union([Annual, Type.Array(ConnectionBand, { minItems: 1, maxItems: 20 })], {
        errorMessage: 'must be an amount per year or a list of {up_to_kva, eur_per_year}',
      }),
    ),
    /** Fixed fees per year (supplier's fixed fee, data management), excl. VAT, prorated per day. */
    fixed_eur_per_year: Type.Number({ default: 0, ...Annual }),
    /** Net metering (NL salderingsregeling): export offsets import within the period costed. */
    net_metering: Type.Boolean({ default: false }),
    /** The supplier's feed-in cost per exported kWh (NL terugleverkosten), excl. VAT. */
    export_fee_eur_per_kwh: Type.Number({ default: 0, minimum: 0, maximum: 100 }),
  },
  { additionalProperties: false },
);

export const GasPricesSchema = Type.Object(
  {
    /** Exactly one of price_eur_per_m3 and price_eur_per_kwh (excl. VAT). */
    price_eur_per_m3: Type.Optional(Price),
    price_eur_per_kwh: Type.Optional(Price),
    /** kWh per m3 (the supplier's conversion factor, e.g. 10.5–11.5 in Belgium). */
    kwh_per_m3: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
    network_eur_per_kwh: Type.Number({ default: 0, minimum: 0, maximum: 100 }),
    levies_eur_per_kwh: Type.Number({ default: 0, minimum: 0, maximum: 100 }),
    fixed_eur_per_year: Type.Number({ default: 0, ...Annual }),
  },
  { additionalProperties: false },
);

export const WaterPricesSchema = Type.Object(
  {
    price_eur_per_m3: Price,
    fixed_eur_per_year: Type.Number({ default: 0, ...Annual }),
  },
  { additionalProperties: false },
);

export const TariffPeriodSchema = Type.Object(
  {
    valid_from: Type.String({ minLength: 10, maxLength: 40 }),
    valid_to: Type.Optional(Type.String({ minLength: 10, maxLength: 40 })),
    label: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })),
    /** VAT added on top of every charge in this period (6 in Belgium for households since 2023). */
    vat_pct: Type.Number({ minimum: 0, maximum: 100 }),
    electricity: ElectricityPricesSchema,
    gas: Type.Optional(GasPricesSchema),
    water: Type.Optional(WaterPricesSchema),
  },
  { additionalProperties: false },
);

export const DayNightSchema = Type.Object(
  {
    /** Weekday day tariff from this local hour (7 or 6 in Flanders, depending on the DSO/municipality). */
    day_start_hour: Type.Integer({ default: 7, minimum: 0, maximum: 23 }),
    /** … until this local hour (22 or 21). */
    day_end_hour: Type.Integer({ default: 22, minimum: 1, maximum: 24 }),
    /** Saturday and Sunday are night all day (BE since 2007; NL too). */
    weekend_is_night: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

const HourRanges = Type.Array(Type.String({ minLength: 3, maxLength: 11 }), { minItems: 1, maxItems: 24 });

/** One band's local hours per day type: "07-11", "22-01" (wraps midnight), "07:30-09:00". */
export const BandHoursSchema = Type.Object(
  {
    every_day: Type.Optional(HourRanges),
    weekdays: Type.Optional(HourRanges),
    weekends: Type.Optional(HourRanges),
  },
  { additionalProperties: false },
);

export const CapacityRulesSchema = Type.Object(
  {
    /** Minimum billed monthly peak, kW (2.5 in Flanders). */
    floor_kw: Type.Number({ default: 2.5, minimum: 0, maximum: 1000 }),
    /**
     * `month` (the rule in Flanders: each monthly peak is raised to the floor, then the 12 are
     * averaged); `average`: the floor applies to the 12-month average.
     */
    floor_applies_to: Type.Union([Type.Literal('month'), Type.Literal('average')], { default: 'month' }),
    /**
     * A month of the 12 without data (before the meter's first month, or missing): `skip` leaves
     * it out of the average (the default); `floor` counts it as `floor_kw`.
     */
    missing_month: Type.Optional(Type.Union([Type.Literal('skip'), Type.Literal('floor')])),
  },
  { additionalProperties: false },
);

export const TariffFileSchema = Type.Object(
  {
    timezone: Type.String({ default: 'Europe/Brussels', minLength: 1, maxLength: 64 }),
    /** Meaning of the meter's tariff counters: be: t1 = day, t2 = night; nl: t1 = low/night, t2 = normal/day. */
    country: Type.Union([Type.Literal('be'), Type.Literal('nl')], { default: 'be' }),
    /** A region preset (regions.ts): its capacity rates, day/night hours, network rule. */
    region: Type.Optional(Type.Union(REGION_IDS.map((id) => Type.Literal(id)))),
    day_night: Type.Object(DayNightSchema.properties, { additionalProperties: false, default: {} }),
    /** A named schedule (`wallonia-impact`) or the file's own bands with their hours. */
    time_of_use: Type.Optional(
      Type.Union(
        [
          ...SCHEDULE_IDS.map((id) => Type.Literal(id)),
          Type.Record(BandName, BandHoursSchema, { additionalProperties: false, minProperties: 2 }),
        ],
        {
          errorMessage: `must be one of ${SCHEDULE_IDS.map((s) => JSON.stringify(s)).join(', ')} or bands with their hours, e.g. {peak: {every_day: ["17-22"]}, …}`,
        },
      ),
    ),
    /** Size of the connection, kVA: picks the band of `connection_capacity_eur_per_year`. */
    connection_kva: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100_000 })),
    capacity: Type.Object(CapacityRulesSchema.properties, { additionalProperties: false, default: {} }),
    /** The dynamic price file (CSV or JSON), read by the caller; path relative to this file. */
    price_file: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    periods: Type.Array(TariffPeriodSchema, { minItems: 1, maxItems: 500 }),
  },
  { additionalProperties: false },
);

export type TariffFile = Static<typeof TariffFileSchema>;
export type TariffPeriodConfig = Static<typeof TariffPeriodSchema>;
export type EnergyPrice = Static<typeof EnergyPriceSchema>;
export type DayNightConfig = Static<typeof DayNightSchema>;
export type CapacityRules = Static<typeof CapacityRulesSchema>;
