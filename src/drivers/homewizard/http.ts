/**
 * One JSON request to a HomeWizard device over HTTP (v1) or HTTPS (v2), with a timeout, a size cap
 * and the certificate CN of the connection it went over: the shared HTTP transport
 * (http/request.ts) with HomeWizard's TLS errors and API error codes.
 */
import type http from 'node:http';
import { KwartierError } from '../../core/errors.js';
import {
  createHttpAgent,
  type RequestOptions as SharedRequestOptions,
  requestJson as sharedRequestJson,
  urlOf as sharedUrlOf,
} from '../http/request.js';
import { describeTlsError, type tlsOptions } from './tls.js';

/** Answers larger than this are refused (a measurement is about 2 kB). */
export { MAX_BODY_BYTES } from '../http/request.js';

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

/** A refused token (401, or `user:unauthorized` on the WebSocket): pair again. */
export class HomeWizardAuthError extends KwartierError {
  constructor(message: string) {
    super('homewizard_unauthorized', message, { retriable: false });
    this.name = 'HomeWizardAuthError';
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
  return createHttpAgent(scheme);
}

export function urlOf(ep: Pick<Endpoint, 'scheme' | 'host' | 'port'>, path: string): string {
  return sharedUrlOf(ep, path);
}

export type RequestOptions = SharedRequestOptions;

/**
 * Sends one request and reads the JSON answer over the shared HTTP transport
 * (http/request.ts). Rejects on network errors, TLS failures (as HomeWizardTlsError), the
 * timeout (`ep.timeoutMs`) or abort; resolves with any HTTP status.
 * A keep-alive socket the device closed meanwhile (ECONNRESET on a reused socket) is retried once.
 */
export async function requestJson(ep: Endpoint, path: string, opts: RequestOptions = {}): Promise<JsonResponse> {
  const tls = ep.tls;
  const res = await sharedRequestJson(
    {
      scheme: ep.scheme,
      host: ep.host,
      port: ep.port,
      agent: ep.agent,
      timeoutMs: ep.timeoutMs,
      ...(tls ? { tls } : {}),
      ...(ep.scheme === 'https' && tls ? { mapError: (err: unknown) => describeTlsError(err, tls.ca) } : {}),
    },
    path,
    opts,
  );
  return { status: res.status, body: res.body, peerCn: res.peerCn };
}
