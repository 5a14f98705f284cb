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
 */
// @peculiar/x509 (through tsyringe) needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import * as x509 from '@peculiar/x509';
import { WebSocket, WebSocketServer } from 'ws';
import { createLogger, type Logger } from '../../lib/log.js';
import type { HomeModel, HomeState } from '../sim/home-model.js';
import type { SnapshotFields } from '../source.js';
import { CERT_TYPE_BY_PRODUCT } from './device-info.js';
import { encodeMeasurement, type HomeWizardApi } from './fields.js';
import { USER_NAME_RULE } from './pair.js';
import { isoSeconds } from './timestamps.js';

const crypto = webcrypto;
x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** After the button press, a client has this long to ask for its token. */
const BUTTON_WINDOW_MS = 30_000;
/** The device closes a WebSocket that has not sent its token within 40 s. */
const WS_AUTH_WINDOW_MS = 40_000;

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

/** The snapshot fields a HomeWizard P1 meter reports for a state of the simulated home. */
export function modelToFields(s: HomeState): SnapshotFields {
  const f: SnapshotFields = {
    meter_timestamp: isoSeconds(s.at),
    grid_power_w: s.grid_w,
    grid_import_t1_kwh: s.import_t1_kwh,
    grid_import_t2_kwh: s.import_t2_kwh,
    grid_export_t1_kwh: s.export_t1_kwh,
    grid_export_t2_kwh: s.export_t2_kwh,
    grid_avg_15m_w: s.avg_15m_w,
    grid_monthly_peak_w: s.month_peak_w,
    grid_tariff: s.tariff,
    gas_total_m3: s.gas_m3,
    water_total_m3: s.water_m3,
  };
  if (s.month_peak_at !== null) f.grid_monthly_peak_timestamp = isoSeconds(s.month_peak_at);
  const power = ['power_l1_w', 'power_l2_w', 'power_l3_w'] as const;
  const voltage = ['voltage_l1_v', 'voltage_l2_v', 'voltage_l3_v'] as const;
  const current = ['current_l1_a', 'current_l2_a', 'current_l3_a'] as const;
  for (let i = 0; i < s.phases; i++) {
    const p = s.phase_grid_w[i] ?? 0;
    f[power[i] as (typeof power)[number]] = p;
    f[voltage[i] as (typeof voltage)[number]] = s.phase_voltage_v[i] ?? null;
    // HomeWizard signs the current like the power: negative when exporting on that phase.
    const a = s.phase_current_a[i] ?? 0;
    f[current[i] as (typeof current)[number]] = p < 0 ? -a : a;
  }
  return f;
}

export interface SimulatedCertificates {
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
}

/**
 * A throwaway CA and a server certificate with CN `cn` signed by it (ECDSA P-256, valid a year), with
 * 127.0.0.1 and localhost as SANs when `loopbackSans`.
 */
export async function createSimulatedCertificates(cn: string, loopbackSans = false): Promise<SimulatedCertificates> {
  const alg: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
  const sign: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
  const now = Date.now();
  const notBefore = new Date(now - 3_600_000);
  const notAfter = new Date(now + 365 * 86_400_000);
  const caKeys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: 'C=NL, O=Kwartier simulator, CN=Simulated Appliance Access CA',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: sign,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
  ];
  if (loopbackSans) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${cn.replace(/([,+="\\<>;])/g, '\\$1')}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: sign,
    extensions,
  });
  const keyDer = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    caCertPem: ca.toString('pem'),
    certPem: cert.toString('pem'),
    keyPem: x509.PemConverter.encode(keyDer, 'PRIVATE KEY'),
  };
}

