/**
 * The Sungrow SH (SH-RS, SH-RT) register table: data, not code. Driver and simulator both use it.
 *
 * Source: /work/shared/guide/protocols.md §3 (the corrected table; the original specification's
 * map was wrong in 11 of 17 rows), which cites mkaiser/Sungrow-SHx-Inverter-Modbus-Home-Assistant
 * (modbus_sungrow.yaml) and SunGather (registers-sungrow.yaml). Conventions (§3.1):
 * - wire (PDU) address = documented register − 1;
 * - readings are input registers (FC04), settings holding registers (FC03);
 * - 32-bit values are LOW WORD FIRST; bytes within a word big-endian;
 * - 0xFFFF (U16) / 0x7FFFFFFF (S32) mean "not available".
 * The full table with sources and quirks is in docs/sungrow.md.
 */
import type { SnapshotNumericField } from '../../core/snapshot.js';
import type { RegisterRow } from '../modbus/register-table.js';

/** Snapshot fields this inverter provides. */
export type SungrowSnapshotField = Extract<
  SnapshotNumericField,
  | 'pv_power_w'
  | 'pv_daily_kwh'
  | 'pv_total_kwh'
  | 'mppt1_voltage_v'
  | 'mppt1_current_a'
  | 'mppt2_voltage_v'
  | 'mppt2_current_a'
  | 'battery_power_w'
  | 'battery_soc_pct'
  | 'battery_temp_c'
  | 'battery_daily_charge_kwh'
  | 'battery_daily_discharge_kwh'
  | 'battery_total_charge_kwh'
  | 'battery_total_discharge_kwh'
  | 'load_power_w'
>;

/**
 * Values the driver reads besides snapshot fields (in the reading's `inverter` object, not in the
 * snapshot). The grid figures are the inverter's own estimate from its meter: the snapshot's
 * grid_power_w comes from the P1 meter (billing grade).
 */
export const SUNGROW_EXTRA_FIELDS = [
  /** Doc 5601 meter active power, W, + import / − export (same sign as grid_power_w). */
  'inverter_grid_power_w',
  /** Doc 13010 "export power", W, + export / − import: the OPPOSITE sign of 5601. */
  'inverter_export_power_w',
  /** Doc 5008, °C. */
  'inverter_temp_c',
  /** Doc 13000 running state (enum: 0x0040 run, 0x8000 stop, 0x4000 external EMS …). */
  'running_state',
  /** Doc 13001 power-flow bits: b0 PV, b1 charging, b2 discharging, b3 load, b4 feed-in, b5 import. */
  'power_flow_bits',
  /** Doc 13017 daily direct consumption (PV used directly by the house), kWh. */
  'daily_direct_consumption_kwh',
  /** Holding 13050 EMS mode: 0 self-consumption, 2 forced, 3 external EMS, 4 VPP, 8 microgrid. Read only. */
  'ems_mode',
] as const;
export type SungrowExtraField = (typeof SUNGROW_EXTRA_FIELDS)[number];

/** Read once after connecting, and logged. */
export type SungrowIdentityField = 'serial' | 'device_type_code';

export type SungrowField = SungrowSnapshotField | SungrowExtraField | SungrowIdentityField;

/** Builds a row with wire = doc − 1 (Sungrow numbers registers from 1). */
function reg(
  field: SungrowField,
  fn: RegisterRow['fn'],
  doc: number,
  type: RegisterRow['type'],
  scale: number,
  unit: string,
  extra: Partial<Pick<RegisterRow, 'negate' | 'count' | 'poll' | 'note'>> = {},
): RegisterRow<SungrowField> {
  const row: RegisterRow<SungrowField> = { field, fn, doc, wire: doc - 1, type, scale, unit, ...extra };
  if (type === 'u32' || type === 's32') row.words = 'lsw';
  return row;
}

