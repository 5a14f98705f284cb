/**
 * The control settings the simulated Sungrow inverter holds (simulator.ts): the EMS mode (13050)
 * and the control holding registers of sungrowControlRows, as a fresh SH10RT holds them; writes
 * change them, and they steer the simulated battery as the inverter would (HomeModel.
 * setBatteryPolicy).
 */
import { decodeRow, encodeRow } from '../modbus/register-codec.js';
import { type RegisterRow, rowLength } from '../modbus/register-table.js';
import type { HomeModel } from '../sim/home-model.js';
import {
  SUNGROW_EMS_MODES,
  SUNGROW_FORCED_COMMANDS,
  SUNGROW_REGISTERS,
  type SungrowControlField,
  type SungrowField,
  sungrowControlRows,
} from './registers.js';

/** EMS mode 0 "self-consumption" (holding 13050). */
export const EMS_SELF_CONSUMPTION = 0;

/** The settings of a fresh SH10RT. */
const INITIAL: Record<SungrowControlField, number> = {
  battery_forced_command: 0xcc,
  battery_forced_power: 5000,
  battery_max_soc_pct: 100,
  battery_min_soc_pct: 5,
  export_limit_w: 10_000,
  backup_reserved_soc_pct: 10,
  battery_max_charge_power_w: 5000,
  battery_max_discharge_power_w: 5000,
};

export class HeldSettings {
  /** Holding wire address → word. */
  readonly words = new Map<number, number>();
  private readonly controlRows: RegisterRow<SungrowField>[];
  private readonly emsRow: RegisterRow<SungrowField> | undefined;
  private readonly writable: Set<number>;

  constructor() {
    this.controlRows = sungrowControlRows({ forcedPowerUnit: 'w', reservedSocScale: 1 });
    for (const row of this.controlRows) {
      const v = INITIAL[row.field as SungrowControlField];
      encodeRow(row, v).forEach((w, i) => {
        this.words.set(row.wire + i, w);
      });
    }
    this.emsRow = SUNGROW_REGISTERS.find((r) => r.field === 'ems_mode');
    this.writable = new Set([...this.controlRows.map((r) => r.wire), ...(this.emsRow ? [this.emsRow.wire] : [])]);
  }

  /** Whether every word of a write from `address` lands on a control register. */
  canWrite(address: number, count: number): boolean {
    for (let i = 0; i < count; i++) if (!this.writable.has(address + i)) return false;
    return true;
  }

  /** Holds the written words (each masked to 16 bits). */
  write(address: number, words: number[]): void {
    words.forEach((w, i) => {
      this.words.set(address + i, w & 0xffff);
    });
  }

  /** A control row's value as the inverter holds it now. */
  held(field: string): number | null {
    const row = [...this.controlRows, ...(this.emsRow ? [this.emsRow] : [])].find((r) => r.field === field);
    if (!row) return null;
    const words = Array.from({ length: rowLength(row) }, (_, i) => this.words.get(row.wire + i) ?? 0);
    return decodeRow(row, words);
  }

  /** The battery does what the EMS registers say (self-consumption within limits, or forced). */
  steer(model: HomeModel): void {
    const ems = this.held('ems_mode') ?? EMS_SELF_CONSUMPTION;
    const minSocPct = this.held('battery_min_soc_pct') ?? 10;
    if (ems === SUNGROW_EMS_MODES.forced) {
      const cmd = this.held('battery_forced_command');
      const command =
        cmd === SUNGROW_FORCED_COMMANDS.charge
          ? 'charge'
          : cmd === SUNGROW_FORCED_COMMANDS.discharge
            ? 'discharge'
            : 'stop';
      model.setBatteryPolicy({ mode: 'forced', command, powerW: this.held('battery_forced_power') ?? 0, minSocPct });
    } else {
      model.setBatteryPolicy({
        mode: 'self_consumption',
        maxChargeW: this.held('battery_max_charge_power_w') ?? Number.POSITIVE_INFINITY,
        maxDischargeW: this.held('battery_max_discharge_power_w') ?? Number.POSITIVE_INFINITY,
        minSocPct,
      });
    }
  }
}
