/**
 * The snapshot: one merged reading of a home, once a second. This is the wire schema (MQTT payloads,
 * the outbox, the API's realtime answer) and the one place its field names are defined.
 *
 * Conventions (see docs/architecture.md): units and signs live in the names; absent is `null`, never 0.
 * - grid_power_w: + import from the grid, − export to the grid
 * - battery_power_w: + charging, − discharging
 */
import { type Static, Type } from '@sinclair/typebox';

const Num = Type.Union([Type.Number(), Type.Null()]);
const Str = Type.Union([Type.String(), Type.Null()]);

/** Numeric fields of a snapshot, in wire order. Every one is `number | null`. */
export const SNAPSHOT_NUMERIC_FIELDS = [
  // grid, from the P1 meter (billing grade)
  'grid_power_w',
  'grid_import_t1_kwh',
  'grid_import_t2_kwh',
  'grid_export_t1_kwh',
  'grid_export_t2_kwh',
  'grid_avg_15m_w',
  'grid_monthly_peak_w',
  'grid_tariff',
  'power_l1_w',
  'power_l2_w',
  'power_l3_w',
  'voltage_l1_v',
  'voltage_l2_v',
  'voltage_l3_v',
  'current_l1_a',
  'current_l2_a',
  'current_l3_a',
  'gas_total_m3',
  'water_total_m3',
  // solar, from the inverter
  'pv_power_w',
  'pv_daily_kwh',
  'pv_total_kwh',
  'mppt1_voltage_v',
  'mppt1_current_a',
  'mppt2_voltage_v',
  'mppt2_current_a',
  // battery, from the inverter
  'battery_power_w',
  'battery_soc_pct',
  'battery_temp_c',
  'battery_daily_charge_kwh',
  'battery_daily_discharge_kwh',
  'battery_total_charge_kwh',
  'battery_total_discharge_kwh',
  // load and derived
  'load_power_w',
  'self_consumption_w',
  'self_sufficiency_pct',
] as const;

export type SnapshotNumericField = (typeof SNAPSHOT_NUMERIC_FIELDS)[number];

/** Text fields besides device_id and timestamp. */
export const SNAPSHOT_TEXT_FIELDS = ['meter_timestamp', 'grid_monthly_peak_timestamp', 'country'] as const;
export type SnapshotTextField = (typeof SNAPSHOT_TEXT_FIELDS)[number];

const numericProps = Object.fromEntries(SNAPSHOT_NUMERIC_FIELDS.map((k) => [k, Num])) as {
  [K in SnapshotNumericField]: typeof Num;
};

export const SnapshotSchema = Type.Object(
  {
    device_id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }),
    /** The edge's UTC clock, ISO 8601 with Z. */
    timestamp: Type.String({ format: 'date-time', minLength: 20, maxLength: 30 }),
    /** The meter's own clock (ISO 8601 UTC), when the P1 source gives it. */
    meter_timestamp: Str,
    grid_monthly_peak_timestamp: Str,
    /** 'be' or 'nl': decides what tariff 1 and 2 mean (BE: 1 = day; NL: 1 = low/night). */
    country: Type.Union([Type.Literal('be'), Type.Literal('nl'), Type.Null()]),
    ...numericProps,
    /** Sources whose values are too old to use; their fields are null. */
    stale_sources: Type.Array(Type.String({ maxLength: 32 }), { maxItems: 16 }),
  },
  { additionalProperties: false },
);

export type Snapshot = Static<typeof SnapshotSchema>;

/** A snapshot with every value unknown: the starting point of the merger. */
export function emptySnapshot(deviceId: string, timestamp: string): Snapshot {
  const s = {
    device_id: deviceId,
    timestamp,
    meter_timestamp: null,
    grid_monthly_peak_timestamp: null,
    country: null,
    stale_sources: [],
  } as Record<string, unknown>;
  for (const k of SNAPSHOT_NUMERIC_FIELDS) s[k] = null;
  return s as Snapshot;
}
