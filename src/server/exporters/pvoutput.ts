/**
 * The PVOutput exporter: one status per interval per system (pvoutput-status.ts), sent when the
 * home's committed snapshots have passed the interval's end.
 *
 * - Where to resume: at start, one `getstatus.jsp` per system says the last status PVOutput holds;
 *   the exporter goes on from there (a system without any status starts at today's midnight). So a
 *   restart of Kwartier, an outage of PVOutput, or an edge that sends its backlog hours later all
 *   end the same way: every interval with data is sent once, in order.
 * - How: one interval due → `addstatus.jsp`; several (catching up) → `addbatchstatus.jsp` with up to
 *   `batch_size` statuses per request (30; 100 for donors). Intervals older than `max_age_days`
 *   (PVOutput refuses statuses older than 14 days) are skipped.
 * - Within the rate limit: every request (getstatus included) counts against the API key's
 *   `rate_limit_per_hour` over a sliding hour, shared by the systems of one key; requests ask for
 *   `X-Rate-Limit` and a reply saying none remain pauses that key until its reset time.
 * - Failures: a network error or 5xx is retried with backoff; 401/403 (a wrong key or system id)
 *   every 15 minutes, logged on the change; a 400 (PVOutput refuses those statuses, e.g. an energy
 *   lower than the one before) skips them, counted and logged, so one bad status cannot stop a home.
 */
import { Backoff } from '../../core/backoff.js';
import { errorMessage } from '../../core/errors.js';
import { localDayStart } from '../../core/time/index.js';
import type { Logger } from '../../lib/log.js';
import type { ServerBus } from '../bus.js';
import type { Store } from '../store/types.js';
import type { PvOutputExporterConfig } from './config.js';
import { boundaryAtOrBefore, nextBoundary, type PvStatus, parseStatusTime, statusesFor } from './pvoutput-status.js';
import type { Exporter, ExporterStats } from './types.js';

export interface PvOutputExporterOptions {
  config: PvOutputExporterConfig;
  store: Store;
  /** The home's local time zone (the server's `timezone`). */
  timezone: string;
  log: Logger;
  /** How often each system looks for due intervals (default 10 s; tests shorten it). */
  tickMs?: number;
  now?: () => number;
}

const HOUR = 3_600_000;
const AUTH_RETRY_MS = 15 * 60_000;

/** A sliding-hour request budget for one API key. */
class RateLimit {
  private sent: number[] = [];
  private blockedUntil = 0;

  constructor(private readonly perHour: number) {}

  /** The earliest time a request may go (≤ now: at once). */
  nextFree(now: number): number {
    this.sent = this.sent.filter((t) => t > now - HOUR);
    const byCount = this.sent.length < this.perHour ? now : this.sent[0]! + HOUR;
    return Math.max(byCount, this.blockedUntil);
  }

  record(now: number): void {
    this.sent.push(now);
  }

  blockUntil(t: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, t);
  }
}

interface SystemState {
  deviceId: string;
  systemId: number;
  apiKey: string;
  /** End of the last interval PVOutput holds or that was skipped; null until resumed. */
  cursor: number | null;
  /** Newest committed snapshot time of the home. */
  latestData: number;
  retryAt: number;
  busy: Promise<void> | null;
  backoff: Backoff;
  /** The kind of the last failure, to log a failure once per change of kind. */
  failing: string | null;
}

class PvOutputError extends Error {
  constructor(
    readonly status: number | null,
    readonly body: string,
    message: string,
  ) {
    super(message);
  }
}

export class PvOutputExporter implements Exporter {
  readonly name = 'pvoutput';
  private readonly systems: SystemState[];
  private readonly byDevice = new Map<string, SystemState>();
  private readonly limits = new Map<string, RateLimit>();
  private readonly now: () => number;
  private readonly step: number;
  private bus: ServerBus | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly counters = { sent: 0, dropped: 0, failures: 0, requests: 0 };

  constructor(private readonly opts: PvOutputExporterOptions) {
    this.now = opts.now ?? Date.now;
    this.step = opts.config.interval_minutes * 60_000;
    this.systems = opts.config.systems.map((s) => ({
      deviceId: s.device_id,
      systemId: s.system_id,
      apiKey: s.api_key,
      cursor: null,
      latestData: 0,
      retryAt: 0,
      busy: null,
      backoff: new Backoff({ baseMs: 5_000, maxMs: 10 * 60_000 }),
      failing: null,
    }));
    for (const s of this.systems) {
      this.byDevice.set(s.deviceId, s);
      if (!this.limits.has(s.apiKey)) this.limits.set(s.apiKey, new RateLimit(opts.config.rate_limit_per_hour));
    }
  }

