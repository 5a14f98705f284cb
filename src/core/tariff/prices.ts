/**
 * Dynamic (spot) prices from an imported price file, parsed from text (the caller reads the file).
 *
 * Formats:
 * - CSV with a header naming the columns `start` and `price_eur_per_kwh` (or `price_eur_per_mwh`),
 *   in any order, separated by `,` or `;` (with `;` a decimal comma is accepted: `0,1234`).
 *   Blank lines and lines starting with `#` are skipped.
 * - JSON: an array of {start, price_eur_per_kwh} (or price_eur_per_mwh), or {"prices": [...]}.
 *
 * `start` must be ISO 8601 with an offset or Z (a local time without offset is ambiguous in the
 * repeated hour of October). Each price holds from its start for the file's resolution: the given
 * `resolutionMinutes`, else the smaller of the steps to its neighbours (so a file may switch from
 * hourly to quarter-hourly prices, as the day-ahead market did on 1 Oct 2025, and a missing entry
 * leaves a hole instead of stretching its neighbour). Times not covered have no price (null).
 */
import { DateTime } from 'luxon';
import { ConfigError } from '../errors.js';
import { HOUR_MS, QUARTER_MS } from '../time/index.js';

export interface PriceSeries {
  /** Sorted, unique. */
  starts: number[];
  /** Exclusive end of each entry. */
  ends: number[];
  /** €/kWh, excl. VAT, as in the file (the contract's multiplier/adder are applied in cost.ts). */
  prices: number[];
}

export interface PricePoint {
  start: number;
  price_eur_per_kwh: number;
}

function parseStart(s: string, where: string): number {
  const t = s.trim();
  if (!/(Z|[+-]\d{2}:?\d{2})$/.test(t)) throw new ConfigError(`${where}: start ${JSON.stringify(t)} has no UTC offset`);
  const d = DateTime.fromISO(t, { setZone: true });
  if (!d.isValid) throw new ConfigError(`${where}: start ${JSON.stringify(t)} is not an ISO 8601 date-time`);
  return d.toMillis();
}

function parseNumber(s: string, decimalComma: boolean, where: string): number {
  let t = s.trim();
  if (decimalComma) t = t.replace(',', '.');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t))
    throw new ConfigError(`${where}: not a number: ${JSON.stringify(s)}`);
  return Number(t);
}

function splitCsvLine(line: string, sep: string): string[] {
  return line.split(sep).map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
}

function parseCsv(text: string, what: string): PricePoint[] {
  const lines = text.split(/\r?\n/);
  let headerIdx = -1;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l !== '' && !l.startsWith('#')) {
      headerIdx = i;
      break;
    }
  }
  if (headerIdx < 0) throw new ConfigError(`${what}: empty price file`);
  const header = lines[headerIdx]!;
  const sep = header.includes(';') ? ';' : ',';
  const cols = splitCsvLine(header, sep).map((c) => c.toLowerCase());
  const iStart = cols.indexOf('start');
  const iKwh = cols.indexOf('price_eur_per_kwh');
  const iMwh = cols.indexOf('price_eur_per_mwh');
  if (iStart < 0 || (iKwh < 0 && iMwh < 0)) {
    throw new ConfigError(
      `${what} line ${headerIdx + 1}: header must name columns start and price_eur_per_kwh (or price_eur_per_mwh)`,
    );
  }
  const iPrice = iKwh >= 0 ? iKwh : iMwh;
  const div = iKwh >= 0 ? 1 : 1000;
  const out: PricePoint[] = [];
  for (let i = headerIdx + 1; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === '' || l.startsWith('#')) continue;
    const where = `${what} line ${i + 1}`;
    const cells = splitCsvLine(l, sep);
    const s = cells[iStart];
    const p = cells[iPrice];
    if (s === undefined || p === undefined) throw new ConfigError(`${where}: expected ${cols.length} columns`);
    out.push({ start: parseStart(s, where), price_eur_per_kwh: parseNumber(p, sep === ';', where) / div });
  }
  return out;
}

