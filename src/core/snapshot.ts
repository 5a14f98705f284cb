/**
 * The snapshot: one merged reading of a home, once a second. This is the wire schema (MQTT payloads,
 * the outbox, the API's realtime answer) and the one place its field names are defined.
 *
 * Conventions (see docs/architecture.md): units and signs live in the names; absent is `null`, never 0.
 * - grid_power_w: + import from the grid, − export to the grid
 * - battery_power_w: + charging, − discharging
 * - battery_current_a: + charging, − discharging (DC, at the battery terminals)
 * - ev_power_w: + charging the car (summed over every charger)
 *
 * Fields added after the first release (SNAPSHOT_ADDED_FIELDS, and the objects `devices` and
 * `control`) are optional on the wire: an edge of an older release omits them, and absent means null. A server accepts top-level
 * keys it does not know and keeps them (see server/ingest), so an edge newer than its server loses
 * nothing.
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
  // added after the first release: optional on the wire (SNAPSHOT_ADDED_FIELDS)
  /** EV charging power, W, summed over every charger; + charging the car. */
  'ev_power_w',
  /** Battery DC voltage at its terminals, V (off-grid and DC-coupled systems). */
  'battery_voltage_v',
  /** Battery DC current, A: + charging, − discharging. */
  'battery_current_a',
] as const;

export type SnapshotNumericField = (typeof SNAPSHOT_NUMERIC_FIELDS)[number];

/** Text fields besides device_id and timestamp. */
export const SNAPSHOT_TEXT_FIELDS = [
  'meter_timestamp',
  'grid_monthly_peak_timestamp',
  'country',
  'charge_state',
] as const;
export type SnapshotTextField = (typeof SNAPSHOT_TEXT_FIELDS)[number];

/**
 * Fields added after the first release (schema 1 of the wire): optional on the wire, absent = null.
 * The stores add their columns in a numbered migration (server/store/migrations.ts).
 */
export const SNAPSHOT_ADDED_FIELDS = ['ev_power_w', 'battery_voltage_v', 'battery_current_a', 'charge_state'] as const;
export type SnapshotAddedField = (typeof SNAPSHOT_ADDED_FIELDS)[number];
const ADDED = new Set<string>(SNAPSHOT_ADDED_FIELDS);

/** The longest `charge_state`. */
export const MAX_CHARGE_STATE_CHARS = 32;

type RequiredNumeric = Exclude<SnapshotNumericField, SnapshotAddedField>;
const numericProps = Object.fromEntries(SNAPSHOT_NUMERIC_FIELDS.filter((k) => !ADDED.has(k)).map((k) => [k, Num])) as {
  [K in RequiredNumeric]: typeof Num;
};

/** A device name under `devices` (the edge config's `devices[].name`). */
export const DEVICE_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,31}$';
/** The most devices a snapshot carries, and fields per device. */
export const MAX_DEVICES = 16;
export const MAX_DEVICE_FIELDS = 64;

/**
 * One device's own reading: its driver type, whether it is stale, and its values under the
 * snapshot's field names, units and signs (e.g. `pv_power_w`, and per EV charger `ev_power_w`,
 * `ev_session_kwh`, `ev_state` (text), `ev_current_set_a`, `ev_phases`).
 */