  start(bus: ServerBus): void {
    this.bus = bus;
    bus.subscribe(this.name, 'committed', (e) => {
      const sys = this.byDevice.get(e.deviceId);
      if (!sys) return;
      const t = Date.parse(e.snapshot.timestamp);
      if (t > sys.latestData) sys.latestData = t;
    });
    this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 10_000);
    this.timer.unref();
    this.opts.log.info({ systems: this.systems.length }, 'PVOutput exporter started');
    this.tick();
  }

  stats(): ExporterStats {
    let queued = 0;
    const now = this.now();
    for (const s of this.systems)
      if (s.cursor !== null) queued += Math.max(0, Math.floor((Math.min(s.latestData, now) - s.cursor) / this.step));
    return { queued, sent: this.counters.sent, dropped: this.counters.dropped, failures: this.counters.failures };
  }

  /** Requests made since the start (each counts against the rate limit). */
  get requests(): number {
    return this.counters.requests;
  }

  async stop(): Promise<void> {
    this.bus?.unsubscribe(this.name);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.systems.map((s) => s.busy));
  }

  private tick(): void {
    const now = this.now();
    for (const sys of this.systems) {
      if (sys.busy || sys.retryAt > now) continue;
      sys.busy = this.advance(sys, now)
        .catch((err: unknown) => this.failed(sys, err))
        .finally(() => {
          sys.busy = null;
        });
    }
  }

  /** One request's worth of work for one system: resume, or send what is due. */
  private async advance(sys: SystemState, now: number): Promise<void> {
    const limit = this.limits.get(sys.apiKey)!;
    const free = limit.nextFree(now);
    if (free > now) {
      sys.retryAt = free;
      return;
    }
    if (sys.cursor === null) {
      limit.record(now);
      sys.cursor = await this.resume(sys, now);
      // What the store already holds counts too (a restart while the home's edge is offline).
      const latest = await this.opts.store.latest(sys.deviceId);
      const t = latest ? Date.parse(latest.timestamp) : 0;
      if (t > sys.latestData) sys.latestData = t;
      return;
    }
    const ends = this.dueEnds(sys, now);
    if (ends.length === 0) return;
    const statuses = (
      await statusesFor(this.opts.store, sys.deviceId, ends, this.opts.config.interval_minutes, this.opts.timezone)
    ).filter((s) => s.v1 !== null || s.v2 !== null || s.v3 !== null || s.v4 !== null);
    const last = ends[ends.length - 1]!;
    if (statuses.length === 0) {
      sys.cursor = last;
      return;
    }
    limit.record(now);
    try {
      if (statuses.length === 1) await this.addStatus(sys, statuses[0]!);
      else await this.addBatch(sys, statuses);
    } catch (err) {
      if (err instanceof PvOutputError && err.status === 400 && !/exceeded/i.test(err.body)) {
        this.counters.dropped += statuses.length;
        this.opts.log.warn(
          { device_id: sys.deviceId, system_id: sys.systemId, statuses: statuses.length, answer: err.body },
          'PVOutput refused these statuses; they are skipped',
        );
        sys.cursor = last;
        return;
      }
      throw err;
    }
    sys.cursor = last;
    sys.backoff.reset();
    if (sys.failing) this.opts.log.info({ device_id: sys.deviceId }, 'PVOutput uploads succeed again');
    sys.failing = null;
  }

  /** The ends of the intervals after the cursor whose data is committed, at most one batch. */
  private dueEnds(sys: SystemState, now: number): number[] {
    const { interval_minutes: minutes, batch_size: max, max_age_days: days } = this.opts.config;
    const zone = this.opts.timezone;
    const oldest = nextBoundary(now - days * 86_400_000, minutes, zone);
    let end = nextBoundary(sys.cursor!, minutes, zone);
    if (end < oldest) {
      this.opts.log.info(
        { device_id: sys.deviceId, from: new Date(end).toISOString(), to: new Date(oldest).toISOString() },
        `PVOutput: intervals older than ${days} days are not sent (exporters.pvoutput.max_age_days)`,
      );
      end = oldest;
      sys.cursor = oldest - this.step;
    }
    const upTo = Math.min(sys.latestData, now);
    const ends: number[] = [];
    while (end <= upTo && ends.length < max) {
      ends.push(end);
      end = nextBoundary(end, minutes, zone);
    }
    return ends;
  }

  /** Where PVOutput's record of this system ends (getstatus.jsp), or today's local midnight. */
  private async resume(sys: SystemState, now: number): Promise<number> {
    const zone = this.opts.timezone;
    try {
      const body = await this.request(sys, 'getstatus.jsp', 'GET', null);
      const [d, t] = body.trim().split(',');
      const at = d !== undefined && t !== undefined ? parseStatusTime(d, t, zone) : null;
      if (at === null)
        throw new PvOutputError(200, body, `PVOutput getstatus.jsp: cannot read ${JSON.stringify(body)}`);
      // A status off the grid (another uploader's 14:07) holds only part of its interval: resend that one.
      const cursor = boundaryAtOrBefore(at, this.opts.config.interval_minutes, zone);
      this.opts.log.info(
        { device_id: sys.deviceId, system_id: sys.systemId, last_status: new Date(at).toISOString() },
        'PVOutput: resuming after the last status it holds',
      );
      return Math.min(cursor, now);
    } catch (err) {
      if (err instanceof PvOutputError && err.status === 400 && /no status/i.test(err.body)) {
        this.opts.log.info({ device_id: sys.deviceId, system_id: sys.systemId }, 'PVOutput: no status yet; from today');
        return localDayStart(now, zone);
      }
      throw err;
    }
  }

  private async addStatus(sys: SystemState, s: PvStatus): Promise<void> {
    const form = new URLSearchParams({ d: s.d, t: s.t });
    for (const k of ['v1', 'v2', 'v3', 'v4', 'v6'] as const) if (s[k] !== null) form.set(k, String(s[k]));
    await this.request(sys, 'addstatus.jsp', 'POST', form);
    this.counters.sent++;
  }

  private async addBatch(sys: SystemState, statuses: PvStatus[]): Promise<void> {
    const cell = (x: number | null): string => (x === null ? '' : String(x));
    // date,time,v1,v2,v3,v4,v5 (temperature: none),v6
    const data = statuses.map((s) =>
      [s.d, s.t, cell(s.v1), cell(s.v2), cell(s.v3), cell(s.v4), '', cell(s.v6)].join(','),
    );
    const body = await this.request(sys, 'addbatchstatus.jsp', 'POST', new URLSearchParams({ data: data.join(';') }));
    // The answer lists date,time,1 (added or updated) or 0 (not) per status.
    const refused = body
      .trim()
      .split(';')
      .filter((r) => r.split(',')[2] === '0');
    this.counters.sent += statuses.length - refused.length;
    if (refused.length > 0) {
      this.counters.dropped += refused.length;
      this.opts.log.warn(
        { device_id: sys.deviceId, refused: refused.slice(0, 10) },
        'PVOutput did not add some statuses of a batch',
      );
    }
  }

  private async request(sys: SystemState, service: string, method: 'GET' | 'POST', form: URLSearchParams | null) {
    const url = `${this.opts.config.url.replace(/\/+$/, '')}/service/r2/${service}`;
    this.counters.requests++;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          'X-Pvoutput-Apikey': sys.apiKey,
          'X-Pvoutput-SystemId': String(sys.systemId),
          'X-Rate-Limit': '1',
          ...(form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(form ? { body: form.toString() } : {}),
        signal: AbortSignal.timeout(this.opts.config.timeout_s * 1000),
      });
    } catch (err) {
      throw new PvOutputError(null, '', `PVOutput ${service}: cannot reach ${url}: ${errorMessage(err)}`);
    }
    const body = (await res.text().catch(() => '')).slice(0, 2000);
    const remaining = res.headers.get('x-rate-limit-remaining');
    const reset = Number(res.headers.get('x-rate-limit-reset'));
    if (remaining === '0' && Number.isFinite(reset) && reset > 0) this.limits.get(sys.apiKey)!.blockUntil(reset * 1000);
    if (!res.ok)
      throw new PvOutputError(res.status, body.trim(), `PVOutput ${service}: HTTP ${res.status}: ${body.trim()}`);
    return body;
  }

  /** A failed request: when to try again, and one log line per change of kind. */
  private failed(sys: SystemState, err: unknown): void {
    this.counters.failures++;
    const now = this.now();
    const status = err instanceof PvOutputError ? err.status : null;
    const body = err instanceof PvOutputError ? err.body : '';
    let kind: string;
    if (status === 403 && /exceeded/i.test(body)) {
      kind = 'rate limit';
      const limit = this.limits.get(sys.apiKey)!;
      limit.blockUntil(now + HOUR / this.opts.config.rate_limit_per_hour);
      sys.retryAt = limit.nextFree(now);
    } else if (status === 401 || status === 403) {
      kind = 'authentication';
      sys.retryAt = now + AUTH_RETRY_MS;
    } else {
      kind = 'unavailable';
      sys.retryAt = now + sys.backoff.next();
    }
    if (sys.failing !== kind) {
      const level = kind === 'authentication' ? 'error' : 'warn';
      this.opts.log[level](
        { device_id: sys.deviceId, system_id: sys.systemId, err: errorMessage(err), retry_at: new Date(sys.retryAt) },
        `PVOutput upload failed (${kind}); the statuses wait and are sent later`,
      );
    }
    sys.failing = kind;
  }
}
