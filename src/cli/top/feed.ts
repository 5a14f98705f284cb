/**
 * What `kwartier top` reads from a Kwartier server: the REST API (bearer token) and the realtime
 * WebSocket, opened with a single-use ticket from `POST /api/v1/ws-ticket` so the token never
 * appears in a URL (docs/api.md). The WebSocket reconnects with exponential backoff and jitter;
 * while it is down the latest snapshot is polled over REST. Capacity and today's totals are polled
 * (they change at most per quarter). No React here: the view subscribes to `onChange`.
 */
import { Backoff } from '../../core/backoff.js';
import { describeCause, KwartierError, UsageError } from '../../core/errors.js';
import type { Capacity, CapacityAlert, CostEstimate, Realtime, SelfSufficiency } from './model.js';

/** An HTTP answer other than 2xx, with the API's `{error, message}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const REQUEST_TIMEOUT_MS = 10_000;

/** The REST side: JSON over fetch with the bearer token, relative to the server's base URL. */
export class ApiClient {
  readonly base: URL;
  constructor(
    base: URL,
    private readonly token: string,
  ) {
    // A base with a path (behind a reverse proxy, https://host/kwartier) keeps it: paths are relative.
    this.base = new URL(base.href.endsWith('/') ? base.href : `${base.href}/`);
  }

