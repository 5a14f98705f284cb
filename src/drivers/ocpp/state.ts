/**
 * What the central system knows of one charger, from the messages it sent: its status, its last
 * measurements, the running transaction, and the profile limits the edge set. `fields()` is the
 * reading. Plain state, no I/O, so the rules are in one place:
 *
 * - Power: the last MeterValues' power when it is newer than the last status change; after a
 *   change to a status in which no energy flows (Available, SuspendedEVSE, Finishing, …) and no
 *   newer measurement, 0 W (the status says so); otherwise unknown (null). Per-phase currents,
 *   Current.Offered and SoC likewise are only those measured since the last status change.
 * - Session energy: register now − meterStart of the running transaction; after StopTransaction,
 *   meterStop − meterStart until the next one. A transaction the edge did not see start (it came
 *   up later) has no known start: null.
 * - The set current: the TxProfile on the running transaction, else the TxDefaultProfile the edge
 *   set (a TxProfile ends with its transaction). Limit 0 is a pause; the current stays the last
 *   limit above 0.
 */
import {
  clean,
  kwh,
  type Measured,
  NO_ENERGY_STATUSES,
  type OcppFields,
  phasesInUse,
  STATE_OF_STATUS,
} from './fields.js';

export interface Transaction {
  id: number;
  /** The register at its start, Wh (null: started before the edge saw it). */
  meterStartWh: number | null;
}

export class ChargerState {
  status: string | null = null;
  errorCode: string | null = null;
  private statusSeq = 0;
  private measured: { seq: number; m: Measured } | null = null;
  private seq = 0;
  registerWh: number | null = null;
  tx: Transaction | null = null;
  private lastSessionWh: number | null = null;
  /** The limit of the edge's TxDefaultProfile, A (null: none set). */
  defaultLimit: number | null = null;
  /** The edge's TxProfile on a transaction. */
  txLimit: { id: number; limit: number } | null = null;
  /** The last limit above 0 that the charger accepted, A. */
  lastCurrent: number | null = null;

  onStatus(status: string, errorCode: unknown): void {
    this.seq++;
    if (status !== this.status) this.statusSeq = this.seq;
    this.status = status;
    this.errorCode = typeof errorCode === 'string' && errorCode !== 'NoError' ? errorCode : null;
  }

  onMeterValues(m: Measured, transactionId: unknown): void {
    this.seq++;
    this.measured = { seq: this.seq, m };
    if (m.energy_wh !== null) this.registerWh = m.energy_wh;
    if (typeof transactionId === 'number' && Number.isInteger(transactionId) && this.tx?.id !== transactionId) {
      // A transaction that started before this edge (or its restart) saw it.
      this.tx = { id: transactionId, meterStartWh: null };
    }
    if (this.tx && this.tx.meterStartWh === null && m.begin_wh !== null) this.tx.meterStartWh = m.begin_wh;
  }

  onStart(id: number, meterStartWh: unknown): void {
    const start = typeof meterStartWh === 'number' && Number.isFinite(meterStartWh) ? meterStartWh : null;
    this.tx = { id, meterStartWh: start };
    if (start !== null) this.registerWh = start;
    this.lastSessionWh = null;
  }

  onStop(transactionId: unknown, meterStopWh: unknown): void {
    const stop = typeof meterStopWh === 'number' && Number.isFinite(meterStopWh) ? meterStopWh : null;
    const tx = this.tx;
    if (stop !== null) this.registerWh = stop;
    if (tx && (transactionId === tx.id || transactionId === undefined)) {
      this.lastSessionWh = stop !== null && tx.meterStartWh !== null ? stop - tx.meterStartWh : null;
      this.tx = null;
    }
    if (this.txLimit && this.txLimit.id === transactionId) this.txLimit = null;
  }

  /** The limit in force now from the edge's profiles, A (null: the edge set none). */
  effectiveLimit(): number | null {
    if (this.tx && this.txLimit?.id === this.tx.id) return this.txLimit.limit;
    return this.defaultLimit;
  }

  /** Records a profile the charger accepted. */
  accepted(limit: number, txId: number | null): void {
    if (txId === null) this.defaultLimit = limit;
    else this.txLimit = { id: txId, limit };
    if (limit > 0) this.lastCurrent = limit;
  }

  private sessionWh(): number | null {
    if (!this.tx) return this.lastSessionWh;
    const start = this.tx.meterStartWh;
    if (start === null || this.registerWh === null || this.registerWh < start) return null;
    return this.registerWh - start;
  }

  fields(): OcppFields {
    const fresh = this.measured !== null && this.measured.seq > this.statusSeq ? this.measured.m : null;
    const idle = this.status !== null && NO_ENERGY_STATUSES.has(this.status);
    const current = fresh?.current_a ?? [null, null, null];
    const limit = this.effectiveLimit();
    const session = this.sessionWh();
    return {
      ev_power_w: fresh?.power_w ?? (idle ? 0 : null),
      ev_session_kwh: session === null ? null : kwh(clean(session)),
      ev_total_kwh: kwh(this.registerWh),
      ev_state: this.status === null ? null : (STATE_OF_STATUS[this.status] ?? null),
      ev_ocpp_status: this.status,
      ev_error: this.errorCode,
      ev_current_set_a: limit === null ? null : limit > 0 ? limit : this.lastCurrent,
      ev_charge_pause: limit === null ? null : limit === 0 ? 1 : 0,
      ev_phases: phasesInUse(current),
      ev_current_l1_a: current[0],
      ev_current_l2_a: current[1],
      ev_current_l3_a: current[2],
      ev_signaled_current_a: fresh?.offered_a ?? null,
      ev_soc_pct: fresh?.soc_pct ?? null,
    };
  }
}
