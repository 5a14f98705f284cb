/**
 * What the simulated HomeWizard P1 meter answers (simulator.ts serves it over HTTP(S)): its REST
 * routes (v1; v2 with its tokens and the pairing button), and a session on its WebSocket /api/ws
 * (authorization, subscribe `measurement`, a push every pushIntervalMs).
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { WebSocket } from 'ws';
import type { Logger } from '../../lib/log.js';
import type { HomeModel, HomeState } from '../sim/home-model.js';
import type { SnapshotFields } from '../source.js';
import { encodeMeasurement, type HomeWizardApi } from './fields.js';
import { USER_NAME_RULE } from './pair.js';
import type { RecordedHomeWizard } from './simulator.js';
import { isoSeconds } from './timestamps.js';

/** After the button press, a client has this long to ask for its token. */
const BUTTON_WINDOW_MS = 30_000;
/** The device closes a WebSocket that has not sent its token within 40 s. */
const WS_AUTH_WINDOW_MS = 40_000;

export interface SimulatedDeviceOptions {
  api: HomeWizardApi;
  /** The simulated home the measurements encode, or the recorded answers (exactly one). */
  model: HomeModel | undefined;
  recorded: RecordedHomeWizard | undefined;
  serial: string;
  productType: string;
  /** v2: pairing attempts answered 403 before the simulated button is pressed. */
  pressAfter: number;
  /** v2: WebSocket push interval (ms). */
  pushMs: number;
  /** Time zone of the meter's clock (default the model's). */
  timezone: string | undefined;
  /** v2: a token valid from the start. */
  initialToken: string;
  log: Logger;
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

export function newToken(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

/** A JSON answer. */
export function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export class SimulatedDevice {
  /** Counts of requests served, by `METHOD path` (and `WS /api/ws`). */
  readonly requests: Record<string, number> = {};
  /** When the simulated button was last pressed (ms). */
  pressedAt = Number.NEGATIVE_INFINITY;
  private readonly users = new Map<string, string>(); // name → token
  private pairingAttempts = 0;

  constructor(private readonly options: SimulatedDeviceOptions) {
    if (options.api === 'v2') this.users.set('local/preset', options.initialToken);
  }

  /** The measurement document now: the model's state encoded, or the recorded one. */
  measurement(): Record<string, unknown> {
    const { api, model, recorded, serial } = this.options;
    if (!model) return recorded?.measurement ?? {};
    const s = model.advanceTo(Date.now());
    const zone = this.options.timezone ?? model.options.timezone;
    const doc = encodeMeasurement({ fields: modelToFields(s), gasAt: s.gas_at, waterAt: s.water_at }, api, zone);
    return {
      wifi_ssid: 'Kwartier-sim',
      ...(api === 'v1' ? { wifi_strength: 100, smr_version: 50 } : { protocol_version: 50 }),
      meter_model: 'Kwartier simulated meter',
      unique_id: Buffer.from(`KWARTIER${serial}`).toString('hex').toUpperCase(),
      ...doc,
    };
  }

  /** GET /api. */
  deviceInfo(): Record<string, unknown> {
    const { api, productType, serial } = this.options;
    return (
      this.options.recorded?.device ?? {
        product_type: productType,
        product_name: productType === 'HWE-P1' ? 'P1 Meter' : productType,
        serial,
        firmware_version: api === 'v1' ? '5.18' : '6.00',
        api_version: api === 'v1' ? 'v1' : '2.0.0',
      }
    );
  }

  /** Answers one HTTP request whose body has been read. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, body: string) {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const key = `${req.method} ${path}`;
    this.requests[key] = (this.requests[key] ?? 0) + 1;
    if (this.options.api === 'v1') {
      if (req.method === 'GET' && path === '/api') return send(res, 200, this.deviceInfo());
      if (req.method === 'GET' && path === '/api/v1/data') return send(res, 200, this.measurement());
      return send(res, 404, { error: { id: 0, description: 'Not found' } });
    }
    const version = req.headers['x-api-version'];
    if (version !== undefined && version !== '2') return send(res, 400, { error: 'request:api-version-not-supported' });
    if (req.method === 'POST' && path === '/api/user') return this.createUser(res, body);
    if (!this.validToken(req.headers.authorization)) return send(res, 401, { error: 'user:unauthorized' });
    if (req.method === 'GET' && path === '/api') return send(res, 200, this.deviceInfo());
    if (req.method === 'GET' && path === '/api/measurement') return send(res, 200, this.measurement());
    if (req.method === 'GET' && path === '/api/user')
      return send(
        res,
        200,
        [...this.users.keys()].map((name) => ({ name })),
      );
    return send(res, 404, { error: 'request:not-found' });
  }

  /** v2 POST /api/user: pairing, answered 403 until the button is pressed (or `pressAfter` attempts). */
  private createUser(res: http.ServerResponse, body: string) {
    let name: unknown;
    try {
      name = (JSON.parse(body) as { name?: unknown }).name;
    } catch {
      return send(res, 400, { error: 'request:json-invalid' });
    }
    if (typeof name !== 'string' || !USER_NAME_RULE.test(name)) return send(res, 400, { error: 'user:name-invalid' });
    const now = Date.now();
    if (now - this.pressedAt > BUTTON_WINDOW_MS) {
      if (this.pairingAttempts < this.options.pressAfter) {
        this.pairingAttempts++;
        return send(res, 403, { error: 'user:creation-not-enabled' });
      }
      this.pressedAt = now;
    }
    // Reusing a name issues a new token and invalidates the old one.
    const token = newToken();
    this.users.set(name, token);
    this.options.log.info({ name }, 'homewizard-sim: user created');
    return send(res, 200, { token, name });
  }

  private validToken(auth: string | undefined): boolean {
    const m = /^Bearer (.+)$/.exec(auth ?? '');
    return !!m && [...this.users.values()].includes(m[1] ?? '');
  }

  /** One WebSocket /api/ws session (v2). */
  serveSocket(ws: WebSocket): void {
    this.requests['WS /api/ws'] = (this.requests['WS /api/ws'] ?? 0) + 1;
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
        if (typeof msg.data === 'string' && [...this.users.values()].includes(msg.data)) {
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
        out({ type: 'measurement', data: this.measurement() });
        if (!push)
          push = setInterval(() => out({ type: 'measurement', data: this.measurement() }), this.options.pushMs);
        return;
      }
      if (msg.type === 'measurement') return out({ type: 'measurement', data: this.measurement() });
      if (msg.type === 'device') return out({ type: 'device', data: this.deviceInfo() });
    });
    out({ type: 'authorization_requested', data: { api_version: '2.0.0' } });
  }
}
