/**
 * The `exporters:` section of the server config: where committed snapshots go besides the store.
 * Each exporter is off unless its section is present (and not `enabled: false`). Unknown keys are
 * errors naming the key (config.ts validates strictly). Reference: docs/configuration.md,
 * docs/integrations.md.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ConfigError } from '../../core/errors.js';

/** InfluxDB: the v1 `/write` API (`database`) or the v2 `/api/v2/write` API (`bucket` + `org`). */
export const InfluxDbExporterSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    /** Base URL of the InfluxDB, e.g. http://127.0.0.1:8086 (no path). */
    url: Type.String({ minLength: 1 }),
    /** v1: the database (`/write?db=`). */
    database: Type.Optional(Type.String({ minLength: 1 })),
    /** v1: the retention policy (`rp=`); default: the database's default policy. */
    retention_policy: Type.Optional(Type.String({ minLength: 1 })),
    /** v1: basic authentication. */
    username: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String()),
    /** v2: the bucket and organisation (`/api/v2/write?org=&bucket=`). */
    bucket: Type.Optional(Type.String({ minLength: 1 })),
    org: Type.Optional(Type.String({ minLength: 1 })),
    /** `Authorization: Token …` (v2; also InfluxDB 2's v1-compatible /write). InfluxDB 1.8: `user:password`. */
    token: Type.Optional(Type.String({ minLength: 1 })),
    /** The measurement every snapshot is written to. */
    measurement: Type.String({ default: 'kwartier', minLength: 1, maxLength: 64 }),
    /** Points per write request. */
    batch_size: Type.Integer({ default: 5000, minimum: 1, maximum: 100_000 }),
    /** Write what is queued at least this often (ms). */
    flush_interval_ms: Type.Integer({ default: 1000, minimum: 10, maximum: 600_000 }),
    /** Points kept in memory while the InfluxDB is unreachable; beyond it the oldest are dropped (counted, logged). */
    max_buffered_points: Type.Integer({ default: 50_000, minimum: 1, maximum: 10_000_000 }),
    /** A write request that takes longer is abandoned and retried. */
    timeout_s: Type.Number({ default: 10, exclusiveMinimum: 0, maximum: 600 }),
  },
  { additionalProperties: false },
);
export type InfluxDbExporterConfig = Static<typeof InfluxDbExporterSchema>;

