/**
 * The OBIS codes the P1 parser maps: one row per code, naming the field its value goes to and the
 * decoder that reads it (the kind of value: energy in kWh, power in W, a value in a fixed unit, an
 * integer, text, a timestamp, a peak, a history …). A code not in these tables is kept under
 * `other`. To read a new code: add its field to Field and FieldValues, a row here, its output key
 * to P1Telegram and to parser.ts's toTelegram; docs/dsmr.md lists the codes.
 *
 * Lines on M-Bus channels (`0-n:C.D.E`, n ≥ 1: gas, water, heat meters) have their own table,
 * keyed by C.D.E, whose rows fill the channel's entry (mbus.ts).
 */
import {
  amperes,
  type Decoder,
  energyKwh,
  integer,
  powerW,
  tariff,
  text,
  textOrEmpty,
  timestamp,
  volts,
} from './decoders.js';
import { type Peak, peak, peakHistory, powerFailureLog } from './history.js';
import { type LineReader, obisKeyOf } from './line-reader.js';
import { legacyHeader, type MbusChannel, reading } from './mbus.js';
import type { OtherValue, PeakHistoryEntry, PowerFailure } from './telegram.js';

/**
 * The fields the channel-0 rows fill. While a telegram is read their values sit in
 * TelegramAcc.fields by this number rather than in properties by name: one store site taking any
 * of forty-odd property names is a megamorphic keyed store in V8, which cost about a tenth of
 * `npm run bench -- dsmr`'s throughput; a store by index into one array does not.
 */
export enum Field {
  p1_version,
  /** 0-0:96.1.4: also tells the country ('' when present but empty). */
  be_version,
  meter_timestamp,
  equipment_id,
  /** 0-0:96.1.0: the equipment id of a meter without 0-0:96.1.1 (Belgian Iskra IE.5). */
  serial_alt,
  tariff_indicator,
  energy_import_t1_kwh,
  energy_import_t2_kwh,
  energy_export_t1_kwh,
  energy_export_t2_kwh,
  energy_import_total_kwh,
  energy_export_total_kwh,
  power_import_w,
  power_export_w,
  power_l1_import_w,
  power_l2_import_w,
  power_l3_import_w,
  power_l1_export_w,
  power_l2_export_w,
  power_l3_export_w,
  voltage_l1_v,
  voltage_l2_v,
  voltage_l3_v,
  current_l1_a,
  current_l2_a,
  current_l3_a,
  avg_demand_15m_w,
  month_peak,
  peak_history,
  export_avg_demand_15m_w,
  export_month_peak,
  power_failures,
  long_power_failures,
  power_failure_log,
  voltage_sags_l1,
  voltage_sags_l2,
  voltage_sags_l3,
  voltage_swells_l1,
  voltage_swells_l2,
  voltage_swells_l3,
  text_message,
  breaker_state,
  limiter_threshold_w,
  fuse_threshold_a,
}

/** The type of each field's value (null: no such line, or malformed). */
export interface FieldValues {
  [Field.p1_version]: string | null;
  [Field.be_version]: string | null;
  [Field.meter_timestamp]: string | null;
  [Field.equipment_id]: string | null;
  [Field.serial_alt]: string | null;
  [Field.tariff_indicator]: 1 | 2 | null;
  [Field.energy_import_t1_kwh]: number | null;
  [Field.energy_import_t2_kwh]: number | null;
  [Field.energy_export_t1_kwh]: number | null;
  [Field.energy_export_t2_kwh]: number | null;
  [Field.energy_import_total_kwh]: number | null;
  [Field.energy_export_total_kwh]: number | null;
  [Field.power_import_w]: number | null;
  [Field.power_export_w]: number | null;
  [Field.power_l1_import_w]: number | null;
  [Field.power_l2_import_w]: number | null;
  [Field.power_l3_import_w]: number | null;
  [Field.power_l1_export_w]: number | null;
  [Field.power_l2_export_w]: number | null;
  [Field.power_l3_export_w]: number | null;
  [Field.voltage_l1_v]: number | null;
  [Field.voltage_l2_v]: number | null;
  [Field.voltage_l3_v]: number | null;
  [Field.current_l1_a]: number | null;
  [Field.current_l2_a]: number | null;
  [Field.current_l3_a]: number | null;
  [Field.avg_demand_15m_w]: number | null;
  [Field.month_peak]: Peak | null;
  [Field.peak_history]: PeakHistoryEntry[] | null;
  [Field.export_avg_demand_15m_w]: number | null;
  [Field.export_month_peak]: Peak | null;
  [Field.power_failures]: number | null;
  [Field.long_power_failures]: number | null;
  [Field.power_failure_log]: PowerFailure[] | null;
  [Field.voltage_sags_l1]: number | null;
  [Field.voltage_sags_l2]: number | null;
  [Field.voltage_sags_l3]: number | null;
  [Field.voltage_swells_l1]: number | null;
  [Field.voltage_swells_l2]: number | null;
  [Field.voltage_swells_l3]: number | null;
  [Field.text_message]: string | null;
  [Field.breaker_state]: number | null;
  [Field.limiter_threshold_w]: number | null;
  [Field.fuse_threshold_a]: number | null;
}

