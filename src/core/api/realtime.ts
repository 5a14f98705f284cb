/**
 * The realtime answers: the latest snapshot (GET /api/v1/realtime/{device_id}) and what the
 * WebSocket (/ws/v1/realtime/{device_id}) pushes: each snapshot as it is stored, and capacity alerts.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ControlBudgetSchema, DevicesSchema, SNAPSHOT_NUMERIC_FIELDS } from '../snapshot.js';
import type { CapacityAlert } from '../wire.js';
import { LocalTime, Nullable, NullableNumber, NullableString } from './json-schema.js';

/** A snapshot as the API answers it: the wire snapshot (core/snapshot.ts) with its times in local time. */
export const SnapshotOutSchema = Type.Object(
  {
    device_id: Type.String(),
    timestamp: LocalTime("The edge's clock."),
    meter_timestamp: Nullable(Type.String({ format: 'date-time' })),
    grid_monthly_peak_timestamp: Nullable(Type.String({ format: 'date-time' })),
    country: NullableString,
    ...(Object.fromEntries(SNAPSHOT_NUMERIC_FIELDS.map((k) => [k, NullableNumber])) as Record<
      (typeof SNAPSHOT_NUMERIC_FIELDS)[number],
      typeof NullableNumber
    >),
    /** Off-grid charge controllers: `bulk`, `absorption`, `float`, …; null when none reports one. */
    charge_state: NullableString,
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
export type SnapshotAnswer = Static<typeof SnapshotOutSchema>;

export const RealtimeSchema = Type.Object(
  {
    ...SnapshotOutSchema.properties,
    age_s: Type.Number({ description: "Seconds between the snapshot's timestamp and now." }),
  },
  { $id: 'Realtime', description: 'The latest snapshot and its age.' },
);
export type RealtimeAnswer = Static<typeof RealtimeSchema>;

/**
 * A capacity-tariff alert as the WebSocket pushes it: the edge's alert (core/wire.ts, topic
 * `capacity`) with the device id of the topic it came on. Snapshots carry no `type`.
 */
export type CapacityAlertPush = CapacityAlert & { device_id: string };
