/**
 * A Home Assistant MQTT discovery consumer for tests, written from HA's documentation (not from
 * our code), so the edge's messages are checked against what HA reads:
 *
 * - `source/_integrations/mqtt.markdown` (home-assistant.io @0a31440): the topic
 *   `<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`, ids of `[a-zA-Z0-9_-]`, the
 *   `origin` keys (`name` required, `sw_version`, `support_url`), the `device` keys;
 * - `source/_integrations/sensor.mqtt.markdown` (@9e4a69a): every key of an MQTT sensor;
 *   `state_topic` required; `options` only with `device_class: enum` and never with
 *   `state_class` or `unit_of_measurement`; a device needs `identifiers` or `connections`;
 * - `source/_integrations/sensor.markdown` (@0015df1): the units each device class accepts;
 * - `source/_docs/energy/faq.markdown` ("Troubleshooting missing entities"): an Energy-dashboard
 *   sensor is a `sensor` with `state_class` `total` or `total_increasing` and a unit its class
 *   accepts (grid, solar, battery: `energy`; gas: `gas` or `energy`; water: `water`);
 * - HA core `mqtt/const.py` `PAYLOAD_NONE = "None"`, `mqtt/sensor.py` `_update_state`: a state
 *   that renders to `None` makes the sensor unknown.
 *
 * HA itself ignores keys it does not know; this consumer rejects them, so a misspelt key fails.
 */
import { type Static, Type } from '@sinclair/typebox';
import { validationErrors } from '../../src/core/validate.js';

const ID = '^[a-zA-Z0-9_-]+$';

/** The units of the device classes an energy home uses (sensor.markdown). */
export const DEVICE_CLASS_UNITS: Record<string, readonly string[] | null> = {
  power: ['mW', 'W', 'kW', 'MW', 'GW', 'TW'],
  energy: ['J', 'kJ', 'MJ', 'GJ', 'mWh', 'Wh', 'kWh', 'MWh', 'GWh', 'TWh', 'cal', 'kcal', 'Mcal', 'Gcal'],
  gas: ['L', 'm³', 'ft³', 'CCF'],
  water: ['L', 'gal', 'm³', 'ft³', 'CCF'],
  battery: ['%'],
  current: ['A', 'mA'],
  voltage: ['V', 'mV', 'µV', 'kV', 'MV'],
  monetary: null, // an ISO 4217 code
  enum: [],
  timestamp: [],
};

const Availability = Type.Object(
  {
    topic: Type.String({ minLength: 1 }),
    payload_available: Type.Optional(Type.String()),
    payload_not_available: Type.Optional(Type.String()),
    value_template: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const Device = Type.Object(
  {
    configuration_url: Type.Optional(Type.String()),
    connections: Type.Optional(Type.Array(Type.Array(Type.String(), { minItems: 2, maxItems: 2 }))),
    hw_version: Type.Optional(Type.String()),
    identifiers: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 })])),
    manufacturer: Type.Optional(Type.String()),
    model: Type.Optional(Type.String()),
    model_id: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    serial_number: Type.Optional(Type.String()),
    suggested_area: Type.Optional(Type.String()),
    sw_version: Type.Optional(Type.String()),
    via_device: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const Origin = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    sw_version: Type.Optional(Type.String()),
    support_url: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** An MQTT sensor's discovery payload, every documented key, unabbreviated. */
export const HaSensorConfigSchema = Type.Object(
  {
    availability: Type.Optional(Type.Array(Availability, { minItems: 1 })),
    availability_mode: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('any'), Type.Literal('latest')])),
    availability_template: Type.Optional(Type.String()),
    availability_topic: Type.Optional(Type.String({ minLength: 1 })),
    device: Type.Optional(Device),
    device_class: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    enabled_by_default: Type.Optional(Type.Boolean()),
    encoding: Type.Optional(Type.String()),
    entity_category: Type.Optional(Type.Literal('diagnostic')),
    entity_picture: Type.Optional(Type.String()),
    expire_after: Type.Optional(Type.Integer({ minimum: 0 })),
    force_update: Type.Optional(Type.Boolean()),
    icon: Type.Optional(Type.String({ pattern: '^[a-z0-9-]+:[a-z0-9-]+$' })),
    json_attributes_template: Type.Optional(Type.String()),
    json_attributes_topic: Type.Optional(Type.String()),
    last_reset_value_template: Type.Optional(Type.String()),
    name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    object_id: Type.Optional(Type.String()),
    options: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
    origin: Type.Optional(Origin),
    payload_available: Type.Optional(Type.String()),
    payload_not_available: Type.Optional(Type.String()),
    suggested_display_precision: Type.Optional(Type.Integer({ minimum: 0 })),
    qos: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)])),
    state_class: Type.Optional(
      Type.Union([Type.Literal('measurement'), Type.Literal('total'), Type.Literal('total_increasing')]),
    ),
    state_topic: Type.String({ minLength: 1 }),
    unique_id: Type.Optional(Type.String({ minLength: 1 })),
    unit_of_measurement: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    value_template: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type HaSensorConfig = Static<typeof HaSensorConfigSchema>;

