/**
 * The tariff file resolved: prices as data, with validity dates. Reference: docs/tariffs.md;
 * examples: config/tariffs.example.yaml and config/tariffs/*.yaml. The file's TypeBox schema is
 * file-schema.ts; one contract period is resolved in resolve-period.ts.
 *
 * A period runs from `valid_from` (a local date = local midnight, or a date-time with offset) to
 * `valid_to` (exclusive) or, without it, to the next period's `valid_from`; the last period is
 * open-ended. Time between an explicit `valid_to` and the next `valid_from` has no contract: energy
 * there has no price and the cost comes out null (see cost.ts).
 *
 * A `region` preset (regions.ts) adds its data: the capacity rate of a Fluvius area where the file
 * gives none, Wallonia's day/night hours where the file sets no `day_night`, the end of net
 * metering in the Netherlands. The earlier system's rates.json (see ./simple-rates.ts) is accepted.
 */
import { ConfigError } from '../errors.js';
import { parseWithSchema } from '../validate.js';
import { type TariffFile, TariffFileSchema } from './file-schema.js';
import { assertZone, parseInstant } from './local-time.js';
import { type NetworkRuleKind, type RegionPreset, regionPreset, SCHEDULES, type SchedulePreset } from './regions.js';
import { resolvePeriod } from './resolve-period.js';
import { isSimpleRates, simpleRatesToTariffFile } from './simple-rates.js';
import { type BandHours, dayNightHours, type Schedule, scheduleVersion } from './time-of-use.js';

export * from './file-schema.js';

/** The resolved form of one price per kWh. */
export type PriceForm =
  | { kind: 'single'; single: number }
  | { kind: 'day_night'; day: number; night: number }
  /** A price per band of a time-of-use schedule (schedule id, band → price). */
  | { kind: 'bands'; schedule: string; prices: Record<string, number> }
  /** multiplier × the day-ahead price of the quarter (or the mean of its clock hour) + adder. */
  | { kind: 'dynamic'; multiplier: number; adder: number; resolution: 'quarter' | 'hour' };

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
  /** Distribution + transmission per imported kWh: single, or per band (Wallonia). */
  networkPrice: PriceForm;
  leviesEurPerKwh: number;
  /**
   * The capacity-tariff rate: the file's, else the region preset's rate in force when the period
   * starts (or the first one inside it); null when none is known. The rate of a given day is
   * capacityRateAt (regions may publish a new rate each year).
   */
  capacityEurPerKwYear: number | null;
  /** Where the capacity rate comes from; null: no capacity tariff in this period. */
  capacityFrom: 'file' | 'region' | null;
  /** A yearly term by connection size (Brussels); null: none. */
  connection: { eurPerYear: number; label: string } | null;
  fixedEurPerYear: number;
  /** Export offsets import (net metering), up to the region's end of net metering. */
  netMetering: boolean;
  /** The supplier's feed-in cost per exported kWh. */
  exportFeeEurPerKwh: number;
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
  /** The file's day_night keys (see `schedules` for the hours in force). */
  dayNight: { dayStartHour: number; dayEndHour: number; weekendIsNight: boolean };
  capacity: { floorKw: number; floorAppliesTo: 'month' | 'average'; missingMonth?: 'skip' | 'floor' };
  priceFile: string | null;
  /** Sorted by fromMs, non-overlapping. */
  periods: ContractPeriod[];
  /** Which form the file had. */
  source: 'tariff-file' | 'rates.json';
  /** Time-of-use schedules; the first is always `day_night` (bands day, night). */
  schedules: Schedule[];
  /** The region preset named in the file. */
  region: { id: string; preset: RegionPreset } | null;
  /** Net metering ends at this instant (the region's law); null: as the file says. */
  netMeteringEndsMs: number | null;
}

/** Whether a contract of the tariff prices energy with the day-ahead price (a dynamic contract). */
export function usesDynamic(tariff: Pick<Tariff, 'periods'>): boolean {
  return tariff.periods.some((c) => c.importPrice.kind === 'dynamic' || c.exportPrice?.kind === 'dynamic');
}

/** The capacity-tariff rate in force at `ms` for contract `c`: null when none applies, rate null when unknown. */
export function capacityRateAt(
  tariff: Pick<Tariff, 'timezone' | 'region'>,
  c: ContractPeriod,
  ms: number,
): { rate: number | null; from: 'file' | 'region' } | null {
  if (c.capacityFrom === null) return null;
  if (c.capacityFrom === 'file') return { rate: c.capacityEurPerKwYear, from: 'file' };
  const spans = tariff.region?.preset.capacityRates ?? [];
  for (const s of spans) {
    const from = parseInstant(s.from, tariff.timezone, 'region');
    const to = parseInstant(s.to, tariff.timezone, 'region');
    if (ms >= from && ms < to) return { rate: s.eurPerKwYear, from: 'region' };
  }
  return { rate: null, from: 'region' };
}

