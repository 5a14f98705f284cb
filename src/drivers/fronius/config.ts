import { type Static, Type } from '@sinclair/typebox';

/** A `devices:` entry of type fronius: a Fronius inverter's Solar API v1 (HTTP) on the LAN. */
export const FroniusConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: "The inverter's (or its Datamanager's) address" }),
    port: Type.Integer({ default: 80, minimum: 1, maximum: 65535 }),
    /** The power flow (GetPowerFlowRealtimeData) every this many seconds; Fronius allows 1 request/s. */
    poll_interval_s: Type.Number({ default: 2, minimum: 1, maximum: 3600 }),
    /** The meter and inverter endpoints (phases, counters, MPPT) every this many seconds, each. */
    detail_interval_s: Type.Number({ default: 10, minimum: 5, maximum: 3600 }),
    /** The inverter's DeviceId on the Solar API (GEN24: always 1; a Datamanager numbers them 1, 2, …). */
    inverter_id: Type.Integer({ default: 1, minimum: 0, maximum: 255 }),
    /** Timeout per HTTP request. */
    timeout_ms: Type.Integer({ default: 3000, minimum: 100, maximum: 60_000 }),
  },
  { additionalProperties: false },
);
export type FroniusConfig = Static<typeof FroniusConfigSchema>;