function newToken(): string {
  return randomBytes(16).toString('hex').toUpperCase();
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
  const pressAfter = opts.pressAfterAttempts ?? 2;
  const pushMs = opts.pushIntervalMs ?? 1000;
  const users = new Map<string, string>(); // name → token
  const initialToken = opts.token ?? newToken();
  if (api === 'v2') users.set('local/preset', initialToken);
  let pairingAttempts = 0;
  let pressedAt = Number.NEGATIVE_INFINITY;
  const requests: Record<string, number> = {};

  const measurement = (): Record<string, unknown> => {
    if (!model) return recorded?.measurement ?? {};
    const s = model.advanceTo(Date.now());
    const zone = opts.timezone ?? model.options.timezone;
    const doc = encodeMeasurement({ fields: modelToFields(s), gasAt: s.gas_at, waterAt: s.water_at }, api, zone);
    return {
      wifi_ssid: 'Kwartier-sim',
      ...(api === 'v1' ? { wifi_strength: 100, smr_version: 50 } : { protocol_version: 50 }),
      meter_model: 'Kwartier simulated meter',
      unique_id: Buffer.from(`KWARTIER${serial}`).toString('hex').toUpperCase(),
      ...doc,
    };
  };
  const deviceInfo = () =>
    recorded?.device ?? {
      product_type: productType,
      product_name: productType === 'HWE-P1' ? 'P1 Meter' : productType,
      serial,
      firmware_version: api === 'v1' ? '5.18' : '6.00',
      api_version: api === 'v1' ? 'v1' : '2.0.0',
    };
  const validToken = (auth: string | undefined): boolean => {
    const m = /^Bearer (.+)$/.exec(auth ?? '');
    return !!m && [...users.values()].includes(m[1] ?? '');
  };

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const key = `${req.method} ${path}`;
    requests[key] = (requests[key] ?? 0) + 1;
    if (api === 'v1') {
      if (req.method === 'GET' && path === '/api') return send(res, 200, deviceInfo());
      if (req.method === 'GET' && path === '/api/v1/data') return send(res, 200, measurement());
      return send(res, 404, { error: { id: 0, description: 'Not found' } });
    }
    const version = req.headers['x-api-version'];
    if (version !== undefined && version !== '2') return send(res, 400, { error: 'request:api-version-not-supported' });
    if (req.method === 'POST' && path === '/api/user') {
      let name: unknown;
      try {
        name = (JSON.parse(body) as { name?: unknown }).name;
      } catch {
        return send(res, 400, { error: 'request:json-invalid' });
      }
      if (typeof name !== 'string' || !USER_NAME_RULE.test(name)) return send(res, 400, { error: 'user:name-invalid' });
      const now = Date.now();
      if (now - pressedAt > BUTTON_WINDOW_MS) {
        if (pairingAttempts < pressAfter) {
          pairingAttempts++;
          return send(res, 403, { error: 'user:creation-not-enabled' });
        }
        pressedAt = now;
      }
      // Reusing a name issues a new token and invalidates the old one.
      const token = newToken();
      users.set(name, token);
      log.info({ name }, 'homewizard-sim: user created');
      return send(res, 200, { token, name });
    }
    if (!validToken(req.headers.authorization)) return send(res, 401, { error: 'user:unauthorized' });
    if (req.method === 'GET' && path === '/api') return send(res, 200, deviceInfo());
    if (req.method === 'GET' && path === '/api/measurement') return send(res, 200, measurement());
    if (req.method === 'GET' && path === '/api/user')
      return send(
        res,
        200,
        [...users.keys()].map((name) => ({ name })),
      );
    return send(res, 404, { error: 'request:not-found' });
  };

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        log.error({ err }, 'homewizard-sim: request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal' });
      }
    });
  };

  let tls: SimulatedCertificates | undefined;
  let server: http.Server;
  if (api === 'v2') {
    tls = await createSimulatedCertificates(identity, opts.certificateLoopbackSans ?? false);
    server = https.createServer({ key: tls.keyPem, cert: tls.certPem }, listener);
  } else {
    server = http.createServer(listener);
  }

  // ---- WebSocket /api/ws (v2) ---------------------------------------------------------------------
  const wss =
    api === 'v2' && opts.websocket !== false ? new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 }) : null;
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '/').split('?')[0];
    if (!wss || path !== '/api/ws') {
      const body = '{"error":"request:not-found"}';
      socket.end(
        `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws));
  });
  const serveSocket = (ws: WebSocket) => {
    requests['WS /api/ws'] = (requests['WS /api/ws'] ?? 0) + 1;
    let authorized = false;
    let push: NodeJS.Timeout | null = null;
    const authTimer = setTimeout(() => ws.close(1008, 'authorization timeout'), WS_AUTH_WINDOW_MS);
    const out = (msg: unknown) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
    };
    const error = (message: string) => out({ type: 'error', data: { message } });
    ws.on('close', () => {
      clearTimeout(authTimer);
      if (push) clearInterval(push);
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', (data) => {
      let msg: { type?: unknown; data?: unknown };
      try {
        msg = JSON.parse(data.toString()) as { type?: unknown; data?: unknown };
      } catch {
        return error('json:invalid');
      }
      if (msg.type === 'authorization') {
        if (typeof msg.data === 'string' && [...users.values()].includes(msg.data)) {
          authorized = true;
          clearTimeout(authTimer);
          return out({ type: 'authorized' });
        }
        error('user:unauthorized');
        return ws.close(1008, 'unauthorized');
      }
      if (!authorized) return error('user:unauthorized');
      if (msg.type === 'subscribe') {
        if (msg.data !== 'measurement' && msg.data !== '*') return error('request:unknown-subscription');
        out({ type: 'measurement', data: measurement() });
        if (!push) push = setInterval(() => out({ type: 'measurement', data: measurement() }), pushMs);
        return;
      }
      if (msg.type === 'measurement') return out({ type: 'measurement', data: measurement() });
      if (msg.type === 'device') return out({ type: 'device', data: deviceInfo() });
    });
    out({ type: 'authorization_requested', data: { api_version: '2.0.0' } });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host, port, api, serial, ...(tls ? { identity } : {}) }, 'homewizard-sim: listening');

  return {
    host,
    port,
    serial,
    ...(tls ? { caCertPem: tls.caCertPem, identity, token: initialToken } : {}),
    pressButton() {
      pressedAt = Date.now();
    },
    requests,
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
