/**
 * The MQTT contract of control (part of wire.ts, which re-exports it; docs/mqtt.md, docs/control.md):
 *
 * - `{prefix}/{id}/control` (server → edge, retained, QoS 1): the settings the server wants on top
 *   of the edge's own `control:` section, only the keys it changes (a key absent is the edge
 *   config's), with a revision that rises by one with each change. Only the server may publish it
 *   and only that edge may read it (deploy/mosquitto/acl, server/broker/acl.ts).
 * - `{prefix}/{id}/control_state` (edge → server, retained, QoS 1): the settings the edge applies
 *   now, the revision it acknowledges (or the one it refused, and why), and its last decisions with
 *   their reasons. Keys beyond the ones named are allowed (a newer edge), as on `status`.
 */
import { type Static, Type } from '@sinclair/typebox';
import { CHARGER_MODES } from './control/config.js';
import { DEVICE_NAME_PATTERN, MAX_DEVICES } from './snapshot.js';

const DeviceIdField = Type.String({ minLength: 1, maxLength: 64 });
const TimestampField = Type.String({ format: 'date-time', minLength: 20, maxLength: 30 });
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

const HhMm = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'A local time HH:MM.' });
const ChargerModeField = Type.Union(
  CHARGER_MODES.map((m) => Type.Literal(m)),
  { description: 'off | solar | min_solar | max_under_peak | deadline' },
);
const TargetField = Type.Union([Type.Number({ minimum: 0, maximum: 1_000_000 }), Type.Literal('follow_peak')], {
  description: 'The monthly peak to stay under, W, or follow_peak.',
});
const ChargerName = Type.String({ pattern: DEVICE_NAME_PATTERN });

/** One charger's wanted settings: its mode and the deadline mode's parameters. */
export const ControlChargerWantSchema = Type.Object(
  {
    mode: Type.Optional(ChargerModeField),
    energy_kwh: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 500 })),
    deadline: Type.Optional(HhMm),
  },
  { additionalProperties: false },
);
export type ControlChargerWant = Static<typeof ControlChargerWantSchema>;

/** The settings the server wants: each key overrides the edge config's; an absent key leaves it. */
export const ControlWantSchema = Type.Object(
  {
    capacity_target_w: Type.Optional(TargetField),
    dry_run: Type.Optional(Type.Boolean()),
    chargers: Type.Optional(
      Type.Record(ChargerName, ControlChargerWantSchema, { maxProperties: MAX_DEVICES, additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type ControlWant = Static<typeof ControlWantSchema>;

/** `control`: a revision of the wanted settings. The revision rises by one with each change. */
export const ControlMessageSchema = Type.Object(
  {
    revision: Type.Integer({ minimum: 1 }),
    issued_at: TimestampField,
    settings: ControlWantSchema,
  },
  { additionalProperties: false },
);
export type ControlMessage = Static<typeof ControlMessageSchema>;

/** A charger's settings as the edge applies them. */
const AppliedChargerSchema = Type.Object({
  mode: ChargerModeField,
  energy_kwh: Type.Union([Type.Number(), Type.Null()]),
  deadline: Type.Union([HhMm, Type.Null()]),
  min_current_a: Type.Number(),
  max_current_a: Type.Number(),
  phases: Type.Union([Type.Literal(1), Type.Literal(3)]),
});

/** A battery's settings as the edge applies them. */
const AppliedBatterySchema = Type.Object({
  reserve_soc_pct: Type.Number(),
  hold_soc_pct: Type.Number(),
  max_charge_w: Type.Number(),
  max_discharge_w: Type.Number(),
});

export const ControlAppliedSchema = Type.Object({
  capacity_target_w: TargetField,
  dry_run: Type.Boolean(),
  chargers: Type.Record(ChargerName, AppliedChargerSchema, { maxProperties: MAX_DEVICES, additionalProperties: false }),
  batteries: Type.Record(ChargerName, AppliedBatterySchema, {
    maxProperties: MAX_DEVICES,
    additionalProperties: false,
  }),
});
export type ControlApplied = Static<typeof ControlAppliedSchema>;

/** One decision of the edge's control (a charger's or a battery's), when its set-point changed. */
export const ControlDecisionEntrySchema = Type.Object({
  at: TimestampField,
  device: ChargerName,
  kind: Type.Union([Type.Literal('charger'), Type.Literal('battery')]),
  reason: Type.String({ maxLength: 1024 }),
  /** Budget status when decided: ok, stale, unknown. */
  status: Type.String({ maxLength: 16 }),
  /** A charger's: charge, current_a, phases. A battery's: mode, and its powers. */
  setpoint: Type.Record(
    Type.String({ maxLength: 32 }),
    Type.Union([Type.Number(), Type.Boolean(), Type.String({ maxLength: 32 })]),
    {
      maxProperties: 8,
    },
  ),
  /** W the set-point allows (chargers), else null. */
  setpoint_w: NullableNumber,
  /** A charger: false when it draws clearly more than it was told; null: not known or a battery. */
  following: Type.Union([Type.Boolean(), Type.Null()]),
  /** A deadline charger: the plan (energy wanted and delivered, kWh; by when; feasible). */
  deadline: Type.Union([
    Type.Object({
      energy_kwh: Type.Number(),
      delivered_kwh: Type.Number(),
      by: TimestampField,
      possible_kwh: Type.Number(),
      feasible: Type.Boolean(),
      charging_slot: Type.Boolean(),
    }),
    Type.Null(),
  ]),
  soc_pct: NullableNumber,
});
export type ControlDecisionEntry = Static<typeof ControlDecisionEntrySchema>;

/** `control_state` (edge → server): keys beyond these are allowed (a newer edge), as on `status`. */
export const ControlStateMessageSchema = Type.Object({
  device_id: DeviceIdField,
  timestamp: TimestampField,
  /** The revision of `control` now applied; null: the edge's own config alone (none received). */
  revision: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  /** The last revision refused, and why (the key named): the edge kept what it applied before. */
  rejected: Type.Union([
    Type.Object({ revision: Type.Integer({ minimum: 1 }), reason: Type.String({ maxLength: 1024 }) }),
    Type.Null(),
  ]),
  settings: ControlAppliedSchema,
  /** The latest decisions that changed a set-point, oldest first (at most 32). */
  decisions: Type.Array(ControlDecisionEntrySchema, { maxItems: 32 }),
});
export type ControlStateMessage = Static<typeof ControlStateMessageSchema>;
