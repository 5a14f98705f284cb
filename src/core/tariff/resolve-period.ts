/**
 * One contract period of a tariff file resolved into prices the cost calculation reads: the price
 * forms (single, day/night, bands of a schedule, dynamic), the capacity and connection terms, net
 * metering, gas and water. Errors name the key.
 */
import { ConfigError } from '../errors.js';
import type { EnergyPrice, TariffPeriodConfig } from './file-schema.js';
import { parseInstant } from './local-time.js';
import type { RegionPreset } from './regions.js';
import type { ContractPeriod, PriceForm } from './schema.js';
import type { Schedule } from './time-of-use.js';

export interface PeriodContext {
  tz: string;
  what: string;
  /** Every schedule of the tariff; `day_night` first. */
  schedules: readonly Schedule[];
  region: { id: string; preset: RegionPreset } | null;
  connectionKva: number | null;
}

/** The schedule whose bands are exactly these names, or a ConfigError naming the key. */
function scheduleFor(names: readonly string[], ctx: PeriodContext, key: string): Schedule {
  const wanted = [...names].sort().join(',');
  const s = ctx.schedules.find((x) => [...x.bands].sort().join(',') === wanted);
  if (!s) {
    const known = ctx.schedules.map((x) => x.bands.join(', ')).join('; ');
    throw new ConfigError(
      `${key}: no time-of-use schedule has the bands ${names.join(', ')} (known: ${known}); set time_of_use`,
    );
  }
  return s;
}

function bandsForm(prices: Record<string, number>, ctx: PeriodContext, key: string, fromMs: number): PriceForm {
  const names = Object.keys(prices);
  const s = scheduleFor(names, ctx, key);
  if (s.id === 'day_night') return { kind: 'day_night', day: prices.day!, night: prices.night! };
  const first = s.versions[0]!.fromMs;
  if (fromMs < first) {
    throw new ConfigError(
      `${key}: the ${s.id} bands exist from ${new Date(first).toISOString()}; this period starts earlier`,
    );
  }
  return { kind: 'bands', schedule: s.id, prices: { ...prices } };
}

export function priceForm(p: EnergyPrice, key: string, ctx: PeriodContext, fromMs: number): PriceForm {
  const hasSingle = p.single !== undefined;
  const hasDay = p.day !== undefined || p.night !== undefined;
  const hasBands = p.bands !== undefined;
  const hasDyn = p.dynamic !== undefined;
  if (Number(hasSingle) + Number(hasDay) + Number(hasBands) + Number(hasDyn) !== 1) {
    throw new ConfigError(
      hasBands
        ? `${key}: set exactly one of single, day + night, bands, or dynamic`
        : `${key}: set exactly one of single, day + night, or dynamic`,
    );
  }
  if (p.single !== undefined) return { kind: 'single', single: p.single };
  if (p.dynamic !== undefined) {
    return {
      kind: 'dynamic',
      multiplier: p.dynamic.multiplier,
      adder: p.dynamic.adder_eur_per_kwh,
      resolution: p.dynamic.resolution,
    };
  }
  if (p.bands !== undefined) return bandsForm(p.bands, ctx, `${key}.bands`, fromMs);
  if (p.day === undefined) throw new ConfigError(`${key}.day: is required with night`);
  if (p.night === undefined) throw new ConfigError(`${key}.night: is required with day`);
  return { kind: 'day_night', day: p.day, night: p.night };
}

function resolveGas(p: TariffPeriodConfig, key: string): ContractPeriod['gas'] {
  if (!p.gas) return null;
  const g = p.gas;
  const n = Number(g.price_eur_per_m3 !== undefined) + Number(g.price_eur_per_kwh !== undefined);
  if (n !== 1) throw new ConfigError(`${key}.gas: set exactly one of price_eur_per_m3 and price_eur_per_kwh`);
  const needsFactor = g.price_eur_per_kwh !== undefined || g.network_eur_per_kwh > 0 || g.levies_eur_per_kwh > 0;
  if (needsFactor && g.kwh_per_m3 === undefined) {
    throw new ConfigError(`${key}.gas.kwh_per_m3: is required when gas is priced per kWh`);
  }
  const f = g.kwh_per_m3 ?? null;
  const common = {
    kwhPerM3: f,
    networkEurPerKwh: g.network_eur_per_kwh,
    leviesEurPerKwh: g.levies_eur_per_kwh,
    fixedEurPerYear: g.fixed_eur_per_year,
  };
  return g.price_eur_per_kwh !== undefined
    ? { ...common, eurPerM3: g.price_eur_per_kwh * (f as number), unit: 'kWh', unitPrice: g.price_eur_per_kwh }
    : { ...common, eurPerM3: g.price_eur_per_m3 as number, unit: 'm3', unitPrice: g.price_eur_per_m3 as number };
}

