/**
 * Home Assistant MQTT discovery, the pure part: which sensors a Kwartier home has, their discovery
 * messages, and the state message they read. No I/O; publisher.ts sends what this builds.
 *
 * Conventions followed (HA's docs: integrations/mqtt "Discovery", integrations/sensor.mqtt, and
 * docs/energy/faq "Troubleshooting missing entities"; listed in docs/integrations.md):
 * - one discovery message per sensor on `<prefix>/sensor/<unique_id>/config`, retained: the
 *   object id is the unique id and there is no node id (the docs' best practice). Per-sensor
 *   messages rather than one device message, because every HA release with MQTT discovery reads
 *   them (device-based discovery needs HA 2024.12 or later);
 * - every sensor carries the same `device` (one HA device per home), `origin`, `availability_topic`
 *   and `state_topic`; its `value_template` picks its key out of the one JSON state message;
 * - unique ids are `kwartier_<device_id>_<key>`: the home's id and the field, so they are the same
 *   after every restart and HA keeps the entities' history and settings;
 * - power is `power`/W/`measurement`; meter counters are `energy`/kWh, `gas`/m³ and `water`/m³
 *   with `total_increasing` (a drop is a new meter cycle), which is what the Energy dashboard
 *   accepts for grid, solar, battery, gas and water;
 * - an unknown value is JSON null in the state message: the template renders it as `None`, the
 *   payload HA's MQTT sensor takes for "unknown" (core mqtt/const.py PAYLOAD_NONE, mqtt/sensor.py
 *   `_update_state`). Never 0.
 */
import type { Snapshot } from '../../core/snapshot.js';
import { KWARTIER_VERSION } from '../../core/version.js';
import type { CapacityStatus } from '../capacity-watch.js';

export type DeviceClass = 'power' | 'energy' | 'gas' | 'water' | 'battery' | 'current';
export type StateClass = 'measurement' | 'total_increasing';
export type Unit = 'W' | 'kWh' | 'm³' | '%' | 'A';

/** What one sensor's value is computed from. */
export interface StateInput {
  snapshot: Snapshot;
  /** The capacity watch's status after that snapshot; null before it has one. */
  capacity: CapacityStatus | null;
}

interface SensorSpec {
  /** The key in the state message and the end of the unique id. */
  key: string;
  name: string;
  device_class?: DeviceClass;
  state_class?: StateClass;
  unit?: Unit;
  /** Decimals HA shows (the value is sent unrounded). */
  precision?: number;
  icon?: string;
}

interface HomeSensor extends SensorSpec {
  value(input: StateInput): number | null;
}

const power = { device_class: 'power', state_class: 'measurement', unit: 'W', precision: 0 } as const;
const energy = { device_class: 'energy', state_class: 'total_increasing', unit: 'kWh', precision: 3 } as const;
const volume = { state_class: 'total_increasing', unit: 'm³', precision: 3 } as const;

const field =
  (name: keyof Snapshot) =>
  ({ snapshot }: StateInput): number | null => {
    const v = snapshot[name];
    return typeof v === 'number' ? v : null;
  };

const quarter =
  (name: 'avg_so_far_w' | 'projected_w' | 'headroom_w' | 'month_peak_w') =>
  ({ capacity }: StateInput): number | null =>
    capacity?.[name] ?? null;