/** A numeric enum maps both ways: name → number and number → name. */
const FIELD_COUNT = Object.keys(Field).length / 2;

/** All fields null; copied for each telegram (built by push, so the copy is a packed array). */
const NO_FIELDS: null[] = [];
for (let i = 0; i < FIELD_COUNT; i++) NO_FIELDS.push(null);

/** What the lines of one telegram said, filled in as they come. */
export interface TelegramAcc {
  /** By Field: `fields[Field.power_import_w]`. */
  fields: FieldValues;
  /** The M-Bus channels, in the order their first line came. */
  mbus: MbusChannel[];
  /** The lines no table maps, in telegram order. */
  other: OtherValue[];
}

export function emptyAcc(): TelegramAcc {
  return { fields: NO_FIELDS.slice() as unknown as FieldValues, mbus: [], other: [] };
}

export interface FieldRow<K extends Field = Field> {
  /** `A-B:C.D.E` as the meter sends it (without a `*255`-style suffix, which is skipped). */
  obis: string;
  field: K;
  decode: Decoder<FieldValues[K]>;
}

function row<K extends Field>(obis: string, field: K, decode: Decoder<FieldValues[K]>): FieldRow<K> {
  return { obis, field, decode };
}

export const FIELD_TABLE: readonly FieldRow[] = [
  row('1-3:0.2.8', Field.p1_version, text),
  row('0-0:96.1.4', Field.be_version, textOrEmpty),
  row('0-0:1.0.0', Field.meter_timestamp, timestamp),
  row('0-0:96.1.1', Field.equipment_id, text),
  row('0-0:96.1.0', Field.serial_alt, text),
  row('1-0:1.8.1', Field.energy_import_t1_kwh, energyKwh),
  row('1-0:1.8.2', Field.energy_import_t2_kwh, energyKwh),
  row('1-0:2.8.1', Field.energy_export_t1_kwh, energyKwh),
  row('1-0:2.8.2', Field.energy_export_t2_kwh, energyKwh),
  row('1-0:1.8.0', Field.energy_import_total_kwh, energyKwh),
  row('1-0:2.8.0', Field.energy_export_total_kwh, energyKwh),
  row('0-0:96.14.0', Field.tariff_indicator, tariff),
  row('1-0:1.7.0', Field.power_import_w, powerW),
  row('1-0:2.7.0', Field.power_export_w, powerW),
  row('1-0:21.7.0', Field.power_l1_import_w, powerW),
  row('1-0:41.7.0', Field.power_l2_import_w, powerW),
  row('1-0:61.7.0', Field.power_l3_import_w, powerW),
  row('1-0:22.7.0', Field.power_l1_export_w, powerW),
  row('1-0:42.7.0', Field.power_l2_export_w, powerW),
  row('1-0:62.7.0', Field.power_l3_export_w, powerW),
  row('1-0:32.7.0', Field.voltage_l1_v, volts),
  row('1-0:52.7.0', Field.voltage_l2_v, volts),
  row('1-0:72.7.0', Field.voltage_l3_v, volts),
  row('1-0:31.7.0', Field.current_l1_a, amperes),
  row('1-0:51.7.0', Field.current_l2_a, amperes),
  row('1-0:71.7.0', Field.current_l3_a, amperes),
  row('1-0:1.4.0', Field.avg_demand_15m_w, powerW),
  row('1-0:1.6.0', Field.month_peak, peak),
  row('0-0:98.1.0', Field.peak_history, peakHistory),
  row('1-0:2.4.0', Field.export_avg_demand_15m_w, powerW),
  row('1-0:2.6.0', Field.export_month_peak, peak),
  row('0-0:96.7.21', Field.power_failures, integer),
  row('0-0:96.7.9', Field.long_power_failures, integer),
  row('1-0:99.97.0', Field.power_failure_log, powerFailureLog),
  row('1-0:32.32.0', Field.voltage_sags_l1, integer),
  row('1-0:52.32.0', Field.voltage_sags_l2, integer),
  row('1-0:72.32.0', Field.voltage_sags_l3, integer),
  row('1-0:32.36.0', Field.voltage_swells_l1, integer),
  row('1-0:52.36.0', Field.voltage_swells_l2, integer),
  row('1-0:72.36.0', Field.voltage_swells_l3, integer),
  row('0-0:96.13.0', Field.text_message, text),
  row('0-0:96.3.10', Field.breaker_state, integer),
  row('0-0:17.0.0', Field.limiter_threshold_w, powerW),
  row('1-0:31.4.0', Field.fuse_threshold_a, amperes),
];

