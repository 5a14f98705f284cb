import { type Static, Type } from '@sinclair/typebox';

/** `sungrow:` in the edge config: a Sungrow SH hybrid inverter over Modbus TCP (WiNet-S or LAN). */
export const SungrowConfigSchema = Type.Object(
  {
    ip: Type.String({ minLength: 1 }),
    port: Type.Integer({ default: 502, minimum: 1, maximum: 65535 }),
    slave_id: Type.Integer({ default: 1, minimum: 0, maximum: 247 }),
    /** WiNet-S has little processing power: never faster than 5 s unless you know your hardware. */
    poll_interval_s: Type.Number({ default: 5.0, minimum: 1, maximum: 3600 }),
    inter_register_delay_ms: Type.Integer({ default: 20, minimum: 0, maximum: 10_000 }),
    /** Timeout per Modbus request. */
    timeout_ms: Type.Integer({ default: 3000, minimum: 100, maximum: 60_000 }),
    /** Wait after connecting before the first request (WiNet-S needs a moment). */
    connect_delay_ms: Type.Integer({ default: 1000, minimum: 0, maximum: 60_000 }),
  },
  { additionalProperties: false },
);
export type SungrowConfig = Static<typeof SungrowConfigSchema>;