/** The home's sensors, in the order they are announced. Keys are snapshot field names where there is one. */
export const HOME_SENSORS: readonly HomeSensor[] = [
  { key: 'grid_power_w', name: 'Grid power', ...power, value: field('grid_power_w') },
  {
    key: 'grid_import_power_w',
    name: 'Grid import power',
    ...power,
    icon: 'mdi:transmission-tower-import',
    value: ({ snapshot: s }) => (s.grid_power_w === null ? null : Math.max(0, s.grid_power_w)),
  },
  {
    key: 'grid_export_power_w',
    name: 'Grid export power',
    ...power,
    icon: 'mdi:transmission-tower-export',
    value: ({ snapshot: s }) => (s.grid_power_w === null ? null : Math.max(0, -s.grid_power_w)),
  },
  { key: 'pv_power_w', name: 'Solar power', ...power, icon: 'mdi:solar-power', value: field('pv_power_w') },
  { key: 'battery_power_w', name: 'Battery power', ...power, value: field('battery_power_w') },
  {
    key: 'battery_soc_pct',
    name: 'Battery state of charge',
    device_class: 'battery',
    state_class: 'measurement',
    unit: '%',
    precision: 0,
    value: field('battery_soc_pct'),
  },
  { key: 'load_power_w', name: 'Load power', ...power, icon: 'mdi:home-lightning-bolt', value: field('load_power_w') },
  { key: 'grid_import_t1_kwh', name: 'Grid import tariff 1', ...energy, value: field('grid_import_t1_kwh') },
  { key: 'grid_import_t2_kwh', name: 'Grid import tariff 2', ...energy, value: field('grid_import_t2_kwh') },
  { key: 'grid_export_t1_kwh', name: 'Grid export tariff 1', ...energy, value: field('grid_export_t1_kwh') },
  { key: 'grid_export_t2_kwh', name: 'Grid export tariff 2', ...energy, value: field('grid_export_t2_kwh') },
  { key: 'pv_total_kwh', name: 'Solar energy', ...energy, value: field('pv_total_kwh') },
  { key: 'battery_total_charge_kwh', name: 'Battery energy in', ...energy, value: field('battery_total_charge_kwh') },
  {
    key: 'battery_total_discharge_kwh',
    name: 'Battery energy out',
    ...energy,
    value: field('battery_total_discharge_kwh'),
  },
  { key: 'gas_total_m3', name: 'Gas', device_class: 'gas', ...volume, value: field('gas_total_m3') },
  { key: 'water_total_m3', name: 'Water', device_class: 'water', ...volume, value: field('water_total_m3') },
  {
    key: 'quarter_avg_w',
    name: 'Quarter-hour average',
    ...power,
    icon: 'mdi:timer-sand',
    value: quarter('avg_so_far_w'),
  },
  {
    key: 'quarter_forecast_w',
    name: 'Quarter-hour forecast',
    ...power,
    icon: 'mdi:chart-timeline-variant',
    value: quarter('projected_w'),
  },
  {
    key: 'quarter_headroom_w',
    name: 'Quarter-hour headroom',
    ...power,
    icon: 'mdi:arrow-collapse-up',
    value: quarter('headroom_w'),
  },
  { key: 'month_peak_w', name: 'Month peak', ...power, icon: 'mdi:summit', value: quarter('month_peak_w') },
];

/** Each EV charger's sensors; the key is `<device name>_<field>`, the value its `devices.<name>.fields.<field>`. */
export const CHARGER_SENSORS: readonly (SensorSpec & { field: string })[] = [
  { key: 'ev_power_w', field: 'ev_power_w', name: 'charging power', ...power, icon: 'mdi:ev-station' },
  { key: 'ev_session_kwh', field: 'ev_session_kwh', name: 'session energy', ...energy },
  {
    key: 'ev_current_set_a',
    field: 'ev_current_set_a',
    name: 'current setting',
    device_class: 'current',
    state_class: 'measurement',
    unit: 'A',
    precision: 1,
  },
  { key: 'ev_state', field: 'ev_state', name: 'state', icon: 'mdi:ev-plug-type2' },
];

/** What discovery needs to know about the home. */
export interface HomeDescription {
  /** The edge's `device_id`. */
  deviceId: string;
  /** The names of the site's devices with the `ev_charger` role, in config order. */
  chargers: readonly string[];
  /** Home Assistant's discovery prefix (`home_assistant.discovery_prefix`). */
  discoveryPrefix: string;
}