/** Which network rule a contract period applies (capacity tariff, connection term, time of use, none). */
export function networkRuleOf(c: ContractPeriod): NetworkRuleKind {
  if (c.capacityFrom !== null) return 'capacity_tariff';
  if (c.connection !== null) return 'connection_capacity';
  if (c.networkPrice.kind === 'day_night' || c.networkPrice.kind === 'bands') return 'time_of_use';
  return 'none';
}

function presetSchedule(id: string, preset: SchedulePreset, tz: string, key: string): Schedule {
  const versions = preset.versions.map((v) =>
    scheduleVersion(
      v.bands as Record<string, BandHours>,
      v.from === null ? Number.NEGATIVE_INFINITY : parseInstant(v.from, tz, key),
      key,
    ),
  );
  return { id, bands: Object.keys(preset.versions[0]!.bands), versions, source: preset.source };
}

/** The day_night schedule and the file's time_of_use schedule, if any. */
function resolveSchedules(file: TariffFile, doc: unknown, what: string, reg: RegionPreset | null): Schedule[] {
  const tz = file.timezone;
  const tou = file.time_of_use;
  const own: Schedule | null =
    tou === undefined
      ? null
      : typeof tou === 'string'
        ? presetSchedule(tou, SCHEDULES[tou], tz, `${what}: time_of_use`)
        : {
            id: 'time_of_use',
            bands: Object.keys(tou),
            versions: [scheduleVersion(tou, Number.NEGATIVE_INFINITY, `${what}: time_of_use`)],
            source: 'tariff file',
          };
  const isDayNight = (s: Schedule) => s.bands.length === 2 && s.bands.includes('day') && s.bands.includes('night');
  if (own && isDayNight(own)) return [{ ...own, id: 'day_night' }];
  if (own && (own.bands.includes('day') || own.bands.includes('night'))) {
    throw new ConfigError(`${what}: time_of_use: the band names day and night belong to the day/night schedule`);
  }
  const wroteDayNight = doc !== null && typeof doc === 'object' && 'day_night' in doc;
  const dn = file.day_night;
  const dayNight: Schedule =
    reg?.dayNight && !wroteDayNight
      ? presetSchedule('day_night', reg.dayNight, tz, `${what}: region`)
      : {
          id: 'day_night',
          bands: ['day', 'night'],
          versions: [
            scheduleVersion(
              dayNightHours(dn.day_start_hour, dn.day_end_hour, dn.weekend_is_night),
              Number.NEGATIVE_INFINITY,
              `${what}: day_night`,
            ),
          ],
          source: 'tariff file day_night',
        };
  return own ? [dayNight, own] : [dayNight];
}

/** Checks what the schema cannot (forms, order, overlaps) and resolves dates. Errors name the key. */
export function resolveTariff(
  file: TariffFile,
  what: string,
  source: Tariff['source'] = 'tariff-file',
  doc: unknown = file,
): Tariff {
  assertZone(file.timezone, `${what}: timezone`);
  const dn = file.day_night;
  if (dn.day_start_hour >= dn.day_end_hour) {
    throw new ConfigError(`${what}: day_night.day_end_hour: must be later than day_start_hour`);
  }
  const preset = file.region === undefined ? null : regionPreset(file.region);
  const region = preset && file.region ? { id: file.region, preset } : null;
  const schedules = resolveSchedules(file, doc, what, preset);
  const ctx = { tz: file.timezone, what, schedules, region, connectionKva: file.connection_kva ?? null };
  const resolved = file.periods.map((p, i) => resolvePeriod(p, i, ctx));
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
  if (preset?.capacityRates) {
    for (const c of periods) {
      if (c.capacityFrom !== null) continue;
      const spans = preset.capacityRates.map((s) => ({
        from: parseInstant(s.from, file.timezone, 'region'),
        to: parseInstant(s.to, file.timezone, 'region'),
        rate: s.eurPerKwYear,
      }));
      const first =
        spans.find((s) => s.from <= c.fromMs && c.fromMs < s.to) ??
        spans.find((s) => s.from < c.toMs && s.to > c.fromMs);
      c.capacityFrom = 'region';
      c.capacityEurPerKwYear = first?.rate ?? null;
    }
  }
  const ends = preset?.netMeteringEnds;
  return {
    timezone: file.timezone,
    country: file.country,
    dayNight: {
      dayStartHour: dn.day_start_hour,
      dayEndHour: dn.day_end_hour,
      weekendIsNight: dn.weekend_is_night,
    },
    capacity: {
      floorKw: file.capacity.floor_kw,
      floorAppliesTo: file.capacity.floor_applies_to,
      ...(file.capacity.missing_month === undefined ? {} : { missingMonth: file.capacity.missing_month }),
    },
    priceFile: file.price_file ?? null,
    periods,
    source,
    schedules,
    region,
    netMeteringEndsMs: ends === undefined ? null : parseInstant(ends, file.timezone, 'region'),
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
  return resolveTariff(parseWithSchema(TariffFileSchema, d, what), what, 'tariff-file', d);
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
