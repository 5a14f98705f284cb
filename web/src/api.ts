/**
 * The dashboard's only link to the server: the public REST API (Bearer token) and the realtime
 * WebSocket. URLs are relative to the page, so the dashboard also works behind a proxy's sub-path.
 */
import { REQUEST_TIMEOUT_MS } from './config.js';
import type { WsTicketAnswer } from './types.js';

export type ApiErrorKind = 'unauthorized' | 'not_found' | 'timeout' | 'network' | 'http';

export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    readonly status: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Params = Record<string, string | number | undefined>;

export function apiUrl(path: string, params: Params = {}): string {
  const url = new URL(`api/v1/${path}`, document.baseURI);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url.toString();
}

/**
 * The WebSocket's URL with a single-use ticket (POST ws-ticket): the token itself never goes in a
 * URL, which a reverse proxy would write to its access log.
 */
export function wsUrl(deviceId: string, ticket: string): string {
  const url = new URL(`ws/v1/realtime/${encodeURIComponent(deviceId)}`, document.baseURI);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('ticket', ticket);
  return url.toString();
}

/**
 * One authorised request with the dashboard's timeout: the answer's JSON, or an ApiError (network,
 * timeout, 401, or another status with the server's message). `signal` cancels.
 */
async function request<T>(token: string, url: string, init: RequestInit, signal?: AbortSignal): Promise<T> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, {
      ...init,
      headers: {
        ...(init.headers as Record<string, string>),
        authorization: `Bearer ${token}`,
        accept: 'application/json',
      },
      signal: combined,
      cache: 'no-store',
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    if (timeout.aborted) throw new ApiError('timeout', null, 'timeout');
    throw new ApiError('network', null, err instanceof Error ? err.message : String(err));
  }
  if (res.status === 401) throw new ApiError('unauthorized', 401, 'unauthorized');
  if (!res.ok) {
    let detail = '';
    try {
      const body = (await res.json()) as { message?: unknown };
      if (typeof body.message === 'string') detail = body.message;
    } catch {
      // no JSON body
    }
    throw new ApiError(res.status === 404 ? 'not_found' : 'http', res.status, detail || `HTTP ${res.status}`);
  }
  return (await res.json()) as T;
}

/** A single-use ticket for the WebSocket (POST /api/v1/ws-ticket), so the token stays out of URLs. */
export async function wsTicket(token: string, signal?: AbortSignal): Promise<string> {
  const body = await request<Partial<WsTicketAnswer>>(token, apiUrl('ws-ticket'), { method: 'POST' }, signal);
  if (typeof body.ticket !== 'string') throw new ApiError('http', 200, 'no ticket in the answer');
  return body.ticket;
}

/** GET a JSON answer. Throws ApiError; `signal` cancels (e.g. when the page changes). */
export function apiGet<T>(token: string, path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  return request<T>(token, apiUrl(path, params), {}, signal);
}

/** A JSON body PUT to the API (the control settings): the answer's JSON, or an ApiError as apiGet. */
export function apiPut<T>(token: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  return request<T>(
    token,
    apiUrl(path),
    { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
    signal,
  );
}

/** Runs `fn` over `items` with at most `limit` in flight; results in order. */
export async function mapLimit<A, B>(items: readonly A[], limit: number, fn: (a: A) => Promise<B>): Promise<B[]> {
  const out: B[] = new Array(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as A);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
