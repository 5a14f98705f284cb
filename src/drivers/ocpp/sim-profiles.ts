/**
 * The charging profiles a simulated charge point holds (simulator.ts): SetChargingProfile and
 * ClearChargingProfile as OCPP 1.6 §3.13 describes them, and the limit they put in force: the
 * TxProfile of the running transaction, else the TxDefaultProfile (highest stack level first),
 * capped by a ChargePointMaxProfile.
 */
import { isObject, profileLimit } from './fields.js';

interface Profile {
  id: number;
  purpose: string;
  stackLevel: number;
  txId: number | null;
  /** A. */
  limit: number;
}

export interface SetProfileRules {
  /** The running transaction (a TxProfile must name it). */
  transactionId: number | null;
  /** Refuse TxProfiles (take only TxDefaultProfiles). */
  refuseTxProfiles: boolean;
  /** Volts × phases, to turn a limit in W into A. */
  wattsPerAmp: number;
}

export class SimProfiles {
  private list: Profile[] = [];

  /** The limit in force, A (null: none, the rated current applies). */
  limit(transactionId: number | null): number | null {
    const of = (purpose: string, match: (p: Profile) => boolean) =>
      this.list.filter((p) => p.purpose === purpose && match(p)).sort((a, b) => b.stackLevel - a.stackLevel)[0];
    const txp = transactionId === null ? undefined : of('TxProfile', (p) => p.txId === transactionId);
    const base = (txp ?? of('TxDefaultProfile', () => true))?.limit ?? null;
    const max = of('ChargePointMaxProfile', () => true)?.limit ?? null;
    if (max === null) return base;
    return base === null ? max : Math.min(base, max);
  }

  /** SetChargingProfile: the answer's status, and the profile taken (null: refused). */
  set(params: unknown, rules: SetProfileRules): { status: string; taken: { purpose: string; limit: number } | null } {
    const p = isObject(params) && isObject(params.csChargingProfiles) ? params.csChargingProfiles : null;
    const raw = profileLimit(p);
    if (!p || raw === null) return { status: 'Rejected', taken: null };
    const purpose = String(p.chargingProfilePurpose);
    const txId = typeof p.transactionId === 'number' ? p.transactionId : null;
    if (purpose === 'TxProfile' && (rules.refuseTxProfiles || txId === null || txId !== rules.transactionId))
      return { status: 'Rejected', taken: null };
    const unit = isObject(p.chargingSchedule) ? p.chargingSchedule.chargingRateUnit : 'A';
    const limit = unit === 'W' ? raw / rules.wattsPerAmp : raw;
    const id = Number(p.chargingProfileId);
    const stackLevel = Number(p.stackLevel);
    // A profile replaces one of the same id, or of the same purpose and stack level (OCPP 1.6 §3.13.2).
    this.list = this.list.filter((x) => x.id !== id && !(x.purpose === purpose && x.stackLevel === stackLevel));
    this.list.push({ id, purpose, stackLevel, txId, limit });
    return { status: 'Accepted', taken: { purpose, limit } };
  }

  /** ClearChargingProfile: Accepted when it removed any, else Unknown. */
  clear(params: unknown): string {
    const p = isObject(params) ? params : {};
    const before = this.list.length;
    this.list = this.list.filter(
      (x) =>
        !(
          (p.id === undefined || p.id === x.id) &&
          (p.chargingProfilePurpose === undefined || p.chargingProfilePurpose === x.purpose) &&
          (p.stackLevel === undefined || p.stackLevel === x.stackLevel)
        ),
    );
    return this.list.length < before ? 'Accepted' : 'Unknown';
  }
}
