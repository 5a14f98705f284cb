/**
 * Fronius Solar API v1 ↔ snapshot fields, as data. The driver decodes with these tables; the
 * simulator serves real answers (fixtures) on the same paths.
 *
 * Facts (docs/fronius.md; shared guide devices.md §2, from Fronius' "Solar API V1" operating
 * instructions rev. 021 and the Home Assistant / pyfronius fixtures):
 * - `GetPowerFlowRealtimeData.fcgi`: `Site.P_Grid` + from grid, − to grid (the snapshot's sign);
 *   `Site.P_Load` + generator, − consumer (consumption is NEGATIVE: negated); `Site.P_Akku`
 *   − charge, + discharge (the snapshot's battery is + charging: negated); `Site.P_PV` the PV
 *   generator (DC on GEN24/Symo Hybrid, AC on Symo/Primo); energies in Wh. A missing key or
 *   `null` stays null, never 0.
 * - `GetMeterRealtimeData.cgi?Scope=System`: one entry per meter; the primary meter at the grid
 *   connection point has `Meter_Location_Current` 0 (the doc contradicts itself, the fixtures and
 *   `Site.Meter_Location` say 0 = grid). Only that meter's values are the grid's: its power is
 *   + import, `EnergyReal_WAC_Plus_Absolute` the import counter, `…_Minus_Absolute` the export one.
 * - `GetInverterRealtimeData.cgi?Scope=Device&DeviceId=N&DataCollection=CommonInverterData`:
 *   `{Unit, Value}` pairs; `UDC`/`IDC` the first MPPT, `UDC_2`/`IDC_2` the second (GEN24).
 *   GEN24 reports `DAY_ENERGY`/`YEAR_ENERGY` as null, always.
 */
import { KwartierError } from '../../core/errors.js';

export const SOLAR_API = '/solar_api/v1';
export const POWER_FLOW_PATH = `${SOLAR_API}/GetPowerFlowRealtimeData.fcgi`;
export const METER_PATH = `${SOLAR_API}/GetMeterRealtimeData.cgi?Scope=System`;
export function inverterPath(deviceId: number): string {
  return `${SOLAR_API}/GetInverterRealtimeData.cgi?Scope=Device&DeviceId=${deviceId}&DataCollection=CommonInverterData`;
}

/** A number as Fronius sends it: a key that is missing, null or not a finite number is null. */
export type Num = number | null;

/** The values a Fronius reading carries: snapshot fields and the device's own (`devices.<name>`). */
export interface FroniusFields {
  grid_power_w?: Num;
  load_power_w?: Num;
  pv_power_w?: Num;
  battery_power_w?: Num;
  battery_soc_pct?: Num;
  pv_daily_kwh?: Num;
  pv_total_kwh?: Num;
  power_l1_w?: Num;
  power_l2_w?: Num;
  power_l3_w?: Num;
  voltage_l1_v?: Num;
  voltage_l2_v?: Num;
  voltage_l3_v?: Num;
  current_l1_a?: Num;
  current_l2_a?: Num;
  current_l3_a?: Num;
  mppt1_voltage_v?: Num;
  mppt1_current_a?: Num;
  mppt2_voltage_v?: Num;
  mppt2_current_a?: Num;
  // ---- the device's own values (not snapshot fields: they stay under devices.<name>) ----
  /** The grid meter's import / export counters, kWh (one register each: no tariff split). */
  grid_import_kwh?: Num;
  grid_export_kwh?: Num;
  grid_frequency_hz?: Num;
  /** What Fronius computes itself (`Site.rel_Autonomy`, `Site.rel_SelfConsumption`), %. */
  autonomy_pct?: Num;
  self_consumption_pct?: Num;
  /** The inverter's AC output, W (`PAC`, negative when it consumes). */
  inverter_ac_power_w?: Num;
  inverter_status_code?: Num;
  inverter_error_code?: Num;
  /** `Site.Meter_Location`: grid, load or unknown (during backup power). */
  meter_location?: string | null;
  /** `Site.Mode`: produce-only, meter, vague-meter, bidirectional, ac-coupled. */
  site_mode?: string | null;
  /** `Inverters[N].Battery_Mode`: normal, suspended, disabled, … */
  battery_mode?: string | null;
  /** `DeviceStatus.InverterState` (GEN24: "Running"), or the status code's name. */
  inverter_state?: string | null;
}
export type FroniusField = keyof FroniusFields;
type NumericField = { [K in FroniusField]: FroniusFields[K] extends Num | undefined ? K : never }[FroniusField];

export interface FlowRow {
  field: NumericField;
  /** Path of keys under `Body.Data`. */
  key: readonly string[];
  /** Multiplies the wire value: −1 flips a sign, 0.001 turns Wh into kWh. */
  scale: number;
  note: string;
}

