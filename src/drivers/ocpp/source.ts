/**
 * An OCPP 1.6J charger as an edge source: the edge is the central system (a WebSocket server,
 * ocpp-rpc's RPCServer) the charger connects to as `ws://<listen>/…/<charge_point_id>`.
 *
 * - Only the configured charge point id is accepted (and, with `password`, only with that HTTP
 *   Basic password: OCPP security profile 1); every other connection is refused at the upgrade and
 *   logged once per id. A charger that connects again replaces its old connection.
 * - It answers BootNotification (Accepted, the heartbeat interval), Heartbeat, StatusNotification,
 *   MeterValues, Authorize (every tag: the edge is no authorization system), Start/StopTransaction
 *   and DataTransfer; after the first message of a connection it sets MeterValueSampleInterval and
 *   reads the smart-charging keys with GetConfiguration (logged; a charger whose schedules take
 *   only W gets its limits in W: 230 V × A × phases).
 * - Readings (state.ts) go out on every message from the charger, so silence makes the device stale
 *   (the merger: 3 × the heartbeat interval). After a (re)connection the first reading waits for
 *   the first MeterValues, at most 1.5 meter intervals, so it carries the measurements.
 * - With `remote_start_id_tag` (and `control: true`), a car that waits for authorization is started
 *   with RemoteStartTransaction (remote-start.ts).
 * - With `control: true`, `control()` writes one SetChargingProfile (TxProfile on the running
 *   transaction, else TxDefaultProfile; a charger that refuses TxProfiles gets TxDefaultProfiles),
 *   only when the limit differs from the one in force. A refusal (Rejected, NotSupported, an RPC
 *   error) is logged once per kind and fails the write. On stop the profiles it set are cleared
 *   (profiles.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { createRPCError, RPCServer } from 'ocpp-rpc';
import { errorMessage, KwartierError } from '../../core/errors.js';
import { parseHostPort } from '../../core/host-port.js';
import { listen } from '../../lib/listen.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { type ControllableSource, type ControlResult, offeredControl } from '../control.js';
import type { SourceReading, SourceState } from '../source.js';
import type { OcppConfig } from './config.js';
import { OCPP_CONTROLS } from './controls.js';
import { decodeMeterValues, isObject, type OcppFields } from './fields.js';
import { clientCertMismatch, createOcppServer } from './listener.js';
import { type ChargerLink, ProfileWriter, statusOf } from './profiles.js';
import { RemoteStarter } from './remote-start.js';
import { ChargerState } from './state.js';

const LISTEN_RETRY_MS = 10_000;
/** The configuration keys read after boot (guide control.md §1.3, evcc's cp_setup.go). */
const SETUP_KEYS = [
  'ChargeProfileMaxStackLevel',
  'ChargingScheduleAllowedChargingRateUnit',
  'MeterValuesSampledData',
  'MeterValueSampleInterval',
  'NumberOfConnectors',
];

export interface OcppSourceOptions {
  log?: Logger;
  name?: string;
}

export interface OcppReading extends SourceReading {
  fields: OcppFields;
}

interface Handshake {
  identity: string;
  request: IncomingMessage | undefined;
  password: Buffer | undefined;
  protocols: Set<string>;
  remoteAddress: string | undefined;
}

export class OcppSource implements ControllableSource {
  readonly name: string;
  readonly kind = 'inverter' as const;
  readonly intervalMs: number;

  private readonly log: Logger;
  private readonly listen: { host: string; port: number };
  private readonly readingListeners: Array<(r: SourceReading) => void> = [];
  private readonly stateListeners: Array<(s: SourceState, detail?: string) => void> = [];
  private server: RPCServer | null = null;
  private link: ChargerLink | null = null;
  private readonly state = new ChargerState();
  private primed = false;
  private primeTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private http: Server | null = null;
  private readonly writer: ProfileWriter;
  private nextTxId = Math.floor(Date.now() / 1000);
  private readonly remoteStarter: RemoteStarter;
  private identity = '';
  private readonly warned = new Set<string>();