/** A sensor's discovery config (HA's MQTT sensor keys, unabbreviated). */
export interface SensorConfig {
  name: string;
  unique_id: string;
  state_topic: string;
  value_template: string;
  availability_topic: string;
  payload_available: 'online';
  payload_not_available: 'offline';
  device_class?: DeviceClass;
  state_class?: StateClass;
  unit_of_measurement?: Unit;
  suggested_display_precision?: number;
  icon?: string;
  device: {
    identifiers: string[];
    name: string;
    manufacturer: string;
    model: string;
    sw_version: string;
  };
  origin: { name: string; sw_version: string };
}

export interface DiscoveryMessage {
  topic: string;
  config: SensorConfig;
}

/** The state message: every sensor's key, its value or null (unknown). */
export type StateMessage = Record<string, number | string | null>;

/** Characters HA allows in ids and topic levels of discovery; anything else becomes `_`. */
function idPart(s: string): string {
  return s.replace(/[^a-zA-Z0-9_-]/g, '_');
}

/** The home's topics on the Home Assistant broker. */
export function homeTopics(deviceId: string): { state: string; availability: string } {
  const base = `kwartier/${deviceId}`;
  return { state: `${base}/state`, availability: `${base}/availability` };
}

export function uniqueId(deviceId: string, key: string): string {
  return `kwartier_${idPart(deviceId)}_${idPart(key)}`;
}

/** Every sensor of the home with its state key: the home's, then each charger's. */
function sensorsOf(home: HomeDescription): SensorSpec[] {
  const out: SensorSpec[] = [...HOME_SENSORS];
  for (const charger of home.chargers) {
    for (const c of CHARGER_SENSORS) out.push({ ...c, key: `${charger}_${c.key}`, name: `${charger} ${c.name}` });
  }
  return out;
}

/** The retained discovery messages of the home: one per sensor. */
export function buildDiscovery(home: HomeDescription): DiscoveryMessage[] {
  const topics = homeTopics(home.deviceId);
  const device = {
    identifiers: [`kwartier_${idPart(home.deviceId)}`],
    name: `Kwartier ${home.deviceId}`,
    manufacturer: 'Kwartier',
    model: 'Kwartier edge',
    sw_version: KWARTIER_VERSION,
  };
  const origin = { name: 'Kwartier', sw_version: KWARTIER_VERSION };
  return sensorsOf(home).map((s) => {
    const id = uniqueId(home.deviceId, s.key);
    const config: SensorConfig = {
      name: s.name,
      unique_id: id,
      state_topic: topics.state,
      // Brackets: a device name may hold a `-`, which Jinja would read as a minus.
      value_template: `{{ value_json['${s.key}'] }}`,
      availability_topic: topics.availability,
      payload_available: 'online',
      payload_not_available: 'offline',
      ...(s.device_class ? { device_class: s.device_class } : {}),
      ...(s.state_class ? { state_class: s.state_class } : {}),
      ...(s.unit ? { unit_of_measurement: s.unit } : {}),
      ...(s.precision !== undefined ? { suggested_display_precision: s.precision } : {}),
      ...(s.icon ? { icon: s.icon } : {}),
      device,
      origin,
    };
    return { topic: `${home.discoveryPrefix}/sensor/${id}/config`, config };
  });
}

/** The state message for the newest snapshot: every key of every sensor, null where unknown. */
export function buildState(home: HomeDescription, input: StateInput): StateMessage {
  const out: StateMessage = {};
  for (const s of HOME_SENSORS) out[s.key] = finite(s.value(input));
  const devices = input.snapshot.devices ?? null;
  for (const charger of home.chargers) {
    const reading = devices?.[charger];
    for (const c of CHARGER_SENSORS) {
      const v = reading && !reading.stale ? reading.fields[c.field] : undefined;
      out[`${charger}_${c.key}`] = typeof v === 'string' ? v : finite(v ?? null);
    }
  }
  return out;
}

function finite(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
