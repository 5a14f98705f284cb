/**
 * The InfluxDB exporter: every committed snapshot as one line-protocol point (line-protocol.ts),
 * written in batches to InfluxDB's v1 `/write` API (database, optional retention policy, basic
 * authentication or a token) or its v2 `/api/v2/write` API (org, bucket, token), with
 * `precision=ms`.
 *
 * - Never in the ingester's way: the bus handler only formats and queues the point.
 * - Batched: a write when `batch_size` points wait or every `flush_interval_ms`; one request in
 *   flight at a time, so points arrive in order.
 * - Retried with backoff (core/backoff.ts, capped at a minute): a network error, a timeout, 5xx,
 *   429, and 401/403/404 (a missing database or a wrong token is fixed on the InfluxDB side, and the
 *   points are kept meanwhile). A 400 (the InfluxDB refuses the data itself, e.g. a field type
 *   conflict) drops that batch, counted and logged: sending it again cannot help.
 * - Bounded memory: at most `max_buffered_points` wait (plus the batch in flight); beyond that the
 *   oldest points are dropped, counted (`stats().dropped`) and logged (at the first drop, then at
 *   most once a minute).
 * - Exactly once in InfluxDB: a point is identified by measurement, tag and timestamp, so a batch
 *   sent again after a lost answer overwrites itself instead of adding points.
 */
import { Backoff, type BackoffOptions } from '../../core/backoff.js';
import { errorMessage, KwartierError } from '../../core/errors.js';
import type { Logger } from '../../lib/log.js';
import type { ServerBus } from '../bus.js';
import type { IngestedSnapshot } from '../ingest/ingester.js';
import type { InfluxDbExporterConfig } from './config.js';
import { snapshotLine } from './line-protocol.js';
import type { Exporter, ExporterStats } from './types.js';

export interface InfluxDbExporterOptions {
  config: InfluxDbExporterConfig;
  log: Logger;
  /** Retry timing (tests shorten it). Default: 500 ms doubling to 60 s, with jitter. */
  backoff?: BackoffOptions;
  /** Clock for the drop log's pacing (tests). */
  now?: () => number;
}

/** A FIFO of strings with O(1) removal at the front (an array shifted per point is O(n)). */
class Fifo {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(s: string): void {
    this.items.push(s);
  }

  /** Removes and returns up to `n` from the front. */
  take(n: number): string[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    this.compact();
    return out;
  }

  /** Puts `batch` back at the front (a write that will be retried). */
  unshift(batch: string[]): void {
    this.items = [...batch, ...this.items.slice(this.head)];
    this.head = 0;
  }

