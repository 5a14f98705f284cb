/**
 * The edge config file (YAML). Unknown keys are errors; every error names its key.
 * Reference: docs/configuration.md. Example: config/edge.example.yaml.
 */
import { dirname, resolve } from 'node:path';
import { type Static, type TObject, Type } from '@sinclair/typebox';
import { type ControlSettings, parseControlConfig } from '../core/control/config.js';
import { ConfigError, KwartierError, withPrefix } from '../core/errors.js';
import type { Role } from '../core/merger.js';
import { isValidZone } from '../core/time/zone.js';
import { parseWithSchema } from '../core/validate.js';
import { DsmrConfigSchema } from '../drivers/dsmr/config.js';
import { HomeWizardConfigSchema } from '../drivers/homewizard/config.js';
import { DRIVERS, driverOf, type SiteDevice } from '../drivers/registry.js';
import { SungrowConfigSchema } from '../drivers/sungrow/config.js';
import { loadConfigFile } from '../lib/config-file.js';

export const BufferConfigSchema = Type.Object(
  {
    db_path: Type.String({ minLength: 1 }),
    max_age_days: Type.Number({ default: 7, exclusiveMinimum: 0, maximum: 366 }),
    cleanup_interval_h: Type.Number({ default: 1, exclusiveMinimum: 0, maximum: 168 }),
  },
  { additionalProperties: false },
);

export const MqttConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ default: 8883, minimum: 1, maximum: 65535 }),
    tls: Type.Union(
      [
        Type.Object(
          {
            ca_cert: Type.String({ minLength: 1 }),
            client_cert: Type.String({ minLength: 1 }),
            client_key: Type.String({ minLength: 1 }),
          },
          { additionalProperties: false },
        ),
        Type.Null(),
      ],
      { default: null },
    ),
    topic_prefix: Type.String({ default: 'energy', minLength: 1, pattern: '^[^#+]+$' }),
    qos: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], { default: 1 }),
  },
  { additionalProperties: false },
);

/**
 * Home Assistant: MQTT discovery on the user's own broker (a second connection, beside the uplink).
 * Optional, off while absent. docs/integrations.md.
 */
export const HomeAssistantMqttSchema = Type.Object(
  {
    host: Type.String({ minLength: 1 }),
    /** Default 1883, or 8883 with TLS. */
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    username: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String()),
    tls: Type.Union(
      [
        Type.Boolean(),
        Type.Object(
          {
            /** The CA that signed the broker's certificate (default: the system's CAs). */
            ca_cert: Type.Optional(Type.String({ minLength: 1 })),
            /** A client certificate and its key, for a broker that asks for one. */
            client_cert: Type.Optional(Type.String({ minLength: 1 })),
            client_key: Type.Optional(Type.String({ minLength: 1 })),
          },
          { additionalProperties: false },
        ),
      ],
      {
        default: false,
        errorMessage: 'must be true, false or {ca_cert, client_cert, client_key}',
      },
    ),
  },
  { additionalProperties: false },
);

export const HomeAssistantConfigSchema = Type.Object(
  {
    mqtt: HomeAssistantMqttSchema,
    /** Home Assistant's discovery prefix (its MQTT integration's setting). */
    discovery_prefix: Type.String({ default: 'homeassistant', minLength: 1, pattern: '^[^#+/]+(/[^#+/]+)*$' }),
    /** At most one state message this often (s); the newest values are sent. */
    state_interval_s: Type.Number({ default: 5, minimum: 1, maximum: 3600 }),
  },
  { additionalProperties: false },
);

export type HomeAssistantConfig = Static<typeof HomeAssistantConfigSchema>;

export const MergerConfigSchema = Type.Object(
  {
    /** A source's values go stale after this many of its poll intervals. */
    stale_after_polls: Type.Number({ default: 3, minimum: 1, maximum: 100 }),
  },
  { additionalProperties: false },
);

export const CapacityConfigSchema = Type.Object(
  {
    /** Alert against this monthly-peak target (W) instead of the month's peak so far. */
    target_w: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    /** Alert only this long before the quarter ends (early projections are noisy). */
    lead_time_s: Type.Number({ default: 300, minimum: 0, maximum: 900 }),
    /** Also alert at the moment the projection crosses the limit. */
    on_cross: Type.Boolean({ default: false }),
    /** Never alert below this (W): quarters under the 2.5 kW minimum cost nothing extra. */
    floor_w: Type.Number({ default: 2500, minimum: 0 }),
  },
  { additionalProperties: false },
);

