/**
 * The Huawei SUN2000 register table (with its DTSU666-H / DDSU666 power meter and LUNA2000
 * battery): data, not code. Driver and simulator both use it.
 *
 * Source: the shared guide devices.md §1.3 (every row from wlcrs/huawei-solar-lib @873c1b3
 * `src/huawei_solar/registers.py`, signs cross-checked with evcc's huawei-sun2000-hybrid template,
 * bolliy/ioBroker.sun2000 and a raw meter frame). Conventions (§1.1, §1.4):
 * - every register is a HOLDING register (FC03), and the documented number goes on the wire as it
 *   is (no − 1): 30073 is sent as 0x7579;
 * - 32-bit values are HIGH WORD FIRST, bytes big-endian;
 * - "not available" is all ones for unsigned types and the largest positive value for signed ones
 *   (the library), and 0x8000 / 0x80000000 too (evcc's int32nan): MARKERS_BOTH.
 * Signs: the meter's 37113 (and its phase powers and currents) is + export, − import on the wire;
 * the snapshot's grid is + import, so those rows are negated. The battery's 37765 is + charging,
 * as the snapshot. The full table with sources and quirks is in docs/huawei-sun2000.md.
 */
import type { SnapshotNumericField } from '../../core/snapshot.js';
import { defineTable, MARKERS_BOTH, type RowSpec } from '../modbus/register-table.js';

/** Snapshot fields a SUN2000 gives (with its meter and battery). */
export type HuaweiSnapshotField = Extract<
  SnapshotNumericField,
  | 'pv_power_w'
  | 'pv_daily_kwh'
  | 'pv_total_kwh'
  | 'grid_power_w'
  | 'power_l1_w'
  | 'power_l2_w'
  | 'power_l3_w'
  | 'voltage_l1_v'
  | 'voltage_l2_v'
  | 'voltage_l3_v'
  | 'current_l1_a'
  | 'current_l2_a'
  | 'current_l3_a'
  | 'battery_power_w'
  | 'battery_soc_pct'
  | 'battery_daily_charge_kwh'
  | 'battery_daily_discharge_kwh'
  | 'battery_total_charge_kwh'
  | 'battery_total_discharge_kwh'
>;

/** The device's own values (`devices.<name>.fields`, not snapshot fields). */
export type HuaweiDeviceField =
  /** 32016–32019: PV strings 1 and 2, V and A (strings, not trackers: not the snapshot's mppt fields). */
  | 'pv1_voltage_v'
  | 'pv1_current_a'
  | 'pv2_voltage_v'
  | 'pv2_current_a'
  /** 32080, W: the AC output; on a hybrid it includes battery discharge. */
  | 'inverter_ac_power_w'
  /** 32089: the device status code (its name is `inverter_state`). */
  | 'inverter_status_code'
  /** 32108, kWh: DC energy from the PV strings (evcc's PV energy on hybrids). */
  | 'inverter_dc_input_total_kwh'
  /** 37100: the meter's status, 0 offline, 1 normal. Decides whether the meter block is read. */
  | 'meter_status'
  /** 37118, Hz. */
  | 'grid_frequency_hz'
  /** 37117: power factor. */
  | 'grid_power_factor'
  /** 37119 (absolute: some units report it negative), kWh. */
  | 'grid_export_kwh'
  /** 37121, kWh. */
  | 'grid_import_kwh'
  /** 37125: 0 single-phase, 1 three-phase. */
  | 'meter_type_code'
  /** 37758, Wh → kWh: what the merger weighs SoCs by (`battery_capacity_kwh`). */
  | 'battery_capacity_kwh'
  /** 37762: 0 offline, 1 standby, 2 running, 3 fault, 4 sleep. */
  | 'battery_status_code';

/** Read once after connecting: identity, and which batteries the inverter says it has. */
export type HuaweiIdentityField =
  | 'model_name'
  | 'serial'
  | 'rated_power_w'
  /** 47000 / 47089: storage unit 1 / 2 product model, 0 none, 1 LG RESU, 2 LUNA2000. */
  | 'battery_1_model_code'
  | 'battery_2_model_code';

export type HuaweiField = HuaweiSnapshotField | HuaweiDeviceField | HuaweiIdentityField;

/** The poller's blocks: the meter's and the battery's rows are read only when the inverter has them. */
export const METER_BLOCK = 'meter';
export const BATTERY_BLOCK = 'battery';

