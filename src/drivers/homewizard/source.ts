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
 * Failures: the state goes to `lost` (one log line per change of state or of the reason) and the source
 * reconnects with exponential backoff and jitter; problems retrying cannot fix (a refused token, a
 * certificate that does not verify, a device that is not a P1 meter) back off slowly (15 s … 5 min).
 */
import type http from 'node:http';
import type WebSocket from 'ws';
import { Backoff } from '../../core/backoff.js';
import { ConfigError, errorMessage, KwartierError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { sleep } from '../../lib/sleep.js';
import type { Source, SourceReading, SourceState } from '../source.js';
import type { HomeWizardConfig } from './config.js';
import {
  checkP1Device,
  DEFAULT_TIMEZONE,
  type DeviceInfo,
  decodeMeasurement,
  type HomeWizardApi,
  HomeWizardDataError,
  parseDeviceInfo,
} from './fields.js';
import { apiErrorOf, createAgent, type Endpoint, HomeWizardHttpError, requestJson, urlOf } from './http.js';
import { DeviceIdentity, describeTlsError, HomeWizardTlsError, loadCaPem, tlsOptions } from './tls.js';

/** After a WebSocket failure, poll over REST this long before trying the WebSocket again. */
export const WS_RETRY_MS = 10 * 60_000;
/** The device asks for the token right after the upgrade; wait this long for `authorized`. */
const WS_AUTH_TIMEOUT_MS = 15_000;
const DEFAULT_TIMEOUT_MS = 3000;

/** The config as written (defaults filled in by createHomeWizardSource). */
export type HomeWizardConfigInput = Pick<HomeWizardConfig, 'ip'> & Partial<Omit<HomeWizardConfig, 'ip'>>;

export interface HomeWizardSourceOptions {
  log?: Logger;
  /** Time zone of the meter's clock (its timestamps carry no zone). Default Europe/Brussels. */
  timezone?: string;
}

export class HomeWizardAuthError extends KwartierError {
  constructor(message: string) {
    super('homewizard_unauthorized', message, { retriable: false });
    this.name = 'HomeWizardAuthError';
  }
}

/** The WebSocket could not be used (missing endpoint, handshake failure): fall back to REST. */
class WebSocketUnavailable extends Error {}

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

  private async get(path: string, signal: AbortSignal): Promise<{ body: unknown; peerCn: string | null }> {
    const ep = this.endpoint();
    const res = await requestJson(ep, path, { headers: this.headers(), signal });
    if (res.status >= 200 && res.status < 300) return res;
    const apiError = apiErrorOf(res.body);
    const what = `GET ${urlOf(ep, path)}`;
    if (res.status === 401) {
      throw new HomeWizardAuthError(
        `${what}: 401 ${apiError ?? 'unauthorized'}: the device refused the token in homewizard.token (wrong, or revoked when another client paired under the same name); get a new one with \`kwartier homewizard pair ${this.cfg.ip}\``,
      );
    }
    if (res.status === 403 && this.api === 'v1') {
      throw new HomeWizardHttpError(
        `${what}: 403 ${apiError ?? ''}: the local API is disabled; enable it in the HomeWizard Energy app (Settings → Meters → your meter → Local API)`,
        403,
        apiError,
        false,
      );
    }
    throw new HomeWizardHttpError(
      `${what}: HTTP ${res.status}${apiError ? ` ${apiError}` : ''}`,
      res.status,
      apiError,
      true,
    );
  }

  /** One connection: GET /api, then readings until something fails (throws) or the source stops. */
  private async session(signal: AbortSignal, onConnected: () => void): Promise<void> {
    const res = await this.get('/api', signal);
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
      await this.poll('/api/v1/data', signal, onConnected, null);
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
    await this.poll(
      '/api/measurement',
      signal,
      onConnected,
      this.cfg.transport === 'websocket' ? this.wsRetryAt : null,
    );
  }

  /** Polls `path` every intervalMs; returns at `until` (time to retry the WebSocket) or on stop. */
  private async poll(path: string, signal: AbortSignal, onConnected: () => void, until: number | null): Promise<void> {
    let next = Date.now();
    let first = true;
    while (!signal.aborted) {
      if (until !== null && Date.now() >= until) return;
      const res = await this.get(path, signal);
      if (signal.aborted) return;
      const fields = decodeMeasurement(res.body, this.api, this.zone);
      this.emit(fields);
      if (first) {
        first = false;
        this.transportInUse = 'rest';
        this.setState('connected', 'rest');
        onConnected();
      }
      next += this.intervalMs;
      const now = Date.now();
      if (next < now) next = now; // a slow answer: no burst to catch up
      await sleep(next - now, signal);
    }
  }

  /**
   * The v2 WebSocket: authorize with the token, subscribe to `measurement`, emit each push. Resolves on
   * stop; rejects with WebSocketUnavailable when it never got authorized for a reason other than the
   * token or TLS (fall back to REST), otherwise with the error (reconnect).
   */
  private async websocket(signal: AbortSignal, onConnected: () => void): Promise<void> {
    // Loaded only when used: API v1 and REST never pay for the WebSocket library (≈ 7 MB RSS).
    const { default: WebSocketClient } = await import('ws');
    const ep = this.endpoint();
    const url = urlOf({ ...ep, scheme: 'https' }, '/api/ws').replace(/^https/, 'wss');
    const silenceMs = Math.max(30_000, 10 * this.intervalMs);
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocketClient(url, {
        ...ep.tls,
        handshakeTimeout: ep.timeoutMs,
        headers: { 'X-Api-Version': '2' },
        perMessageDeflate: false,
        maxPayload: 1 << 20,
      });
      this.ws = ws;
      let authorized = false;
      let settled = false;
      let lastMessage = Date.now();
      const authTimer = setTimeout(
        () => fail(new WebSocketUnavailable(`${url}: not authorized within ${WS_AUTH_TIMEOUT_MS / 1000} s`)),
        WS_AUTH_TIMEOUT_MS,
      );
      const watchdog = setInterval(() => {
        if (authorized && Date.now() - lastMessage > silenceMs) {
          fail(new Error(`${url}: no measurement for ${Math.round(silenceMs / 1000)} s`));
        }
      }, 1000);
      const cleanup = () => {
        settled = true;
        clearTimeout(authTimer);
        clearInterval(watchdog);
        signal.removeEventListener('abort', onAbort);
        if (this.ws === ws) this.ws = null;
      };
      const fail = (err: Error) => {
        if (settled) return;
        cleanup();
        ws.terminate();
        const tls = describeTlsError(err, this.caPem ?? '');
        if (tls instanceof HomeWizardTlsError || err instanceof HomeWizardAuthError || authorized) {
          reject(tls instanceof Error ? tls : err);
        } else {
          reject(err instanceof WebSocketUnavailable ? err : new WebSocketUnavailable(`${url}: ${err.message}`));
        }
      };
      const onAbort = () => {
        if (settled) return;
        cleanup();
        ws.terminate();
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });

      ws.on('unexpected-response', (_req, res) => {
        res.resume();
        if (res.statusCode === 401) {
          fail(new HomeWizardAuthError(`${url}: 401: the device refused the token in homewizard.token; pair again`));
        } else {
          fail(new WebSocketUnavailable(`${url}: HTTP ${res.statusCode} on the WebSocket upgrade`));
        }
      });
      ws.on('error', (err) => fail(err));
      ws.on('close', (code, reason) =>
        fail(new Error(`${url}: closed by the device (${code}${reason.length ? ` ${reason.toString()}` : ''})`)),
      );
      ws.on('message', (data, isBinary) => {
        lastMessage = Date.now();
        if (isBinary) return;
        let msg: unknown;
        try {
          msg = JSON.parse(data.toString());
        } catch {
          return;
        }
        if (typeof msg !== 'object' || msg === null) return;
        const { type, data: payload } = msg as { type?: unknown; data?: unknown };
        switch (type) {
          case 'authorization_requested':
            ws.send(JSON.stringify({ type: 'authorization', data: this.cfg.token }));
            return;
          case 'authorized':
            authorized = true;
            clearTimeout(authTimer);
            ws.send(JSON.stringify({ type: 'subscribe', data: 'measurement' }));
            return;
          case 'measurement': {
            let fields: ReturnType<typeof decodeMeasurement>;
            try {
              fields = decodeMeasurement(payload, 'v2', this.zone);
            } catch (err) {
              fail(err instanceof Error ? err : new HomeWizardDataError(String(err)));
              return;
            }
            this.emit(fields);
            if (this.transportInUse !== 'websocket') {
              this.transportInUse = 'websocket';
              this.setState('connected', 'websocket');
              onConnected();
            }
            return;
          }
          case 'error': {
            const m = (payload as { message?: unknown } | null)?.message;
            const message = typeof m === 'string' ? m : JSON.stringify(payload);
            if (message.startsWith('user:unauthorized')) {
              fail(
                new HomeWizardAuthError(
                  `${url}: ${message}: the device refused the token in homewizard.token; pair again`,
                ),
              );
            } else {
              fail(new Error(`${url}: device error ${message}`));
            }
            return;
          }
          default:
            return;
        }
      });
    });
  }
}
