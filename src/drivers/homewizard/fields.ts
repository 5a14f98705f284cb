/**
 * HomeWizard P1 meter ↔ snapshot fields: one table for the local API v1 (`GET /api/v1/data`) and v2
 * (`GET /api/measurement`, WebSocket topic `measurement`). The driver decodes with it; the simulator
 * encodes with it (a simulator is the inverse of its driver).
 *
 * Facts (docs/homewizard.md, shared guide protocols.md §2): every field is optional and the device leaves
 * out what it does not know (v1 sometimes sends `null`); power is negative when exporting; v1 misspells
 * `montly_power_peak_w`; v1 timestamps are numbers `YYMMDDhhmmss` and v2 timestamps ISO strings without a
 * zone, both in the meter's local time (Europe/Brussels or Europe/Amsterdam: the same rules).
 */
import { KwartierError } from '../../core/errors.js';
import type { SnapshotNumericField } from '../../core/snapshot.js';
import { localToMs, type WallClockParts, wallClock } from '../../core/time/zone.js';
import type { SnapshotFields } from '../source.js';

export type HomeWizardApi = 'v1' | 'v2';

export interface FieldRow {
  field: SnapshotNumericField;
  /** v1 key(s): the first is the one the device sends (and the simulator writes); others are accepted too. */
  v1: readonly string[];
  /** v2 key. */
  v2: string;
  /** Decimals the device reports (the simulator rounds to these). */
  decimals: number;
  /** Values outside this set are treated as absent. */
  valid?: (n: number) => boolean;
}

/** The numeric fields, in snapshot order. */
export const FIELD_TABLE: readonly FieldRow[] = [
  { field: 'grid_power_w', v1: ['active_power_w'], v2: 'power_w', decimals: 0 },
  { field: 'grid_import_t1_kwh', v1: ['total_power_import_t1_kwh'], v2: 'energy_import_t1_kwh', decimals: 3 },
  { field: 'grid_import_t2_kwh', v1: ['total_power_import_t2_kwh'], v2: 'energy_import_t2_kwh', decimals: 3 },
  { field: 'grid_export_t1_kwh', v1: ['total_power_export_t1_kwh'], v2: 'energy_export_t1_kwh', decimals: 3 },
  { field: 'grid_export_t2_kwh', v1: ['total_power_export_t2_kwh'], v2: 'energy_export_t2_kwh', decimals: 3 },
  { field: 'grid_avg_15m_w', v1: ['active_power_average_w'], v2: 'average_power_15m_w', decimals: 0 },
  {
    field: 'grid_monthly_peak_w',
    v1: ['montly_power_peak_w', 'monthly_power_peak_w'],
    v2: 'monthly_power_peak_w',
    decimals: 0,
  },
  {
    field: 'grid_tariff',
    v1: ['active_tariff'],
    v2: 'tariff',
    decimals: 0,
    // "Some smart meters report a tariff other than 1, 2, 3 or 4" (python-homewizard-energy models.py).
    valid: (n) => Number.isInteger(n) && n >= 1 && n <= 4,
  },
  { field: 'power_l1_w', v1: ['active_power_l1_w'], v2: 'power_l1_w', decimals: 0 },
  { field: 'power_l2_w', v1: ['active_power_l2_w'], v2: 'power_l2_w', decimals: 0 },
  { field: 'power_l3_w', v1: ['active_power_l3_w'], v2: 'power_l3_w', decimals: 0 },
  { field: 'voltage_l1_v', v1: ['active_voltage_l1_v'], v2: 'voltage_l1_v', decimals: 1 },
  { field: 'voltage_l2_v', v1: ['active_voltage_l2_v'], v2: 'voltage_l2_v', decimals: 1 },
  { field: 'voltage_l3_v', v1: ['active_voltage_l3_v'], v2: 'voltage_l3_v', decimals: 1 },
  // Signed as the device sends it: negative when exporting on that phase (same sign as power).
  { field: 'current_l1_a', v1: ['active_current_l1_a'], v2: 'current_l1_a', decimals: 2 },
  { field: 'current_l2_a', v1: ['active_current_l2_a'], v2: 'current_l2_a', decimals: 2 },
  { field: 'current_l3_a', v1: ['active_current_l3_a'], v2: 'current_l3_a', decimals: 2 },
];

/** Import counters: a P1 measurement always carries at least one (DSMR 1.8.1 / 1.8.2). */
const IMPORT_COUNTER_KEYS: Record<HomeWizardApi, readonly string[]> = {
  v1: [
    'total_power_import_kwh',
    'total_power_import_t1_kwh',
    'total_power_import_t2_kwh',
    'total_power_import_t3_kwh',
    'total_power_import_t4_kwh',
  ],
  v2: [
    'energy_import_kwh',
    'energy_import_t1_kwh',
    'energy_import_t2_kwh',
    'energy_import_t3_kwh',
    'energy_import_t4_kwh',
  ],
};