/** A device's name: lower case, used in logs, `stale_sources`, metrics and the per-device readings. */
export const DEVICE_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,31}$';
export const MAX_DEVICES = 16;

/**
 * One `devices:` entry as the file schema sees it: a name, a type and that type's keys. The type's
 * own keys are checked against its definition's schema by `checkEdgeConfig` (errors name
 * `devices[1].port`).
 */
export const DeviceEntrySchema = Type.Object(
  {
    name: Type.String({ pattern: DEVICE_NAME_PATTERN }),
    type: Type.String({ minLength: 1 }),
  },
  { additionalProperties: true },
);

export const EdgeConfigSchema = Type.Object(
  {
    device_id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }),
    timezone: Type.String({ default: 'Europe/Brussels', minLength: 1 }),
    /** The site: every device with its name and type (src/drivers/registry.ts lists the types). */
    devices: Type.Optional(Type.Array(DeviceEntrySchema, { minItems: 1, maxItems: MAX_DEVICES })),
    // The sections of the releases before `devices:`, each one device named as the section.
    dsmr: Type.Optional(DsmrConfigSchema),
    homewizard: Type.Optional(HomeWizardConfigSchema),
    sungrow: Type.Optional(SungrowConfigSchema),
    merger: Type.Optional(MergerConfigSchema),
    capacity: Type.Optional(CapacityConfigSchema),
    buffer: Type.Optional(BufferConfigSchema),
    mqtt: Type.Optional(MqttConfigSchema),
    home_assistant: Type.Optional(HomeAssistantConfigSchema),
    /**
     * Control of the EV chargers and the home battery on one quarter-hour budget (docs/control.md);
     * checked by `controlSettings` (core/control/config.ts: unknown keys are errors naming the key).
     */
    control: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export type EdgeConfig = Static<typeof EdgeConfigSchema>;

const LEGACY_SECTIONS = ['dsmr', 'homewizard', 'sungrow'] as const;

/** Checks what a schema cannot: choices between sections. Throws ConfigError naming the keys. */
export function checkEdgeConfig(cfg: EdgeConfig, what: string): EdgeConfig {
  if (cfg.dsmr && cfg.homewizard) {
    throw new ConfigError(`${what}: dsmr and homewizard are both P1 sources; configure only one of them`);
  }
  try {
    siteDevices(cfg);
  } catch (err) {
    if (err instanceof KwartierError) throw withPrefix(err, what);
    throw err;
  }
  if (cfg.home_assistant) checkHomeAssistant(cfg.home_assistant, what);
  if (!isValidZone(cfg.timezone)) {
    throw new ConfigError(`${what}: timezone: unknown time zone ${JSON.stringify(cfg.timezone)}`);
  }
  try {
    controlSettings(cfg);
  } catch (err) {
    if (err instanceof KwartierError) throw withPrefix(err, what);
    throw err;
  }
  return cfg;
}

/**
 * The `control:` section resolved (defaults filled), or null without one. Each charger and battery it
 * names must be a device of the site with that role (`ev_charger`, `battery`). Throws ConfigError
 * naming the key (`control: chargers.car.mode: must be one of …`).
 */
export function controlSettings(cfg: EdgeConfig): ControlSettings | null {
  if (cfg.control === undefined || cfg.control === null) return null;
  const settings = parseControlConfig(cfg.control, 'control');
  const devices = siteDevices(cfg);
  const check = (name: string, kind: 'chargers' | 'batteries', role: Role): void => {
    const d = devices.find((x) => x.name === name);
    if (!d?.definition.roles.includes(role)) {
      const fit = devices.filter((x) => x.definition.roles.includes(role)).map((x) => x.name);
      throw new ConfigError(
        `control: ${kind}.${name}: ${d ? `device ${name} (${d.definition.type}) cannot be a ${role}` : `no device named ${name}`}; the site's ${role} devices: ${fit.join(', ') || 'none'}`,
        { key: `control.${kind}.${name}` },
      );
    }
  };
  for (const c of settings.chargers) check(c.name, 'chargers', 'ev_charger');
  for (const b of settings.batteries) check(b.name, 'batteries', 'battery');
  return settings;
}

/**
 * The site's devices, from the `devices:` list or from the sections of the releases before it
 * (`dsmr:`, `homewizard:`, `sungrow:`, one device each, named as the section), never both. Each
 * entry is checked against its type's schema (defaults filled in; errors name `devices[1].port`);
 * names are unique; a site has at most one grid meter. Throws ConfigError naming the key.
 */
