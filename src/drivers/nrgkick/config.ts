import { type Static, Type } from '@sinclair/typebox';

/** A `devices:` entry of type nrgkick: an NRGkick Gen2's local JSON API (HTTP) on the LAN. */
export const NrgkickConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: "The charger's address (its SmartModule, firmware ≥ 4.0.0.0)" }),
    port: Type.Integer({ default: 80, minimum: 1, maximum: 65535 }),
    /** HTTP Basic auth, when it is switched on in the NRGkick app: both or neither. */
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    /** `GET /values` (power, energy, status) every this many seconds. */
    poll_interval_s: Type.Number({ default: 2, minimum: 1, maximum: 3600 }),
    /** `GET /control` (the set current, pause, phases) every this many seconds. */
    control_interval_s: Type.Number({ default: 10, minimum: 1, maximum: 3600 }),
    /** Timeout per HTTP request. */
    timeout_ms: Type.Integer({ default: 3000, minimum: 100, maximum: 60_000 }),
    /** Allow writes (`GET /control?…`); default read-only: nothing is ever written. */
    control: Type.Boolean({ default: false }),
    /** After a write, wait this long before reading `/control` back. */
    settle_ms: Type.Integer({ default: 1000, minimum: 0, maximum: 60_000 }),
  },
  { additionalProperties: false },
);
export type NrgkickConfig = Static<typeof NrgkickConfigSchema>;