  constructor(
    private readonly cfg: OcppConfig,
    opts: OcppSourceOptions = {},
  ) {
    this.name = opts.name ?? 'ocpp';
    this.intervalMs = cfg.heartbeat_interval_s * 1000;
    this.listen = parseHostPort(cfg.listen, `${this.name}.listen`, 8887);
    this.log = opts.log ?? createLogger('ocpp', { charge_point: cfg.charge_point_id });
    this.writer = new ProfileWriter(cfg, this.state, {
      name: this.name,
      log: this.log,
      warnOnce: (key, obj, msg) => this.warnOnce(key, obj, msg),
      onAccepted: () => this.emit(),
    });
    this.remoteStarter = new RemoteStarter(cfg, this.log, (key, obj, msg) => this.warnOnce(key, obj, msg));
  }

  onReading(listener: (reading: SourceReading) => void): void {
    this.readingListeners.push(listener);
  }

  onState(listener: (state: SourceState, detail?: string) => void): void {
    this.stateListeners.push(listener);
  }

  /** Whether the charger is connected now. */
  get connected(): boolean {
    return this.link !== null;
  }

  async start(): Promise<void> {
    const server = new RPCServer({
      protocols: ['ocpp1.6'],
      // Real chargers send messages that bend the schema (Wallbox, cheap boxes): read them
      // leniently; the decoders take only what they understand.
      strictMode: false,
      callTimeoutMs: this.cfg.timeout_ms,
      pingIntervalMs: 30_000,
      // OCPP messages are small; a charger's largest (GetConfiguration, MeterValues) is a few kB.
      wssOptions: { maxPayload: 1024 * 1024 },
    });
    server.auth((accept, reject, hs) => {
      const why = this.refusal(hs as Handshake);
      if (why === null) accept({});
      else reject(why.code, why.text);
    });
    server.on('client', (client: unknown) => this.onClient(client as ChargerLink));
    server.on('error', (err: unknown) => this.log.warn({ err: errorMessage(err) }, 'OCPP server error'));
    this.server = server;
    await this.listenOn(server);
  }

  /**
   * Listens on an HTTP server of its own that hands upgrades to the RPC server (ocpp-rpc's
   * `listen()` never settles when the address is in use); an address in use is tried again every
   * 10 s.
   */
  private async listenOn(server: RPCServer): Promise<void> {
    const where = `${this.listen.host}:${this.listen.port}`;
    const http = createOcppServer(this.cfg, this.name);
    http.on('upgrade', server.handleUpgrade);
    try {
      await listen(http, this.listen.port, this.listen.host);
    } catch (err) {
      if (this.server !== server) return;
      this.log.error({ listen: where, err: errorMessage(err) }, 'OCPP central system cannot listen; retrying in 10 s');
      this.setState('lost', `cannot listen on ${where}: ${errorMessage(err)}`);
      this.retryTimer = setTimeout(() => void this.listenOn(server), LISTEN_RETRY_MS);
      this.retryTimer.unref();
      return;
    }
    http.on('error', (err) => this.log.warn({ err: errorMessage(err) }, 'OCPP listener error'));
    this.http = http;
    if (this.server !== server) {
      await this.closeHttp();
      return;
    }
    const scheme = this.cfg.tls ? 'wss' : 'ws';
    this.setState('connecting', `waiting for ${this.cfg.charge_point_id} on ${scheme}://${where}`);
    this.log.info({ listen: where }, 'OCPP central system listening');
  }

  private async closeHttp(): Promise<void> {
    const http = this.http;
    this.http = null;
    if (!http) return;
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }

  async stop(): Promise<void> {
    clearTimeout(this.primeTimer);
    clearTimeout(this.retryTimer);
    const link = this.link;
    if (link && this.cfg.control) await this.writer.clear(link);
    this.link = null;
    const server = this.server;
    this.server = null;
    await server?.close({ code: 1001, reason: 'central system stopping' });
    await this.closeHttp();
  }

  /** The unit its profiles are written in: A, or W for a charger whose schedules take only W. */
  get rateUnitInUse(): 'A' | 'W' {
    return this.writer.rateUnit;
  }

