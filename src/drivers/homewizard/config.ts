import { type Static, Type } from '@sinclair/typebox';

/** `homewizard:` in the edge config: a HomeWizard P1 meter on the LAN (local API v1 or v2). */
export const HomeWizardConfigSchema = Type.Object(
  {
    ip: Type.String({ minLength: 1 }),
    /** Default: 80 for v1, 443 for v2. */
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    poll_interval_s: Type.Number({ default: 1.0, minimum: 0.5, maximum: 3600 }),
    api_version: Type.Union([Type.Literal('v1'), Type.Literal('v2')], { default: 'v1' }),
    /** v2 only: the token from `kwartier homewizard pair HOST`. */
    token: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
    /** v2 only: CA to verify the device against. Default: HomeWizard's Appliance Access CA (bundled). */
    ca_cert: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null }),
    /** v2 only: `websocket` (push, the default) or `rest` (polling). */
    transport: Type.Union([Type.Literal('websocket'), Type.Literal('rest')], { default: 'websocket' }),
    /**
     * What tariff 1 and 2 mean: be (1 = day) or nl (1 = low). HomeWizard does not say which country the
     * meter is in; the driver reports `be` unless this is set (see docs/homewizard.md).
     */
    country: Type.Optional(Type.Union([Type.Literal('be'), Type.Literal('nl')])),
    /**
     * v2 only: the device's TLS identity, the certificate CN `appliance/<type>/<serial>` (printed by
     * `kwartier homewizard pair`). When unset it is learnt on the first connection: the CN must have
     * that form and carry the serial the device reports on GET /api.
     */
    identity: Type.Optional(Type.String({ pattern: '^appliance/[a-z0-9]+/[0-9A-Fa-f]{12}$' })),
    /** Timeout per HTTP request, in ms (default 3000). */
    timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
  },
  { additionalProperties: false },
);
export type HomeWizardConfig = Static<typeof HomeWizardConfigSchema>;
