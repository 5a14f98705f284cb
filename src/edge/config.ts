/**
 * The edge config file (YAML). Unknown keys are errors; every error names its key.
 * Reference: docs/configuration.md. Example: config/edge.example.yaml.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ConfigError } from '../core/errors.js';
import { DsmrConfigSchema } from '../drivers/dsmr/config.js';
import { HomeWizardConfigSchema } from '../drivers/homewizard/config.js';
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

export const EdgeConfigSchema = Type.Object(
  {
    device_id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }),
    timezone: Type.String({ default: 'Europe/Brussels', minLength: 1 }),
    dsmr: Type.Optional(DsmrConfigSchema),
    homewizard: Type.Optional(HomeWizardConfigSchema),
    sungrow: Type.Optional(SungrowConfigSchema),
    merger: Type.Optional(MergerConfigSchema),
    capacity: Type.Optional(CapacityConfigSchema),
    buffer: Type.Optional(BufferConfigSchema),
    mqtt: Type.Optional(MqttConfigSchema),
  },
  { additionalProperties: false },
);

export type EdgeConfig = Static<typeof EdgeConfigSchema>;

/** Checks what a schema cannot: choices between sections. Throws ConfigError naming the keys. */
export function checkEdgeConfig(cfg: EdgeConfig, what: string): EdgeConfig {
  if (cfg.dsmr && cfg.homewizard) {
    throw new ConfigError(`${what}: dsmr and homewizard are both P1 sources; configure only one of them`);
  }
  if (cfg.dsmr) {
    const n = Number(cfg.dsmr.tcp !== undefined) + Number(cfg.dsmr.serial !== undefined);
    if (n !== 1) throw new ConfigError(`${what}: dsmr: set exactly one of dsmr.tcp or dsmr.serial`);
  }
  if (!cfg.dsmr && !cfg.homewizard && !cfg.sungrow) {
    throw new ConfigError(`${what}: no source configured: add dsmr, homewizard or sungrow`);
  }
  if (!isTimeZone(cfg.timezone)) {
    throw new ConfigError(`${what}: timezone: unknown time zone ${JSON.stringify(cfg.timezone)}`);
  }
  return cfg;
}

/**
 * Whether ICU knows the zone. The canonical IANA names are listed cheaply; only another name (an
 * alias such as UTC or US/Eastern) needs an Intl.DateTimeFormat, whose first use costs a process
 * ~8 MB of RSS (drivers/wall-clock.ts).
 */
function isTimeZone(zone: string): boolean {
  if (Intl.supportedValuesOf('timeZone').includes(zone)) return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function loadEdgeConfig(path: string): EdgeConfig {
  return checkEdgeConfig(loadConfigFile(EdgeConfigSchema, path), path);
}