  /** Why a connection is refused (null: accepted). */
  private refusal(hs: Handshake): { code: number; text: string } | null {
    let why: { code: number; text: string; detail?: string } | null = null;
    const certWhy = clientCertMismatch(this.cfg, hs.request);
    if (hs.identity !== this.cfg.charge_point_id) why = { code: 404, text: 'unknown charge point' };
    else if (!hs.protocols.has('ocpp1.6')) why = { code: 400, text: 'subprotocol ocpp1.6 required' };
    else if (this.cfg.password !== undefined) {
      const want = Buffer.from(this.cfg.password, 'utf8');
      const got = hs.password;
      if (!got || got.length !== want.length || !timingSafeEqual(got, want)) why = { code: 401, text: 'unauthorized' };
    }
    if (why === null && certWhy !== null) why = { code: 403, text: 'forbidden', detail: certWhy };
    if (why)
      this.warnOnce(
        `refused:${hs.identity}:${why.code}`,
        { identity: hs.identity.slice(0, 64), remote: hs.remoteAddress, reason: why.detail ?? why.text },
        'OCPP connection refused',
      );
    return why;
  }

  private onClient(link: ChargerLink): void {
    const old = this.link;
    this.link = link;
    if (old) void old.close({ force: true }).catch(() => {});
    this.log.info({ identity: link.identity }, 'charger connected');
    this.setState('connected');
    this.primed = false;
    clearTimeout(this.primeTimer);
    this.primeTimer = setTimeout(() => this.prime(), (this.cfg.meter_interval_s || 10) * 1500);
    this.primeTimer.unref();
    let setUp = false;
    const on = (method: string, handler: (params: Record<string, unknown>) => unknown) =>
      link.handle(method, ({ params }) => {
        const answer = handler(isObject(params) ? params : {});
        if (!setUp && this.link === link) {
          setUp = true;
          setTimeout(() => void this.setUp(link), 0);
        }
        this.emit();
        return answer;
      });
    this.handle(on);
    link.handle(({ method }) => {
      this.log.debug({ method }, 'OCPP call not implemented');
      throw createRPCError('NotImplemented', `${method} is not implemented by this central system`);
    });
    link.on('close', () => {
      if (this.link !== link) return;
      this.link = null;
      this.log.warn('charger disconnected');
      this.setState('lost', 'charger disconnected');
    });
  }

  /** The answers to the charger's calls. */
  private handle(on: (method: string, handler: (p: Record<string, unknown>) => unknown) => void): void {
    const now = () => new Date().toISOString();
    const st = this.state;
    on('BootNotification', (p) => {
      this.logIdentity(p);
      return { status: 'Accepted', currentTime: now(), interval: this.cfg.heartbeat_interval_s };
    });
    on('Heartbeat', () => {
      this.remoteStarter.check(this.link, st);
      return { currentTime: now() };
    });
    on('StatusNotification', (p) => {
      if (p.connectorId === this.cfg.connector && typeof p.status === 'string') {
        st.onStatus(p.status, p.errorCode);
        this.remoteStarter.check(this.link, st);
      } else if (p.connectorId === 0 && p.status === 'Faulted')
        this.warnOnce(`cp-faulted:${String(p.errorCode)}`, { error: p.errorCode }, 'charge point faulted');
      return {};
    });
    on('MeterValues', (p) => {
      if (p.connectorId === this.cfg.connector || p.connectorId === 0) {
        st.onMeterValues(decodeMeterValues(p), p.transactionId);
        this.prime();
      }
      return {};
    });
    on('Authorize', () => ({ idTagInfo: { status: 'Accepted' } }));
    on('StartTransaction', (p) => {
      this.nextTxId = Math.max(this.nextTxId + 1, Math.floor(Date.now() / 1000));
      if (p.connectorId === this.cfg.connector) st.onStart(this.nextTxId, p.meterStart);
      this.log.info({ transaction: this.nextTxId, meter_start_wh: p.meterStart }, 'transaction started');
      return { transactionId: this.nextTxId, idTagInfo: { status: 'Accepted' } };
    });
    on('StopTransaction', (p) => {
      st.onStop(p.transactionId, p.meterStop);
      this.log.info(
        { transaction: p.transactionId, meter_stop_wh: p.meterStop, reason: p.reason },
        'transaction stopped',
      );
      return { idTagInfo: { status: 'Accepted' } };
    });
    on('DataTransfer', () => ({ status: 'UnknownVendorId' }));
    on('FirmwareStatusNotification', () => ({}));
    on('DiagnosticsStatusNotification', () => ({}));
  }