/** PVOutput: status uploads per system (one Kwartier home = one PVOutput system). */
export const PvOutputExporterSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    /** PVOutput's base URL (the API lives under /service/r2/). */
    url: Type.String({ default: 'https://pvoutput.org', minLength: 1 }),
    /** The status interval set in the PVOutput system's settings: one status per this many minutes. */
    interval_minutes: Type.Union([Type.Literal(5), Type.Literal(10), Type.Literal(15)], { default: 5 }),
    /** Requests per hour per API key (60; 300 in donation mode). */
    rate_limit_per_hour: Type.Integer({ default: 60, minimum: 1, maximum: 10_000 }),
    /** Statuses per addbatchstatus request when catching up (30; 100 in donation mode). */
    batch_size: Type.Integer({ default: 30, minimum: 1, maximum: 100 }),
    /** Missed intervals older than this are not sent (PVOutput refuses statuses older than 14 days; 90 donors). */
    max_age_days: Type.Integer({ default: 14, minimum: 1, maximum: 90 }),
    /** A request that takes longer is abandoned and retried. */
    timeout_s: Type.Number({ default: 30, exclusiveMinimum: 0, maximum: 600 }),
    systems: Type.Array(
      Type.Object(
        {
          /** The Kwartier home (device id) whose data this system shows. */
          device_id: Type.String({ minLength: 1 }),
          /** The PVOutput system id (X-Pvoutput-SystemId). */
          system_id: Type.Integer({ minimum: 1 }),
          /** The API key with write access (X-Pvoutput-Apikey). */
          api_key: Type.String({ minLength: 1 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 1000 },
    ),
  },
  { additionalProperties: false },
);
export type PvOutputExporterConfig = Static<typeof PvOutputExporterSchema>;

/**
 * exporters.prometheus: the per-home series on /metrics (docs/integrations.md, "Prometheus"). Off
 * unless per_home is true; max_homes and expire_after_s bound the per-home label values of every
 * family on /metrics (the ingest lag and edge buffer depth too), so many homes cannot blow it up.
 */
export const PrometheusExporterSchema = Type.Object(
  {
    /** Export each home's energy counters, power gauges and capacity figures, labelled device_id. */
    per_home: Type.Boolean({ default: false }),
    /** The most homes with series at once; later homes are counted (left out), not exported. */
    max_homes: Type.Integer({ default: 10_000, minimum: 1, maximum: 1_000_000 }),
    /** A home not heard from (snapshot or status) for this long loses its series. */
    expire_after_s: Type.Integer({ default: 86_400, minimum: 60, maximum: 31_536_000 }),
  },
  { additionalProperties: false, default: {} },
);

export const ExportersSchema = Type.Object(
  {
    influxdb: Type.Optional(InfluxDbExporterSchema),
    pvoutput: Type.Optional(PvOutputExporterSchema),
    prometheus: PrometheusExporterSchema,
  },
  { additionalProperties: false, default: {} },
);
export type ExportersConfig = Static<typeof ExportersSchema>;

function checkHttpUrl(what: string, key: string, url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${what}: ${key}: not a URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new ConfigError(`${what}: ${key}: must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
  if (u.search || u.hash) throw new ConfigError(`${what}: ${key}: must not have a query or fragment`);
}

/** What the schema cannot say: which InfluxDB API, the URLs, one system per home. */
export function checkExportersConfig(ex: ExportersConfig, what: string): void {
  const influx = ex.influxdb;
  if (influx) {
    checkHttpUrl(what, 'exporters.influxdb.url', influx.url);
    if (influx.database === undefined && influx.bucket === undefined)
      throw new ConfigError(
        `${what}: exporters.influxdb: set database (the v1 /write API) or bucket and org (the v2 /api/v2/write API)`,
      );
    if (influx.database !== undefined && influx.bucket !== undefined)
      throw new ConfigError(`${what}: exporters.influxdb.bucket: set either database (v1) or bucket (v2), not both`);
    if (influx.bucket !== undefined && influx.org === undefined)
      throw new ConfigError(`${what}: exporters.influxdb.org: is required with exporters.influxdb.bucket (v2 API)`);
    if (influx.database === undefined) {
      for (const k of ['retention_policy', 'username', 'password'] as const)
        if (influx[k] !== undefined)
          throw new ConfigError(
            `${what}: exporters.influxdb.${k}: is for the v1 API (database); the v2 API uses token`,
          );
    }
    if (influx.database !== undefined && influx.org !== undefined)
      throw new ConfigError(`${what}: exporters.influxdb.org: is for the v2 API (bucket); the v1 API uses database`);
    if (influx.password !== undefined && influx.username === undefined)
      throw new ConfigError(`${what}: exporters.influxdb.password: needs exporters.influxdb.username`);
    if (influx.token !== undefined && influx.username !== undefined)
      throw new ConfigError(`${what}: exporters.influxdb.token: set token or username/password, not both`);
  }
  const pvo = ex.pvoutput;
  if (pvo) {
    checkHttpUrl(what, 'exporters.pvoutput.url', pvo.url);
    const seen = new Map<string, number>();
    pvo.systems.forEach((s, i) => {
      const prev = seen.get(s.device_id);
      if (prev !== undefined)
        throw new ConfigError(
          `${what}: exporters.pvoutput.systems[${i}].device_id: ${JSON.stringify(s.device_id)} is already systems[${prev}]'s`,
        );
      seen.set(s.device_id, i);
    });
  }
}
