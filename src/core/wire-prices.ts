/**
 * The MQTT contract of day-ahead prices (part of wire.ts, which re-exports it; docs/mqtt.md,
 * docs/control.md "Where the prices come from"):
 *
 * - `{prefix}/{id}/prices` (server → edge, retained, QoS 1): the day-ahead prices the server's price
 *   feed stored for its bidding zone (`prices.zone`), today's and, once published, tomorrow's local
 *   days of the zone, in the store's unit (€/MWh, as the market publishes them). Only the server may
 *   publish it and only that edge may read it (deploy/mosquitto/acl, server/broker/acl.ts).
 * - `version` is the format's: it rises only with a change an edge that reads this version would
 *   misread. Keys beyond the ones named here (the message's and each price's) are allowed and
 *   ignored, so a newer server may add some without silencing an older edge.
 * - The edge applies a message whole or not at all: `decodePricesMessage` refuses bad input with an
 *   error naming the field (`prices[3].minutes: must be an integer`), and the edge keeps what it
 *   had. An edge older than this contract never subscribes to the topic; an edge newer than its
 *   server gets no message and plans as before (its tariff file's prices, or none).
 */
import { type Static, Type } from '@sinclair/typebox';
import { KwartierError } from './errors.js';
import type { PriceSeries } from './tariff/prices.js';
import { validationErrors } from './validate.js';

/** The format version this code writes and reads. */
export const PRICES_VERSION = 1;
/** The unit of `price`: the store's and the market's. */
export const PRICES_UNIT = 'EUR/MWh';
/** At most this many prices in one message (two days of quarters are 192; a 25-hour day adds 4). */
export const MAX_PRICES = 1000;
/** |price| above this is no market price (the day-ahead market's limits are −500 and 4000 €/MWh today). */
export const MAX_ABS_PRICE_EUR_PER_MWH = 100_000;

const TimestampField = Type.String({ format: 'date-time', minLength: 20, maxLength: 35 });

/** One price: it holds from `start` for `minutes`. */
export const PriceEntrySchema = Type.Object({
  start: TimestampField,
  minutes: Type.Integer({ minimum: 1, maximum: 1440 }),
  price: Type.Number({ minimum: -MAX_ABS_PRICE_EUR_PER_MWH, maximum: MAX_ABS_PRICE_EUR_PER_MWH }),
});
export type PriceEntry = Static<typeof PriceEntrySchema>;

/** `prices`: a bidding zone's day-ahead prices, sorted by start, none overlapping another. */
export const PricesMessageSchema = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  /** The bidding zone (`BE`, `NL`: the server's `prices.zone`). */
  zone: Type.String({ pattern: '^[A-Z0-9_-]{1,16}$' }),
  unit: Type.Literal(PRICES_UNIT),
  /** When the server made this message from its store. */
  issued_at: TimestampField,
  prices: Type.Array(PriceEntrySchema, { minItems: 1, maxItems: MAX_PRICES }),
});
export type PricesMessage = Static<typeof PricesMessageSchema>;

/** A price as the store keeps it: [start, end) in epoch ms, €/MWh. */
export interface StoredPricePoint {
  start: number;
  end: number;
  eurPerMwh: number;
}

function bad(message: string): KwartierError {
  return new KwartierError('prices_message', message);
}

/**
 * Checks a `prices` message (the parsed JSON, or its payload) and returns it; throws a
 * KwartierError (`prices_message`) naming the first field that is wrong.
 */
export function decodePricesMessage(input: unknown): PricesMessage {
  let doc = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw bad(`not JSON: ${(err as Error).message}`);
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw bad('must be a JSON object');
  // The version first: a message of another format would fail elsewhere with a less useful reason.
  const version = (doc as { version?: unknown }).version;
  if (Number.isInteger(version) && version !== PRICES_VERSION)
    throw bad(`version: ${String(version)} is not understood (this edge reads version ${PRICES_VERSION})`);
  const list = (doc as { prices?: unknown }).prices;
  if (Array.isArray(list) && list.length === 0) throw bad('prices: must hold at least one price');
  if (Array.isArray(list) && list.length > MAX_PRICES)
    throw bad(`prices: ${list.length} prices are more than the ${MAX_PRICES} a message may hold`);
  const errors = validationErrors(PricesMessageSchema, doc);
  if (errors.length > 0) throw bad(errors[0]!);
  const msg = doc as PricesMessage;
  let prevEnd = Number.NEGATIVE_INFINITY;
  msg.prices.forEach((p, i) => {
    const start = Date.parse(p.start);
    if (start < prevEnd)
      throw bad(
        `prices[${i}].start: ${p.start} is before the end of the price before it (sorted by start, none overlapping)`,
      );
    prevEnd = start + p.minutes * 60_000;
  });
  return msg;
}

/** The message's prices as the tariff code takes them (core/tariff/prices.ts): €/kWh, [start, end). */
export function pricesSeries(msg: PricesMessage): PriceSeries {
  const starts: number[] = [];
  const ends: number[] = [];
  const prices: number[] = [];
  for (const p of msg.prices) {
    const s = Date.parse(p.start);
    starts.push(s);
    ends.push(s + p.minutes * 60_000);
    prices.push(p.price / 1000);
  }
  return { starts, ends, prices };
}

/**
 * The message for stored prices (sorted by start, as the store reads them); null when there are
 * none. A price whose length is not whole minutes, or that overlaps the one before, is left out
 * (the store's prices are the market's quarters and hours, so none is).
 */
export function pricesMessage(
  zone: string,
  points: readonly StoredPricePoint[],
  issuedAt: number,
): PricesMessage | null {
  const prices: PriceEntry[] = [];
  let prevEnd = Number.NEGATIVE_INFINITY;
  for (const p of points) {
    const minutes = (p.end - p.start) / 60_000;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440 || p.start < prevEnd) continue;
    if (!Number.isFinite(p.eurPerMwh) || Math.abs(p.eurPerMwh) > MAX_ABS_PRICE_EUR_PER_MWH) continue;
    prices.push({ start: new Date(p.start).toISOString(), minutes, price: p.eurPerMwh });
    prevEnd = p.end;
    if (prices.length === MAX_PRICES) break;
  }
  if (prices.length === 0) return null;
  return { version: PRICES_VERSION, zone, unit: PRICES_UNIT, issued_at: new Date(issuedAt).toISOString(), prices };
}
