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
    /** What tariff 1 and 2 mean: be (1 = day) or nl (1 = low). Default: the edge's timezone decides. */
    country: Type.Optional(Type.Union([Type.Literal('be'), Type.Literal('nl')])),
  },
  { additionalProperties: false },
);
export type HomeWizardConfig = Static<typeof HomeWizardConfigSchema>;
