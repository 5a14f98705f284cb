/**
 * One JSON request to a HomeWizard device over HTTP (v1) or HTTPS (v2), with a timeout, a size cap
 * and the certificate CN of the connection it went over. node:http(s) rather than fetch: fetch cannot
 * take our own CA and checkServerIdentity without the undici package.
 */
import http from 'node:http';
import https from 'node:https';
import { TLSSocket } from 'node:tls';
import { KwartierError } from '../../core/errors.js';
import { commonName, describeTlsError, type tlsOptions } from './tls.js';

/** Answers larger than this are refused (a measurement is about 2 kB). */
export const MAX_BODY_BYTES = 1 << 20;

export interface Endpoint {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** HTTPS only. */
  tls?: ReturnType<typeof tlsOptions>;
  /** Keeps connections open between polls. */
  agent: http.Agent;
  timeoutMs: number;
}

export interface JsonResponse {
  status: number;
  /** Parsed JSON, or undefined when the body was empty or not JSON. */
  body: unknown;
  /** CN of the device certificate (HTTPS), null over HTTP. */
  peerCn: string | null;
}

/** A non-2xx answer. `apiError` is the device's error code (`user:unauthorized`, …) when it gave one. */
export class HomeWizardHttpError extends KwartierError {
  readonly status: number;
  readonly apiError: string | null;

  constructor(message: string, status: number, apiError: string | null, retriable: boolean) {
    super(status === 401 ? 'homewizard_unauthorized' : 'homewizard_http', message, { retriable });
    this.name = 'HomeWizardHttpError';
    this.status = status;
    this.apiError = apiError;
  }
}

/** The device's error code from a body: v2 `{"error":"user:unauthorized"}`, v1 `{"error":{"id":…,"description":…}}`. */
export function apiErrorOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const e = (body as Record<string, unknown>).error;
  if (typeof e === 'string') return e;
  if (typeof e === 'object' && e !== null) {
    const d = (e as Record<string, unknown>).description;
    if (typeof d === 'string') return d;
  }
  return null;
}

export function createAgent(scheme: 'http' | 'https'): http.Agent {
  // No TLS session cache: every new connection goes through the full chain and identity check.
  return scheme === 'https'
    ? new https.Agent({ keepAlive: true, maxSockets: 2, maxCachedSessions: 0 })
    : new http.Agent({ keepAlive: true, maxSockets: 2 });
}

export function urlOf(ep: Pick<Endpoint, 'scheme' | 'host' | 'port'>, path: string): string {
  const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
  return `${ep.scheme}://${host}:${ep.port}${path}`;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * Sends one request and reads the JSON answer. Rejects on network errors, TLS failures (as
 * HomeWizardTlsError), the timeout (`ep.timeoutMs`) or abort; resolves with any HTTP status.
 * A keep-alive socket the device closed meanwhile (ECONNRESET on a reused socket) is retried once.
 */
export async function requestJson(ep: Endpoint, path: string, opts: RequestOptions = {}): Promise<JsonResponse> {
  try {
    return await requestOnce(ep, path, opts);
  } catch (err) {
    if ((err as { reusedSocket?: boolean }).reusedSocket && (err as { code?: string }).code === 'ECONNRESET') {
      return requestOnce(ep, path, opts);
    }
    throw err;
  }
}

function requestOnce(ep: Endpoint, path: string, opts: RequestOptions): Promise<JsonResponse> {
  const url = urlOf(ep, path);
  const method = opts.method ?? 'GET';
  const what = `${method} ${url}`;
  return new Promise<JsonResponse>((resolve, reject) => {
    const timeout = AbortSignal.timeout(ep.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    if (signal.aborted) {
      reject(abortError(what, ep.timeoutMs, timeout.aborted));
      return;
    }
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const mod = ep.scheme === 'https' ? https : http;
    const req = mod.request({
      host: ep.host,
      port: ep.port,
      method,
      path,
      headers,
      agent: ep.agent,
      ...(ep.scheme === 'https' ? ep.tls : {}),
    });
    let settled = false;
    const finish = (err: unknown, value?: JsonResponse) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(value as JsonResponse);
    };
    const onAbort = () => {
      const err = abortError(what, ep.timeoutMs, timeout.aborted);
      req.destroy(err);
      finish(err);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => {
      const e = ep.scheme === 'https' && ep.tls ? describeTlsError(err, ep.tls.ca) : err;
      if (e === err && err instanceof Error && !(err instanceof KwartierError)) {
        const wrapped = new Error(`${what}: ${err.message}`, { cause: err });
        Object.assign(wrapped, { code: (err as { code?: string }).code, reusedSocket: req.reusedSocket });
        finish(wrapped);
      } else {
        finish(e);
      }
    });
    req.on('response', (res) => {
      const peerCn = res.socket instanceof TLSSocket ? commonName(res.socket.getPeerCertificate()) : null;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          const err = new Error(`${what}: answer larger than ${MAX_BODY_BYTES} bytes`);
          req.destroy(err);
          finish(err);
        } else {
          chunks.push(c);
        }
      });
      res.on('error', (err) => finish(new Error(`${what}: ${err.message}`, { cause: err })));
      res.on('close', () => finish(new Error(`${what}: connection closed before the answer was complete`)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        if (text.trim() !== '') {
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
        }
        finish(undefined, { status: res.statusCode ?? 0, body, peerCn });
      });
    });
    req.end(payload);
  });
}

function abortError(what: string, timeoutMs: number, timedOut: boolean): Error {
  return timedOut ? new Error(`${what}: no answer within ${timeoutMs} ms`) : new Error(`${what}: aborted`);
}