const rows: RowSpec<HuaweiField>[] = [
  // ---- identity, read once after connecting ------------------------------------------------------
  { field: 'model_name', fn: 'holding', doc: 30000, type: 'utf8', count: 15, scale: 1, unit: '', poll: 'start' },
  { field: 'serial', fn: 'holding', doc: 30015, type: 'utf8', count: 10, scale: 1, unit: '', poll: 'start' },
  { field: 'rated_power_w', fn: 'holding', doc: 30073, type: 'u32', scale: 1, unit: 'W', poll: 'start' },
  {
    field: 'battery_1_model_code',
    fn: 'holding',
    doc: 47000,
    type: 'u16',
    scale: 1,
    unit: '',
    poll: 'start',
    note: 'storage unit 1 product model: 0 none, 1 LG RESU, 2 LUNA2000',
  },
  { field: 'battery_2_model_code', fn: 'holding', doc: 47089, type: 'u16', scale: 1, unit: '', poll: 'start' },
  // ---- the inverter, every poll_interval_s -------------------------------------------------------
  // PV strings, not MPPTs: a three-phase M1 puts two strings on one tracker.
  { field: 'pv1_voltage_v', fn: 'holding', doc: 32016, type: 's16', scale: 0.1, unit: 'V', note: 'PV string 1' },
  { field: 'pv1_current_a', fn: 'holding', doc: 32017, type: 's16', scale: 0.01, unit: 'A' },
  { field: 'pv2_voltage_v', fn: 'holding', doc: 32018, type: 's16', scale: 0.1, unit: 'V', note: 'PV string 2' },
  { field: 'pv2_current_a', fn: 'holding', doc: 32019, type: 's16', scale: 0.01, unit: 'A' },
  { field: 'pv_power_w', fn: 'holding', doc: 32064, type: 's32', scale: 1, unit: 'W', note: 'input power (DC)' },
  {
    field: 'inverter_ac_power_w',
    fn: 'holding',
    doc: 32080,
    type: 's32',
    scale: 1,
    unit: 'W',
    note: 'active power (AC); includes battery discharge on a hybrid',
  },
  { field: 'inverter_status_code', fn: 'holding', doc: 32089, type: 'u16', scale: 1, unit: '' },
  {
    field: 'pv_total_kwh',
    fn: 'holding',
    doc: 32106,
    type: 'u32',
    scale: 0.01,
    unit: 'kWh',
    note: 'accumulated yield (AC)',
  },
  { field: 'inverter_dc_input_total_kwh', fn: 'holding', doc: 32108, type: 'u32', scale: 0.01, unit: 'kWh' },
  {
    field: 'pv_daily_kwh',
    fn: 'holding',
    doc: 32114,
    type: 'u32',
    scale: 0.01,
    unit: 'kWh',
    note: 'daily yield: counts battery discharge, misses what charged the battery',
  },
  {
    field: 'meter_status',
    fn: 'holding',
    doc: 37100,
    type: 'u16',
    scale: 1,
    unit: '',
    note: '0 offline, 1 normal: the meter block is read only while 1',
  },
  { field: 'battery_soc_pct', fn: 'holding', doc: 37760, type: 'u16', scale: 0.1, unit: '%', note: 'all units' },
  // ---- the power meter (DTSU666-H three-phase, DDSU666 single-phase), every meter_interval_s -----
  { field: 'voltage_l1_v', fn: 'holding', doc: 37101, type: 's32', scale: 0.1, unit: 'V', block: METER_BLOCK },
  { field: 'voltage_l2_v', fn: 'holding', doc: 37103, type: 's32', scale: 0.1, unit: 'V', block: METER_BLOCK },
  { field: 'voltage_l3_v', fn: 'holding', doc: 37105, type: 's32', scale: 0.1, unit: 'V', block: METER_BLOCK },
  {
    field: 'current_l1_a',
    fn: 'holding',
    doc: 37107,
    type: 's32',
    scale: 0.01,
    unit: 'A',
    negate: true,
    block: METER_BLOCK,
    note: 'signed like the phase power (+ export on the wire): negated to + import',
  },
  {
    field: 'current_l2_a',
    fn: 'holding',
    doc: 37109,
    type: 's32',
    scale: 0.01,
    unit: 'A',
    negate: true,
    block: METER_BLOCK,
  },
  {
    field: 'current_l3_a',
    fn: 'holding',
    doc: 37111,
    type: 's32',
    scale: 0.01,
    unit: 'A',
    negate: true,
    block: METER_BLOCK,
  },
  {
    field: 'grid_power_w',
    fn: 'holding',
    doc: 37113,
    type: 's32',
    scale: 1,
    unit: 'W',
    negate: true,
    block: METER_BLOCK,
    note: '+ feed-in (export), − import on the wire: negated to the snapshot’s + import',
  },
  { field: 'grid_power_factor', fn: 'holding', doc: 37117, type: 's16', scale: 0.001, unit: '', block: METER_BLOCK },
  { field: 'grid_frequency_hz', fn: 'holding', doc: 37118, type: 's16', scale: 0.01, unit: 'Hz', block: METER_BLOCK },
  {
    field: 'grid_export_kwh',
    fn: 'holding',
    doc: 37119,
    type: 's32',
    scale: 0.01,
    unit: 'kWh',
    block: METER_BLOCK,
    note: 'read negative on some units (huawei_solar#54): the source takes its absolute value',
  },
  { field: 'grid_import_kwh', fn: 'holding', doc: 37121, type: 's32', scale: 0.01, unit: 'kWh', block: METER_BLOCK },
  { field: 'meter_type_code', fn: 'holding', doc: 37125, type: 'u16', scale: 1, unit: '', block: METER_BLOCK },
  {
    field: 'power_l1_w',
    fn: 'holding',
    doc: 37132,
    type: 's32',
    scale: 1,
    unit: 'W',
    negate: true,
    block: METER_BLOCK,
    note: 'same sign as 37113: negated',
  },
  {
    field: 'power_l2_w',
    fn: 'holding',
    doc: 37134,
    type: 's32',
    scale: 1,
    unit: 'W',
    negate: true,
    block: METER_BLOCK,
  },
  {
    field: 'power_l3_w',
    fn: 'holding',
    doc: 37136,
    type: 's32',
    scale: 1,
    unit: 'W',
    negate: true,
    block: METER_BLOCK,
  },
  // ---- the battery (LUNA2000; all storage units together), every poll_interval_s -----------------
  {
    field: 'battery_capacity_kwh',
    fn: 'holding',
    doc: 37758,
    type: 'u32',
    scale: 0.001,
    unit: 'kWh',
    block: BATTERY_BLOCK,
    note: 'rated capacity, Wh on the wire',
  },
  { field: 'battery_status_code', fn: 'holding', doc: 37762, type: 'u16', scale: 1, unit: '', block: BATTERY_BLOCK },
  {
    field: 'battery_power_w',
    fn: 'holding',
    doc: 37765,
    type: 's32',
    scale: 1,
    unit: 'W',
    block: BATTERY_BLOCK,
    note: '+ charging, − discharging (as the snapshot)',
  },
  {
    field: 'battery_total_charge_kwh',
    fn: 'holding',
    doc: 37780,
    type: 'u32',
    scale: 0.01,
    unit: 'kWh',
    block: BATTERY_BLOCK,
  },
  {
    field: 'battery_total_discharge_kwh',
    fn: 'holding',
    doc: 37782,
    type: 'u32',
    scale: 0.01,
    unit: 'kWh',
    block: BATTERY_BLOCK,
  },
  {
    field: 'battery_daily_charge_kwh',
    fn: 'holding',
    doc: 37784,
    type: 'u32',
    scale: 0.01,
    unit: 'kWh',
    block: BATTERY_BLOCK,
  },
  {
    field: 'battery_daily_discharge_kwh',
    fn: 'holding',
    doc: 37786,
    type: 'u32',
    scale: 0.01,
    unit: 'kWh',
    block: BATTERY_BLOCK,
  },
];