  url(path: string): URL {
    return new URL(path.replace(/^\//, ''), this.base);
  }

  async request<T>(method: 'GET' | 'POST', path: string): Promise<T> {
    const res = await fetch(this.url(path), {
      method,
      headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: a proxy's error page; the status says enough
    }
    if (!res.ok) {
      const b = (body ?? {}) as { error?: unknown; message?: unknown };
      const message = typeof b.message === 'string' ? b.message : `HTTP ${res.status}`;
      throw new ApiError(res.status, typeof b.error === 'string' ? b.error : `http_${res.status}`, message);
    }
    return body as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
}

/** One short line for an error of a request: `401 unauthorized`, `ECONNREFUSED (connection refused)`. */
export function describeFailure(err: unknown): string {
  if (err instanceof ApiError) return `${err.status} ${err.code}: ${err.message}`;
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  return describeCause(cause);
}

export interface DevicesAnswer {
  timezone: string;
  devices: Array<{ device_id: string; last_seen: string | null }>;
}

/**
 * The homes the token holds and the server's time zone; the one to show (`--device`, else the
 * first). Problems a user must fix are usage errors (exit 2); an unreachable server is exit 1.
 */
export async function resolveHome(
  api: ApiClient,
  wanted: string | null,
): Promise<{ timezone: string; deviceId: string; devices: string[] }> {
  let answer: DevicesAnswer;
  try {
    answer = await api.get<DevicesAnswer>('/api/v1/devices');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401)
      throw new UsageError('kwartier top: --token: the server refused the token (401 unauthorized)');
    if (err instanceof ApiError && err.status === 404)
      throw new UsageError(`kwartier top: --url: ${api.base.href} is not a Kwartier server (no /api/v1/devices)`);
    throw new KwartierError(
      'top_unreachable',
      `kwartier top: --url: cannot reach ${api.base.href}: ${describeFailure(err)}`,
      {
        cause: err,
        retriable: true,
      },
    );
  }
  const devices = answer.devices.map((d) => d.device_id);
  if (wanted !== null) {
    if (!devices.includes(wanted))
      throw new UsageError(
        `kwartier top: --device: '${wanted}' is not a home this token holds (it holds: ${devices.join(', ') || 'none'})`,
      );
    return { timezone: answer.timezone, deviceId: wanted, devices };
  }
  const first = devices[0];
  if (first === undefined) throw new UsageError('kwartier top: the token holds no home with data or configuration yet');
  return { timezone: answer.timezone, deviceId: first, devices };
}

export type LinkState = 'connecting' | 'live' | 'retrying';

export interface TopData {
  deviceId: string;
  devices: string[];
  timezone: string;
  realtime: Realtime | null;
  /** Local clock (ms) when `realtime` arrived. */
  realtimeAt: number;
  capacity: Capacity | null;
  cost: CostEstimate | null;
  selfSufficiency: SelfSufficiency | null;
  /** The last capacity alert of the running quarter (cleared when the quarter ends). */
  alert: CapacityAlert | null;
  link: { state: LinkState; error: string | null; retryAt: number | null };
  /** The last failure of each poll, null once it succeeds again. */
  errors: { capacity: string | null; today: string | null };
}

export interface FeedOptions {
  api: ApiClient;
  deviceId: string;
  devices: string[];
  timezone: string;
  /** Polls of capacity and today's totals (ms); defaults 15 s and 30 s. */
  capacityEveryMs?: number;
  todayEveryMs?: number;
  /** The WebSocket constructor (the `ws` package's). */
  WebSocket: typeof import('ws').default;
}

/** Polls the REST side and keeps the WebSocket open; subscribers get every new state. */
export class TopFeed {
  private data: TopData;
  private ws: import('ws').default | null = null;
  private readonly backoff = new Backoff({ baseMs: 1000, maxMs: 30_000, minMs: 500 });
  private timers: NodeJS.Timeout[] = [];
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stopped = true;
  private readonly listeners = new Set<(data: TopData) => void>();
  /** Bumped on each device switch and stop, so answers of an earlier generation are dropped. */
  private generation = 0;

  constructor(private readonly options: FeedOptions) {
    this.data = emptyData(options.deviceId, options.devices, options.timezone);
  }

  get current(): TopData {
    return this.data;
  }

  subscribe(fn: (data: TopData) => void): void {
    this.listeners.add(fn);
  }

  unsubscribe(fn: (data: TopData) => void): void {
    this.listeners.delete(fn);
  }

  start(): void {
    this.stopped = false;
    const gen = this.generation;
    this.connect(gen);
    this.pollCapacity(gen);
    this.pollToday(gen);
    this.timers.push(
      setInterval(() => this.pollCapacity(this.generation), this.options.capacityEveryMs ?? 15_000),
      setInterval(() => this.pollToday(this.generation), this.options.todayEveryMs ?? 30_000),
      // The REST fallback: while the WebSocket is down, the latest snapshot every 5 s.
      setInterval(() => {
        if (this.data.link.state !== 'live') this.pollRealtime(this.generation);
      }, 5_000),
    );
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.ws?.removeAllListeners();
    this.ws?.on('error', () => {});
    this.ws?.terminate();
    this.ws = null;
  }

  /** Polls everything now (the `r` key). */
  refresh(): void {
    const gen = this.generation;
    this.pollCapacity(gen);
    this.pollToday(gen);
    if (this.data.link.state !== 'live') this.pollRealtime(gen);
  }

  /** Shows the next home the token holds (the `d` key). */
  nextDevice(): void {
    const { devices } = this.options;
    if (devices.length < 2) return;
    const next = devices[(devices.indexOf(this.data.deviceId) + 1) % devices.length] ?? this.data.deviceId;
    this.stop();
    this.data = emptyData(next, devices, this.options.timezone);
    this.emit();
    this.backoff.reset();
    this.start();
  }

  private set(patch: Partial<TopData>, gen: number): void {
    if (gen !== this.generation || this.stopped) return;
    this.data = { ...this.data, ...patch };
    this.emit();
  }

  private emit(): void {
    for (const fn of this.listeners) fn(this.data);
  }

  private path(what: string, query = ''): string {
    return `/api/v1/${what}/${encodeURIComponent(this.data.deviceId)}${query}`;
  }

  private pollRealtime(gen: number): void {
    this.options.api
      .get<Realtime>(this.path('realtime'))
      .then((rt) => this.acceptSnapshot(rt, gen))
      .catch(() => {
        // no data yet (404) or the server is away: the link line says so already
      });
  }

  private pollCapacity(gen: number): void {
    this.options.api.get<Capacity>(this.path('capacity-tariff')).then(
      (capacity) => {
        // An alert belongs to its quarter: once the server's running quarter is another, it is old news.
        const alert = this.data.alert;
        const f = capacity.forecast;
        const current = alert !== null && f !== null && Date.parse(alert.quarter_start) === Date.parse(f.quarter_start);
        this.set({ capacity, errors: { ...this.data.errors, capacity: null }, alert: current ? alert : null }, gen);
      },
      (err) => this.set({ errors: { ...this.data.errors, capacity: describeFailure(err) } }, gen),
    );
  }

  private pollToday(gen: number): void {
    Promise.all([
      this.options.api.get<CostEstimate>(this.path('cost-estimate', '?period=today')),
      this.options.api.get<SelfSufficiency>(this.path('self-sufficiency', '?period=today')),
    ]).then(
      ([cost, selfSufficiency]) =>
        this.set({ cost, selfSufficiency, errors: { ...this.data.errors, today: null } }, gen),
      (err) => this.set({ errors: { ...this.data.errors, today: describeFailure(err) } }, gen),
    );
  }

  private acceptSnapshot(rt: Realtime, gen: number): void {
    // Only forward in time: a REST answer may arrive after a newer WebSocket message.
    const prev = this.data.realtime;
    if (prev && Date.parse(rt.timestamp) < Date.parse(prev.timestamp)) return;
    this.set({ realtime: rt, realtimeAt: Date.now() }, gen);
  }

  private connect(gen: number): void {
    if (this.stopped || gen !== this.generation) return;
    this.set(
      { link: { ...this.data.link, state: this.data.link.state === 'live' ? 'retrying' : this.data.link.state } },
      gen,
    );
    this.options.api
      .request<{ ticket: string }>('POST', '/api/v1/ws-ticket')
      .then((t) => this.open(t.ticket, gen))
      .catch((err) => this.retry(describeFailure(err), gen));
  }

  private open(ticket: string, gen: number): void {
    if (this.stopped || gen !== this.generation) return;
    const url = this.options.api.url(`/ws/v1/realtime/${encodeURIComponent(this.data.deviceId)}`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ticket', ticket);
    const ws = new this.options.WebSocket(url, { handshakeTimeout: REQUEST_TIMEOUT_MS, maxPayload: 1 << 20 });
    this.ws = ws;
    let failure: string | null = null;
    ws.on('open', () => {
      this.backoff.reset();
      this.set({ link: { state: 'live', error: null, retryAt: null } }, gen);
    });
    ws.on('message', (raw) => {
      let msg: unknown;
      try {
        msg = JSON.parse(raw.toString());
      } catch {
        return;
      }
      const m = msg as { type?: unknown };
      if (m.type === 'capacity_alert') this.set({ alert: msg as CapacityAlert }, gen);
      else if (m.type === undefined) this.acceptSnapshot(msg as Realtime, gen);
    });
    ws.on('unexpected-response', (_req, res) => {
      failure = `WebSocket refused: HTTP ${res.statusCode}`;
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => {
      failure ??= describeFailure(err);
    });
    ws.on('close', (code, reason) => {
      if (this.ws === ws) this.ws = null;
      const why = failure ?? (reason.length > 0 ? `closed: ${reason.toString()} (${code})` : `closed (${code})`);
      this.retry(why, gen);
    });
  }

  private retry(error: string, gen: number): void {
    if (this.stopped || gen !== this.generation) return;
    const delay = this.backoff.next();
    this.set({ link: { state: 'retrying', error, retryAt: Date.now() + delay } }, gen);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect(gen);
    }, delay);
  }
}

function emptyData(deviceId: string, devices: string[], timezone: string): TopData {
  return {
    deviceId,
    devices,
    timezone,
    realtime: null,
    realtimeAt: 0,
    capacity: null,
    cost: null,
    selfSufficiency: null,
    alert: null,
    link: { state: 'connecting', error: null, retryAt: null },
    errors: { capacity: null, today: null },
  };
}
