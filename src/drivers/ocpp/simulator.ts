/**
 * A simulated OCPP 1.6J charge point with a car plugged in: the WebSocket *client* (ocpp-rpc's
 * RPCClient, strict schema validation both ways) that connects to a central system, here the edge.
 *
 * It boots, reports its status, starts a transaction for the car, and sends MeterValues every
 * MeterValueSampleInterval (the central system may change it) and a Heartbeat every interval the
 * BootNotification answer gave. The car draws what the charging profiles allow: 230 V × the limit
 * in force (TxProfile of its transaction, else TxDefaultProfile, capped by a ChargePointMaxProfile;
 * none: the rated current) × its phases, nothing below 6 A (IEC 61851: the car pauses), following
 * a new limit after `responseS`. It takes SetChargingProfile / ClearChargingProfile,
 * ChangeConfiguration, GetConfiguration and RemoteStartTransaction (with `waitForRemoteStart` it
 * starts a transaction only on that call, as a charger that wants authorization does). The connection is retried every second, so the
 * simulator may start before the central system does, and comes back after either side restarts.
 * With a home model, the car's draw goes into the simulated home (the closed loop of the meter).
 */
import { RPCClient } from 'ocpp-rpc';
import { createLogger, type Logger } from '../../lib/log.js';
import type { HomeModel } from '../sim/home-model.js';
import { isObject } from './fields.js';
import { SimProfiles } from './sim-profiles.js';

export interface SimulatedOcppCar {
  capacityKwh: number;
  socPct: number;
  /** The most current its on-board charger takes per phase, A. */
  maxCurrentA: number;
  phases: 1 | 2 | 3;
}

export interface OcppSimulatorOptions {
  /** The central system's URL without the identity: ws://127.0.0.1:8887/ocpp */
  url: string;
  /** The charge point id it connects as (default CP1). */
  identity?: string;
  /** OCPP security profile 1: the HTTP Basic password. */
  password?: string;
  /** wss: the CA that signed the central system's certificate; with `clientCert`/`clientKey` (PEM) profile 3. */
  tls?: { ca: string | Buffer; clientCert?: string | Buffer; clientKey?: string | Buffer };
  model?: HomeModel;
  /** The car (default a 60 kWh car at 20 %, 16 A on three phases); null: none plugged in. */
  car?: SimulatedOcppCar | null;
  ratedCurrentA?: number;
  /** Phases the charger is wired on (default 3). */
  phases?: 1 | 3;
  /** Seconds the car takes to follow a new limit (default 2). */
  responseS?: number;
  /** Units of its MeterValues: W and Wh (default), or kW and kWh. */
  units?: 'W' | 'kW';
  /** MeterValueSampleInterval until the central system sets one, s (default 10). */
  meterIntervalS?: number;
  /** ChargingScheduleAllowedChargingRateUnit (default Current). */
  rateUnits?: 'Current' | 'Power' | 'Current,Power';
  /** Answer every SetChargingProfile with this instead of taking it. */
  refuseProfiles?: 'Rejected' | 'NotSupported';
  /** Refuse TxProfiles (take only TxDefaultProfiles, like some Wallbox firmware). */
  refuseTxProfiles?: boolean;
  /**
   * A charger that wants authorization: a plugged-in car waits in Preparing until the central
   * system sends RemoteStartTransaction (its idTag then starts the transaction).
   */
  waitForRemoteStart?: boolean;
  log?: Logger;
}

const VOLTAGE_V = 230;
const BASE_REGISTER_WH = 100_000;
const DEFAULT_CAR: SimulatedOcppCar = { capacityKwh: 60, socPct: 20, maxCurrentA: 16, phases: 3 };

