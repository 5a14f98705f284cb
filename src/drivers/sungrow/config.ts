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
    // ---- optional tuning (defaults in SUNGROW_DEFAULTS) ----
    /** Most registers in one request (default 100; the Modbus limit is 125). */
    max_registers_per_request: Type.Optional(Type.Integer({ minimum: 1, maximum: 125 })),
    /** Most unused registers one request may span between two table rows (default 16; 0 = only touching rows). */
    max_gap_registers: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    /** An unsupported register (exception 2, or not-available markers) is tried again after this (default 3600). */
    retry_unsupported_s: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400 })),
    /** Reconnect backoff: first delay window and cap (defaults 1000 and 60000; full jitter). */
    reconnect_base_ms: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000 })),
    reconnect_max_ms: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000 })),
    // ---- control (default read-only: nothing is ever written without control: true) ----
    /** Allow writes to the battery/EMS holding registers (docs/sungrow.md "Control"). Default false. */
    control: Type.Optional(Type.Boolean()),
    /** Wait between a write and its read-back (default 1000: WiNet-S; 500 is enough on the LAN port). */
    settle_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
    /** Unit of holding 13052 (forced power) on YOUR inverter: `w` (SH10RT) or `pct`; unset: that control is off. */
    forced_power_unit: Type.Optional(Type.Union([Type.Literal('w'), Type.Literal('pct')])),
    /** Scale of holding 13100 (reserved SoC for backup): 1 or 0.1 (sources conflict); unset: that control is off. */
    reserved_soc_scale: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(0.1)])),
  },
  { additionalProperties: false },
);
export type SungrowConfig = Static<typeof SungrowConfigSchema>;

/** Defaults of the optional keys. */
export const SUNGROW_DEFAULTS = {
  max_registers_per_request: 100,
  max_gap_registers: 16,
  retry_unsupported_s: 3600,
  reconnect_base_ms: 1000,
  reconnect_max_ms: 60_000,
  settle_ms: 1000,
} as const;
