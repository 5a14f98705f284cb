/**
 * Control (GET and PUT /api/v1/control/{device_id}, docs/control.md "From the server"): the
 * settings the server wants for a home, the settings its edge acknowledged, the running quarter's
 * budget from the newest snapshot and the edge's last decisions with their reasons. The wire parts
 * are the MQTT contract's own schemas (core/wire-control.ts), so one definition serves both.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ControlBudgetSchema, DEVICE_NAME_PATTERN } from '../snapshot.js';
import { validationErrors } from '../validate.js';
import {
  ControlAppliedSchema,
  ControlChargerWantSchema,
  ControlDecisionEntrySchema,
  ControlWantSchema,
} from '../wire-control.js';
import { LocalTime, Nullable, StringEnum } from './json-schema.js';

export const CONTROL_SYNC = ['none', 'pending', 'applied', 'rejected'] as const;

/** One charger's change: each key given replaces, null = that key back to the edge config's. */
export const ChargerChangeSchema = Type.Object(
  {
    mode: Type.Optional(
      Type.Union([...ControlChargerWantSchema.properties.mode.anyOf, Type.Null()], {
        description: 'off | solar | min_solar | max_under_peak | deadline',
      }),
    ),
    energy_kwh: Type.Optional(
      Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 500 }), Type.Null()], {
        description: 'Deadline mode: the energy to deliver, kWh.',
      }),
    ),
    deadline: Type.Optional(
      Type.Union([Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }), Type.Null()], {
        description: 'Deadline mode: by this local time, HH:MM.',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** A change of the wanted settings (the PUT body): each key given replaces, null = the edge config's again. */
export const ControlChangeSchema = Type.Object(
  {
    capacity_target_w: Type.Optional(
      Type.Union([Type.Number({ minimum: 0, maximum: 1_000_000 }), Type.Literal('follow_peak'), Type.Null()], {
        description: 'The monthly peak to stay under, W, or follow_peak; null: the edge config’s.',
      }),
    ),
    dry_run: Type.Optional(Type.Union([Type.Boolean(), Type.Null()], { description: 'Decide and write nothing.' })),
    chargers: Type.Optional(
      Type.Record(Type.String({ pattern: DEVICE_NAME_PATTERN }), Type.Union([ChargerChangeSchema, Type.Null()]), {
        maxProperties: 16,
        additionalProperties: false,
        description: 'By charger name (the edge config’s control.chargers); null: all its keys back.',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ControlChange = Static<typeof ControlChangeSchema>;

/**
 * What is wrong with a PUT body, each naming its key; [] when nothing. A charger's entry is checked
 * on its own first, so its own key is named (`chargers.car.mode: …`), not the union around it.
 */
export function controlChangeErrors(body: unknown): string[] {
  const errors = validationErrors(ControlChangeSchema, body, 'body').map((e) => e.replace(/^body\./, ''));
  if (errors.length === 0) return [];
  const chargers = (body as { chargers?: unknown } | null)?.chargers;
  if (chargers !== null && typeof chargers === 'object' && !Array.isArray(chargers)) {
    for (const [name, c] of Object.entries(chargers)) {
      if (c === null) continue;
      const own = validationErrors(ChargerChangeSchema, c, `chargers.${name}`);
      if (own.length > 0) return own;
    }
  }
  return errors;
}

const DecisionOutSchema = Type.Object({
  ...ControlDecisionEntrySchema.properties,
  at: LocalTime('When the set-point changed.'),
});

export const ControlAnswerSchema = Type.Object(
  {
    device_id: Type.String(),
    can_write: Type.Boolean({ description: 'The token asking may change the settings (scope write).' }),
    wanted: Nullable(
      Type.Object({
        revision: Type.Integer({ description: 'One more with each change.' }),
        settings: ControlWantSchema,
        updated_at: LocalTime('When it was changed.'),
        updated_by: Type.String({ description: 'The name of the token that changed it.' }),
      }),
    ),
    applied: Nullable(
      Type.Object({
        revision: Nullable(
          Type.Integer({ description: 'The wanted revision the edge applies; null: its own config.' }),
        ),
        rejected: Nullable(
          Type.Object({
            revision: Type.Integer(),
            reason: Type.String({ description: 'What the edge refused, by key.' }),
          }),
        ),
        settings: ControlAppliedSchema,
        timestamp: LocalTime("The edge's clock when it said so."),
      }),
    ),
    sync: StringEnum(CONTROL_SYNC, {
      description:
        'none: nothing wanted; pending: the edge has not acknowledged the wanted revision yet; applied: it has; ' +
        'rejected: it refused it (applied.rejected says why).',
    }),
    budget: Nullable(
      Type.Object({
        ...ControlBudgetSchema.properties,
        timestamp: LocalTime('The snapshot that carried it.'),
      }),
    ),
    decisions: Type.Array(DecisionOutSchema, { description: 'The edge’s latest set-point changes, oldest first.' }),
  },
  { $id: 'Control' },
);
export type ControlAnswer = Static<typeof ControlAnswerSchema>;
export type ControlDecisionOut = Static<typeof DecisionOutSchema>;

export const ControlPutAnswerSchema = Type.Object(
  {
    device_id: Type.String(),
    revision: Type.Integer({ description: 'The revision of the settings now wanted.' }),
    settings: ControlWantSchema,
    published: Type.Boolean({
      description: 'Handed to the broker now (false: the server is not connected; it sends them when it is).',
    }),
  },
  { $id: 'ControlAccepted' },
);
export type ControlPutAnswer = Static<typeof ControlPutAnswerSchema>;