/** A field of a channel's entry an M-Bus row fills. */
export type ChannelKey = 'type' | 'id' | 'reading1' | 'reading3' | 'legacyHeader' | 'valve';

export interface MbusRow<K extends ChannelKey = ChannelKey> {
  /** `C.D.E` of `0-n:C.D.E`, on any channel n ≥ 1. */
  register: string;
  field: K;
  decode: Decoder<MbusChannel[K]>;
  /** DSMR 2.2/3: the value follows on the next line, `(value)` (mbus.ts legacyValue). */
  valueOnNextLine: boolean;
}

function mbusRow<K extends ChannelKey>(
  register: string,
  field: K,
  decode: Decoder<MbusChannel[K]>,
  valueOnNextLine = false,
): MbusRow<K> {
  return { register, field, decode, valueOnNextLine };
}

export const MBUS_TABLE: readonly MbusRow[] = [
  mbusRow('24.1.0', 'type', integer),
  mbusRow('96.1.0', 'id', text),
  mbusRow('96.1.1', 'id', text),
  mbusRow('24.2.1', 'reading1', reading),
  mbusRow('24.2.3', 'reading3', reading),
  mbusRow('24.3.0', 'legacyHeader', legacyHeader, true),
  mbusRow('24.4.0', 'valve', integer),
];

function indexed<R>(rows: readonly R[], keyOf: (row: R) => number, name: (row: R) => string): Map<number, R> {
  const map = new Map<number, R>();
  for (const r of rows) {
    const key = keyOf(r);
    if (map.has(key)) throw new Error(`OBIS code ${name(r)} is in the table twice`);
    map.set(key, r);
  }
  return map;
}

/** The channel-0 rows by obisKey of their full code. */
export const FIELD_ROWS = indexed(
  FIELD_TABLE,
  (r) => obisKeyOf(r.obis),
  (r) => r.obis,
);

/** The M-Bus rows by obisKey(0, 0, C, D, E). */
export const MBUS_ROWS = indexed(
  MBUS_TABLE,
  (r) => obisKeyOf(`0-0:${r.register}`),
  (r) => r.register,
);

/** Sets a channel-0 row's field from the current line. */
export function applyFieldRow<K extends Field>(acc: TelegramAcc, row: FieldRow<K>, line: LineReader): void {
  acc.fields[row.field] = row.decode(line);
}

/** Sets an M-Bus row's field of a channel's entry from the current line. */
export function applyMbusRow<K extends ChannelKey>(channel: MbusChannel, row: MbusRow<K>, line: LineReader): void {
  channel[row.field] = row.decode(line);
}
