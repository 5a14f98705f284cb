/**
 * The price feed: day-ahead prices of one bidding zone, fetched from Energy-Charts (no token) or
 * ENTSO-E (a token), stored in the database (store.putDayAheadPrices), which the cost and the
 * prices API read. docs/tariffs.md §1.5.
 *
 * - At start, and each day after publication (13:05 in the zone; the market publishes around
 *   12:45–13:00 CET), it looks at the days it wants (the last `backfillDays` days, today, and
 *   tomorrow once published) and fetches only the days the store does not hold whole: a price
 *   once stored is never fetched again (and never replaced: a published price is final).
 * - A day still missing afterwards (the feed down, or not published yet) is tried again with a
 *   backoff (5 min doubling to 1 h, with jitter). Until then the costs of those quarters are
 *   unpriced (null), never priced at 0: nothing is stored for them.
 * - Logs on a change of state (failing, working again), not on every try; the token never appears
 *   in a log line or an error.
 * - After a pass that stored new prices it calls `onStored`: the server sends the homes their
 *   prices over MQTT then (publisher.ts).
 */
import { DateTime } from 'luxon';
import { errorMessage, KwartierError } from '../../core/errors.js';
import { localDay } from '../../core/time/index.js';
import type { Logger } from '../../lib/log.js';
import type { DayAheadPrice, Store } from '../store/types.js';
import { ENERGY_CHARTS_BASE_URL, energyChartsUrl, parseEnergyCharts } from './energy-charts.js';
import { ENTSOE_BASE_URL, entsoeUrl, parseEntsoe } from './entsoe.js';
import { type FeedPoint, ZONES, type ZoneId } from './zones.js';

export type PriceSource = 'energy-charts' | 'entsoe';

export interface PriceFeedOptions {
  store: Store;
  source: PriceSource;
  zone: ZoneId;
  /** ENTSO-E's security token (required for `entsoe`). */
  token?: string | null;
  /** The feed's base URL; default the source's public one. Tests and the demo point it at loopback. */
  baseUrl?: string | null;
  /** Days before today that should be held (fetched when missing). Default 35. */
  backfillDays?: number;
  log: Logger;
  now?: () => number;
  /** One request's deadline. Default 30 s. */
  requestTimeoutMs?: number;
  /** The first and the longest wait before trying a missing day again. Default 5 min and 1 h. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /**
   * After a pass that stored new prices (the server sends them to the homes then:
   * server/prices/publisher.ts). Not awaited; an error it throws is logged.
   */
  onStored?: (result: RefreshResult) => void | Promise<void>;
}

export interface RefreshResult {
  /** Local days (YYYY-MM-DD) that were fetched (all of them missing or partial before). */
  fetched: string[];
  /** Prices stored that were not there. */
  stored: number;
  /** Days still not held whole. */
  missing: string[];
  /** The last request's error, if one failed. */
  error: string | null;
}

/** Publication: the next day's prices are looked for from this local time on. */
const PUBLISH_HOUR = 13;
const PUBLISH_MINUTE = 5;
/** At most this many days per request (ENTSO-E takes a year; smaller answers fail less). */
const MAX_DAYS_PER_REQUEST = 31;
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

interface Day {
  key: string;
  start: number;
  end: number;
}

export class PriceFeed {
  /** Requests sent, and how many failed (tests, logs). */
  readonly counters = { requests: 0, failures: 0, stored: 0 };
  private timer: NodeJS.Timeout | null = null;
  private readonly abort = new AbortController();
  private running: Promise<RefreshResult> | null = null;
  private failing = false;
  private attempt = 0;
  private stopped = false;
  private readonly zone;
  private readonly base: string;
  private readonly now: () => number;

