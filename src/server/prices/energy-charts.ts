/**
 * Energy-Charts (Fraunhofer ISE) day-ahead prices: `GET {base}/price?bzn=BE&start=YYYY-MM-DD&end=YYYY-MM-DD`,
 * no registration. Dates in the daily format are local days of the zone, `end` inclusive (the API's
 * documentation). The answer: `{license_info, unix_seconds[], price[], unit: "EUR / MWh", deprecated}`,
 * one price per market time unit (hourly before 1 Oct 2025, quarter-hourly since).
 */
import { KwartierError } from '../../core/errors.js';
import type { FeedPoint } from './zones.js';

export const ENERGY_CHARTS_BASE_URL = 'https://api.energy-charts.info';

export function energyChartsUrl(base: string, bzn: string, fromDay: string, toDay: string): string {
  const u = new URL(`${base.replace(/\/+$/, '')}/price`);
  u.searchParams.set('bzn', bzn);
  u.searchParams.set('start', fromDay);
  u.searchParams.set('end', toDay);
  return u.toString();
}

function bad(message: string): KwartierError {
  return new KwartierError('price_feed_answer', `energy-charts: ${message}`, { retriable: true });
}

/**
 * The points of an answer. Each price holds until the next timestamp (the last one for the step
 * before it), so hourly and quarter-hourly answers both come out right; a null price is a gap.
 */
export function parseEnergyCharts(text: string): FeedPoint[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad('the answer is not JSON');
  }
  const o = (doc ?? {}) as { unix_seconds?: unknown; price?: unknown; unit?: unknown };
  const t = o.unix_seconds;
  const p = o.price;
  if (!Array.isArray(t) || !Array.isArray(p)) throw bad('the answer has no unix_seconds and price arrays');
  if (t.length !== p.length) throw bad(`unix_seconds has ${t.length} entries, price ${p.length}`);
  if (typeof o.unit === 'string' && !/^EUR\s*\/\s*MWh$/i.test(o.unit))
    throw bad(`unexpected unit ${JSON.stringify(o.unit)}`);
  const out: FeedPoint[] = [];
  for (let i = 0; i < t.length; i++) {
    const s = t[i];
    if (typeof s !== 'number' || !Number.isInteger(s)) throw bad(`unix_seconds[${i}] is not a whole number`);
    const prev = i > 0 ? (t[i - 1] as number) : null;
    const next = i < t.length - 1 ? (t[i + 1] as number) : null;
    if (prev !== null && s <= prev) throw bad(`unix_seconds[${i}] is not after the one before`);
    const step = next !== null ? next - s : prev !== null ? s - prev : null;
    if (step === null) throw bad('a single price: its duration is unknown');
    const price = p[i];
    if (price === null) continue;
    if (typeof price !== 'number' || !Number.isFinite(price)) throw bad(`price[${i}] is not a number`);
    out.push({ start: s * 1000, end: (s + step) * 1000, eurPerMwh: price });
  }
  return out;
}
