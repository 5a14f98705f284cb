/**
 * A simulated HomeWizard P1 meter on loopback, answering from the one simulated home (HomeModel):
 * - v1 (HTTP): GET /api, GET /api/v1/data.
 * - v2 (HTTPS): GET /api, GET /api/measurement, POST/GET /api/user (pairing with a simulated button),
 *   and the WebSocket /api/ws (authorization, subscribe `measurement`, a push every pushIntervalMs).
 * Measurements are encoded with the driver's own field table (fields.ts: encodeMeasurement is the
 * inverse of decodeMeasurement), after `model.advanceTo(Date.now())`. With `recorded` instead of a
 * model it serves a real device's answers (fixtures) as they are: the fixture replay test.
 *
 * TLS: HomeWizard's CA key is not available, so the simulator makes a throwaway CA and a device
 * certificate with CN `appliance/p1dongle/<serial>` (ECDSA P-256); clients must be given `caCertPem`.
 * The device's answers are sim-device.ts, its certificates sim-certificates.ts.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { listen } from '../../lib/listen.js';
import { createLogger, type Logger } from '../../lib/log.js';
import type { HomeModel } from '../sim/home-model.js';
import { CERT_TYPE_BY_PRODUCT } from './device-info.js';
import type { HomeWizardApi } from './fields.js';
import { createSimulatedCertificates, type SimulatedCertificates } from './sim-certificates.js';
import { newToken, SimulatedDevice, send } from './sim-device.js';

/** A recorded device: its answers to GET /api and to the measurement request, served as they are. */
export interface RecordedHomeWizard {
  device: Record<string, unknown>;
  measurement: Record<string, unknown>;
}

export interface HomeWizardSimulatorOptions {
  api: HomeWizardApi;
  /** The simulated home the measurements encode (exactly one of model and recorded). */
  model?: HomeModel;
  /** Instead of the model: recorded answers (fixtures), served verbatim over REST and the WebSocket. */
  recorded?: RecordedHomeWizard;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  log?: Logger;
  /** v2: a token that is valid from the start (default: a random one, returned as `token`). */
  token?: string;
  /** Default: the recorded device's, else derived from the model's seed, 12 hex digits. */
  serial?: string;
  /** Default the recorded device's, else HWE-P1; another type simulates the wrong device. */
  productType?: string;
  /** v2: pairing attempts answered 403 before the simulated button is pressed (default 2; Infinity: only pressButton()). */
  pressAfterAttempts?: number;
  /** v2: serve the WebSocket /api/ws (default true). */
  websocket?: boolean;
  /** v2: WebSocket push interval (default 1000 ms, as a DSMR 5 meter). */
  pushIntervalMs?: number;
  /** v2: the certificate's CN (default `appliance/<type>/<serial>`): to test a wrong identity. */
  certificateCn?: string;
  /** v2: also put 127.0.0.1 and localhost in the certificate's SANs (default false). */
  certificateLoopbackSans?: boolean;
  /** Time zone of the meter's clock (default the model's). */
  timezone?: string;
}

export interface HomeWizardSimulator {
  host: string;
  port: number;
  serial: string;
  /** v2: the throwaway CA that signed the device certificate (give it to the client as ca_cert). */
  caCertPem?: string;
  /** v2: the device certificate's CN. */
  identity?: string;
  /** v2: a valid token. */
  token?: string;
  /** v2: opens the 30 s pairing window, as pressing the button on the meter. */
  pressButton(): void;
  /** Counts of requests served, by path (for tests). */
  readonly requests: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

export async function startHomeWizardSimulator(opts: HomeWizardSimulatorOptions): Promise<HomeWizardSimulator> {
  const { api, model, recorded } = opts;
  if (!model === !recorded) throw new TypeError('HomeWizard simulator: give exactly one of model or recorded');
  const log = opts.log ?? createLogger('homewizard-sim', { api });
  const host = opts.host ?? '127.0.0.1';
  const recordedText = (key: string): string | undefined => {
    const v = recorded?.device[key];
    return typeof v === 'string' ? v : undefined;
  };
  const seedSerial = model ? `5c2faf${(model.options.seed >>> 0).toString(16).padStart(6, '0').slice(-6)}` : '';
  const serial = (opts.serial ?? recordedText('serial') ?? seedSerial).toLowerCase();
  const productType = opts.productType ?? recordedText('product_type') ?? 'HWE-P1';
  const certType = CERT_TYPE_BY_PRODUCT[productType] ?? 'p1dongle';
  const identity = opts.certificateCn ?? `appliance/${certType}/${serial}`;
  const initialToken = opts.token ?? newToken();
  const device = new SimulatedDevice({
    api,
    model,
    recorded,
    serial,
    productType,
    pressAfter: opts.pressAfterAttempts ?? 2,
    pushMs: opts.pushIntervalMs ?? 1000,
    timezone: opts.timezone,
    initialToken,
    log,
  });

  const listener = requestListener(device, log);

  let tls: SimulatedCertificates | undefined;
  let server: http.Server;
  if (api === 'v2') {
    tls = await createSimulatedCertificates(identity, opts.certificateLoopbackSans ?? false);
    server = https.createServer({ key: tls.keyPem, cert: tls.certPem }, listener);
  } else {
    server = http.createServer(listener);
  }

  const wss =
    api === 'v2' && opts.websocket !== false ? new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 }) : null;
  server.on('upgrade', upgradeListener(wss, device));

  const port = await listen(server, opts.port ?? 0, host);
  log.info({ host, port, api, serial, ...(tls ? { identity } : {}) }, 'homewizard-sim: listening');

  return {
    host,
    port,
    serial,
    ...(tls ? { caCertPem: tls.caCertPem, identity, token: initialToken } : {}),
    pressButton() {
      device.pressedAt = Date.now();
    },
    requests: device.requests,
    async stop() {
      if (wss) {
        for (const c of wss.clients) c.terminate();
        wss.close();
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Reads a request's body (at most 64 KiB) and has the device answer it. */
function requestListener(device: SimulatedDevice, log: Logger): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      try {
        device.handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        log.error({ err }, 'homewizard-sim: request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal' });
      }
    });
  };
}

/** The WebSocket /api/ws (v2, when served): every other upgrade is answered 404. */
function upgradeListener(
  wss: WebSocketServer | null,
  device: SimulatedDevice,
): (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    const path = (req.url ?? '/').split('?')[0];
    if (!wss || path !== '/api/ws') {
      const body = '{"error":"request:not-found"}';
      socket.end(
        `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => device.serveSocket(ws));
  };
}
