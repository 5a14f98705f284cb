/**
 * TypeBox schemas of every route: they validate the requests and document the answers in the
 * OpenAPI document (/api/openapi.json). Nullable values use `nullable: true` (OpenAPI 3.0), which
 * fast-json-stringify serialises natively.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import {
  ControlBudgetSchema,
  DEVICE_NAME_PATTERN,
  DevicesSchema,
  SNAPSHOT_NUMERIC_FIELDS,
  SnapshotSchema,
} from '../../core/snapshot.js';

export const Nullable = <T extends TSchema>(t: T) =>
  Type.Unsafe<T['static'] | null>({ ...structuredClone(t), nullable: true });

/** A string enum as plain JSON Schema `enum` (OpenAPI 3.0 has no `const`). */
export const StringEnum = <T extends readonly string[]>(values: T, opts: Record<string, unknown> = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });

const NNum = Nullable(Type.Number());
const NStr = Nullable(Type.String());
const LocalTime = (description: string) =>
  Type.String({ format: 'date-time', description: `${description} ISO 8601 with the local offset.` });

export const ErrorSchema = Type.Object(
  {
    error: Type.String({
      description: 'bad_request, unauthorized, not_found, too_many_requests, unavailable or internal',
    }),
    message: Type.String({ description: 'What is wrong; a bad parameter is named first: `start: …`.' }),
  },
  { $id: 'Error', description: 'Every error answer.' },
);

export const DeviceParams = Type.Object(
  { device_id: Type.String({ ...SnapshotSchema.properties.device_id, description: 'The device (home) id.' }) },
  { additionalProperties: false },
);

/** A snapshot as the API answers it: the wire snapshot with its times in local time. */
export const SnapshotOutSchema = Type.Object(
  {
    device_id: Type.String(),
    timestamp: LocalTime("The edge's clock."),
    meter_timestamp: Nullable(Type.String({ format: 'date-time' })),
    grid_monthly_peak_timestamp: Nullable(Type.String({ format: 'date-time' })),
    country: NStr,
    ...(Object.fromEntries(SNAPSHOT_NUMERIC_FIELDS.map((k) => [k, NNum])) as Record<
      (typeof SNAPSHOT_NUMERIC_FIELDS)[number],
      typeof NNum
    >),
    /** Off-grid charge controllers: `bulk`, `absorption`, `float`, …; null when none reports one. */
    charge_state: NStr,
    stale_sources: Type.Array(Type.String()),
    devices: Type.Optional(
      Type.Union([DevicesSchema, Type.Null()], {
        description:
          "A site of several devices (the edge config's `devices:` list): each device's own reading, " +
          "`{type, stale, fields}` with the snapshot's field names, units and signs. Absent for a single-meter home.",
      }),
    ),
    control: Type.Optional(
      Type.Union([ControlBudgetSchema, Type.Null()], {
        description:
          "The edge's control (a `control:` section): the running quarter's target, the energy imported so far " +
          'in it, the average power allowed for the rest, and what each charger was told. Absent without control.',
      }),
    ),
  },
  { $id: 'Snapshot', description: 'One merged reading (see src/core/snapshot.ts for every field).' },
);

export const RealtimeSchema = Type.Object(
  {
    ...SnapshotOutSchema.properties,
    age_s: Type.Number({ description: "Seconds between the snapshot's timestamp and now." }),
  },
  { $id: 'Realtime', description: 'The latest snapshot and its age.' },
);

export const BUCKET_FIELDS = [
  'import_kwh',
  'export_kwh',
  'import_t1_kwh',
  'import_t2_kwh',
  'export_t1_kwh',
  'export_t2_kwh',
  'pv_kwh',
  'battery_charge_kwh',
  'battery_discharge_kwh',
  'gas_m3',
  'water_m3',
  'avg_grid_power_w',
  'max_grid_power_w',
  'avg_pv_power_w',
  'max_pv_power_w',
  'avg_load_power_w',
  'max_load_power_w',
  'avg_battery_power_w',
  'avg_battery_soc_pct',
] as const;

export const BucketPointSchema = Type.Object(
  {
    timestamp: LocalTime('Start of the bucket (local midnight for daily and longer).'),
    ...(Object.fromEntries(BUCKET_FIELDS.map((k) => [k, NNum])) as Record<(typeof BUCKET_FIELDS)[number], typeof NNum>),
    samples: Type.Integer({ description: 'Readings in the bucket.' }),
  },
  { $id: 'BucketPoint', description: 'One aggregate bucket: energy from the counters at its boundaries.' },
);

