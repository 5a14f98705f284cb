/**
 * The server config file (YAML). Unknown keys are errors; every error names its key.
 * Reference: docs/configuration.md. Example: config/server.example.yaml.
 */
import { isIP } from 'node:net';
import { type Static, Type } from '@sinclair/typebox';
import { ConfigError } from '../core/errors.js';
import { isLoopbackHost } from '../core/host-port.js';
import { isValidZone } from '../core/time/index.js';
import { loadConfigFile } from '../lib/config-file.js';
import { checkExportersConfig, ExportersSchema } from './exporters/config.js';

const Tls = Type.Object(
  {
    ca_cert: Type.String({ minLength: 1 }),
    cert: Type.String({ minLength: 1 }),
    key: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);

export const ServerConfigSchema = Type.Object(
  {
    /** Local time zone for days, weeks, months, day/night hours and capacity-tariff quarters. */
    timezone: Type.String({ default: 'Europe/Brussels', minLength: 1 }),
    store: Type.Object(
      {
        type: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], { default: 'sqlite' }),
        /** sqlite: the database file. */
        path: Type.Optional(Type.String({ minLength: 1 })),
        /** postgres: a connection string, e.g. postgres://kwartier@127.0.0.1:5432/kwartier */
        url: Type.Optional(Type.String({ minLength: 1 })),
        /** postgres: the schema holding Kwartier's tables. */
        schema: Type.String({ default: 'kwartier', minLength: 1, pattern: '^[a-z_][a-z0-9_]*$' }),
        raw_retention_days: Type.Number({ default: 7, exclusiveMinimum: 0, maximum: 3650 }),
        /** Dead letters (rejected messages) are kept this many days. */
        dead_letter_retention_days: Type.Number({ default: 30, exclusiveMinimum: 0, maximum: 3650 }),
        /** Retention runs a minute after start-up, then this often. */
        retention_interval_minutes: Type.Integer({ default: 60, minimum: 1, maximum: 1440 }),
        /** postgres: 'off' plain PostgreSQL (tested); 'on'/'auto' TimescaleDB (untested opt-in). */
        timescale: Type.Union([Type.Literal('off'), Type.Literal('on'), Type.Literal('auto')], { default: 'off' }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** What the ingester accepts (docs/mqtt.md, "Bounded input"). */
    ingest: Type.Object(
      {
        /** Snapshots stamped more than this many days before the server's clock are dead-lettered. */
        max_past_days: Type.Number({ default: 3650, exclusiveMinimum: 0, maximum: 36_500 }),
        /** …and more than this many seconds after it. */
        max_future_s: Type.Number({ default: 86_400, minimum: 0, maximum: 31_536_000 }),
        /** The most power a home can draw or feed (W): a counter rising faster is a jump, kept out of the aggregates. */
        max_power_w: Type.Number({ default: 100_000, exclusiveMinimum: 0, maximum: 1e9 }),
        /** Seconds added to the time between two counter values before that bound applies. */
        counter_slack_s: Type.Number({ default: 60, minimum: 0, maximum: 86_400 }),
        /** Dead letters one device may write at once… */
        dead_letter_burst: Type.Integer({ default: 20, minimum: 1, maximum: 100_000 }),
        /** …and then per minute; the rest is counted, not stored. */
        dead_letters_per_minute: Type.Number({ default: 6, minimum: 0, maximum: 100_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** The MQTT broker the ingester subscribes to. */
    mqtt: Type.Object(
      {
        url: Type.String({ default: 'mqtt://127.0.0.1:1883', minLength: 1 }),
        tls: Type.Union([Tls, Type.Null()], { default: null }),
        topic_prefix: Type.String({ default: 'energy', minLength: 1, pattern: '^[^#+]+$' }),
        client_id: Type.String({ default: 'kwartier-ingester', minLength: 1 }),
        username: Type.Optional(Type.String()),
        password: Type.Optional(Type.String()),
      },
      { additionalProperties: false, default: {} },
    ),
    /** An embedded MQTT broker for a single home (instead of Mosquitto). */
    broker: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ default: 1883, minimum: 0, maximum: 65535 }),
        tls: Type.Union([Tls, Type.Null()], { default: null }),
        /** Listen beyond loopback without TLS (anyone on the network may then pose as any device). */
        insecure: Type.Boolean({ default: false }),
        /** Open connections in all, and from one remote address. */
        max_connections: Type.Integer({ default: 1000, minimum: 1 }),
        max_connections_per_address: Type.Integer({ default: 32, minimum: 1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    api: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
        /**
         * Bearer tokens, each granting a list of device ids ("*" = all), to read (the default) or to
         * read and write (change a home's control settings: PUT /api/v1/control).
         */
        tokens: Type.Array(
          Type.Object(
            {
              name: Type.String({ minLength: 1 }),
              token: Type.String({ minLength: 16 }),
              devices: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
              scope: Type.Union([Type.Literal('read'), Type.Literal('write')], {
                default: 'read',
                errorMessage: 'must be read or write',
              }),
            },
            { additionalProperties: false },
          ),
          { default: [] },
        ),
        rate_limit: Type.Object(
          {
            max: Type.Integer({ default: 1200, minimum: 1 }),
            window_s: Type.Integer({ default: 60, minimum: 1 }),
          },
          { additionalProperties: false, default: {} },
        ),
        /**
         * The reverse proxies whose X-Forwarded-For is believed (the rate limit's client address):
         * false (default), or their addresses/CIDRs (or loopback, linklocal, uniquelocal). No hop
         * count: it cannot tell the proxy from a direct client, and Fastify 5 ignores it.
         */
        trust_proxy: Type.Union(
          [Type.Boolean(), Type.Integer(), Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 64 })],
          { default: false },
        ),
        /** Open WebSockets: in all, per token, per client address (see api.trust_proxy). */
        websocket: Type.Object(
          {
            max_clients: Type.Integer({ default: 1000, minimum: 1 }),
            max_per_token: Type.Integer({ default: 50, minimum: 1 }),
            max_per_address: Type.Integer({ default: 100, minimum: 1 }),
          },
          { additionalProperties: false, default: {} },
        ),
        /** Serve the dashboard (web/dist) at /. */
        dashboard: Type.Boolean({ default: true }),
        /** History days kept rendered in the store and joined into answers (api/day-blocks.ts). */
        history_day_blocks: Type.Boolean({ default: true }),
      },
      { additionalProperties: false, default: {} },
    ),
    /**
     * Where committed snapshots go besides the store: `influxdb`, `pvoutput`, and the per-home Prometheus series (exporters/config.ts).
     * Each is off unless its section is present.
     */
    exporters: ExportersSchema,
    /**
     * The day-ahead price feed (docs/tariffs.md §1.5): prices of the bidding zone fetched after
     * publication and stored, for dynamic contracts and GET /api/v1/prices.
     */
    prices: Type.Object(
      {
        /** Off by default: the server then makes no request of its own to the internet. */
        enabled: Type.Boolean({ default: false }),
        /** energy-charts (Fraunhofer ISE, no registration) or entsoe (ENTSO-E, needs `token`). */
        source: Type.Union([Type.Literal('energy-charts'), Type.Literal('entsoe')], {
          default: 'energy-charts',
          errorMessage: 'must be energy-charts or entsoe',
        }),
        /** The bidding zone: BE or NL. */
        zone: Type.Union([Type.Literal('BE'), Type.Literal('NL')], { default: 'BE', errorMessage: 'must be BE or NL' }),
        /** ENTSO-E's security token (transparency.entsoe.eu, "My Account"). */
        token: Type.Optional(Type.String({ minLength: 1 })),
        /** The feed's base URL; default the source's public API. */
        base_url: Type.Optional(Type.String({ minLength: 1 })),
        /** Days before today kept complete (fetched where missing). */
        backfill_days: Type.Integer({ default: 35, minimum: 0, maximum: 366 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Per-device settings: tariffs, country, capacity target. */
    devices: Type.Record(
      Type.String(),
      Type.Object(
        {
          country: Type.Union([Type.Literal('be'), Type.Literal('nl')], { default: 'be' }),
          /** Path of a tariff file (see config/tariffs.example.yaml), relative to this config file. */
          tariffs: Type.Optional(Type.String({ minLength: 1 })),
          /** Day/night hours when the meter gives no tariff: '7-22' or '6-21'. */
          day_hours: Type.Union([Type.Literal('7-22'), Type.Literal('6-21')], { default: '7-22' }),
          /** Capacity tariff: an own target for the monthly peak (W) instead of the month's peak so far. */
          capacity_target_w: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          /** Alert this many seconds before a quarter ends when a new monthly peak is expected. */
          capacity_alert_lead_s: Type.Integer({ default: 300, minimum: 0, maximum: 900 }),
        },
        // The default lets TypeBox fill the keys' defaults inside each record value.
        { additionalProperties: false, default: {} },
      ),
      { default: {} },
    ),
  },
  { additionalProperties: false },
);

export type ServerConfig = Static<typeof ServerConfigSchema>;

/** An entry of api.trust_proxy as Fastify's trustProxy (proxy-addr) takes it. */
function isProxyAddress(a: string): boolean {
  if (a === 'loopback' || a === 'linklocal' || a === 'uniquelocal') return true;
  const [ip, bits, ...rest] = a.split('/');
  const v = isIP(ip ?? '');
  if (v === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  if (isIP(bits) === v) return true; // an address/netmask
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (v === 4 ? 32 : 128);
}

export function checkServerConfig(cfg: ServerConfig, what: string): ServerConfig {
  if (cfg.store.type === 'sqlite' && !cfg.store.path)
    throw new ConfigError(`${what}: store.path: is required for store.type sqlite`);
  if (cfg.store.type === 'postgres' && !cfg.store.url)
    throw new ConfigError(`${what}: store.url: is required for store.type postgres`);
  if (cfg.broker.enabled && !cfg.broker.tls && !isLoopbackHost(cfg.broker.host) && !cfg.broker.insecure)
    throw new ConfigError(
      `${what}: broker.host: ${JSON.stringify(cfg.broker.host)} is not a loopback address and broker.tls is not set: ` +
        'every device on that network could connect as any home (identity = MQTT username, no password). ' +
        'Set broker.tls (certificates from `kwartier certs init`), or broker.insecure: true if you mean it',
    );
  const trust = cfg.api.trust_proxy;
  if (trust === true)
    throw new ConfigError(
      `${what}: api.trust_proxy: true would believe any client's X-Forwarded-For; list the proxy's addresses instead`,
    );
  if (typeof trust === 'number')
    throw new ConfigError(
      `${what}: api.trust_proxy: a hop count cannot tell the proxy from a direct client; list the proxy's addresses instead`,
    );
  if (Array.isArray(trust)) {
    trust.forEach((a, i) => {
      if (!isProxyAddress(a))
        throw new ConfigError(
          `${what}: api.trust_proxy[${i}]: must be an IP address, a CIDR or loopback/linklocal/uniquelocal, got ${JSON.stringify(a)}`,
        );
    });
  }
  checkExportersConfig(cfg.exporters, what);
  checkPrices(cfg.prices, what);
  if (!isValidZone(cfg.timezone)) {
    throw new ConfigError(`${what}: timezone: unknown time zone ${JSON.stringify(cfg.timezone)}`);
  }
  return cfg;
}

/** prices: a token for ENTSO-E; a base URL that is http(s), and https beyond loopback (it may carry the token). */
function checkPrices(p: ServerConfig['prices'], what: string): void {
  if (p.enabled && p.source === 'entsoe' && !p.token)
    throw new ConfigError(
      `${what}: prices.token: is required for prices.source entsoe (register on transparency.entsoe.eu and ask for ` +
        'RESTful API access; or use prices.source energy-charts, which needs none)',
    );
  if (p.base_url === undefined) return;
  let u: URL;
  try {
    u = new URL(p.base_url);
  } catch {
    throw new ConfigError(`${what}: prices.base_url: not a URL: ${JSON.stringify(p.base_url)}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new ConfigError(`${what}: prices.base_url: must be an http or https URL, got ${JSON.stringify(p.base_url)}`);
  if (u.protocol === 'http:' && !isLoopbackHost(u.hostname))
    throw new ConfigError(
      `${what}: prices.base_url: plain http is allowed only to a loopback address (the request may carry the token); use https`,
    );
}

export function loadServerConfig(path: string): ServerConfig {
  return checkServerConfig(loadConfigFile(ServerConfigSchema, path), path);
}
