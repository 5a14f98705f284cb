/**
 * The shared HTTP JSON poller of devices with a local REST API (HomeWizard, Fronius, NRGkick…), over
 * the transport of request.ts. JsonPoller GETs one path every interval with ONE request in flight
 * (the next starts only after the previous answered or timed out; no catch-up bursts), reconnect
 * backoff with full jitter, and errors that say what to do: 401/403 (credentials or API switched
 * off), 404 ("is its local API switched on?": some inverters ship with it off and answer 404), and
 * answers that are not JSON, with the parser's message. A device with several endpoints (Fronius:
 * the power flow every second or two, the meter and inverter details every ten) gives the others as
 * `extraPaths` on their own intervals: still one request in flight, `minGapMs` between the starts of
 * any two requests (a device's rate limit), and the state follows the main path only. `start()` runs
 * it as a whole source (states, backoff); a driver with a session of its own around the polling
 * (HomeWizard: GET /api first, a WebSocket it prefers) calls `poll()` instead, which polls the main
 * path until a deadline or the first failure and leaves states and backoff to the caller.
 */
import type http from 'node:http';
import type https from 'node:https';
import { Backoff } from '../../core/backoff.js';
import { errorMessage, KwartierError } from '../../core/errors.js';
import type { Logger } from '../../lib/log.js';
import { sleep } from '../../lib/sleep.js';
import type { SourceState } from '../source.js';
import {
  createHttpAgent,
  type HttpEndpoint,
  HttpJsonError,
  type JsonResponse,
  requestJson,
  statusError,
  urlOf,
} from './request.js';

export interface JsonPollerOptions {
  /** Device name, in errors and logs. */
  name: string;
  scheme?: 'http' | 'https';
  host: string;
  port: number;
  path: string;
  intervalMs: number;
  timeoutMs: number;
  headers?: Record<string, string>;
  tls?: https.RequestOptions;
  /** Turns a socket or TLS error into a clearer one (e.g. a certificate that does not verify). */
  mapError?: (err: unknown) => unknown;
  /**
   * The error for a non-2xx answer (default `statusError`): a device API with error codes of its
   * own says what to do about them.
   */
  statusError?: (what: string, res: JsonResponse) => Error;
  /** A connection pool the caller owns (and destroys); default one of the poller's, closed by stop(). */
  agent?: http.Agent;
  /** Reconnect backoff after a failure (ms, defaults 1000 and 60000; full jitter). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Backoff for errors retrying does not fix (401/403/404; defaults 15000 and 300000). */
  slowBaseMs?: number;
  slowMaxMs?: number;
  /**
   * More paths of the same device, each on its own interval, polled between the main path's
   * requests (one in flight at a time). They are asked only while the main path answers; their
   * failures go to `onPathError` and do not change the state. Default none.
   */
  extraPaths?: ReadonlyArray<{ path: string; intervalMs: number }>;
  /** Least time between the starts of two requests, any path (a device's rate limit; default 0). */
  minGapMs?: number;
  /**
   * Turns a failure of the main path into the error reported and logged (a device-specific hint,
   * e.g. how to switch its API on after a 404). Default: the error as it is.
   */
  describeError?: (err: unknown) => unknown;
  /**
   * Checks an answer before it is passed on: throws for one that is JSON but not usable (a device
   * that reports an error in its body). The throw counts as that path's failure.
   */
  validate?: (body: unknown, path: string) => void;
  log: Logger;
}

export interface JsonData {
  /** Edge clock (ms) when the answer arrived. */
  at: number;
  /** The path that answered (the main path or one of `extraPaths`). */
  path: string;
  body: unknown;
}

export interface PollOptions {
  /** Each answer, in order; what it throws ends the poll with that error. */
  onData: (d: JsonData) => void;
  /** Edge clock (ms) at which the poll returns (checked before each request); default: never. */
  until?: number | null;
}

