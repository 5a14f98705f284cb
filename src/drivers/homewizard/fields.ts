/**
 * HomeWizard P1 meter ↔ snapshot fields: one table for the local API v1 (`GET /api/v1/data`) and v2
 * (`GET /api/measurement`, WebSocket topic `measurement`). The driver decodes with it; the simulator
 * encodes with it (a simulator is the inverse of its driver).
 *
 * Facts (docs/homewizard.md, shared guide protocols.md §2): every field is optional and the device leaves
 * out what it does not know (v1 sometimes sends `null`); power is negative when exporting; v1 misspells
 * `montly_power_peak_w`; v1 timestamps are numbers `YYMMDDhhmmss` and v2 timestamps ISO strings without a
 * zone, both in the meter's local time (Europe/Brussels or Europe/Amsterdam: the same rules): timestamps.ts.
 * GET /api and the P1 check are device-info.ts.
 */
import { KwartierError } from '../../core/errors.js';
import type { SnapshotNumericField } from '../../core/snapshot.js';
import type { SnapshotFields } from '../source.js';
import {
  DEFAULT_TIMEZONE,
  isoSeconds,
  isoToV1Timestamp,
  isoToV2Timestamp,
  v1TimestampToIso,
  v2TimestampToIso,
} from './timestamps.js';

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

export class HomeWizardDataError extends KwartierError {
  constructor(message: string) {
    super('homewizard_bad_data', message, { retriable: true });
    this.name = 'HomeWizardDataError';
  }
}

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function num(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
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