export const HISTORY_RESOLUTIONS = ['raw', '1min', '15min', 'hourly', 'daily', 'weekly', 'monthly'] as const;
export type HistoryResolution = (typeof HISTORY_RESOLUTIONS)[number];

const TimeParam = (what: string) =>
  Type.String({
    description: `${what}: an ISO 8601 date-time with offset (encode + as %2B) or a date YYYY-MM-DD (local midnight).`,
    examples: ['2026-03-29', '2026-03-29T03:00:00+02:00'],
  });

export const HistoryQuery = Type.Object(
  {
    start: TimeParam('Start (inclusive)'),
    end: TimeParam('End (exclusive)'),
    resolution: StringEnum(HISTORY_RESOLUTIONS, {
      default: '15min',
      description: 'Bucket size; raw = the snapshots themselves.',
    }),
    device: Type.Optional(
      Type.String({
        pattern: DEVICE_NAME_PATTERN,
        description:
          "One device of a site (a name of the edge config's `devices:` list): that device's own readings " +
          '(`{timestamp, type, stale, …fields}`), with resolution=raw. Aggregates are of the whole home.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const HistorySchema = Type.Object(
  {
    device_id: Type.String(),
    resolution: Type.String(),
    start: LocalTime('Start of the range.'),
    end: LocalTime('End of the range (exclusive).'),
    device: Type.Optional(Type.String({ description: 'The device of the site asked for (query `device`).' })),
    points: Type.Array(
      Type.Union([
        Type.Ref(BucketPointSchema),
        Type.Ref(SnapshotOutSchema),
        Type.Object(
          { timestamp: Type.String(), type: Type.String(), stale: Type.Boolean() },
          { additionalProperties: true, description: "One device's reading (query `device`)." },
        ),
      ]),
      {
        description:
          "Buckets whose start lies in [start, end), oldest first; for raw: the snapshots; with `device`: that device's readings.",
      },
    ),
  },
  { $id: 'History' },
);

export const CapacityQuery = Type.Object(
  {
    month: Type.Optional(
      Type.String({ description: 'The local month YYYY-MM (default: the current month).', examples: ['2026-03'] }),
    ),
  },
  { additionalProperties: false },
);

export const CapacitySchema = Type.Object(
  {
    device_id: Type.String(),
    month: Type.String({ description: 'YYYY-MM' }),
    quarters: Type.Array(
      Type.Object({
        start: LocalTime('Start of the clock quarter.'),
        avg_import_w: Nullable(
          Type.Number({ description: 'Average import power over the quarter (kWh × 4000); null without data.' }),
        ),
      }),
      { description: 'Every completed quarter of the month (up to the running one), oldest first.' },
    ),
    month_peak_w: Nullable(Type.Number({ description: 'Highest quarter of the month (W) from our data.' })),
    month_peak_start: Nullable(Type.String({ format: 'date-time' })),
    meter_month_peak_w: Nullable(
      Type.Number({ description: "The meter's own monthly peak (1-0:1.6.0) in the latest snapshot." }),
    ),
    history: Type.Array(Type.Object({ month: Type.String(), peak_w: Nullable(Type.Number()) }), {
      description: 'The peaks of the 12 months ending with this one, oldest first.',
    }),
    rolling_12m_avg_w: Nullable(
      Type.Number({ description: 'Billed value: average of 12 monthly peaks, floor applied.' }),
    ),
    rate_eur_per_kw_year: Nullable(Type.Number()),
    yearly_cost_eur: Nullable(Type.Number()),
    forecast: Nullable(
      Type.Object({
        quarter_start: LocalTime('Start of the running quarter.'),
        elapsed_s: Type.Number(),
        avg_so_far_w: Nullable(Type.Number()),
        projected_w: Nullable(
          Type.Number({ description: 'The quarter average at its end if the current import holds.' }),
        ),
        headroom_w: Nullable(
          Type.Number({
            description: 'Constant import power for the rest of the quarter that ends it exactly at the limit.',
          }),
        ),
        new_peak_expected: Type.Boolean(),
      }),
    ),
  },
  { $id: 'CapacityTariff' },
);

export const PeriodQuery = Type.Object(
  {
    period: Type.String({
      default: 'today',
      description:
        'today, yesterday, week (this ISO week), month, year, or a local day YYYY-MM-DD, month YYYY-MM or year YYYY.',
      examples: ['today', '2026-03-29', '2026-03'],
    }),
  },
  { additionalProperties: false },
);
