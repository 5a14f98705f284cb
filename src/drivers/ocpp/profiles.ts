/**
 * The charging profiles the edge writes to one charger (docs/ocpp.md, "What is written"): one
 * SetChargingProfile per new limit, a TxProfile on the running transaction or else a
 * TxDefaultProfile, in A or (for a charger that takes only W) in W; and their removal.
 */
import { errorMessage, KwartierError } from '../../core/errors.js';
import type { Logger } from '../../lib/log.js';
import type { OcppConfig } from './config.js';
import { chargingProfile, isObject } from './fields.js';
import type { ChargerState } from './state.js';

/** Profile ids the edge uses, unlikely to clash with a backend's. */
export const DEFAULT_PROFILE_ID = 9161;
export const TX_PROFILE_ID = 9162;
const VOLTAGE_V = 230;

/** The part of ocpp-rpc's RPCServerClient the driver uses. */
export interface ChargerLink {
  readonly identity: string;
  handle(method: string, handler: (call: { params: unknown }) => unknown): void;
  handle(handler: (call: { method: string }) => unknown): void;
  call(method: string, params?: unknown, options?: { callTimeoutMs?: number }): Promise<unknown>;
  close(options?: { code?: number; reason?: string; force?: boolean }): Promise<unknown>;
  on(event: 'close', listener: () => void): void;
}

/** The `status` of a charger's answer ('no status' when it has none). */
export function statusOf(answer: unknown): string {
  return isObject(answer) && typeof answer.status === 'string' ? answer.status : 'no status';
}

export interface ProfileWriterOptions {
  /** The device's name (in errors). */
  name: string;
  log: Logger;
  /** Logs once per key. */
  warnOnce(key: string, obj: Record<string, unknown>, msg: string): void;
  /** After the charger accepted a profile (the source emits a reading with it). */
  onAccepted(): void;
}

export class ProfileWriter {
  /** The unit of the limits: A, or W for a charger whose schedules take only W. */
  rateUnit: 'A' | 'W' = 'A';
  private txProfiles = true;

  constructor(
    private readonly cfg: OcppConfig,
    private readonly state: ChargerState,
    private readonly options: ProfileWriterOptions,
  ) {}

  /** Sends the profile for `limit` A unless it is the one in force; throws when it is refused. */
  async setLimit(link: ChargerLink | null, limit: number): Promise<void> {
    if (this.state.effectiveLimit() === limit) return;
    if (!link)
      throw new KwartierError(
        'ocpp_not_connected',
        `${this.options.name}: charger ${this.cfg.charge_point_id} is not connected; nothing written`,
        { retriable: true },
      );
    const tx = this.state.tx;
    if (tx && this.txProfiles) {
      const status = await this.send(link, limit, tx.id);
      if (status === 'Accepted') return;
      // Some chargers take only TxDefaultProfiles (evcc sends nothing else): fall back to them.
      this.txProfiles = false;
      this.options.log.warn({ status }, 'the charger refused a TxProfile; TxDefaultProfiles from now on');
    }
    const status = await this.send(link, limit, null);
    if (status !== 'Accepted') {
      throw new KwartierError(
        'ocpp_refused',
        `${this.options.name}: SetChargingProfile (${limit} A): the charger answered ${status}`,
      );
    }
  }

  /** One SetChargingProfile; the charger's answer (Accepted, Rejected, NotSupported, or the RPC error). */
  private async send(link: ChargerLink, limitA: number, txId: number | null): Promise<string> {
    const purpose = txId === null ? 'TxDefaultProfile' : 'TxProfile';
    const limit = this.rateUnit === 'A' ? limitA : Math.round(VOLTAGE_V * limitA * this.cfg.phases);
    const profile = chargingProfile({
      id: txId === null ? DEFAULT_PROFILE_ID : TX_PROFILE_ID,
      purpose,
      ...(txId === null ? {} : { transactionId: txId }),
      limit,
      unit: this.rateUnit,
      relative: this.cfg.profile_kind_relative,
      stackLevel: this.cfg.stack_level,
      now: Date.now(),
    });
    let status: string;
    try {
      status = statusOf(
        await link.call('SetChargingProfile', { connectorId: this.cfg.connector, csChargingProfiles: profile }),
      );
    } catch (err) {
      status = `error: ${errorMessage(err)}`;
    }
    if (status === 'Accepted') {
      this.state.accepted(limitA, txId);
      this.options.onAccepted();
    } else {
      this.options.warnOnce(
        `profile:${purpose}:${status}`,
        { purpose, limit, unit: this.rateUnit, status },
        'SetChargingProfile refused',
      );
    }
    return status;
  }

  /** Removes the profiles the edge set (the charger is back to its own limits). */
  async clear(link: ChargerLink): Promise<void> {
    const ids = [
      ...(this.state.defaultLimit !== null ? [DEFAULT_PROFILE_ID] : []),
      ...(this.state.txLimit !== null ? [TX_PROFILE_ID] : []),
    ];
    for (const id of ids) {
      try {
        const r = await link.call('ClearChargingProfile', { id }, { callTimeoutMs: 3000 });
        this.options.log.info({ profile: id, status: statusOf(r) }, 'charging profile cleared');
      } catch (err) {
        this.options.log.warn({ profile: id, err: errorMessage(err) }, 'ClearChargingProfile failed');
      }
    }
    this.state.defaultLimit = null;
    this.state.txLimit = null;
  }
}