interface Scheduled {
  path: string;
  intervalMs: number;
  main: boolean;
  /** Edge clock (ms) when it is next due. */
  due: number;
}

/** Polls one JSON endpoint; see the module comment. */
export class JsonPoller {
  private readonly opts: JsonPollerOptions;
  private readonly ep: HttpEndpoint;
  private readonly dataListeners: Array<(d: JsonData) => void> = [];
  private readonly pathErrorListeners: Array<(path: string, err: unknown) => void> = [];
  private readonly stateListeners: Array<(s: SourceState, detail?: string) => void> = [];
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private currentState: SourceState | null = null;
  private detail: string | undefined;
  private inFlight = 0;
  /** Most requests ever in flight at once (1 by construction; for tests and benchmarks). */
  maxInFlight = 0;
  requests = 0;
  private readonly ownAgent: boolean;

  constructor(opts: JsonPollerOptions) {
    this.opts = opts;
    const scheme = opts.scheme ?? 'http';
    this.ownAgent = opts.agent === undefined;
    this.ep = {
      scheme,
      host: opts.host,
      port: opts.port,
      agent: opts.agent ?? createHttpAgent(scheme),
      timeoutMs: opts.timeoutMs,
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.mapError ? { mapError: opts.mapError } : {}),
    };
  }

  get url(): string {
    return urlOf(this.ep, this.opts.path);
  }

  get state(): SourceState | null {
    return this.currentState;
  }

  onData(listener: (d: JsonData) => void): void {
    this.dataListeners.push(listener);
  }

  onState(listener: (s: SourceState, detail?: string) => void): void {
    this.stateListeners.push(listener);
  }

  /** A failure of one of the `extraPaths` (the main path's failures are state changes). */
  onPathError(listener: (path: string, err: unknown) => void): void {
    this.pathErrorListeners.push(listener);
  }

  /**
   * One GET of `path`: the answer with its status (2xx only: any other status is thrown as
   * `statusError`) and the TLS peer's CN, its body parsed when it was JSON.
   */
  async request(path: string, signal?: AbortSignal): Promise<JsonResponse> {
    const what = `GET ${urlOf(this.ep, path)}`;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.requests++;
    try {
      const res = await requestJson(this.ep, path, {
        ...(this.opts.headers ? { headers: this.opts.headers } : {}),
        ...(signal ? { signal } : {}),
      });
      if (res.status < 200 || res.status >= 300) {
        throw this.opts.statusError ? this.opts.statusError(what, res) : statusError(what, res.status, this.opts.name);
      }
      return res;
    } finally {
      this.inFlight--;
    }
  }

  /** One GET of `path` (default the polled path): the parsed body, or a named error. */
  async get(path = this.opts.path, signal?: AbortSignal): Promise<unknown> {
    const res = await this.request(path, signal);
    const what = `GET ${urlOf(this.ep, path)}`;
    if (res.parseError !== null) {
      throw new HttpJsonError('http_not_json', `${what}: the answer is not JSON: ${res.parseError}`, res.status, true);
    }
    if (res.body === undefined) {
      throw new HttpJsonError('http_not_json', `${what}: the answer is empty`, res.status, true);
    }
    return res.body;
  }

  /**
   * Polls the path every intervalMs, one request in flight, until `until`, the signal aborts
   * (both: returns) or a request or `onData` fails (throws that error). A slow answer delays the
   * next request instead of causing a burst to catch up. No states, no backoff: the caller's.
   */
  async poll(signal: AbortSignal, opts: PollOptions): Promise<void> {
    const until = opts.until ?? null;
    let next = Date.now();
    while (!signal.aborted) {
      if (until !== null && Date.now() >= until) return;
      const body = await this.get(this.opts.path, signal);
      if (signal.aborted) return;
      this.opts.validate?.(body, this.opts.path);
      opts.onData({ at: Date.now(), path: this.opts.path, body });
      next += this.opts.intervalMs;
      const now = Date.now();
      if (next < now) next = now;
      await sleep(next - now, signal);
    }
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.abort = new AbortController();
    this.setState('connecting');
    this.loop = this.run(this.abort.signal).catch((err: unknown) => {
      this.opts.log.error({ err: errorMessage(err) }, 'http poller stopped on an unexpected error');
    });
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = null;
    this.abort = null;
    if (this.ownAgent) this.ep.agent.destroy();
  }

  private async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ baseMs: this.opts.backoffBaseMs ?? 1000, maxMs: this.opts.backoffMaxMs ?? 60_000 });
    const slow = new Backoff({
      baseMs: this.opts.slowBaseMs ?? 15_000,
      maxMs: this.opts.slowMaxMs ?? 300_000,
      minMs: this.opts.slowBaseMs ?? 15_000,
    });
    const start = Date.now();
    // The main path first: it wins a tie, so the extras fit into the gaps between its requests.
    const schedule: Scheduled[] = [
      { path: this.opts.path, intervalMs: this.opts.intervalMs, main: true, due: start },
      ...(this.opts.extraPaths ?? []).map((e) => ({ ...e, main: false, due: start })),
    ];
    const minGap = this.opts.minGapMs ?? 0;
    let lastStart = Number.NEGATIVE_INFINITY;
    const main = schedule[0] as Scheduled;
    while (!signal.aborted) {
      const item = this.pick(main, schedule, Math.max(Date.now(), lastStart + minGap));
      const wait = Math.max(item.due, lastStart + minGap) - Date.now();
      if (wait > 0) await sleep(wait, signal);
      if (signal.aborted) break;
      lastStart = Date.now();
      try {
        const body = await this.get(item.path, signal);
        if (signal.aborted) break;
        this.opts.validate?.(body, item.path);
        if (item.main) {
          backoff.reset();
          slow.reset();
          this.setState('connected');
        }
        const d: JsonData = { at: Date.now(), path: item.path, body };
        for (const l of this.dataListeners) l(d);
        item.due += item.intervalMs;
        const now = Date.now();
        if (item.due < now) item.due = now; // a slow answer: no burst to catch up
      } catch (err) {
        if (signal.aborted) break;
        const now = Date.now();
        if (item.main) {
          const e = this.opts.describeError ? this.opts.describeError(err) : err;
          const permanent = e instanceof KwartierError && !e.retriable;
          this.setState('lost', errorMessage(e));
          item.due = now + (permanent ? slow.next() : backoff.next());
          // While the device is lost only the main path is tried.
          for (const s of schedule) s.due = Math.max(s.due, item.due);
        } else {
          item.due = now + item.intervalMs;
          for (const l of this.pathErrorListeners) l(item.path, err);
        }
      }
    }
  }

  /**
   * The next request, to start at `startAt`: the main path when it is due, so the extras take the
   * free slots between its requests; an extra that has waited two main intervals past its time goes
   * first (at a 1 s interval with a 1 s gap there is no free slot, and it must not starve).
   * When nothing is due yet, whichever is due first.
   */
  private pick(main: Scheduled, schedule: Scheduled[], startAt: number): Scheduled {
    let oldest: Scheduled | null = null;
    for (const s of schedule) if (s !== main && (oldest === null || s.due < oldest.due)) oldest = s;
    if (oldest === null) return main;
    if (main.due <= startAt) return oldest.due + 2 * main.intervalMs <= startAt ? oldest : main;
    return oldest.due < main.due ? oldest : main;
  }

  private setState(state: SourceState, detail?: string): void {
    if (state === this.currentState && detail === this.detail) return;
    if (state === 'connecting' && this.currentState === 'lost') return;
    this.currentState = state;
    this.detail = detail;
    if (state === 'connected') this.opts.log.info({ url: this.url }, 'connected');
    else if (state === 'lost') this.opts.log.warn({ reason: detail }, 'connection lost');
    else this.opts.log.info({ url: this.url }, 'connecting');
    for (const l of this.stateListeners) l(state, detail);
  }
}
