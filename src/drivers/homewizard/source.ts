/**
 * The HomeWizard P1 meter as an edge source.
 *
 * - API v1: `GET http://HOST/api` once (logs product, serial, firmware), then `GET /api/v1/data` every
 *   poll_interval_s.
 * - API v2: HTTPS with the token (`Authorization: Bearer`, `X-Api-Version: 2`), TLS verified against
 *   HomeWizard's CA and the device identity (tls.ts). `GET /api` once, then the WebSocket
 *   `wss://HOST/api/ws` (authorize, subscribe `measurement`: the device pushes each telegram) or, with
 *   transport `rest` or when the WebSocket fails, `GET /api/measurement` every poll_interval_s. After
 *   falling back to REST it tries the WebSocket again every WS_RETRY_MS.
 *
 * The REST polling (one request in flight, no catch-up bursts, a deadline to retry the WebSocket)
 * is the shared JsonPoller's `poll()` (http/json-poller.ts); this source keeps the session around
 * it (GET /api, the WebSocket, states and backoff), with HomeWizard's own error messages.
 *
 * Failures: the state goes to `lost` (one log line per change of state or of the reason) and the source
 * reconnects with exponential backoff and jitter; problems retrying cannot fix (a refused token, a
 * certificate that does not verify, a device that is not a P1 meter) back off slowly (15 s … 5 min).
 *
 * The v2 WebSocket session itself is websocket.ts.
 */