export const SUNGROW_REGISTERS: readonly RegisterRow<SungrowField>[] = [
  // ---- identity, read once -------------------------------------------------------------------------
  reg('serial', 'input', 4990, 'utf8', 1, '', { count: 10, poll: 'start', note: '4990–4999, 20 bytes UTF-8' }),
  reg('device_type_code', 'input', 5000, 'u16', 1, '', { poll: 'start', note: 'model code, see SUNGROW_MODELS' }),
  // ---- PV ------------------------------------------------------------------------------------------
  reg('inverter_temp_c', 'input', 5008, 's16', 0.1, '°C'),
  reg('mppt1_voltage_v', 'input', 5011, 'u16', 0.1, 'V', { note: 'not daily PV (spec error)' }),
  reg('mppt1_current_a', 'input', 5012, 'u16', 0.1, 'A'),
  reg('mppt2_voltage_v', 'input', 5013, 'u16', 0.1, 'V'),
  reg('mppt2_current_a', 'input', 5014, 'u16', 0.1, 'A'),
  reg('pv_power_w', 'input', 5017, 'u32', 1, 'W', { note: 'total DC power, 5017–5018' }),
  reg('pv_daily_kwh', 'input', 13002, 'u16', 0.1, 'kWh'),
  reg('pv_total_kwh', 'input', 13003, 'u32', 0.1, 'kWh', { note: '13003–13004' }),
  // ---- battery -------------------------------------------------------------------------------------
  reg('battery_power_w', 'input', 5214, 's32', 1, 'W', {
    negate: true,
    note: '5214–5215: + = DIScharging on the wire; the snapshot wants + = charging, hence negate. Not 13022 (legacy, sign depends on firmware)',
  }),
  reg('battery_soc_pct', 'input', 13023, 'u16', 0.1, '%', { note: '0.1 %; not 13022' }),
  reg('battery_temp_c', 'input', 13025, 's16', 0.1, '°C', { note: 'not 13024 (SoH)' }),
  reg('battery_daily_discharge_kwh', 'input', 13026, 'u16', 0.1, 'kWh', { note: '13026 is DIScharge' }),
  reg('battery_total_discharge_kwh', 'input', 13027, 'u32', 0.1, 'kWh', { note: '13027–13028, total, not daily' }),
  reg('battery_daily_charge_kwh', 'input', 13040, 'u16', 0.1, 'kWh'),
  reg('battery_total_charge_kwh', 'input', 13041, 'u32', 0.1, 'kWh', { note: '13041–13042' }),
  // ---- load, state, grid estimate ------------------------------------------------------------------
  reg('running_state', 'input', 13000, 'u16', 1, ''),
  reg('power_flow_bits', 'input', 13001, 'u16', 1, '', { note: 'reads 0 on some WiNet-S firmware' }),
  reg('load_power_w', 'input', 13008, 's32', 1, 'W', { note: '13008–13009; U32 before protocol 1.0.15' }),
  reg('inverter_export_power_w', 'input', 13010, 's32', 1, 'W', { note: '+ export, − import (opposite of 5601)' }),
  reg('daily_direct_consumption_kwh', 'input', 13017, 'u16', 0.1, 'kWh'),
  reg('inverter_grid_power_w', 'input', 5601, 's32', 1, 'W', {
    note: '5601–5602 meter active power, + import; only valid with the Sungrow meter connected',
  }),
  // ---- settings (holding, read only: this driver never writes) -------------------------------------
  reg('ems_mode', 'holding', 13050, 'u16', 1, '', { note: 'HOLDING 13050; input 13050 is a different register' }),
];

/** Device type codes (doc 5000) → model, as listed in protocols.md §3.2 (mkaiser's model map). */
export const SUNGROW_MODELS: Readonly<Record<number, string>> = {
  3343: 'SH5.0RS',
  3344: 'SH6.0RS',
  3355: 'SH10RS',
  3587: 'SH10RT',
  3599: 'SH10RT-V112',
  3603: 'SH10RT-20',
};

/** Running-state codes (doc 13000) named in protocols.md §3.2; others are shown in hex. */
export const SUNGROW_RUNNING_STATES: Readonly<Record<number, string>> = {
  64: 'run',
  32768: 'stop',
  16384: 'external EMS',
};

export function sungrowModel(code: number | null): string | null {
  if (code === null) return null;
  return SUNGROW_MODELS[code] ?? `unknown (0x${code.toString(16).padStart(4, '0').toUpperCase()})`;
}

export function runningStateName(code: number): string {
  return SUNGROW_RUNNING_STATES[code] ?? `0x${code.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** Power-flow bits of doc 13001 (SunGather masks, protocols.md §3.2). */
export const POWER_FLOW_BITS = {
  pv_generating: 1 << 0,
  battery_charging: 1 << 1,
  battery_discharging: 1 << 2,
  load_positive: 1 << 3,
  feeding_in: 1 << 4,
  importing: 1 << 5,
  load_negative: 1 << 7,
} as const;
