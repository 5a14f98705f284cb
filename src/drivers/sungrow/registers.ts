/**
 * The Sungrow SH (SH-RS, SH-RT) register table: data, not code. Driver and simulator both use it.
 *
 * The rows and their sources (mkaiser/Sungrow-SHx-Inverter-Modbus-Home-Assistant
 * modbus_sungrow.yaml, SunGather registers-sungrow.yaml) are listed in docs/sungrow.md, which also
 * says where the original specification's map was wrong. Conventions:
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

/** Holding registers a controller may write (control.md §2.1); polled only with `control: true`. */
export type SungrowControlField =
  | 'battery_forced_command'
  | 'battery_forced_power'
  | 'battery_max_soc_pct'
  | 'battery_min_soc_pct'
  | 'export_limit_w'
  | 'backup_reserved_soc_pct'
  | 'battery_max_charge_power_w'
  | 'battery_max_discharge_power_w';

export type SungrowField = SungrowSnapshotField | SungrowExtraField | SungrowIdentityField | SungrowControlField;

/** Builds a row with wire = doc − 1 (Sungrow numbers registers from 1). */
function reg(
  field: SungrowField,
  fn: RegisterRow['fn'],
  doc: number,
  type: RegisterRow['type'],
  scale: number,
  unit: string,
  extra: Partial<Pick<RegisterRow, 'negate' | 'count' | 'poll' | 'note' | 'access' | 'min' | 'max'>> = {},
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
  // ---- settings (holding; writable only through sungrowTable({control: true})) ---------------------
  reg('ems_mode', 'holding', 13050, 'u16', 1, '', { note: 'HOLDING 13050; input 13050 is a different register' }),
];

/** EMS mode codes (holding doc 13050, control.md §2.1). */
export const SUNGROW_EMS_MODES: Readonly<Record<string, number>> = {
  self_consumption: 0,
  forced: 2,
  external_ems: 3,
  vpp: 4,
  microgrid: 8,
};

/** Forced charge/discharge command codes (holding doc 13051, control.md §2.1). */
export const SUNGROW_FORCED_COMMANDS: Readonly<Record<string, number>> = {
  charge: 0xaa,
  discharge: 0xbb,
  stop: 0xcc,
};

/**
 * Settings the guide leaves open (control.md §7 items 4–5): they are rows only when the user
 * says what their inverter does; never a guessed constant.
 */
export interface SungrowControlSettings {
  /** Unit of doc 13052 (forced power): W on SH10RT (mkaiser), % per the SH-RT datasheet. */
  forcedPowerUnit?: 'w' | 'pct';
  /** Scale of doc 13100 (reserved SoC for backup): 1 % per mkaiser, 0.1 % per an older automation. */
  reservedSocScale?: 1 | 0.1;
}

/**
 * The writable holding registers of control.md §2.1 that the guide gives with a source
 * (mkaiser modbus_sungrow.yaml, evcc sungrow-hybrid), all wire = doc − 1. EMS mode (13050) is
 * already a row of SUNGROW_REGISTERS and becomes writable in sungrowTable({control: true}).
 * Start/stop (13000), backup mode (13075), feed-in limitation on/off (13087) and the undocumented
 * 33149/33150 are left out: nothing in Kwartier needs them yet.
 */
export function sungrowControlRows(settings: SungrowControlSettings = {}): RegisterRow<SungrowField>[] {
  const rw = { access: 'rw' as const };
  const rows = [
    reg('battery_forced_command', 'holding', 13051, 'u16', 1, '', {
      ...rw,
      note: '0xAA charge, 0xBB discharge, 0xCC stop; acts only with EMS mode 2 (mkaiser#162)',
    }),
    reg('battery_max_soc_pct', 'holding', 13058, 'u16', 0.1, '%', { ...rw, min: 0, max: 100 }),
    reg('battery_min_soc_pct', 'holding', 13059, 'u16', 0.1, '%', { ...rw, min: 0, max: 100 }),
    reg('export_limit_w', 'holding', 13074, 'u16', 1, 'W', { ...rw, min: 0, max: 65_534 }),
    reg('battery_max_charge_power_w', 'holding', 33047, 'u16', 10, 'W', {
      ...rw,
      min: 0,
      max: 655_340,
      note: '0.01 kW',
    }),
    reg('battery_max_discharge_power_w', 'holding', 33048, 'u16', 10, 'W', {
      ...rw,
      min: 0,
      max: 655_340,
      note: '0.01 kW; evcc "hold" writes raw 1 (10 W)',
    }),
  ];
  if (settings.forcedPowerUnit) {
    const pct = settings.forcedPowerUnit === 'pct';
    rows.push(
      reg('battery_forced_power', 'holding', 13052, 'u16', 1, pct ? '%' : 'W', {
        ...rw,
        min: 0,
        max: pct ? 100 : 65_534,
        note: 'unit per sungrow.forced_power_unit (W on SH10RT, % per the RT datasheet: unverified)',
      }),
    );
  }
  if (settings.reservedSocScale !== undefined) {
    rows.push(
      reg('backup_reserved_soc_pct', 'holding', 13100, 'u16', settings.reservedSocScale, '%', {
        ...rw,
        min: 0,
        max: 100,
        note: 'scale per sungrow.reserved_soc_scale (conflicting sources)',
      }),
    );
  }
  return rows;
}

/** The table a source polls: the read table, plus (with control) EMS mode writable and the control rows. */
export function sungrowTable(
  opts: { control?: boolean } & SungrowControlSettings = {},
): readonly RegisterRow<SungrowField>[] {
  if (!opts.control) return SUNGROW_REGISTERS;
  const base = SUNGROW_REGISTERS.map((r) =>
    r.field === 'ems_mode' ? { ...r, access: 'rw' as const, min: 0, max: 8 } : r,
  );
  return [...base, ...sungrowControlRows(opts)];
}

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