/** A free TCP port (for the client simulator, whose central system must listen where it connects). */
export { freePort } from '../../lib/listen.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class OcppChargePointSimulator {
  private client: RPCClient | null = null;
  private stopped = false;
  private readonly log: Logger;
  private car: SimulatedOcppCar | null;
  private readonly rated: number;
  private readonly phases: number;
  private readonly responseMs: number;
  private readonly profiles = new SimProfiles();
  private following: number | null = null;
  private changedAt = 0;
  private lastTick = Date.now();
  private socKwh: number;
  energyWh = BASE_REGISTER_WH;
  drawW = 0;
  status = 'Available';
  transactionId: number | null = null;
  /** SetChargingProfile calls taken. */
  profilesTaken = 0;
  /** The idTags of the RemoteStartTransaction calls it accepted. */
  remoteStarts: string[] = [];
  meterIntervalS: number;
  private heartbeatS = 60;
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<void> | null = null;
  private idTag = 'KWARTIER-SIM';

  constructor(private readonly opts: OcppSimulatorOptions) {
    this.log = opts.log ?? createLogger('ocpp-sim');
    this.car = opts.car === undefined ? { ...DEFAULT_CAR } : opts.car;
    this.rated = opts.ratedCurrentA ?? 16;
    this.phases = Math.min(opts.phases ?? 3, this.car?.phases ?? 3);
    this.responseMs = (opts.responseS ?? 2) * 1000;
    this.meterIntervalS = opts.meterIntervalS ?? 10;
    this.socKwh = this.car ? (this.car.capacityKwh * this.car.socPct) / 100 : 0;
  }

  get connected(): boolean {
    return this.client !== null;
  }

  /** The limit the profiles put in force now, A (null: none, the rated current applies). */
  get limitA(): number | null {
    return this.profiles.limit(this.transactionId);
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await this.client?.close({ force: true }).catch(() => undefined);
    await this.running;
    this.opts.model?.setEvLoad({ watts: 0, phases: 3 });
  }

  /** The car leaves: StopTransaction, then Available. */
  async unplug(): Promise<void> {
    const c = this.client;
    this.tick();
    const tx = this.transactionId;
    this.transactionId = null;
    this.tick();
    if (c && tx !== null) {
      await c.call('StopTransaction', {
        transactionId: tx,
        meterStop: Math.round(this.energyWh),
        timestamp: new Date().toISOString(),
        reason: 'EVDisconnected',
      });
    }
    this.car = null;
    await this.sendStatus('Available');
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const client = new RPCClient({
        endpoint: this.opts.url.replace(/\/+$/, ''),
        identity: this.opts.identity ?? 'CP1',
        protocols: ['ocpp1.6'],
        strictMode: true,
        reconnect: false,
        callTimeoutMs: 10_000,
        ...(this.opts.password !== undefined ? { password: this.opts.password } : {}),
        ...(this.opts.tls
          ? {
              wsOpts: {
                ca: this.opts.tls.ca,
                ...(this.opts.tls.clientCert ? { cert: this.opts.tls.clientCert, key: this.opts.tls.clientKey } : {}),
              },
            }
          : {}),
      } as ConstructorParameters<typeof RPCClient>[0]);
      this.handlers(client);
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      try {
        await client.connect();
      } catch {
        await sleep(1000);
        continue;
      }
      this.client = client;
      try {
        await this.session(client);
      } catch (err) {
        this.log.debug({ err: String(err) }, 'session ended');
      }
      await closed;
      this.client = null;
      this.clearTimers();
      if (!this.stopped) await sleep(1000);
    }
  }

  private async session(c: RPCClient): Promise<void> {
    const boot = (await c.call('BootNotification', {
      chargePointVendor: 'Kwartier',
      chargePointModel: 'OCPP 1.6J simulator',
      chargePointSerialNumber: 'SIM-0001',
      firmwareVersion: '1.0.0',
    })) as { status?: string; interval?: number };
    if (boot.status !== 'Accepted') throw new Error(`boot ${String(boot.status)}`);
    if (typeof boot.interval === 'number' && boot.interval > 0) this.heartbeatS = boot.interval;
    this.log.info({ heartbeat_s: this.heartbeatS }, 'OCPP charge point booted');
    await c.call('StatusNotification', { connectorId: 0, errorCode: 'NoError', status: 'Available' });
    this.tick();
    if (this.car && this.transactionId === null) {
      await this.sendStatus('Preparing');
      if (!this.opts.waitForRemoteStart) await this.startTransaction(c, this.idTag);
    }
    await this.sendStatus(this.connectorStatus(), true);
    // The first measurements at once, as chargers send the register when a transaction begins.
    await this.sendMeterValues(c);
    this.schedule(c);
  }

  private async startTransaction(c: RPCClient, idTag: string): Promise<void> {
    const r = (await c.call('StartTransaction', {
      connectorId: 1,
      idTag,
      meterStart: Math.round(this.energyWh),
      timestamp: new Date().toISOString(),
    })) as { transactionId: number };
    this.transactionId = r.transactionId;
    this.tick();
  }

  private schedule(c: RPCClient): void {
    this.clearTimers();
    const beat = setInterval(() => void c.call('Heartbeat', {}).catch(() => undefined), this.heartbeatS * 1000);
    const meter = setInterval(() => void this.sendMeterValues(c).catch(() => undefined), this.meterIntervalS * 1000);
    beat.unref();
    meter.unref();
    this.timers = [beat, meter];
  }

  private clearTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private connectorStatus(): string {
    if (!this.car) return 'Available';
    if (this.transactionId === null) return 'Preparing';
    if (this.drawW > 0) return 'Charging';
    return this.socKwh >= this.car.capacityKwh ? 'SuspendedEV' : 'SuspendedEVSE';
  }

  private async sendStatus(status: string, force = false): Promise<void> {
    if (status === this.status && !force) return;
    this.status = status;
    await this.client?.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status });
  }

  /** Advances the car's energy to now and sets its draw from the limit it follows. */
  private tick(): void {
    const now = Date.now();
    const wh = (this.drawW * (now - this.lastTick)) / 3_600_000;
    this.lastTick = now;
    this.energyWh += wh;
    this.socKwh += wh / 1000;
    this.opts.model?.advanceTo(now);
    if (now - this.changedAt >= this.responseMs) this.following = this.limitA;
    const car = this.car;
    const allowed = Math.min(this.following ?? this.rated, this.rated, car?.maxCurrentA ?? 0);
    const charging = car !== null && this.transactionId !== null && this.socKwh < car.capacityKwh && allowed >= 6;
    this.drawW = charging ? Math.round(VOLTAGE_V * allowed * this.phases) : 0;
    this.opts.model?.setEvLoad({ watts: this.drawW, phases: this.phases === 1 ? 1 : 3 });
  }

  private async sendMeterValues(c: RPCClient): Promise<void> {
    this.tick();
    await this.sendStatus(this.connectorStatus());
    const kw = this.opts.units === 'kW';
    const amps = this.drawW > 0 ? this.drawW / VOLTAGE_V / this.phases : 0;
    const sv = (measurand: string, value: number, unit: string, digits: number, phase?: string) => ({
      value: value.toFixed(digits),
      context: 'Sample.Periodic',
      format: 'Raw',
      measurand,
      ...(phase ? { phase } : {}),
      location: measurand === 'SoC' ? 'EV' : 'Outlet',
      unit,
    });
    const sampled = [
      kw
        ? sv('Energy.Active.Import.Register', this.energyWh / 1000, 'kWh', 3)
        : sv('Energy.Active.Import.Register', this.energyWh, 'Wh', 0),
      kw ? sv('Power.Active.Import', this.drawW / 1000, 'kW', 2) : sv('Power.Active.Import', this.drawW, 'W', 0),
      ...['L1', 'L2', 'L3'].map((ph, i) => sv('Current.Import', i < this.phases ? amps : 0, 'A', 2, ph)),
      sv('Current.Offered', this.limitA ?? this.rated, 'A', 1),
      ...(this.car ? [sv('SoC', Math.min(100, (this.socKwh / this.car.capacityKwh) * 100), 'Percent', 0)] : []),
    ];
    await c.call('MeterValues', {
      connectorId: 1,
      ...(this.transactionId !== null ? { transactionId: this.transactionId } : {}),
      meterValue: [{ timestamp: new Date().toISOString(), sampledValue: sampled }],
    });
  }

  private handlers(c: RPCClient): void {
    c.handle('SetChargingProfile', ({ params }) => this.setProfile(params));
    c.handle('RemoteStartTransaction', ({ params }) => {
      const p = isObject(params) ? params : {};
      if (!this.car || this.transactionId !== null || typeof p.idTag !== 'string')
        return Promise.resolve({ status: 'Rejected' });
      const idTag = p.idTag;
      this.remoteStarts.push(idTag);
      // The answer first, then the transaction (as a charger does).
      setTimeout(() => {
        void this.startTransaction(c, idTag)
          .then(() => this.sendStatus(this.connectorStatus()))
          .catch(() => undefined);
      }, 0);
      return Promise.resolve({ status: 'Accepted' });
    });
    c.handle('ClearChargingProfile', ({ params }) => {
      const status = this.profiles.clear(params);
      this.changed();
      return Promise.resolve({ status });
    });
    c.handle('ChangeConfiguration', ({ params }) => {
      const p = isObject(params) ? params : {};
      if (p.key === 'MeterValueSampleInterval') {
        const s = Number(p.value);
        if (!Number.isInteger(s) || s < 1) return Promise.resolve({ status: 'Rejected' });
        this.meterIntervalS = s;
        if (this.client) this.schedule(this.client);
        return Promise.resolve({ status: 'Accepted' });
      }
      return Promise.resolve({ status: 'NotSupported' });
    });
    c.handle('GetConfiguration', ({ params }) => {
      const all: Record<string, string> = {
        ChargeProfileMaxStackLevel: '8',
        ChargingScheduleAllowedChargingRateUnit: this.opts.rateUnits ?? 'Current',
        MeterValuesSampledData: 'Energy.Active.Import.Register,Power.Active.Import,Current.Import,Current.Offered,SoC',
        MeterValueSampleInterval: String(this.meterIntervalS),
        NumberOfConnectors: '1',
      };
      const asked = isObject(params) && Array.isArray(params.key) ? (params.key as string[]) : Object.keys(all);
      return Promise.resolve({
        configurationKey: asked
          .filter((k) => k in all)
          .map((k) => ({ key: k, readonly: k !== 'MeterValueSampleInterval', value: all[k] })),
        unknownKey: asked.filter((k) => !(k in all)),
      });
    });
  }

  private setProfile(params: unknown): Promise<Record<string, unknown>> {
    if (this.opts.refuseProfiles) return Promise.resolve({ status: this.opts.refuseProfiles });
    const { status, taken } = this.profiles.set(params, {
      transactionId: this.transactionId,
      refuseTxProfiles: this.opts.refuseTxProfiles === true,
      wattsPerAmp: VOLTAGE_V * this.phases,
    });
    if (taken) {
      this.profilesTaken++;
      this.log.info({ purpose: taken.purpose, limit: taken.limit }, 'charging profile set');
      this.changed();
    }
    return Promise.resolve({ status });
  }

  private changed(): void {
    this.tick();
    this.changedAt = Date.now();
    if (this.responseMs === 0) this.tick();
  }
}

/** Starts a simulated charge point (it connects, and reconnects, on its own). */
export function startOcppSimulator(opts: OcppSimulatorOptions): OcppChargePointSimulator {
  const sim = new OcppChargePointSimulator(opts);
  sim.start();
  return sim;
}
