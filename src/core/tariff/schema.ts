/**
 * The tariff file: prices as data, with validity dates. Reference: docs/tariffs.md; example:
 * config/tariffs.example.yaml.
 *
 * VAT convention: **every price in the file is excluding VAT**; each contract period states its
 * `vat_pct`, which is added on top of every charge (not on injection income). A contract whose
 * prices are final prices (VAT included) is written with `vat_pct: 0`. The earlier system's
 * rates.json (see ./simple-rates.ts) is such a file.
 *
 * A period runs from `valid_from` (a local date = local midnight, or a date-time with offset) to
 * `valid_to` (exclusive) or, without it, to the next period's `valid_from`; the last period is
 * open-ended. Time between an explicit `valid_to` and the next `valid_from` has no contract: energy
 * there has no price and the cost comes out null (see cost.ts).
 */
import { type Static, Type } from '@sinclair/typebox';
import { ConfigError } from '../errors.js';
import { parseWithSchema } from '../validate.js';
import { assertZone, parseInstant } from './local-time.js';
import { isSimpleRates, simpleRatesToTariffFile } from './simple-rates.js';

/** €/kWh or €/m3, excluding VAT. Negative prices exist only through dynamic contracts. */
const Price = Type.Number({ minimum: 0, maximum: 100 });
const Annual = Type.Number({ minimum: 0, maximum: 100_000 });

export const DynamicPriceSchema = Type.Object(
  {
    /** Contract price = multiplier × price from the price file + adder (both excl. VAT). */
    multiplier: Type.Number({ default: 1, minimum: -100, maximum: 100 }),
    adder_eur_per_kwh: Type.Number({ default: 0, minimum: -100, maximum: 100 }),
  },
  { additionalProperties: false },
);

/** Exactly one of: `single`; `day` + `night`; `dynamic`. Checked after the schema (checkTariffFile). */
export const EnergyPriceSchema = Type.Object(
  {
    single: Type.Optional(Price),
    day: Type.Optional(Price),
    night: Type.Optional(Price),
    dynamic: Type.Optional(DynamicPriceSchema),
  },
  { additionalProperties: false },
);

export const ElectricityPricesSchema = Type.Object(
  {
    /** Supplier's energy price for import (afname), €/kWh excl. VAT. */
    import: EnergyPriceSchema,
    /** Injection compensation, €/kWh excl. VAT. Absent: injection earns nothing. */
    export: Type.Optional(EnergyPriceSchema),
    /** Distribution + transmission costs per imported kWh, €/kWh excl. VAT. */
    network_eur_per_kwh: Type.Number({ default: 0, minimum: 0, maximum: 100 }),
    /** Levies, contributions and excise per imported kWh, €/kWh excl. VAT. */
    levies_eur_per_kwh: Type.Number({ default: 0, minimum: 0, maximum: 100 }),
    /**
     * Capacity tariff of the distribution region, €/kW/year excl. VAT (Flanders; e.g. the 2023
     * Flemish average 40.4). Absent: no capacity tariff (NL, Brussels, Wallonia).
     */
    capacity_eur_per_kw_year: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000 })),
    /** Fixed fees per year (supplier's fixed fee, data management), excl. VAT, prorated per day. */
    fixed_eur_per_year: Type.Number({ default: 0, ...Annual }),
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

export const CapacityRulesSchema = Type.Object(
  {
    /** Minimum billed peak, kW (2.5 in Flanders). */
    floor_kw: Type.Number({ default: 2.5, minimum: 0, maximum: 1000 }),
    /**
     * `month`: each monthly peak is raised to the floor before averaging (the worked example we
     * follow); `average`: the floor applies to the 12-month average. To confirm against VREG.
     */
    floor_applies_to: Type.Union([Type.Literal('month'), Type.Literal('average')], { default: 'month' }),
  },
  { additionalProperties: false },
);