/** GetPowerFlowRealtimeData.fcgi → fields (`inv` stands for `Inverters[inverter_id]`). */
export const POWER_FLOW_ROWS: readonly FlowRow[] = [
  { field: 'grid_power_w', key: ['Site', 'P_Grid'], scale: 1, note: '+ from grid, − to grid; null without a meter' },
  { field: 'load_power_w', key: ['Site', 'P_Load'], scale: -1, note: '− consumer on the wire: negated' },
  { field: 'pv_power_w', key: ['Site', 'P_PV'], scale: 1, note: 'null when the inverter is not running' },
  { field: 'battery_power_w', key: ['Site', 'P_Akku'], scale: -1, note: '− charge, + discharge on the wire: negated' },
  { field: 'pv_daily_kwh', key: ['Site', 'E_Day'], scale: 0.001, note: 'Wh; always null on GEN24 (derived)' },
  { field: 'pv_total_kwh', key: ['Site', 'E_Total'], scale: 0.001, note: 'Wh; GEN24 ≥ 1.14, updated every 5 min' },
  { field: 'autonomy_pct', key: ['Site', 'rel_Autonomy'], scale: 1, note: 'null without a meter' },
  { field: 'self_consumption_pct', key: ['Site', 'rel_SelfConsumption'], scale: 1, note: 'null without a meter' },
  { field: 'battery_soc_pct', key: ['inv', 'SOC'], scale: 1, note: 'null when Battery_Mode is "disabled"' },
];

/** GetMeterRealtimeData.cgi (the meter at the grid connection point) → fields. */
export const METER_ROWS: readonly FlowRow[] = [
  { field: 'power_l1_w', key: ['PowerReal_P_Phase_1'], scale: 1, note: '+ import (location 0)' },
  { field: 'power_l2_w', key: ['PowerReal_P_Phase_2'], scale: 1, note: '+ import (location 0)' },
  { field: 'power_l3_w', key: ['PowerReal_P_Phase_3'], scale: 1, note: '+ import (location 0)' },
  { field: 'voltage_l1_v', key: ['Voltage_AC_Phase_1'], scale: 1, note: '' },
  { field: 'voltage_l2_v', key: ['Voltage_AC_Phase_2'], scale: 1, note: '' },
  { field: 'voltage_l3_v', key: ['Voltage_AC_Phase_3'], scale: 1, note: '' },
  { field: 'current_l1_a', key: ['Current_AC_Phase_1'], scale: 1, note: 'a magnitude on 63A/65A meters' },
  { field: 'current_l2_a', key: ['Current_AC_Phase_2'], scale: 1, note: 'a magnitude on 63A/65A meters' },
  { field: 'current_l3_a', key: ['Current_AC_Phase_3'], scale: 1, note: 'a magnitude on 63A/65A meters' },
  { field: 'grid_import_kwh', key: ['EnergyReal_WAC_Plus_Absolute'], scale: 0.001, note: 'Wh: import from the grid' },
  { field: 'grid_export_kwh', key: ['EnergyReal_WAC_Minus_Absolute'], scale: 0.001, note: 'Wh: export to the grid' },
  { field: 'grid_frequency_hz', key: ['Frequency_Phase_Average'], scale: 1, note: '' },
];

/** GetInverterRealtimeData.cgi CommonInverterData (`{Unit, Value}` pairs) → fields. */
export const INVERTER_ROWS: readonly FlowRow[] = [
  { field: 'mppt1_voltage_v', key: ['UDC', 'Value'], scale: 1, note: 'MPPT 1' },
  { field: 'mppt1_current_a', key: ['IDC', 'Value'], scale: 1, note: 'MPPT 1' },
  { field: 'mppt2_voltage_v', key: ['UDC_2', 'Value'], scale: 1, note: 'MPPT 2 (GEN24)' },
  { field: 'mppt2_current_a', key: ['IDC_2', 'Value'], scale: 1, note: 'MPPT 2 (GEN24)' },
  { field: 'inverter_ac_power_w', key: ['PAC', 'Value'], scale: 1, note: 'AC side, − when consuming' },
  { field: 'inverter_status_code', key: ['DeviceStatus', 'StatusCode'], scale: 1, note: '7 running, 8 standby' },
  { field: 'inverter_error_code', key: ['DeviceStatus', 'ErrorCode'], scale: 1, note: '' },
];

/** DeviceStatus.StatusCode (openHAB's Fronius binding; the fixtures show 7 while producing). */
export function inverterStatusName(code: number): string {
  if (code >= 0 && code <= 6) return 'startup';
  return ({ 7: 'running', 8: 'standby', 9: 'bootloading', 10: 'error' } as Record<number, string>)[code] ?? 'unknown';
}