/** Problems with one discovery message (topic + JSON payload), as HA's docs state the rules; [] when none. */
export function checkSensorDiscovery(topic: string, payload: string, prefix = 'homeassistant'): string[] {
  const errors: string[] = [];
  const parts = topic.split('/');
  const prefixParts = prefix.split('/');
  const rest = parts.slice(prefixParts.length);
  if (parts.slice(0, prefixParts.length).join('/') !== prefix) errors.push(`topic ${topic}: not under ${prefix}/`);
  if (rest[0] !== 'sensor') errors.push(`topic ${topic}: component is not sensor`);
  if (rest.at(-1) !== 'config' || rest.length < 3 || rest.length > 4) errors.push(`topic ${topic}: not …/config`);
  for (const id of rest.slice(1, -1)) if (!new RegExp(ID).test(id)) errors.push(`topic ${topic}: bad id ${id}`);
  let config: unknown;
  try {
    config = JSON.parse(payload);
  } catch {
    return [...errors, 'payload is not JSON'];
  }
  const schemaErrors = validationErrors(HaSensorConfigSchema, config);
  if (schemaErrors.length > 0) return [...errors, ...schemaErrors];
  const c = config as HaSensorConfig;
  if (c.availability && c.availability_topic) errors.push('availability and availability_topic together');
  if (c.device && !c.device.identifiers && !c.device.connections) errors.push('device without identifiers');
  if (c.device && !c.unique_id) errors.push('device without unique_id');
  if (c.options && (c.device_class !== 'enum' || c.state_class || c.unit_of_measurement))
    errors.push('options need device_class enum and no state_class or unit');
  if (c.last_reset_value_template && c.state_class !== 'total') errors.push('last_reset needs state_class total');
  const dc = c.device_class ?? null;
  if (dc !== null) {
    if (!(dc in DEVICE_CLASS_UNITS)) errors.push(`device_class ${dc}: not one this consumer knows`);
    const units = DEVICE_CLASS_UNITS[dc];
    if (units && units.length > 0 && !units.includes(c.unit_of_measurement ?? ''))
      errors.push(`unit ${c.unit_of_measurement} is not one of ${dc}'s: ${units.join(', ')}`);
    // HA calls `measurement` impossible for these classes (sensor const DEVICE_CLASS_STATE_CLASSES) and warns.
    if (['energy', 'gas', 'water'].includes(dc) && c.state_class === 'measurement')
      errors.push(`${dc} with state_class measurement`);
  }
  return errors;
}

/** Which Energy-dashboard source a sensor can be picked for (energy/faq.markdown), or null. */
export function energyDashboardUse(c: HaSensorConfig): 'energy' | 'gas' | 'water' | null {
  const total = c.state_class === 'total' || c.state_class === 'total_increasing';
  if (!total) return null;
  const unit = c.unit_of_measurement ?? '';
  if (c.device_class === 'energy' && DEVICE_CLASS_UNITS.energy?.includes(unit)) return 'energy';
  if (c.device_class === 'gas' && DEVICE_CLASS_UNITS.gas?.includes(unit)) return 'gas';
  if (c.device_class === 'water' && DEVICE_CLASS_UNITS.water?.includes(unit)) return 'water';
  return null;
}

/**
 * What HA's template makes of a state message for a sensor whose `value_template` is
 * `{{ value_json['key'] }}` or `{{ value_json.key }}`: Jinja prints Python's str() of the value, so
 * JSON null becomes `None` (HA's "unknown"), numbers their repr. Any other template is refused.
 */
export function renderState(valueTemplate: string, stateJson: string): string {
  const m = /^\{\{ ?value_json(?:\['([^']+)'\]|\.([A-Za-z_][A-Za-z0-9_]*)) ?\}\}$/.exec(valueTemplate);
  if (!m) throw new Error(`template not understood by this consumer: ${valueTemplate}`);
  const key = m[1] ?? m[2] ?? '';
  const state = JSON.parse(stateJson) as Record<string, unknown>;
  if (!(key in state)) throw new Error(`state has no ${key}: HA would log an undefined-variable warning`);
  const v = state[key];
  if (v === null) return 'None';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  throw new Error(`${key}: a ${typeof v} where a sensor value is expected`);
}

/** HA core mqtt/const.py: the payload that sets a sensor to unknown. */
export const PAYLOAD_NONE = 'None';
