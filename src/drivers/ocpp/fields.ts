/**
 * OCPP 1.6J messages ↔ the fields of a charger's reading, as data and pure functions: the driver
 * decodes with them, the simulator and the tests speak the same shapes.
 *
 * Facts (OCPP 1.6 edition 2, §4 and §7; shared guide control.md §1.3):
 * - StatusNotification `status` (ChargePointStatus): Available, Preparing, Charging, SuspendedEVSE,
 *   SuspendedEV, Finishing, Reserved, Unavailable, Faulted.
 * - MeterValues: `meterValue[].sampledValue[]` with `value` (text), `measurand` (default
 *   Energy.Active.Import.Register), `unit` (default Wh; power in W or kW, energy in Wh or kWh),
 *   optional `phase` (L1, L2, L3, L1-N …), `context` and `location`, `format` Raw or SignedData.
 * - StartTransaction `meterStart` and StopTransaction `meterStop`: the connector's register, Wh.
 * A value that is missing or not a number stays null, never 0.
 */

/** The device's `ev_state` of each ChargePointStatus (the words the control's input knows). */
export const STATE_OF_STATUS: Readonly<Record<string, string>> = {
  Available: 'available',
  Preparing: 'connected',
  Charging: 'charging',
  SuspendedEV: 'suspended',
  SuspendedEVSE: 'paused',
  Finishing: 'finished',
  Reserved: 'reserved',
  Unavailable: 'unavailable',
  Faulted: 'error',
};

/** Statuses in which, by the standard's definition, no energy flows to a car (power 0 W, not unknown). */
export const NO_ENERGY_STATUSES: ReadonlySet<string> = new Set([
  'Available',
  'Preparing',
  'SuspendedEV',
  'SuspendedEVSE',
  'Finishing',
  'Reserved',
  'Unavailable',
  'Faulted',
]);

/** The fields of an OCPP charger's reading: the snapshot's `ev_power_w`, and the device's own. */
export interface OcppFields {
  /** Charging power, W, + into the car (Power.Active.Import, or the sum of its phases). */
  ev_power_w?: number | null;
  /** Energy of the running (or the last) transaction, kWh: register now − meterStart. */
  ev_session_kwh?: number | null;
  /** The connector's register, kWh (Energy.Active.Import.Register). */
  ev_total_kwh?: number | null;
  /** The status as a word the control knows (STATE_OF_STATUS). */
  ev_state?: string | null;
  /** The status as the charger said it (Charging, SuspendedEVSE, …). */
  ev_ocpp_status?: string | null;
  /** StatusNotification's errorCode when it is not NoError. */
  ev_error?: string | null;
  /** The current of the charging profile the edge set, A (the last one above 0 while paused). */
  ev_current_set_a?: number | null;
  /** 1 while the edge's profile holds the car at 0 A, else 0 (null: no profile set). */
  ev_charge_pause?: number | null;
  /** Phases the car draws on (those with Current.Import above 1 A while charging). */
  ev_phases?: number | null;
  ev_current_l1_a?: number | null;
  ev_current_l2_a?: number | null;
  ev_current_l3_a?: number | null;
  /** Current.Offered: the most the charger offers the car now, A. */
  ev_signaled_current_a?: number | null;
  /** The car's state of charge, % (SoC; few AC chargers know it). */
  ev_soc_pct?: number | null;
}