export function siteDevices(cfg: EdgeConfig): SiteDevice[] {
  const legacy = LEGACY_SECTIONS.filter((k) => cfg[k] !== undefined);
  const out: SiteDevice[] = [];
  if (cfg.devices !== undefined) {
    if (legacy.length > 0) {
      throw new ConfigError(
        `devices: cannot be combined with the ${legacy.join(', ')} section${legacy.length > 1 ? 's' : ''}: move ${legacy.length > 1 ? 'them' : 'it'} into devices: as {name: ${legacy[0]}, type: ${legacy[0]}, …}`,
        { key: 'devices' },
      );
    }
    const seen = new Map<string, number>();
    cfg.devices.forEach((entry, i) => {
      const key = `devices[${i}]`;
      const definition = driverOf(entry.type);
      if (!definition) {
        throw new ConfigError(
          `${key}.type: unknown device type ${JSON.stringify(entry.type)}; one of ${DRIVERS.map((d) => d.type).join(', ')} (kwartier devices lists them)`,
          { key: `${key}.type` },
        );
      }
      const prev = seen.get(entry.name);
      if (prev !== undefined) {
        throw new ConfigError(`${key}.name: ${JSON.stringify(entry.name)} is already the name of devices[${prev}]`, {
          key: `${key}.name`,
        });
      }
      seen.set(entry.name, i);
      const { name: _n, type: _t, ...keys } = entry as Record<string, unknown>;
      const config = parseKeys(definition.configSchema, keys, key);
      definition.check?.(config as never, key);
      out.push({ name: entry.name, definition, config });
    });
  } else {
    for (const section of legacy) {
      const definition = driverOf(section);
      if (!definition?.fromLegacySection) throw new Error(`driver ${section}: no fromLegacySection`);
      const config = definition.fromLegacySection(cfg[section] as never);
      definition.check?.(config as never, section);
      out.push({ name: section, definition, config });
    }
  }
  if (out.length === 0) {
    throw new ConfigError('no device configured: add a devices: list (or a dsmr, homewizard or sungrow section)');
  }
  const meters = out.filter((d) => d.definition.roles[0] === 'grid_meter');
  if (meters.length > 1) {
    throw new ConfigError(
      `devices: ${meters.map((d) => `${d.name} (${d.definition.type})`).join(' and ')} are both grid meters; a site has one grid meter`,
      { key: 'devices' },
    );
  }
  return out;
}

/** A device's own keys against its type's schema: defaults filled in, every error naming `devices[i].key`. */
function parseKeys(schema: TObject, keys: Record<string, unknown>, key: string): unknown {
  try {
    return parseWithSchema(schema, keys, key, key);
  } catch (err) {
    // parseWithSchema puts `what: ` in front; here what and the key prefix are the same.
    if (err instanceof ConfigError && err.message.startsWith(`${key}: ${key}`))
      throw new ConfigError(err.message.slice(key.length + 2), { key });
    throw err;
  }
}

/** What the schema cannot say about `home_assistant.mqtt`: keys that need each other. */
function checkHomeAssistant(ha: HomeAssistantConfig, what: string): void {
  const m = ha.mqtt;
  const key = 'home_assistant.mqtt';
  if (m.password !== undefined && m.username === undefined) {
    throw new ConfigError(`${what}: ${key}.password: needs ${key}.username`, { key: `${key}.password` });
  }
  if (typeof m.tls === 'object') {
    const { client_cert: cert, client_key: privateKey } = m.tls;
    if ((cert === undefined) !== (privateKey === undefined)) {
      const [has, lacks] = cert === undefined ? ['client_key', 'client_cert'] : ['client_cert', 'client_key'];
      throw new ConfigError(`${what}: ${key}.tls.${has}: needs ${key}.tls.${lacks}`, { key: `${key}.tls.${has}` });
    }
  }
}

export function loadEdgeConfig(path: string): EdgeConfig {
  const cfg = loadConfigFile(EdgeConfigSchema, path);
  // control.tariff_file is relative to this file, as the server's tariff files are to its config.
  const control = cfg.control as { tariff_file?: unknown } | null | undefined;
  if (control && typeof control === 'object' && typeof control.tariff_file === 'string') {
    control.tariff_file = resolve(dirname(path), control.tariff_file);
  }
  return checkEdgeConfig(cfg, path);
}