  constructor(private readonly options: PriceFeedOptions) {
    this.zone = ZONES[options.zone];
    this.base = options.baseUrl ?? (options.source === 'entsoe' ? ENTSOE_BASE_URL : ENERGY_CHARTS_BASE_URL);
    this.now = options.now ?? Date.now;
    if (options.source === 'entsoe' && !options.token)
      throw new KwartierError('config', 'prices.token: is required for prices.source entsoe', { key: 'prices.token' });
  }

  /** The first refresh now (in the background), then one after each publication and retries. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  /** One pass: the days wanted now that the store lacks, fetched and stored. Never throws. */
  refresh(): Promise<RefreshResult> {
    if (!this.running) {
      this.running = this.pass().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /** Resolves when the pass under way (if any) is over: for tests and the demo. */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh().then((r) => this.schedule(this.nextDelay(r)));
    }, delayMs);
    this.timer.unref();
  }

  /** After a pass: a retry with backoff while a day is missing, else the next publication. */
  private nextDelay(r: RefreshResult): number {
    if (r.missing.length > 0) {
      const min = this.options.retryMinMs ?? 5 * 60_000;
      const max = this.options.retryMaxMs ?? 60 * 60_000;
      const base = Math.min(max, min * 2 ** this.attempt);
      this.attempt++;
      return Math.round(base * (0.8 + Math.random() * 0.4));
    }
    this.attempt = 0;
    const now = DateTime.fromMillis(this.now(), { zone: this.zone.timezone });
    let next = now.set({ hour: PUBLISH_HOUR, minute: PUBLISH_MINUTE, second: 0, millisecond: 0 });
    if (next <= now) next = next.plus({ days: 1 });
    return Math.max(1000, next.toMillis() - now.toMillis());
  }

  /** The local days wanted now: backfillDays before today, today, and tomorrow after publication. */
  wantedDays(): Day[] {
    const now = DateTime.fromMillis(this.now(), { zone: this.zone.timezone });
    const today = now.startOf('day');
    const published = now >= now.set({ hour: PUBLISH_HOUR, minute: PUBLISH_MINUTE, second: 0, millisecond: 0 });
    const out: Day[] = [];
    const back = this.options.backfillDays ?? 35;
    for (let d = today.minus({ days: back }); d <= today.plus({ days: published ? 1 : 0 }); d = d.plus({ days: 1 })) {
      out.push({ key: d.toISODate() ?? '', start: d.toMillis(), end: localDay(d.toMillis(), this.zone.timezone).end });
    }
    return out;
  }

  private async pass(): Promise<RefreshResult> {
    const days = this.wantedDays();
    const result: RefreshResult = { fetched: [], stored: 0, missing: [], error: null };
    let todo: Day[];
    try {
      todo = await this.missingDays(days);
    } catch (err) {
      this.options.log.warn({ err: errorMessage(err) }, 'price feed: cannot read the stored prices');
      return { ...result, missing: days.map((d) => d.key), error: errorMessage(err) };
    }
    for (const run of runs(todo)) {
      if (this.stopped) break;
      try {
        const points = await this.fetchDays(run);
        const first = run[0]!.start;
        const last = run[run.length - 1]!.end;
        const rows: DayAheadPrice[] = points
          .filter((p) => p.start >= first && p.start < last)
          .map((p) => ({
            start: new Date(p.start),
            end: new Date(p.end),
            eurPerMwh: p.eurPerMwh,
            source: this.options.source,
          }));
        const n = await this.options.store.putDayAheadPrices(this.options.zone, rows);
        result.stored += n;
        this.counters.stored += n;
        result.fetched.push(...run.map((d) => d.key));
        if (this.failing)
          this.options.log.info(
            { zone: this.options.zone, source: this.options.source },
            'price feed: fetching works again',
          );
        this.failing = false;
      } catch (err) {
        this.counters.failures++;
        result.error = errorMessage(err);
        if (!this.failing)
          this.options.log.warn(
            { zone: this.options.zone, source: this.options.source, days: run.map((d) => d.key), err: result.error },
            'price feed: fetching failed; the quarters without a price stay unpriced until it works',
          );
        else this.options.log.debug({ err: result.error }, 'price feed: fetching still fails');
        this.failing = true;
      }
    }
    result.missing = (await this.missingDays(days).catch(() => days)).map((d) => d.key);
    if (result.stored > 0) {
      this.options.log.info(
        { zone: this.options.zone, source: this.options.source, prices: result.stored, days: result.fetched },
        'price feed: day-ahead prices stored',
      );
      void (async () => this.options.onStored?.(result))().catch((err: unknown) =>
        this.options.log.warn({ err: errorMessage(err) }, 'price feed: handling the stored prices failed'),
      );
    }
    return result;
  }

  /** The days the store does not cover whole (a day is whole when its prices cover every minute of it). */
  private async missingDays(days: readonly Day[]): Promise<Day[]> {
    if (days.length === 0) return [];
    const stored = await this.options.store.dayAheadPrices(
      this.options.zone,
      new Date(days[0]!.start),
      new Date(days[days.length - 1]!.end),
    );
    return days.filter((d) => covered(stored, d.start, d.end) < d.end - d.start);
  }

  private async fetchDays(run: readonly Day[]): Promise<FeedPoint[]> {
    const first = run[0]!;
    const last = run[run.length - 1]!;
    const url =
      this.options.source === 'entsoe'
        ? entsoeUrl(this.base, this.zone.eic, this.options.token ?? '', first.start, last.end)
        : energyChartsUrl(this.base, this.zone.energyCharts, first.key, last.key);
    const text = await this.get(url);
    return this.options.source === 'entsoe' ? parseEntsoe(text) : parseEnergyCharts(text);
  }

  private async get(url: string): Promise<string> {
    this.counters.requests++;
    const shown = redactToken(url);
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000)]);
    let res: Response;
    try {
      res = await fetch(url, { signal, headers: { accept: 'application/json, application/xml, text/xml' } });
    } catch (err) {
      throw new KwartierError('price_feed_unreachable', `${shown}: ${describeFetchError(err)}`, { retriable: true });
    }
    const body = await res.text();
    if (body.length > MAX_ANSWER_BYTES)
      throw new KwartierError('price_feed_answer', `${shown}: the answer is too large`);
    if (res.status === 401 || res.status === 403)
      throw new KwartierError(
        'price_feed_refused',
        `${shown}: HTTP ${res.status}: the token was refused (prices.token)`,
      );
    // ENTSO-E answers "no matching data" as an acknowledgement document, with 200 or 400.
    if (!res.ok && !(this.options.source === 'entsoe' && body.includes('Acknowledgement_MarketDocument')))
      throw new KwartierError('price_feed_http', `${shown}: HTTP ${res.status}`, { retriable: true });
    return body;
  }
}

/** Consecutive days, at most MAX_DAYS_PER_REQUEST a run: one request each. */
function runs(days: readonly Day[]): Day[][] {
  const out: Day[][] = [];
  for (const d of days) {
    const cur = out[out.length - 1];
    const prev = cur?.[cur.length - 1];
    if (cur && prev && prev.end === d.start && cur.length < MAX_DAYS_PER_REQUEST) cur.push(d);
    else out.push([d]);
  }
  return out;
}

/** Milliseconds of [start, end) covered by the prices (sorted by start). */
function covered(prices: readonly DayAheadPrice[], start: number, end: number): number {
  let total = 0;
  let reach = start;
  for (const p of prices) {
    const s = Math.max(p.start.getTime(), reach);
    const e = Math.min(p.end.getTime(), end);
    if (e > s) {
      total += e - s;
      reach = e;
    }
  }
  return total;
}

function redactToken(url: string): string {
  return url.replace(/([?&]securityToken=)[^&]*/, '$1…');
}

function describeFetchError(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer in time';
  if (e.name === 'AbortError') return 'stopped';
  return e.cause?.code ?? e.cause?.message ?? errorMessage(err);
}