export const HUAWEI_TABLE = defineTable<HuaweiField>({
  addressing: 'doc',
  words: 'msw',
  markers: MARKERS_BOTH,
  rows,
});

/** Device status codes (32089) from huawei-solar-lib `register_values.py` DEVICE_STATUS_DEFINITIONS. */
export const DEVICE_STATUS: Readonly<Record<number, string>> = {
  0: 'Standby: initializing',
  1: 'Standby: detecting insulation resistance',
  2: 'Standby: detecting irradiation',
  3: 'Standby: grid detecting',
  256: 'Starting',
  512: 'On-grid',
  513: 'Grid Connection: power limited',
  514: 'Grid Connection: self-derating',
  515: 'Off-grid mode: running',
  768: 'Shutdown: fault',
  769: 'Shutdown: command',
  770: 'Shutdown: OVGR',
  771: 'Shutdown: communication disconnected',
  772: 'Shutdown: power limited',
  773: 'Shutdown: manual startup required',
  774: 'Shutdown: DC switches disconnected',
  775: 'Shutdown: rapid cutoff',
  776: 'Shutdown: input underpowered',
  780: 'Shutdown: ESS end-of-discharge',
  1025: 'Grid scheduling: cosphi-P curve',
  1026: 'Grid scheduling: Q-U curve',
  1027: 'Grid scheduling: PF-U curve',
  1028: 'Grid scheduling: dry contact',
  1029: 'Grid scheduling: Q-P curve',
  1280: 'Spot-check ready',
  1281: 'Spot-checking',
  1536: 'Inspecting',
  1792: 'AFCI self check',
  2048: 'I-V scanning',
  2304: 'DC input detection',
  2560: 'Running: off-grid charging',
  40960: 'Standby: no irradiation',
};

/** Meter status (37100), meter type (37125), storage status (37762), storage model (47000). */
export const METER_STATUS: Readonly<Record<number, string>> = { 0: 'offline', 1: 'normal' };
export const METER_TYPE: Readonly<Record<number, string>> = { 0: 'single-phase', 1: 'three-phase' };
export const BATTERY_STATUS: Readonly<Record<number, string>> = {
  0: 'offline',
  1: 'standby',
  2: 'running',
  3: 'fault',
  4: 'sleep',
};
export const BATTERY_MODEL: Readonly<Record<number, string>> = { 0: 'none', 1: 'LG RESU', 2: 'LUNA2000' };

/** A code's name, or the code in hex. */
export function codeName(names: Readonly<Record<number, string>>, code: number): string {
  return names[code] ?? `0x${code.toString(16).padStart(4, '0').toUpperCase()}`;
}
