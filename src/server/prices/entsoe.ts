/**
 * ENTSO-E Transparency Platform day-ahead prices: an A44 `Publication_MarketDocument`
 * (IEC 62325-451-3), `GET {base}/api?documentType=A44&in_Domain=EIC&out_Domain=EIC&periodStart=
 * yyyyMMddHHmm&periodEnd=…&securityToken=…`, period times in UTC. Sources: the guide's §4.6 (evcc
 * tariff/entsoe, renaudallard's parser), test/fixtures/prices (real documents).
 *
 * - Each TimeSeries has Periods of a `resolution` (PT15M, PT30M, PT60M) with Points numbered from 1.
 * - Curve type A03 (variable sized blocks): a missing Point means the previous price carries on.
 *   Under A01 every Point is present; a missing one is left a gap.
 * - Several TimeSeries may cover the same time (classificationSequence position 1 and 2): the lowest
 *   position wins, as evcc does; between resolutions at one instant, the finer.
 * - No data yet (before publication) comes as an Acknowledgement_MarketDocument, reason 999: no points.
 */
import { XMLParser } from 'fast-xml-parser';
import { KwartierError } from '../../core/errors.js';
import { HOUR_MS, QUARTER_MS } from '../../core/time/index.js';
import type { FeedPoint } from './zones.js';

export const ENTSOE_BASE_URL = 'https://web-api.tp.entsoe.eu';

/** yyyyMMddHHmm in UTC. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace(/[-T:]/g, '');
}

export function entsoeUrl(base: string, eic: string, token: string, startMs: number, endMs: number): string {
  const u = new URL(`${base.replace(/\/+$/, '')}/api`);
  u.searchParams.set('documentType', 'A44');
  u.searchParams.set('in_Domain', eic);
  u.searchParams.set('out_Domain', eic);
  u.searchParams.set('periodStart', stamp(startMs));
  u.searchParams.set('periodEnd', stamp(endMs));
  u.searchParams.set('securityToken', token);
  return u.toString();
}

function bad(message: string): KwartierError {
  return new KwartierError('price_feed_answer', `entsoe: ${message}`, { retriable: true });
}

const RESOLUTION_MS: Record<string, number> = { PT15M: QUARTER_MS, PT30M: 1_800_000, PT60M: HOUR_MS, PT1H: HOUR_MS };

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === 'TimeSeries' || name === 'Period' || name === 'Point' || name === 'Reason',
});

type Node = Record<string, unknown>;

function text(n: unknown, what: string): string {
  if (typeof n === 'string') return n.trim();
  throw bad(`${what} is missing`);
}

/** "2025-10-30T23:00Z" (the document's UTC minute format, seconds optional). */
function instant(s: string, what: string): number {
  const t = Date.parse(s.endsWith('Z') && s.length === 17 ? `${s.slice(0, 16)}:00Z` : s);
  if (Number.isNaN(t)) throw bad(`${what}: not a date-time: ${JSON.stringify(s)}`);
  return t;
}

interface Candidate extends FeedPoint {
  position: number;
  step: number;
}

function periodPoints(period: Node, curve: string, position: number, where: string): Candidate[] {
  const iv = (period.timeInterval ?? {}) as Node;
  const start = instant(text(iv.start, `${where}.timeInterval.start`), `${where}.timeInterval.start`);
  const end = instant(text(iv.end, `${where}.timeInterval.end`), `${where}.timeInterval.end`);
  const res = text(period.resolution, `${where}.resolution`);
  const step = RESOLUTION_MS[res];
  if (step === undefined) throw bad(`${where}.resolution: ${res} is not PT15M, PT30M or PT60M`);
  const slots = Math.round((end - start) / step);
  if (slots <= 0 || start + slots * step !== end) throw bad(`${where}: the interval is not a whole number of ${res}`);
  const byPosition = new Map<number, number>();
  for (const [i, pt] of ((period.Point ?? []) as Node[]).entries()) {
    const pos = Number(text(pt.position, `${where}.Point[${i}].position`));
    const amount = Number(text(pt['price.amount'], `${where}.Point[${i}].price.amount`));
    if (!Number.isInteger(pos) || pos < 1 || pos > slots)
      throw bad(`${where}.Point[${i}].position: ${pos} is outside 1..${slots}`);
    if (!Number.isFinite(amount)) throw bad(`${where}.Point[${i}].price.amount is not a number`);
    byPosition.set(pos, amount);
  }
  const out: Candidate[] = [];
  let carried: number | null = null;
  for (let pos = 1; pos <= slots; pos++) {
    const own = byPosition.get(pos);
    const price: number | null = own ?? (curve === 'A03' ? carried : null);
    carried = price;
    if (price === null) continue;
    const s = start + (pos - 1) * step;
    out.push({ start: s, end: s + step, eurPerMwh: price, position, step });
  }
  return out;
}

/** The prices of an A44 document (or none, for "no matching data"), one per market time unit, oldest first. */
export function parseEntsoe(xml: string): FeedPoint[] {
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (err) {
    throw bad(`the answer is not XML: ${(err as Error).message}`);
  }
  const ack = doc.Acknowledgement_MarketDocument as Node | undefined;
  if (ack) {
    const reason = ((ack.Reason ?? []) as Node[])[0] ?? {};
    const code = typeof reason.code === 'string' ? reason.code : '';
    const why = typeof reason.text === 'string' ? reason.text : 'no reason given';
    if (code === '999') return [];
    throw new KwartierError('price_feed_refused', `entsoe: the request was refused (${code || '?'}): ${why}`, {
      retriable: false,
    });
  }
  const pub = doc.Publication_MarketDocument as Node | undefined;
  if (!pub) throw bad('the answer is neither a Publication_MarketDocument nor an Acknowledgement_MarketDocument');
  const candidates: Candidate[] = [];
  for (const [i, ts] of ((pub.TimeSeries ?? []) as Node[]).entries()) {
    const where = `TimeSeries[${i}]`;
    const currency = ts['currency_Unit.name'];
    const unit = ts['price_Measure_Unit.name'];
    if (currency !== undefined && currency !== 'EUR') throw bad(`${where}: currency ${String(currency)}, not EUR`);
    if (unit !== undefined && unit !== 'MWH') throw bad(`${where}: price unit ${String(unit)}, not MWH`);
    const curve = typeof ts.curveType === 'string' ? ts.curveType : 'A01';
    const cls = ts['classificationSequence_AttributeInstanceComponent.position'];
    const position = typeof cls === 'string' ? Number(cls) : 1;
    for (const [j, period] of ((ts.Period ?? []) as Node[]).entries())
      candidates.push(...periodPoints(period, curve, position, `${where}.Period[${j}]`));
  }
  candidates.sort((a, b) => a.start - b.start || a.position - b.position || a.step - b.step);
  const out: FeedPoint[] = [];
  for (const c of candidates) {
    const last = out[out.length - 1];
    if (last && c.start < last.end) continue; // the same time from a later position or a coarser resolution
    out.push({ start: c.start, end: c.end, eurPerMwh: c.eurPerMwh });
  }
  return out;
}
