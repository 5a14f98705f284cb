/**
 * The shared HTTP JSON transport of devices with a local REST API (HomeWizard, Fronius, NRGkick…):
 * requestJson() sends one request with a timeout, a size cap, abort, and reads the TLS peer's CN; a
 * keep-alive socket the device closed meanwhile is retried once. node:http(s) rather than fetch:
 * fetch cannot take our own CA and checkServerIdentity without the undici package. Also the errors
 * of an answer (HttpJsonError, statusError: what to do about a 401, 403 or 404). The poller on top
 * of it is json-poller.ts.
 */
import http from 'node:http';
import https from 'node:https';
import { TLSSocket } from 'node:tls';
import { errorMessage, KwartierError } from '../../core/errors.js';

/** Answers larger than this are refused. */
export const MAX_BODY_BYTES = 1 << 20;

export interface HttpEndpoint {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** HTTPS options (CA, identity check) spread into the request. */
  tls?: https.RequestOptions;
  /** Keeps connections open between polls. */
  agent: http.Agent;
  timeoutMs: number;
  /** Turns a socket/TLS error into a clearer one (e.g. a certificate that does not verify). */
  mapError?: (err: unknown) => unknown;
}

export interface JsonResponse {
  status: number;
  /** Parsed JSON, or undefined when the body was empty or not JSON (see parseError). */
  body: unknown;
  /** The JSON parser's message when the body was not JSON, else null. */
  parseError: string | null;
  /** CN of the device certificate (HTTPS), null over HTTP. */
  peerCn: string | null;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

export function urlOf(ep: Pick<HttpEndpoint, 'scheme' | 'host' | 'port'>, path: string): string {
  const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
  return `${ep.scheme}://${host}:${ep.port}${path}`;
}

export function createHttpAgent(scheme: 'http' | 'https'): http.Agent {
  // No TLS session cache: every new connection goes through the full chain and identity check.
  return scheme === 'https'
    ? new https.Agent({ keepAlive: true, maxSockets: 2, maxCachedSessions: 0 })
    : new http.Agent({ keepAlive: true, maxSockets: 2 });
}

/**
 * Sends one request and reads the JSON answer. Rejects on network errors, TLS failures (through
 * `ep.mapError`), the timeout (`ep.timeoutMs`) or abort; resolves with any HTTP status.
 */
export async function requestJson(ep: HttpEndpoint, path: string, opts: RequestOptions = {}): Promise<JsonResponse> {
  try {
    return await requestOnce(ep, path, opts);
  } catch (err) {
    if ((err as { reusedSocket?: boolean }).reusedSocket && (err as { code?: string }).code === 'ECONNRESET') {
      return requestOnce(ep, path, opts);
    }
    throw err;
  }
}

function requestOnce(ep: HttpEndpoint, path: string, opts: RequestOptions): Promise<JsonResponse> {
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
      const e = ep.mapError ? ep.mapError(err) : err;
      if (e === err && err instanceof Error && !(err instanceof KwartierError)) {
        const wrapped = new Error(`${what}: ${err.message}`, { cause: err });
        Object.assign(wrapped, { code: (err as { code?: string }).code, reusedSocket: req.reusedSocket });
        finish(wrapped);
      } else {
        finish(e);
      }
    });
    req.on('response', (res) => {
      const peerCn = res.socket instanceof TLSSocket ? commonNameOf(res.socket) : null;
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
        let parseError: string | null = null;
        if (text.trim() !== '') {
          try {
            body = JSON.parse(text);
          } catch (err) {
            body = undefined;
            parseError = errorMessage(err);
          }
        }
        finish(undefined, { status: res.statusCode ?? 0, body, parseError, peerCn });
      });
    });
    req.end(payload);
  });
}

function commonNameOf(sock: TLSSocket): string | null {
  const cn: unknown = sock.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' ? cn : null;
}

function abortError(what: string, timeoutMs: number, timedOut: boolean): Error {
  return timedOut ? new Error(`${what}: no answer within ${timeoutMs} ms`) : new Error(`${what}: aborted`);
}

/** A non-2xx answer, or a 2xx answer that is not JSON. */
export class HttpJsonError extends KwartierError {
  readonly status: number;
  constructor(code: string, message: string, status: number, retriable: boolean) {
    super(code, message, { retriable });
    this.name = 'HttpJsonError';
    this.status = status;
  }
}

/** The error for a non-2xx status, with what to do about the common ones. */
export function statusError(what: string, status: number, device: string): HttpJsonError {
  switch (status) {
    case 401:
      return new HttpJsonError(
        'http_unauthorized',
        `${what}: 401 unauthorized: ${device} refused the credentials; check the token or password in its config`,
        401,
        false,
      );
    case 403:
      return new HttpJsonError(
        'http_forbidden',
        `${what}: 403 forbidden: ${device} does not allow this; is its local API enabled and this client allowed?`,
        403,
        false,
      );
    case 404:
      return new HttpJsonError(
        'http_not_found',
        `${what}: 404 not found: the device's API answers 404: is its local API switched on? (${device}; some inverters ship with it off)`,
        404,
        false,
      );
    default:
      return new HttpJsonError('http_status', `${what}: HTTP ${status}`, status, true);
  }
}