const PEAK_TS_V1 = ['montly_power_peak_timestamp', 'monthly_power_peak_timestamp'] as const;
const PEAK_TS_V2 = 'monthly_power_peak_timestamp';

export const DEFAULT_TIMEZONE = 'Europe/Brussels';

export class HomeWizardDataError extends KwartierError {
  constructor(message: string) {
    super('homewizard_bad_data', message, { retriable: true });
    this.name = 'HomeWizardDataError';
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function num(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

// ---- timestamps ----------------------------------------------------------------------------------

/** ISO 8601 UTC without milliseconds: `2024-06-28T12:12:34Z`. */
export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/**
 * v1 timestamp: a JSON number `YYMMDDhhmmss` (no DST letter), local time. Years 2000–2009 lose their
 * leading zero as a number, so it is left-padded. The DSMR placeholders 632525252525 and 700101010000
 * (and 0) mean "no time" → null. In the repeated autumn hour the first occurrence (summer time) is
 * taken; a time skipped in spring moves forward (core/time/zone.ts).
 */
export function v1TimestampToIso(value: unknown, zone: string = DEFAULT_TIMEZONE): string | null {
  const n = num(value);
  if (n === undefined || !Number.isInteger(n) || n <= 0 || n > 999_999_999_999) return null;
  const t = String(n).padStart(12, '0');
  if (t === '632525252525' || t === '700101010000') return null;
  const ms = localToMs(
    {
      year: 2000 + Number(t.slice(0, 2)),
      month: Number(t.slice(2, 4)),
      day: Number(t.slice(4, 6)),
      hour: Number(t.slice(6, 8)),
      minute: Number(t.slice(8, 10)),
      second: Number(t.slice(10, 12)),
    },
    zone,
    'earlier',
  );
  return ms === null ? null : isoSeconds(ms);
}

const LOCAL_ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?$/;
const ZONED_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** v2 timestamp: ISO `YYYY-MM-DDTHH:mm:ss` without a zone = local time. One with a zone is taken as is. */
export function v2TimestampToIso(value: unknown, zone: string = DEFAULT_TIMEZONE): string | null {
  if (typeof value !== 'string') return null;
  const m = LOCAL_ISO.exec(value);
  if (m) {
    const ms = localToMs(
      {
        year: Number(m[1]),
        month: Number(m[2]),
        day: Number(m[3]),
        hour: Number(m[4]),
        minute: Number(m[5]),
        second: Number(m[6]),
      },
      zone,
      'earlier',
    );
    return ms === null ? null : isoSeconds(ms);
  }
  if (ZONED_ISO.test(value)) {
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? isoSeconds(ms) : null;
  }
  return null;
}

const p2 = (n: number) => String(n).padStart(2, '0');

function localOf(iso: string, zone: string): WallClockParts {
  return wallClock(Date.parse(iso), zone);
}

/** Inverse of v1TimestampToIso (simulator): ISO UTC → number `YYMMDDhhmmss` in local time. */
export function isoToV1Timestamp(iso: string, zone: string = DEFAULT_TIMEZONE): number {
  const l = localOf(iso, zone);
  return Number(p2(l.year % 100) + p2(l.month) + p2(l.day) + p2(l.hour) + p2(l.minute) + p2(l.second));
}

/** Inverse of v2TimestampToIso (simulator): ISO UTC → `YYYY-MM-DDTHH:mm:ss` in local time, no zone. */
export function isoToV2Timestamp(iso: string, zone: string = DEFAULT_TIMEZONE): string {
  const l = localOf(iso, zone);
  return `${l.year}-${p2(l.month)}-${p2(l.day)}T${p2(l.hour)}:${p2(l.minute)}:${p2(l.second)}`;
}

// ---- decode ----------------------------------------------------------------------------------------

/** An `external[]` entry (v1 and v2 have the same shape; only the timestamp's type differs). */
interface ExternalEntry {
  type: string;
  value: number;
  unit: string | undefined;
  timestamp: unknown;
}

function externals(doc: Record<string, unknown>): ExternalEntry[] {
  const list = doc.external;
  if (!Array.isArray(list)) return [];
  const out: ExternalEntry[] = [];
  for (const e of list) {
    if (!isRecord(e) || typeof e.type !== 'string') continue;
    const value = num(e.value);
    if (value === undefined) continue;
    out.push({ type: e.type, value, unit: typeof e.unit === 'string' ? e.unit : undefined, timestamp: e.timestamp });
  }
  return out;
}

/** The first external meter of a type with a volume in m³ (gas_meter, water_meter). */
function externalM3(list: ExternalEntry[], type: string): number | undefined {
  const e = list.find((x) => x.type === type && (x.unit === undefined || x.unit === 'm3'));
  return e?.value;
}

/**
 * Maps a measurement document onto snapshot fields. Absent, `null` or malformed values are left out
 * (never 0). Throws HomeWizardDataError when the document is not a P1 measurement: not a JSON object,
 * or without any import counter (a P1 meter always sends 1.8.1/1.8.2; without them the dongle has no
 * telegram from the meter, or this is another endpoint's answer such as /api/system or /api/batteries).
 */
export function decodeMeasurement(doc: unknown, api: HomeWizardApi, zone: string = DEFAULT_TIMEZONE): SnapshotFields {
  if (!isRecord(doc)) throw new HomeWizardDataError(`HomeWizard ${api} measurement: expected a JSON object`);
  if (!IMPORT_COUNTER_KEYS[api].some((k) => num(doc[k]) !== undefined)) {
    throw new HomeWizardDataError(
      `HomeWizard ${api} measurement: no import counter (${IMPORT_COUNTER_KEYS[api][1]}): no data from the meter yet, or not a P1 measurement`,
    );
  }
  const out: SnapshotFields = {};
  for (const row of FIELD_TABLE) {
    const keys = api === 'v1' ? row.v1 : [row.v2];
    for (const k of keys) {
      const v = num(doc[k]);
      if (v !== undefined && (row.valid === undefined || row.valid(v))) {
        out[row.field] = v;
        break;
      }
    }
  }
  const ext = externals(doc);
  // Gas: v1 has a top-level total (the meter's own gas channel); otherwise the external gas meter.
  const gas = (api === 'v1' ? num(doc.total_gas_m3) : undefined) ?? externalM3(ext, 'gas_meter');
  if (gas !== undefined) out.gas_total_m3 = gas;
  const water = externalM3(ext, 'water_meter');
  if (water !== undefined) out.water_total_m3 = water;

  if (api === 'v1') {
    for (const k of PEAK_TS_V1) {
      const iso = v1TimestampToIso(doc[k], zone);
      if (iso !== null) {
        out.grid_monthly_peak_timestamp = iso;
        break;
      }
    }
  } else {
    const peak = v2TimestampToIso(doc[PEAK_TS_V2], zone);
    if (peak !== null) out.grid_monthly_peak_timestamp = peak;
    const ts = v2TimestampToIso(doc.timestamp, zone);
    if (ts !== null) out.meter_timestamp = ts;
  }
  return out;
}

// ---- encode (simulator) ------------------------------------------------------------------------------

export interface EncodeInput {
  fields: SnapshotFields;
  /** When the gas / water meter last reported (ms UTC); default: meter_timestamp or now. */
  gasAt?: number;
  waterAt?: number;
}

function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/**
 * Snapshot fields → the device's JSON, as a HomeWizard P1 meter would send it: the inverse of
 * decodeMeasurement (also writes the totals and `current_a` the device derives). Absent fields are left out.
 */
export function encodeMeasurement(
  input: EncodeInput,
  api: HomeWizardApi,
  zone: string = DEFAULT_TIMEZONE,
): Record<string, unknown> {
  const f = input.fields;
  const out: Record<string, unknown> = {};
  const put = (key: string, v: number | null | undefined, decimals: number) => {
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = round(v, decimals);
  };
  if (api === 'v2' && f.meter_timestamp) out.timestamp = isoToV2Timestamp(f.meter_timestamp, zone);
  const sum = (a: number | null | undefined, b: number | null | undefined) =>
    typeof a === 'number' && typeof b === 'number' ? a + b : undefined;
  put(
    api === 'v1' ? 'total_power_import_kwh' : 'energy_import_kwh',
    sum(f.grid_import_t1_kwh, f.grid_import_t2_kwh),
    3,
  );
  put(
    api === 'v1' ? 'total_power_export_kwh' : 'energy_export_kwh',
    sum(f.grid_export_t1_kwh, f.grid_export_t2_kwh),
    3,
  );
  for (const row of FIELD_TABLE) {
    const key = api === 'v1' ? row.v1[0] : row.v2;
    if (key !== undefined) put(key, f[row.field], row.decimals);
  }
  if (api === 'v2') {
    const currents = [f.current_l1_a, f.current_l2_a, f.current_l3_a].filter((x): x is number => typeof x === 'number');
    // "current_a: sum of absolute values" (docs/v2/measurement.mdx).
    if (currents.length > 0)
      put(
        'current_a',
        currents.reduce((a, b) => a + Math.abs(b), 0),
        2,
      );
  }
  if (f.grid_monthly_peak_timestamp) {
    if (api === 'v1') out[PEAK_TS_V1[0]] = isoToV1Timestamp(f.grid_monthly_peak_timestamp, zone);
    else out[PEAK_TS_V2] = isoToV2Timestamp(f.grid_monthly_peak_timestamp, zone);
  }
  const fallbackAt = f.meter_timestamp ? Date.parse(f.meter_timestamp) : Date.now();
  const stamp = (ms: number) =>
    api === 'v1' ? isoToV1Timestamp(isoSeconds(ms), zone) : isoToV2Timestamp(isoSeconds(ms), zone);
  const external: Record<string, unknown>[] = [];
  if (typeof f.gas_total_m3 === 'number') {
    const at = input.gasAt ?? fallbackAt;
    if (api === 'v1') {
      out.total_gas_m3 = round(f.gas_total_m3, 3);
      out.gas_timestamp = stamp(at);
    }
    external.push({
      unique_id: 'sim-gas',
      type: 'gas_meter',
      timestamp: stamp(at),
      value: round(f.gas_total_m3, 3),
      unit: 'm3',
    });
  }
  if (typeof f.water_total_m3 === 'number') {
    const at = input.waterAt ?? fallbackAt;
    external.push({
      unique_id: 'sim-water',
      type: 'water_meter',
      timestamp: stamp(at),
      value: round(f.water_total_m3, 3),
      unit: 'm3',
    });
  }
  if (external.length > 0) out.external = external;
  return out;
}

// ---- GET /api ----------------------------------------------------------------------------------------

export interface DeviceInfo {
  product_type: string;
  product_name: string | null;
  /** 12 hex digits, also the MAC address. */
  serial: string;
  firmware_version: string | null;
  /** "v1" on v1-only firmware, "2.0.0" (…) with v2. */
  api_version: string | null;
}

/** Parses GET /api. Throws HomeWizardDataError without a product_type or serial. */
export function parseDeviceInfo(doc: unknown): DeviceInfo {
  if (!isRecord(doc)) throw new HomeWizardDataError('HomeWizard GET /api: expected a JSON object');
  const str = (k: string) => (typeof doc[k] === 'string' && doc[k] !== '' ? (doc[k] as string) : null);
  const productType = str('product_type');
  const serial = str('serial');
  if (productType === null || serial === null) {
    throw new HomeWizardDataError('HomeWizard GET /api: product_type and serial are required');
  }
  return {
    product_type: productType,
    product_name: str('product_name'),
    serial,
    firmware_version: str('firmware_version'),
    api_version: str('api_version'),
  };
}

/**
 * The type in the device certificate's CN (`appliance/<type>/<serial>`) differs from product_type "for
 * legacy reasons" (docs/v2/authorization.mdx). Known products only; others are checked on the serial.
 */
export const CERT_TYPE_BY_PRODUCT: Readonly<Record<string, string>> = {
  'HWE-P1': 'p1dongle',
  'HWE-SKT': 'energysocket',
  'HWE-DSP': 'display',
  'HWE-KWH1': 'energymeter',
  'HWE-KWH3': 'energymeter',
  'HWE-WTR': 'watermeter',
  'HWE-BAT': 'battery',
};

/** Product types that are P1 meters: the only ones this source reads. */
export const P1_PRODUCT_TYPES: readonly string[] = ['HWE-P1'];

export class HomeWizardDeviceError extends KwartierError {
  constructor(message: string) {
    super('homewizard_wrong_device', message, { retriable: false });
    this.name = 'HomeWizardDeviceError';
  }
}

/**
 * Refuses devices that are not P1 meters (a kWh meter, a battery, a socket): their `power_w` is not the
 * home's grid power, so reading them as the P1 source would be wrong, not just incomplete.
 */
export function checkP1Device(info: DeviceInfo, api: HomeWizardApi): void {
  if (!P1_PRODUCT_TYPES.includes(info.product_type)) {
    throw new HomeWizardDeviceError(
      `HomeWizard device ${info.serial} is a ${info.product_type}${info.product_name ? ` (${info.product_name})` : ''}, not a P1 meter (HWE-P1); the homewizard source reads P1 meters only`,
    );
  }
  if (api === 'v2' && info.api_version !== null && !/^[2-9]/.test(info.api_version)) {
    throw new HomeWizardDeviceError(
      `HomeWizard device ${info.serial} reports api_version ${JSON.stringify(info.api_version)}: it does not offer API v2; update its firmware or set homewizard.api_version: v1`,
    );
  }
}
