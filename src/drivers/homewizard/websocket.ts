/**
 * The HomeWizard API v2 WebSocket (`wss://HOST/api/ws`) for the source (source.ts): authorize with
 * the token, subscribe to `measurement`, pass on each push, and a watchdog for a device gone silent.
 * The source falls back to REST polling when it rejects with WebSocketUnavailable.
 */
import type WebSocket from 'ws';
import type { SnapshotFields } from '../source.js';
import { decodeMeasurement, HomeWizardDataError } from './fields.js';
import { type Endpoint, HomeWizardAuthError, urlOf } from './http.js';
import { describeTlsError, HomeWizardTlsError } from './tls.js';

/** The device asks for the token right after the upgrade; wait this long for `authorized`. */
const WS_AUTH_TIMEOUT_MS = 15_000;

/** The WebSocket could not be used (missing endpoint, handshake failure): fall back to REST. */
export class WebSocketUnavailable extends Error {}

export interface WebSocketSession {
  ep: Endpoint;
  token: string | null;
  /** The CA the TLS errors are described against (null: none configured). */
  caPem: string | null;
  /** The meter clock's time zone, for decoding. */
  zone: string;
  /** Once authorized, no message for this long fails the session. */
  silenceMs: number;
  signal: AbortSignal;
  /** The socket, as soon as it exists (the source terminates it on stop). */
  opened: (ws: WebSocket) => void;
  /** The socket is done with. */
  closed: (ws: WebSocket) => void;
  /** Each measurement pushed, decoded. */
  onMeasurement: (fields: SnapshotFields) => void;
}

/**
 * One WebSocket session. Resolves on stop (the signal); rejects with WebSocketUnavailable when it
 * never got authorized for a reason other than the token or TLS (fall back to REST), otherwise with
 * the error (reconnect).
 */
export async function runWebSocket(o: WebSocketSession): Promise<void> {
  // Loaded only when used: API v1 and REST never pay for the WebSocket library (≈ 7 MB RSS).
  const { default: WebSocketClient } = await import('ws');
  const ep = o.ep;
  const signal = o.signal;
  const url = urlOf({ ...ep, scheme: 'https' }, '/api/ws').replace(/^https/, 'wss');
  return new Promise<void>((resolve, reject) => {
    const ws = new WebSocketClient(url, {
      ...ep.tls,
      handshakeTimeout: ep.timeoutMs,
      headers: { 'X-Api-Version': '2' },
      perMessageDeflate: false,
      maxPayload: 1 << 20,
    });
    o.opened(ws);
    let authorized = false;
    let settled = false;
    let lastMessage = Date.now();
    const authTimer = setTimeout(
      () => fail(new WebSocketUnavailable(`${url}: not authorized within ${WS_AUTH_TIMEOUT_MS / 1000} s`)),
      WS_AUTH_TIMEOUT_MS,
    );
    const watchdog = setInterval(() => {
      if (authorized && Date.now() - lastMessage > o.silenceMs) {
        fail(new Error(`${url}: no measurement for ${Math.round(o.silenceMs / 1000)} s`));
      }
    }, 1000);
    const cleanup = () => {
      settled = true;
      clearTimeout(authTimer);
      clearInterval(watchdog);
      signal.removeEventListener('abort', onAbort);
      o.closed(ws);
    };
    const fail = (err: Error) => {
      if (settled) return;
      cleanup();
      ws.terminate();
      const tls = describeTlsError(err, o.caPem ?? '');
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
      const msg = parseMessage(data, isBinary);
      if (msg === null) return;
      switch (msg.type) {
        case 'authorization_requested':
          ws.send(JSON.stringify({ type: 'authorization', data: o.token }));
          return;
        case 'authorized':
          authorized = true;
          clearTimeout(authTimer);
          ws.send(JSON.stringify({ type: 'subscribe', data: 'measurement' }));
          return;
        case 'measurement': {
          let fields: SnapshotFields;
          try {
            fields = decodeMeasurement(msg.payload, 'v2', o.zone);
          } catch (err) {
            fail(err instanceof Error ? err : new HomeWizardDataError(String(err)));
            return;
          }
          o.onMeasurement(fields);
          return;
        }
        case 'error':
          fail(deviceError(url, msg.payload));
          return;
        default:
          return;
      }
    });
  });
}

/** A text message's `type` and `data`; null for a binary one, one that is not JSON, or not an object. */
function parseMessage(data: WebSocket.RawData, isBinary: boolean): { type: unknown; payload: unknown } | null {
  if (isBinary) return null;
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString());
  } catch {
    return null;
  }
  if (typeof msg !== 'object' || msg === null) return null;
  const { type, data: payload } = msg as { type?: unknown; data?: unknown };
  return { type, payload };
}

/** The device's `error` message as an error: a refused token is HomeWizardAuthError. */
function deviceError(url: string, payload: unknown): Error {
  const m = (payload as { message?: unknown } | null)?.message;
  const message = typeof m === 'string' ? m : JSON.stringify(payload);
  if (message.startsWith('user:unauthorized')) {
    return new HomeWizardAuthError(`${url}: ${message}: the device refused the token in homewizard.token; pair again`);
  }
  return new Error(`${url}: device error ${message}`);
}