import type http from 'node:http';
import type WebSocket from 'ws';
import { Backoff } from '../../core/backoff.js';
import { ConfigError, errorMessage, KwartierError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { sleep } from '../../lib/sleep.js';
import { JsonPoller } from '../http/json-poller.js';
import type { JsonResponse } from '../http/request.js';
import type { Source, SourceReading, SourceState } from '../source.js';
import type { HomeWizardConfig } from './config.js';
import { checkP1Device, type DeviceInfo, parseDeviceInfo } from './device-info.js';
import { decodeMeasurement, type HomeWizardApi } from './fields.js';
import { apiErrorOf, createAgent, type Endpoint, HomeWizardAuthError, HomeWizardHttpError } from './http.js';
import { DEFAULT_TIMEZONE } from './timestamps.js';
import { DeviceIdentity, describeTlsError, loadCaPem, tlsOptions } from './tls.js';
import { runWebSocket, WebSocketUnavailable } from './websocket.js';

/** After a WebSocket failure, poll over REST this long before trying the WebSocket again. */
export const WS_RETRY_MS = 10 * 60_000;
const DEFAULT_TIMEOUT_MS = 3000;

/** The config as written (defaults filled in by createHomeWizardSource). */
export type HomeWizardConfigInput = Pick<HomeWizardConfig, 'ip'> & Partial<Omit<HomeWizardConfig, 'ip'>>;

export interface HomeWizardSourceOptions {
  log?: Logger;
  /** Time zone of the meter's clock (its timestamps carry no zone). Default Europe/Brussels. */
  timezone?: string;
}

export function createHomeWizardSource(
  cfg: HomeWizardConfigInput,
  opts: HomeWizardSourceOptions = {},
): HomeWizardSource {
  const full: HomeWizardConfig = {
    poll_interval_s: 1.0,
    api_version: 'v1',
    token: null,
    ca_cert: null,
    transport: 'websocket',
    ...cfg,
  };
  if (full.api_version === 'v2' && (full.token === null || full.token === '')) {
    throw new ConfigError(
      `homewizard.token: required for api_version v2; get one with \`kwartier homewizard pair ${full.ip}\``,
    );
  }
  return new HomeWizardSource(full, opts);
}

export class HomeWizardSource implements Source {
  readonly name = 'homewizard';
  readonly kind = 'p1' as const;
  readonly intervalMs: number;

  private readonly cfg: HomeWizardConfig;
  private readonly log: Logger;
  private readonly zone: string;
  private readonly api: HomeWizardApi;
  private readonly identity: DeviceIdentity;
  private readonly caPem: string | null;
  private readonly readingListeners: Array<(r: SourceReading) => void> = [];
  private readonly stateListeners: Array<(s: SourceState, detail?: string) => void> = [];
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private agent: http.Agent | null = null;
  private rest: JsonPoller | null = null;
  private ws: WebSocket | null = null;
  private state: SourceState | null = null;
  private stateDetail: string | undefined;
  private device: DeviceInfo | null = null;
  private wsRetryAt = 0;
  private transportInUse: 'rest' | 'websocket' | null = null;

  constructor(cfg: HomeWizardConfig, opts: HomeWizardSourceOptions = {}) {
    this.cfg = cfg;
    this.api = cfg.api_version;
    this.intervalMs = Math.round(cfg.poll_interval_s * 1000);
    this.log = opts.log ?? createLogger('homewizard', { ip: cfg.ip });
    this.zone = opts.timezone ?? DEFAULT_TIMEZONE;
    this.identity = new DeviceIdentity(cfg.identity ?? null);
    this.caPem = this.api === 'v2' ? loadCaPem(cfg.ca_cert) : null;
  }

  /** GET /api as last seen. */
  get deviceInfo(): DeviceInfo | null {
    return this.device;
  }

  /** v2: the device certificate's CN once confirmed (or as configured). */
  get tlsIdentity(): string | null {
    return this.identity.value;
  }

  /** The transport of the current connection. */
  get transport(): 'rest' | 'websocket' | null {
    return this.transportInUse;
  }

  onReading(listener: (reading: SourceReading) => void): void {
    this.readingListeners.push(listener);
  }

  onState(listener: (state: SourceState, detail?: string) => void): void {
    this.stateListeners.push(listener);
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.abort = new AbortController();
    this.agent = createAgent(this.api === 'v2' ? 'https' : 'http');
    this.rest = this.restPoller(this.endpoint());
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    this.ws?.terminate();
    await this.loop;
    this.loop = null;
    this.abort = null;
    this.agent?.destroy();
    this.agent = null;
    this.rest = null;
  }

  // ---- state and readings -------------------------------------------------------------------------

  private setState(state: SourceState, detail?: string): void {
    if (state === this.state && detail === this.stateDetail) return;
    this.state = state;
    this.stateDetail = detail;
    if (state === 'connected') this.log.info({ transport: detail }, 'homewizard: connected');
    else if (state === 'lost') this.log.warn({ reason: detail }, 'homewizard: connection lost');
    else this.log.info('homewizard: connecting');
    for (const l of this.stateListeners) l(state, detail);
  }

  private emit(fields: ReturnType<typeof decodeMeasurement>): void {
    const reading: SourceReading = {
      source: this.name,
      at: Date.now(),
      fields: { ...fields, country: this.cfg.country ?? 'be' },
    };
    for (const l of this.readingListeners) l(reading);
  }

  // ---- the loop -------------------------------------------------------------------------------------

  private async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 60_000, minMs: 500 });
    const slow = new Backoff({ baseMs: 15_000, maxMs: 300_000, minMs: 15_000 });
    this.setState('connecting');
    while (!signal.aborted) {
      try {
        await this.session(signal, () => {
          backoff.reset();
          slow.reset();
        });
      } catch (err) {
        if (signal.aborted) break;
        this.transportInUse = null;
        const permanent = err instanceof KwartierError && !err.retriable;
        this.setState('lost', errorMessage(err));
        await sleep(permanent ? slow.next() : backoff.next(), signal);
      }
    }
    this.transportInUse = null;
  }

  private endpoint(): Endpoint {
    if (!this.agent) throw new Error('homewizard: not started');
    const v2 = this.api === 'v2';
    return {
      scheme: v2 ? 'https' : 'http',
      host: this.cfg.ip,
      port: this.cfg.port ?? (v2 ? 443 : 80),
      agent: this.agent,
      timeoutMs: this.cfg.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      ...(v2 && this.caPem !== null ? { tls: tlsOptions(this.caPem, this.identity) } : {}),
    };
  }

  private headers(): Record<string, string> {
    return this.api === 'v2' ? { Authorization: `Bearer ${this.cfg.token}`, 'X-Api-Version': '2' } : {};
  }

  /** The REST side over the shared poller: GET /api and the polled measurement path, on our agent. */
  private restPoller(ep: Endpoint): JsonPoller {
    const caPem = this.caPem;
    return new JsonPoller({
      name: 'homewizard',
      scheme: ep.scheme,
      host: ep.host,
      port: ep.port,
      path: this.api === 'v1' ? '/api/v1/data' : '/api/measurement',
      intervalMs: this.intervalMs,
      timeoutMs: ep.timeoutMs,
      headers: this.headers(),
      agent: ep.agent,
      ...(ep.tls ? { tls: ep.tls } : {}),
      ...(ep.scheme === 'https' && caPem !== null ? { mapError: (err: unknown) => describeTlsError(err, caPem) } : {}),
      statusError: (what, res) => this.statusError(what, res),
      log: this.log,
    });
  }

  /** A non-2xx answer as HomeWizard's own error: what to do about a refused token or a disabled API. */
  private statusError(what: string, res: JsonResponse): Error {
    const apiError = apiErrorOf(res.body);
    if (res.status === 401) {
      return new HomeWizardAuthError(
        `${what}: 401 ${apiError ?? 'unauthorized'}: the device refused the token in homewizard.token (wrong, or revoked when another client paired under the same name); get a new one with \`kwartier homewizard pair ${this.cfg.ip}\``,
      );
    }
    if (res.status === 403 && this.api === 'v1') {
      return new HomeWizardHttpError(
        `${what}: 403 ${apiError ?? ''}: the local API is disabled; enable it in the HomeWizard Energy app (Settings → Meters → your meter → Local API)`,
        403,
        apiError,
        false,
      );
    }
    return new HomeWizardHttpError(
      `${what}: HTTP ${res.status}${apiError ? ` ${apiError}` : ''}`,
      res.status,
      apiError,
      true,
    );
  }

  private restClient(): JsonPoller {
    if (!this.rest) throw new Error('homewizard: not started');
    return this.rest;
  }

  /** One connection: GET /api, then readings until something fails (throws) or the source stops. */
  private async session(signal: AbortSignal, onConnected: () => void): Promise<void> {
    const res = await this.restClient().request('/api', signal);
    const info = parseDeviceInfo(res.body);
    if (this.api === 'v2') this.identity.confirm(res.peerCn, info);
    checkP1Device(info, this.api);
    const prev = this.device;
    if (!prev || prev.serial !== info.serial || prev.firmware_version !== info.firmware_version) {
      this.log.info(
        {
          product_type: info.product_type,
          product_name: info.product_name,
          serial: info.serial,
          firmware_version: info.firmware_version,
          api_version: info.api_version,
          ...(this.identity.value ? { identity: this.identity.value } : {}),
        },
        'homewizard: device',
      );
    }
    this.device = info;

    if (this.api === 'v1') {
      await this.poll(signal, onConnected, null);
      return;
    }
    if (this.cfg.transport === 'websocket' && Date.now() >= this.wsRetryAt) {
      try {
        await this.websocket(signal, onConnected);
        return;
      } catch (err) {
        if (!(err instanceof WebSocketUnavailable)) throw err;
        this.wsRetryAt = Date.now() + WS_RETRY_MS;
        this.log.warn({ reason: err.message }, 'homewizard: websocket unavailable, polling over REST');
      }
    }
    await this.poll(signal, onConnected, this.cfg.transport === 'websocket' ? this.wsRetryAt : null);
  }

  /** Polls the measurement every intervalMs (JsonPoller.poll); returns at `until` (time to retry the WebSocket) or on stop. */
  private async poll(signal: AbortSignal, onConnected: () => void, until: number | null): Promise<void> {
    let first = true;
    await this.restClient().poll(signal, {
      until,
      onData: ({ body }) => {
        this.emit(decodeMeasurement(body, this.api, this.zone));
        if (first) {
          first = false;
          this.transportInUse = 'rest';
          this.setState('connected', 'rest');
          onConnected();
        }
      },
    });
  }

  /** The v2 WebSocket (websocket.ts): each push is a reading; the first makes the state connected. */
  private async websocket(signal: AbortSignal, onConnected: () => void): Promise<void> {
    return runWebSocket({
      ep: this.endpoint(),
      token: this.cfg.token,
      caPem: this.caPem,
      zone: this.zone,
      silenceMs: Math.max(30_000, 10 * this.intervalMs),
      signal,
      opened: (ws) => {
        this.ws = ws;
      },
      closed: (ws) => {
        if (this.ws === ws) this.ws = null;
      },
      onMeasurement: (fields) => {
        this.emit(fields);
        if (this.transportInUse !== 'websocket') {
          this.transportInUse = 'websocket';
          this.setState('connected', 'websocket');
          onConnected();
        }
      },
    });
  }
}