  /** After the first message of a connection: the meter interval, and the smart-charging keys. */
  private async setUp(link: ChargerLink): Promise<void> {
    try {
      // The one write without `control: true`: it changes what the charger reports, not how it
      // charges (0 in the config leaves the charger's own interval).
      if (this.cfg.meter_interval_s > 0) {
        const r = await link.call('ChangeConfiguration', {
          key: 'MeterValueSampleInterval',
          value: String(this.cfg.meter_interval_s),
        });
        if (statusOf(r) !== 'Accepted')
          this.warnOnce(`interval:${statusOf(r)}`, { status: statusOf(r) }, 'MeterValueSampleInterval not set');
      }
      const conf = await link.call('GetConfiguration', { key: SETUP_KEYS });
      const keys = isObject(conf) && Array.isArray(conf.configurationKey) ? conf.configurationKey : [];
      const values: Record<string, unknown> = {};
      for (const k of keys) if (isObject(k) && typeof k.key === 'string') values[k.key] = k.value ?? null;
      const units =
        typeof values.ChargingScheduleAllowedChargingRateUnit === 'string'
          ? values.ChargingScheduleAllowedChargingRateUnit
          : '';
      this.writer.rateUnit = units !== '' && !/current/i.test(units) && /power/i.test(units) ? 'W' : 'A';
      this.log.info({ configuration: values, rate_unit: this.writer.rateUnit }, 'charger configuration');
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'charger set-up (ChangeConfiguration, GetConfiguration) failed');
    }
  }

  private prime(): void {
    clearTimeout(this.primeTimer);
    if (this.primed) return;
    this.primed = true;
    this.emit();
  }

  private emit(): void {
    if (!this.primed) return;
    const reading: OcppReading = { source: this.name, at: Date.now(), fields: this.state.fields() };
    for (const l of this.readingListeners) l(reading);
  }

  /**
   * Writes one of OCPP_CONTROLS as a charging profile, refused unless the config says
   * `control: true`; nothing is sent when the limit in force is already the one asked for.
   */
  async control(name: string, value: unknown): Promise<ControlResult> {
    offeredControl(this.name, name, OCPP_CONTROLS, this.cfg.control === true);
    let limit: number;
    if (name === 'charge_pause') {
      if (typeof value !== 'boolean')
        throw new KwartierError('control_value', `${this.name}.${name}: ${JSON.stringify(value)} is not true or false`);
      limit = value ? 0 : (this.state.lastCurrent ?? this.cfg.min_current_a);
    } else {
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new KwartierError('control_value', `${this.name}.${name}: ${JSON.stringify(value)} is not a number`);
      // OCPP limits are multiples of 0.1 (evcc truncates likewise).
      limit = Math.floor(value * 10 + 1e-9) / 10;
      if (limit < this.cfg.min_current_a || limit > this.cfg.max_current_a)
        throw new KwartierError(
          'control_value',
          `${this.name}.${name}: ${value} A is outside the device config's min_current_a..max_current_a (${this.cfg.min_current_a}..${this.cfg.max_current_a} A)`,
        );
    }
    await this.writer.setLimit(this.link, limit);
    const held = this.state.effectiveLimit();
    const readBack = name === 'charge_pause' ? (held === null ? null : held === 0) : held;
    return { control: name, requested: value, readBack, at: Date.now() };
  }

  private logIdentity(p: Record<string, unknown>): void {
    const info = {
      vendor: p.chargePointVendor ?? null,
      model: p.chargePointModel ?? null,
      serial: p.chargePointSerialNumber ?? p.chargeBoxSerialNumber ?? null,
      firmware: p.firmwareVersion ?? null,
    };
    const key = JSON.stringify(info);
    if (key === this.identity) return;
    this.identity = key;
    this.log.info(info, 'charger booted');
  }

  private warnOnce(key: string, obj: Record<string, unknown>, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(obj, msg);
  }

  private setState(state: SourceState, detail?: string): void {
    for (const l of this.stateListeners) l(state, detail);
  }
}

export function createOcppSource(cfg: OcppConfig, opts: OcppSourceOptions = {}): OcppSource {
  return new OcppSource(cfg, opts);
}