export const TariffFileSchema = Type.Object(
  {
    timezone: Type.String({ default: 'Europe/Brussels', minLength: 1, maxLength: 64 }),
    /** Meaning of the meter's tariff counters: be: t1 = day, t2 = night; nl: t1 = low/night, t2 = normal/day. */
    country: Type.Union([Type.Literal('be'), Type.Literal('nl')], { default: 'be' }),
    day_night: Type.Object(DayNightSchema.properties, { additionalProperties: false, default: {} }),
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

/** The resolved form of one energy price. */
export type PriceForm =
  | { kind: 'single'; single: number }
  | { kind: 'day_night'; day: number; night: number }
  | { kind: 'dynamic'; multiplier: number; adder: number };

/** A contract period with its validity resolved to instants: [fromMs, toMs). */
export interface ContractPeriod {
  index: number;
  label: string;
  fromMs: number;
  /** Exclusive; Infinity for the open-ended last period. */
  toMs: number;
  vatPct: number;
  importPrice: PriceForm;
  /** null: injection earns nothing. */
  exportPrice: PriceForm | null;
  networkEurPerKwh: number;
  leviesEurPerKwh: number;
  /** null: no capacity tariff. */
  capacityEurPerKwYear: number | null;
  fixedEurPerYear: number;
  gas: {
    /** Price per m3 after conversion (price_eur_per_kwh × kwh_per_m3, or price_eur_per_m3). */
    eurPerM3: number;
    /** Per kWh given: quantities are shown in kWh. */
    unit: 'm3' | 'kWh';
    kwhPerM3: number | null;
    unitPrice: number;
    networkEurPerKwh: number;
    leviesEurPerKwh: number;
    fixedEurPerYear: number;
  } | null;
  water: { eurPerM3: number; fixedEurPerYear: number } | null;
}

export interface Tariff {
  timezone: string;
  country: 'be' | 'nl';
  dayNight: { dayStartHour: number; dayEndHour: number; weekendIsNight: boolean };
  capacity: { floorKw: number; floorAppliesTo: 'month' | 'average' };
  priceFile: string | null;
  /** Sorted by fromMs, non-overlapping. */
  periods: ContractPeriod[];
  /** Which form the file had. */
  source: 'tariff-file' | 'rates.json';
}

function priceForm(p: EnergyPrice, key: string): PriceForm {
  const hasSingle = p.single !== undefined;
  const hasDay = p.day !== undefined || p.night !== undefined;
  const hasDyn = p.dynamic !== undefined;
  if (Number(hasSingle) + Number(hasDay) + Number(hasDyn) !== 1) {
    throw new ConfigError(`${key}: set exactly one of single, day + night, or dynamic`);
  }
  if (p.single !== undefined) return { kind: 'single', single: p.single };
  if (p.dynamic !== undefined) {
    return { kind: 'dynamic', multiplier: p.dynamic.multiplier, adder: p.dynamic.adder_eur_per_kwh };
  }
  if (p.day === undefined) throw new ConfigError(`${key}.day: is required with night`);
  if (p.night === undefined) throw new ConfigError(`${key}.night: is required with day`);
  return { kind: 'day_night', day: p.day, night: p.night };
}

function resolvePeriod(
  p: TariffPeriodConfig,
  i: number,
  tz: string,
  what: string,
): Omit<ContractPeriod, 'toMs'> & {
  explicitTo: number | null;
} {
  const key = `${what}: periods[${i}]`;
  const fromMs = parseInstant(p.valid_from, tz, `${key}.valid_from`);
  const explicitTo = p.valid_to === undefined ? null : parseInstant(p.valid_to, tz, `${key}.valid_to`);
  if (explicitTo !== null && explicitTo <= fromMs) {
    throw new ConfigError(`${key}.valid_to: must be later than valid_from`);
  }
  const e = p.electricity;
  let gas: ContractPeriod['gas'] = null;
  if (p.gas) {
    const g = p.gas;
    const n = Number(g.price_eur_per_m3 !== undefined) + Number(g.price_eur_per_kwh !== undefined);
    if (n !== 1) throw new ConfigError(`${key}.gas: set exactly one of price_eur_per_m3 and price_eur_per_kwh`);
    const needsFactor = g.price_eur_per_kwh !== undefined || g.network_eur_per_kwh > 0 || g.levies_eur_per_kwh > 0;
    if (needsFactor && g.kwh_per_m3 === undefined) {
      throw new ConfigError(`${key}.gas.kwh_per_m3: is required when gas is priced per kWh`);
    }
    const f = g.kwh_per_m3 ?? null;
    gas =
      g.price_eur_per_kwh !== undefined
        ? {
            eurPerM3: g.price_eur_per_kwh * (f as number),
            unit: 'kWh',
            kwhPerM3: f,
            unitPrice: g.price_eur_per_kwh,
            networkEurPerKwh: g.network_eur_per_kwh,
            leviesEurPerKwh: g.levies_eur_per_kwh,
            fixedEurPerYear: g.fixed_eur_per_year,
          }
        : {
            eurPerM3: g.price_eur_per_m3 as number,
            unit: 'm3',
            kwhPerM3: f,
            unitPrice: g.price_eur_per_m3 as number,
            networkEurPerKwh: g.network_eur_per_kwh,
            leviesEurPerKwh: g.levies_eur_per_kwh,
            fixedEurPerYear: g.fixed_eur_per_year,
          };
  }
  return {
    index: i,
    label: p.label ?? `from ${p.valid_from}`,
    fromMs,
    explicitTo,
    vatPct: p.vat_pct,
    importPrice: priceForm(e.import, `${key}.electricity.import`),
    exportPrice: e.export === undefined ? null : priceForm(e.export, `${key}.electricity.export`),
    networkEurPerKwh: e.network_eur_per_kwh,
    leviesEurPerKwh: e.levies_eur_per_kwh,
    capacityEurPerKwYear: e.capacity_eur_per_kw_year ?? null,
    fixedEurPerYear: e.fixed_eur_per_year,
    gas,
    water: p.water ? { eurPerM3: p.water.price_eur_per_m3, fixedEurPerYear: p.water.fixed_eur_per_year } : null,
  };
}

/** Checks what the schema cannot (forms, order, overlaps) and resolves dates. Errors name the key. */
export function resolveTariff(file: TariffFile, what: string, source: Tariff['source'] = 'tariff-file'): Tariff {
  assertZone(file.timezone, `${what}: timezone`);
  const dn = file.day_night;
  if (dn.day_start_hour >= dn.day_end_hour) {
    throw new ConfigError(`${what}: day_night.day_end_hour: must be later than day_start_hour`);
  }
  const resolved = file.periods.map((p, i) => resolvePeriod(p, i, file.timezone, what));
  const periods: ContractPeriod[] = [];
  for (let i = 0; i < resolved.length; i++) {
    const p = resolved[i]!;
    const next = resolved[i + 1];
    if (next && next.fromMs <= p.fromMs) {
      throw new ConfigError(`${what}: periods[${i + 1}].valid_from: must be later than periods[${i}].valid_from`);
    }
    if (next && p.explicitTo !== null && p.explicitTo > next.fromMs) {
      throw new ConfigError(
        `${what}: periods[${i}].valid_to: overlaps periods[${i + 1}] (valid_to after its valid_from)`,
      );
    }
    const { explicitTo, ...rest } = p;
    periods.push({ ...rest, toMs: explicitTo ?? next?.fromMs ?? Number.POSITIVE_INFINITY });
  }
  return {
    timezone: file.timezone,
    country: file.country,
    dayNight: {
      dayStartHour: dn.day_start_hour,
      dayEndHour: dn.day_end_hour,
      weekendIsNight: dn.weekend_is_night,
    },
    capacity: { floorKw: file.capacity.floor_kw, floorAppliesTo: file.capacity.floor_applies_to },
    priceFile: file.price_file ?? null,
    periods,
    source,
  };
}

export interface TariffDefaults {
  timezone?: string;
  country?: 'be' | 'nl';
}

/**
 * Validates a parsed tariff document (YAML or JSON already parsed by the caller): the full form,
 * or the earlier system's rates.json form, which is converted. `what` names the document in
 * errors. `defaults` (household config) fill timezone/country where the document has none.
 */
export function parseTariffFile(doc: unknown, what: string, defaults: TariffDefaults = {}): Tariff {
  if (isSimpleRates(doc)) {
    const file = simpleRatesToTariffFile(doc, what);
    if (defaults.timezone) file.timezone = defaults.timezone;
    if (defaults.country) file.country = defaults.country;
    return resolveTariff(parseWithSchema(TariffFileSchema, file, what), what, 'rates.json');
  }
  let d = doc;
  if (d !== null && typeof d === 'object' && !Array.isArray(d)) {
    const o = { ...(d as Record<string, unknown>) };
    if (o.timezone === undefined && defaults.timezone) o.timezone = defaults.timezone;
    if (o.country === undefined && defaults.country) o.country = defaults.country;
    d = o;
  }
  return resolveTariff(parseWithSchema(TariffFileSchema, d, what), what);
}

/** The contract period valid at `ms`, or null (before the first, or in a gap). */
export function periodAt(tariff: Tariff, ms: number): ContractPeriod | null {
  const ps = tariff.periods;
  let lo = 0;
  let hi = ps.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ps[mid]!.fromMs <= ms) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return null;
  const p = ps[found]!;
  return ms < p.toMs ? p : null;
}