  /** Drops `n` from the front. */
  drop(n: number): void {
    this.head += Math.min(n, this.length);
    this.compact();
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/** The write URL and headers for the configured API. */
export function influxWriteRequest(cfg: InfluxDbExporterConfig): { url: string; headers: Record<string, string> } {
  const base = cfg.url.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8' };
  if (cfg.token !== undefined) headers.Authorization = `Token ${cfg.token}`;
  let url: string;
  if (cfg.bucket !== undefined) {
    const q = new URLSearchParams({ org: cfg.org ?? '', bucket: cfg.bucket, precision: 'ms' });
    url = `${base}/api/v2/write?${q}`;
  } else {
    const q = new URLSearchParams({ db: cfg.database ?? '', precision: 'ms' });
    if (cfg.retention_policy !== undefined) q.set('rp', cfg.retention_policy);
    url = `${base}/write?${q}`;
    if (cfg.username !== undefined)
      headers.Authorization = `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}`;
  }
  return { url, headers };
}

export class InfluxDbExporter implements Exporter {
  readonly name = 'influxdb';
  private readonly queue = new Fifo();
  private readonly backoff: Backoff;
  private readonly request: { url: string; headers: Record<string, string> };
  private readonly now: () => number;
  private bus: ServerBus | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private inFlightCount = 0;
  private failing = false;
  private stopped = false;
  private lastDropLog = 0;
  private droppedSinceLog = 0;
  private readonly counters = { sent: 0, dropped: 0, failures: 0, empty: 0 };

  constructor(private readonly opts: InfluxDbExporterOptions) {
    this.backoff = new Backoff({ baseMs: 500, maxMs: 60_000, ...opts.backoff });
    this.request = influxWriteRequest(opts.config);
    this.now = opts.now ?? Date.now;
  }

  start(bus: ServerBus): void {
    this.bus = bus;
    this.stopped = false;
    bus.subscribe(this.name, 'committed', (e) => this.enqueue(e));
    this.timer = setInterval(() => this.flush(), this.opts.config.flush_interval_ms);
    this.timer.unref();
    this.opts.log.info(
      { url: this.request.url.replace(/\?.*$/, ''), api: this.opts.config.bucket !== undefined ? 'v2' : 'v1' },
      'InfluxDB exporter started',
    );
  }

  stats(): ExporterStats {
    return {
      queued: this.queue.length + this.inFlightCount,
      sent: this.counters.sent,
      dropped: this.counters.dropped,
      failures: this.counters.failures,
    };
  }

  /** Queues one committed snapshot (the bus handler: no I/O, no waiting). */
  enqueue(e: IngestedSnapshot): void {
    if (this.stopped) return;
    const ms = Date.parse(e.snapshot.timestamp);
    const line = Number.isFinite(ms) ? snapshotLine(this.opts.config.measurement, e.snapshot, ms) : null;
    if (line === null) {
      this.counters.empty++;
      return;
    }
    this.queue.push(line);
    // The batch in flight is not counted: if it fails it comes back to the front, and the bound is
    // applied again then, so what goes is always the oldest (memory: max_buffered_points + one batch).
    const over = this.queue.length - this.opts.config.max_buffered_points;
    if (over > 0) this.dropOldest(over);
    if (this.queue.length >= this.opts.config.batch_size) this.flush();
  }

  private dropOldest(n: number): void {
    if (n <= 0) return;
    this.queue.drop(n);
    this.counters.dropped += n;
    this.droppedSinceLog += n;
    const now = this.now();
    if (this.lastDropLog === 0 || now - this.lastDropLog >= 60_000) {
      this.opts.log.warn(
        {
          dropped: this.droppedSinceLog,
          dropped_total: this.counters.dropped,
          max_buffered_points: this.opts.config.max_buffered_points,
        },
        'InfluxDB unreachable for too long: the oldest waiting points are dropped (exporters.influxdb.max_buffered_points)',
      );
      this.lastDropLog = now;
      this.droppedSinceLog = 0;
    }
  }

  /** Starts a write if none is running and points wait (and no retry is pending). */
  private flush(): void {
    if (this.inFlight || this.retryTimer || this.queue.length === 0) return;
    const batch = this.queue.take(this.opts.config.batch_size);
    this.inFlightCount = batch.length;
    this.inFlight = this.writeBatch(batch).finally(() => {
      this.inFlight = null;
      this.inFlightCount = 0;
      if (!this.stopped && !this.retryTimer && this.queue.length >= this.opts.config.batch_size) this.flush();
    });
  }

  private async writeBatch(batch: string[]): Promise<void> {
    try {
      await this.post(batch.join('\n'));
      this.counters.sent += batch.length;
      this.backoff.reset();
      if (this.failing) this.opts.log.info({ waiting: this.queue.length }, 'InfluxDB writes succeed again');
      this.failing = false;
    } catch (err) {
      this.counters.failures++;
      const retriable = !(err instanceof KwartierError) || err.retriable;
      if (!retriable) {
        this.counters.dropped += batch.length;
        this.opts.log.error(
          { err: errorMessage(err), points: batch.length },
          'InfluxDB refused a batch; it is dropped (sending it again cannot help)',
        );
        return;
      }
      if (this.stopped) return;
      this.queue.unshift(batch);
      const over = this.queue.length - this.opts.config.max_buffered_points;
      if (over > 0) this.dropOldest(over);
      const delay = this.retryDelay(err);
      if (!this.failing)
        this.opts.log.warn(
          { err: errorMessage(err), waiting: this.queue.length, retry_ms: delay },
          'InfluxDB write failed; the points wait and the write is retried with backoff',
        );
      this.failing = true;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.flush();
      }, delay);
      this.retryTimer.unref();
    }
  }

  private retryDelay(err: unknown): number {
    const after = err instanceof InfluxWriteError ? err.retryAfterMs : null;
    const next = this.backoff.next();
    return after !== null ? Math.min(Math.max(after, next), 300_000) : next;
  }

  private async post(body: string): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.request.url, {
        method: 'POST',
        headers: this.request.headers,
        body,
        signal: AbortSignal.timeout(this.opts.config.timeout_s * 1000),
      });
    } catch (err) {
      throw new InfluxWriteError(`cannot reach ${this.request.url.replace(/\?.*$/, '')}: ${causeOf(err)}`, true, null);
    }
    if (res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      return;
    }
    const text = (await res.text().catch(() => '')).slice(0, 500);
    const retryAfter = Number(res.headers.get('retry-after'));
    const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null;
    // 400 (and 413, 422): the data or its size is refused; everything else may heal on its own.
    const retriable = !(res.status === 400 || res.status === 413 || res.status === 422);
    throw new InfluxWriteError(`HTTP ${res.status}: ${text.trim() || res.statusText}`, retriable, retryAfterMs);
  }

  /**
   * Unsubscribes, then writes what waits, one attempt per batch within the write timeout; what the
   * InfluxDB does not take by then is counted as dropped.
   */
  async stop(): Promise<void> {
    this.bus?.unsubscribe(this.name);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.inFlight;
    const deadline = this.now() + this.opts.config.timeout_s * 1000;
    while (this.queue.length > 0 && !this.failing && this.now() < deadline) {
      this.flush();
      await this.inFlight;
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        break;
      }
    }
    this.stopped = true;
    if (this.queue.length > 0) {
      this.counters.dropped += this.queue.length;
      this.opts.log.warn({ points: this.queue.length }, 'InfluxDB exporter stopped with points not written');
      this.queue.drop(this.queue.length);
    }
  }
}

export class InfluxWriteError extends KwartierError {
  constructor(
    message: string,
    retriable: boolean,
    readonly retryAfterMs: number | null,
  ) {
    super('influxdb_write', `InfluxDB write: ${message}`, { retriable });
  }
}

/** fetch's TypeError hides the socket error in `cause`. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  if (cause && typeof cause === 'object' && 'code' in cause) return String((cause as { code: unknown }).code);
  return errorMessage(err);
}