/** What one MeterValues message measured (null: not in it). */
export interface Measured {
  power_w: number | null;
  energy_wh: number | null;
  current_a: [number | null, number | null, number | null];
  offered_a: number | null;
  soc_pct: number | null;
  /** The register when the transaction began (an Energy sample of context Transaction.Begin), Wh. */
  begin_wh: number | null;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numText(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string' || !/^\s*[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?\s*$/.test(v)) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Without binary noise (0.1 + 0.2 → 0.3). */
export function clean(x: number): number {
  return Number(x.toPrecision(12));
}

const PHASE_INDEX: Readonly<Record<string, 0 | 1 | 2>> = { L1: 0, 'L1-N': 0, L2: 1, 'L2-N': 1, L3: 2, 'L3-N': 2 };

/** W from a power sample (W or kW; another unit: null). */
function watts(value: number, unit: unknown): number | null {
  if (unit === undefined || unit === 'W') return value;
  if (unit === 'kW') return value * 1000;
  return null;
}

/** Wh from an energy sample (Wh or kWh; another unit: null). */
function wattHours(value: number, unit: unknown): number | null {
  if (unit === undefined || unit === 'Wh') return value;
  if (unit === 'kWh') return value * 1000;
  return null;
}

interface Acc {
  power: number | null;
  powerPhases: Array<number | null>;
  energy: number | null;
  current: [number | null, number | null, number | null];
  offered: number | null;
  soc: number | null;
  begin: number | null;
}

function take(acc: Acc, s: Record<string, unknown>): void {
  if (s.format === 'SignedData') return;
  const value = numText(s.value);
  if (value === null) return;
  const measurand = typeof s.measurand === 'string' ? s.measurand : 'Energy.Active.Import.Register';
  // The register at the start or end of a transaction is not a reading of now; the start is the
  // session's base when the edge did not see StartTransaction.
  if (s.context === 'Transaction.Begin' || s.context === 'Transaction.End') {
    if (s.context === 'Transaction.Begin' && measurand === 'Energy.Active.Import.Register' && s.phase === undefined)
      acc.begin = wattHours(value, s.unit);
    return;
  }
  const phase = typeof s.phase === 'string' ? PHASE_INDEX[s.phase] : undefined;
  const hasPhase = typeof s.phase === 'string';
  switch (measurand) {
    case 'Power.Active.Import': {
      const w = watts(value, s.unit);
      if (w === null) return;
      if (!hasPhase) acc.power = w;
      else if (phase !== undefined) acc.powerPhases[phase] = w;
      return;
    }
    case 'Energy.Active.Import.Register': {
      const wh = wattHours(value, s.unit);
      if (wh !== null && !hasPhase) acc.energy = wh;
      return;
    }
    case 'Current.Import':
      if (phase !== undefined && (s.unit === undefined || s.unit === 'A')) acc.current[phase] = value;
      return;
    case 'Current.Offered':
      if (!hasPhase && (s.unit === undefined || s.unit === 'A')) acc.offered = value;
      return;
    case 'SoC':
      if (s.unit === undefined || s.unit === 'Percent') acc.soc = value;
      return;
  }
}

/** The measurements of a MeterValues.req (its meterValue entries in order: the last one wins). */
export function decodeMeterValues(params: unknown): Measured {
  const acc: Acc = {
    power: null,
    powerPhases: [],
    energy: null,
    current: [null, null, null],
    offered: null,
    soc: null,
    begin: null,
  };
  const entries = isObject(params) && Array.isArray(params.meterValue) ? params.meterValue : [];
  for (const mv of entries) {
    if (!isObject(mv) || !Array.isArray(mv.sampledValue)) continue;
    for (const s of mv.sampledValue) if (isObject(s)) take(acc, s);
  }
  const phases = acc.powerPhases.filter((x): x is number => typeof x === 'number');
  const power = acc.power ?? (phases.length > 0 ? phases.reduce((a, b) => a + b, 0) : null);
  return {
    power_w: power === null ? null : clean(power),
    energy_wh: acc.energy === null ? null : clean(acc.energy),
    current_a: acc.current,
    offered_a: acc.offered,
    soc_pct: acc.soc,
    begin_wh: acc.begin,
  };
}

/** Phases drawing more than 1 A (null: the charger reports no per-phase current, or none flows). */
export function phasesInUse(current: readonly (number | null)[]): number | null {
  if (current.every((c) => c === null)) return null;
  const n = current.filter((c) => c !== null && c > 1).length;
  return n > 0 ? n : null;
}

/** Wh → kWh without binary noise. */
export function kwh(wh: number | null): number | null {
  return wh === null ? null : clean(wh / 1000);
}

export type ProfilePurpose = 'TxDefaultProfile' | 'TxProfile';

export interface ProfileOptions {
  id: number;
  purpose: ProfilePurpose;
  /** The running transaction (TxProfile only). */
  transactionId?: number;
  limit: number;
  unit: 'A' | 'W';
  relative: boolean;
  stackLevel: number;
  now: number;
}

/**
 * A SetChargingProfile.req's `csChargingProfiles`: one period from now on with `limit`. Absolute
 * profiles start a minute in the past, so a charger whose clock lags a little applies them at once
 * (as evcc does); Relative ones start with the transaction.
 */
export function chargingProfile(o: ProfileOptions): Record<string, unknown> {
  return {
    chargingProfileId: o.id,
    ...(o.purpose === 'TxProfile' && o.transactionId !== undefined ? { transactionId: o.transactionId } : {}),
    stackLevel: o.stackLevel,
    chargingProfilePurpose: o.purpose,
    chargingProfileKind: o.relative ? 'Relative' : 'Absolute',
    chargingSchedule: {
      ...(o.relative ? {} : { startSchedule: new Date(Math.floor(o.now / 1000) * 1000 - 60_000).toISOString() }),
      chargingRateUnit: o.unit,
      chargingSchedulePeriod: [{ startPeriod: 0, limit: o.limit }],
    },
  };
}

/** The limit of a single-period profile (null when it is not one the simulator or a test can read). */
export function profileLimit(profile: unknown): number | null {
  if (!isObject(profile) || !isObject(profile.chargingSchedule)) return null;
  const periods = profile.chargingSchedule.chargingSchedulePeriod;
  if (!Array.isArray(periods) || !isObject(periods[0])) return null;
  const limit = periods[0].limit;
  return typeof limit === 'number' && Number.isFinite(limit) ? limit : null;
}