export const DeviceReadingSchema = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 32 }),
    stale: Type.Boolean(),
    fields: Type.Record(
      Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
      Type.Union([Type.Number(), Type.String({ maxLength: 64 }), Type.Null()]),
      { maxProperties: MAX_DEVICE_FIELDS, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type DeviceReading = Static<typeof DeviceReadingSchema>;

export const DevicesSchema = Type.Record(Type.String({ pattern: DEVICE_NAME_PATTERN }), DeviceReadingSchema, {
  maxProperties: MAX_DEVICES,
  additionalProperties: false,
});
export type Devices = Static<typeof DevicesSchema>;

/** What the edge's control told one charger (docs/control.md). */
export const ControlChargerSchema = Type.Object(
  {
    charge: Type.Boolean(),
    current_a: Type.Number({ minimum: 0, maximum: 100 }),
    phases: Type.Integer({ minimum: 1, maximum: 3 }),
    /** Power the set-point allows, W (0 paused). */
    setpoint_w: Type.Number({ minimum: 0, maximum: 1_000_000 }),
  },
  { additionalProperties: false },
);

/**
 * The running quarter's budget as the edge's control sees it (docs/control.md): the target, the
 * energy imported so far in the quarter (from the meter's counters), the average power allowed for
 * the rest, and what it told each charger. `status` stale or unknown: the meter is stale or the
 * quarter's start is not known; then `used_kwh` and `allowed_w` are null and the chargers are at
 * their safe current.
 */
export const ControlBudgetSchema = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('stale'), Type.Literal('unknown')]),
    target_w: Type.Number({ minimum: 0, maximum: 1_000_000 }),
    target_source: Type.Union([Type.Literal('floor'), Type.Literal('target'), Type.Literal('month_peak')]),
    /** Start of the clock quarter, ISO 8601 UTC. */
    quarter_start: Type.String({ format: 'date-time', minLength: 20, maxLength: 30 }),
    remaining_s: Type.Number({ minimum: 0, maximum: 900 }),
    /** target × 15 min, kWh. */
    budget_kwh: Type.Number({ minimum: 0 }),
    used_kwh: Num,
    /** The average import allowed for the rest of the quarter to end it at the target, W (< 0: over). */
    allowed_w: Num,
    /** The quarter's average if the present import holds, W. */
    projected_w: Num,
    dry_run: Type.Boolean(),
    chargers: Type.Record(Type.String({ pattern: DEVICE_NAME_PATTERN }), ControlChargerSchema, {
      maxProperties: MAX_DEVICES,
      additionalProperties: false,
    }),
  },
  { additionalProperties: false },
);
export type ControlBudget = Static<typeof ControlBudgetSchema>;

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
    /** EV charging power, W, summed over every charger; + charging the car. Optional (absent = null). */
    ev_power_w: Type.Optional(Num),
    /** Battery DC voltage, V. Optional (absent = null). */
    battery_voltage_v: Type.Optional(Num),
    /** Battery DC current, A: + charging, − discharging. Optional (absent = null). */
    battery_current_a: Type.Optional(Num),
    /** A charge controller's state: `bulk`, `absorption`, `float`, … free text. Optional (absent = null). */
    charge_state: Type.Optional(Type.Union([Type.String({ maxLength: MAX_CHARGE_STATE_CHARS }), Type.Null()])),
    /** Each device's own reading, by device name. Optional (absent or null: none given). */
    devices: Type.Optional(Type.Union([DevicesSchema, Type.Null()])),
    /** The control's quarter budget (an edge with a `control:` section). Optional (absent or null: none). */
    control: Type.Optional(Type.Union([ControlBudgetSchema, Type.Null()])),
    /** Sources whose values are too old to use; their fields are null. */
    stale_sources: Type.Array(Type.String({ maxLength: 32 }), { maxItems: 16 }),
  },
  { additionalProperties: false },
);

export type Snapshot = Static<typeof SnapshotSchema>;

/**
 * The snapshot with every added field it omits set to null (absent means null), in place. A
 * snapshot from an edge of an older release is then the same shape as a new one.
 */
export function withAddedFields<T extends Record<string, unknown>>(s: T): T {
  const o = s as Record<string, unknown>;
  for (const k of SNAPSHOT_ADDED_FIELDS) if (o[k] === undefined) o[k] = null;
  return s;
}

/** A snapshot with every value unknown: the starting point of the merger. */
export function emptySnapshot(deviceId: string, timestamp: string): Snapshot {
  const s = {
    device_id: deviceId,
    timestamp,
    meter_timestamp: null,
    grid_monthly_peak_timestamp: null,
    country: null,
    charge_state: null,
    stale_sources: [],
  } as Record<string, unknown>;
  for (const k of SNAPSHOT_NUMERIC_FIELDS) s[k] = null;
  return s as Snapshot;
}