/** The connection term: one amount, or the band of the file's connection_kva. */
function resolveConnection(p: TariffPeriodConfig, key: string, ctx: PeriodContext): ContractPeriod['connection'] {
  const v = p.electricity.connection_capacity_eur_per_year;
  if (v === undefined) return null;
  if (typeof v === 'number') return { eurPerYear: v, label: 'Connection capacity term' };
  const k = `${key}.electricity.connection_capacity_eur_per_year`;
  for (let i = 0; i < v.length; i++) {
    const up = v[i]!.up_to_kva;
    const last = i === v.length - 1;
    if (up === undefined && !last) throw new ConfigError(`${k}[${i}].up_to_kva: is required except in the last band`);
    if (up !== undefined && i > 0 && up <= (v[i - 1]!.up_to_kva ?? 0)) {
      throw new ConfigError(`${k}[${i}].up_to_kva: must be larger than the band before`);
    }
  }
  if (ctx.connectionKva === null)
    throw new ConfigError(`${ctx.what}: connection_kva: is required to pick a band of ${k}`);
  const kva = ctx.connectionKva;
  const i = v.findIndex((b) => b.up_to_kva === undefined || kva <= b.up_to_kva);
  if (i < 0) throw new ConfigError(`${k}: no band covers connection_kva ${kva} (the last band takes no up_to_kva)`);
  const band = v[i]!;
  const lower = i > 0 ? v[i - 1]!.up_to_kva : undefined;
  const size =
    band.up_to_kva === undefined
      ? `> ${lower} kVA`
      : lower === undefined
        ? `≤ ${band.up_to_kva} kVA`
        : `${lower}–${band.up_to_kva} kVA`;
  return { eurPerYear: band.eur_per_year, label: `Connection capacity term (${size})` };
}

export type ResolvedPeriod = Omit<ContractPeriod, 'toMs'> & { explicitTo: number | null };

export function resolvePeriod(p: TariffPeriodConfig, i: number, ctx: PeriodContext): ResolvedPeriod {
  const key = `${ctx.what}: periods[${i}]`;
  const fromMs = parseInstant(p.valid_from, ctx.tz, `${key}.valid_from`);
  const explicitTo = p.valid_to === undefined ? null : parseInstant(p.valid_to, ctx.tz, `${key}.valid_to`);
  if (explicitTo !== null && explicitTo <= fromMs) {
    throw new ConfigError(`${key}.valid_to: must be later than valid_from`);
  }
  const e = p.electricity;
  const rule = ctx.region?.preset.rule;
  if (e.capacity_eur_per_kw_year !== undefined && rule !== undefined && rule !== 'capacity_tariff') {
    throw new ConfigError(
      `${key}.electricity.capacity_eur_per_kw_year: region ${ctx.region!.id} has no capacity tariff on the monthly peak`,
    );
  }
  const network = e.network_eur_per_kwh;
  return {
    index: i,
    label: p.label ?? `from ${p.valid_from}`,
    fromMs,
    explicitTo,
    vatPct: p.vat_pct,
    importPrice: priceForm(e.import, `${key}.electricity.import`, ctx, fromMs),
    exportPrice: e.export === undefined ? null : priceForm(e.export, `${key}.electricity.export`, ctx, fromMs),
    networkPrice:
      typeof network === 'number'
        ? { kind: 'single', single: network }
        : bandsForm(network, ctx, `${key}.electricity.network_eur_per_kwh`, fromMs),
    leviesEurPerKwh: e.levies_eur_per_kwh,
    capacityEurPerKwYear: e.capacity_eur_per_kw_year ?? null,
    capacityFrom: e.capacity_eur_per_kw_year === undefined ? null : 'file',
    connection: resolveConnection(p, key, ctx),
    fixedEurPerYear: e.fixed_eur_per_year,
    netMetering: e.net_metering,
    exportFeeEurPerKwh: e.export_fee_eur_per_kwh,
    gas: resolveGas(p, key),
    water: p.water ? { eurPerM3: p.water.price_eur_per_m3, fixedEurPerYear: p.water.fixed_eur_per_year } : null,
  };
}