/** An answer that is not the Solar API's, or whose `Head.Status.Code` is not 0 (OKAY). */
export class FroniusAnswerError extends KwartierError {
  constructor(message: string) {
    super('fronius_answer', message, { retriable: true });
    this.name = 'FroniusAnswerError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(obj: unknown, key: readonly string[]): unknown {
  let v: unknown = obj;
  for (const k of key) {
    if (!isObject(v)) return undefined;
    v = v[k];
  }
  return v;
}

function num(v: unknown, scale = 1): Num {
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  // Scaled values without binary noise (1101.7000732421875 Wh → 1.1017000732421875 kWh, not …76).
  return scale === 1 ? v : scale === -1 ? (v === 0 ? 0 : -v) : Number((v * scale).toPrecision(15));
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, 64) : null;
}

/**
 * `Body.Data` of a Solar API answer, after checking `Head.Status.Code` is 0. Throws
 * FroniusAnswerError naming what is wrong (`what`: the endpoint, for the message).
 */
export function solarApiData(body: unknown, what: string): Record<string, unknown> {
  if (!isObject(body) || !isObject(body.Head) || !isObject(body.Body)) {
    throw new FroniusAnswerError(`${what}: not a Solar API answer (no Head and Body)`);
  }
  const status = body.Head.Status;
  const code = isObject(status) ? status.Code : undefined;
  if (code !== 0) {
    const reason = isObject(status) ? [str(status.Reason), str(status.UserMessage)].filter(Boolean).join('; ') : '';
    throw new FroniusAnswerError(
      `${what}: the device answered status ${JSON.stringify(code ?? null)}${reason ? ` (${reason})` : ''}`,
    );
  }
  const data = body.Body.Data;
  return isObject(data) ? data : {};
}

function applyRows(rows: readonly FlowRow[], src: (key: readonly string[]) => unknown, out: FroniusFields): void {
  for (const r of rows) out[r.field] = num(src(r.key), r.scale);
}

/** The fields of a GetPowerFlowRealtimeData answer's `Body.Data`. */
export function decodePowerFlow(data: Record<string, unknown>, inverterId: number): FroniusFields {
  const inverters = isObject(data.Inverters) ? data.Inverters : {};
  // The configured inverter, else the first that reports a battery (a Datamanager lists several).
  let inv: unknown = inverters[String(inverterId)];
  if (!isObject(inv) || !('SOC' in inv)) inv = Object.values(inverters).find((i) => isObject(i) && 'SOC' in i) ?? inv;
  const out: FroniusFields = {};
  applyRows(POWER_FLOW_ROWS, (key) => (key[0] === 'inv' ? at(inv, key.slice(1)) : at(data, key)), out);
  const batteryMode = str(at(inv, ['Battery_Mode']));
  // GEN24 without a battery reports SOC 0.0 with Battery_Mode "disabled" (firmware before 1.17).
  if (batteryMode === 'disabled') out.battery_soc_pct = null;
  out.meter_location = str(at(data, ['Site', 'Meter_Location']));
  out.site_mode = str(at(data, ['Site', 'Mode']));
  out.battery_mode = batteryMode;
  return out;
}

/** Meter location 0: the primary meter at the grid connection point. */
const GRID_LOCATION = 0;

export interface MeterInfo {
  id: string;
  manufacturer: string | null;
  model: string | null;
  serial: string | null;
  location: number | null;
}

/**
 * The grid meter's fields from a GetMeterRealtimeData answer's `Body.Data` (null: no meter at the
 * grid connection point, or its values are marked incomplete), and what meters there are.
 */
export function decodeMeters(data: Record<string, unknown>): { fields: FroniusFields | null; meters: MeterInfo[] } {
  const meters: MeterInfo[] = [];
  let grid: Record<string, unknown> | null = null;
  for (const [id, m] of Object.entries(data)) {
    if (!isObject(m)) continue;
    const location = num(m.Meter_Location_Current);
    meters.push({
      id,
      manufacturer: str(at(m, ['Details', 'Manufacturer'])),
      model: str(at(m, ['Details', 'Model'])),
      serial: str(at(m, ['Details', 'Serial'])),
      location,
    });
    // Visible 0 means "incomplete or outdated values"; Enable 0 a meter switched off.
    const usable = m.Visible !== 0 && m.Enable !== 0;
    if (grid === null && location === GRID_LOCATION && usable) grid = m;
  }
  if (grid === null) return { fields: null, meters };
  const fields: FroniusFields = {};
  const g = grid;
  applyRows(METER_ROWS, (key) => at(g, key), fields);
  return { fields, meters };
}

/** The fields of a GetInverterRealtimeData CommonInverterData answer's `Body.Data`. */
export function decodeInverter(data: Record<string, unknown>): FroniusFields {
  const out: FroniusFields = {};
  applyRows(INVERTER_ROWS, (key) => at(data, key), out);
  const code = out.inverter_status_code;
  out.inverter_state =
    str(at(data, ['DeviceStatus', 'InverterState'])) ?? (code == null ? null : inverterStatusName(code));
  return out;
}