function parseJson(text: string, what: string): PricePoint[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${what}: not valid JSON: ${(err as Error).message}`);
  }
  const arr = Array.isArray(doc) ? doc : (doc as { prices?: unknown } | null)?.prices;
  if (!Array.isArray(arr))
    throw new ConfigError(`${what}: expected an array of {start, price_eur_per_kwh} or {"prices": [...]}`);
  return arr.map((e: unknown, i) => {
    const where = `${what}: [${i}]`;
    if (e === null || typeof e !== 'object') throw new ConfigError(`${where}: must be an object`);
    const o = e as Record<string, unknown>;
    if (typeof o.start !== 'string') throw new ConfigError(`${where}.start: must be a string`);
    const kwh = o.price_eur_per_kwh;
    const mwh = o.price_eur_per_mwh;
    let price: number;
    if (typeof kwh === 'number' && Number.isFinite(kwh)) price = kwh;
    else if (typeof mwh === 'number' && Number.isFinite(mwh)) price = mwh / 1000;
    else throw new ConfigError(`${where}.price_eur_per_kwh: must be a number`);
    return { start: parseStart(o.start, `${where}.start`), price_eur_per_kwh: price };
  });
}

/** Builds a series from points; duplicates are an error; durations are inferred when not given. */
export function priceSeries(points: readonly PricePoint[], what: string, resolutionMinutes?: number): PriceSeries {
  if (points.length === 0) throw new ConfigError(`${what}: no prices`);
  const sorted = [...points].sort((a, b) => a.start - b.start);
  const starts = sorted.map((p) => p.start);
  for (let i = 1; i < starts.length; i++) {
    if (starts[i] === starts[i - 1])
      throw new ConfigError(`${what}: two prices for ${new Date(starts[i]!).toISOString()}`);
  }
  if (resolutionMinutes === undefined && starts.length === 1) {
    throw new ConfigError(`${what}: a single price: give the resolution (minutes)`);
  }
  const ends = starts.map((s, i) => {
    if (resolutionMinutes !== undefined) return s + resolutionMinutes * 60_000;
    const before = i > 0 ? s - starts[i - 1]! : Number.POSITIVE_INFINITY;
    const after = i < starts.length - 1 ? starts[i + 1]! - s : Number.POSITIVE_INFINITY;
    return s + Math.min(before, after);
  });
  return { starts, ends, prices: sorted.map((p) => p.price_eur_per_kwh) };
}

/** Parses a price file's text. `format` defaults to JSON when the text starts with `[` or `{`. */
export function parsePriceFile(
  text: string,
  what: string,
  opts: { format?: 'csv' | 'json'; resolutionMinutes?: number } = {},
): PriceSeries {
  const t = text.replace(/^\uFEFF/, '');
  const format = opts.format ?? (/^\s*[[{]/.test(t) ? 'json' : 'csv');
  const points = format === 'json' ? parseJson(t, what) : parseCsv(t, what);
  return priceSeries(points, what, opts.resolutionMinutes);
}

/**
 * One series from two: every entry of `primary`, and the entries of `fallback` that overlap none of
 * them (the edge's price file first, the server's prices where the file has none: docs/control.md).
 * Either may be null; null when both are.
 */
export function overlayPriceSeries(primary: PriceSeries | null, fallback: PriceSeries | null): PriceSeries | null {
  if (!primary || primary.starts.length === 0) return fallback;
  if (!fallback || fallback.starts.length === 0) return primary;
  const entries: Array<[number, number, number]> = primary.starts.map((s, i) => [
    s,
    primary.ends[i]!,
    primary.prices[i]!,
  ]);
  let j = 0;
  for (let i = 0; i < fallback.starts.length; i++) {
    const s = fallback.starts[i]!;
    const e = fallback.ends[i]!;
    // The primary entries are sorted and do not overlap: skip those that end before this one starts.
    while (j < primary.starts.length && primary.ends[j]! <= s) j++;
    if (j < primary.starts.length && primary.starts[j]! < e) continue;
    entries.push([s, e, fallback.prices[i]!]);
  }
  entries.sort((a, b) => a[0] - b[0]);
  return { starts: entries.map((x) => x[0]), ends: entries.map((x) => x[1]), prices: entries.map((x) => x[2]) };
}

/** The file's price at `ms`, or null when no entry covers it. */
export function priceAt(series: PriceSeries, ms: number): number | null {
  const s = series.starts;
  let lo = 0;
  let hi = s.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid]! <= ms) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0 || ms >= series.ends[found]!) return null;
  return series.prices[found]!;
}

/**
 * The day-ahead price a dynamic contract is indexed on at `ms` (€/kWh): the quarter's price, or for
 * a contract on the hourly index the mean of the four quarters of its clock hour (the market's
 * hourly index is that mean; CET and CEST hours are whole UTC hours, so the hour is cut in UTC).
 * An hourly series gives the same price for each quarter, so its mean is the hour's price. Null
 * when the price (or any quarter of the hour) is not known.
 */
export function indexPriceAt(
  series: PriceSeries | null | undefined,
  ms: number,
  resolution: 'quarter' | 'hour',
): number | null {
  if (!series) return null;
  if (resolution === 'quarter') return priceAt(series, ms);
  const hour = Math.floor(ms / HOUR_MS) * HOUR_MS;
  let sum = 0;
  for (let q = hour; q < hour + HOUR_MS; q += QUARTER_MS) {
    const p = priceAt(series, q);
    if (p === null) return null;
    sum += p;
  }
  return sum / 4;
}
