import { type Static, Type } from '@sinclair/typebox';

/**
 * A `devices:` entry of type sunspec: one SunSpec device (an inverter, a meter, a battery, or one
 * that is all three) over Modbus TCP. Port and unit id are the vendor's (devices.md §3.1: SMA unit
 * 126, Kostal 71 on port 1502, Fronius 1 and its meter 200, SolarEdge 1 on 502 or 1502).
 */
export const SunSpecConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'The device (or its Modbus TCP gateway)' }),
    port: Type.Integer({ default: 502, minimum: 1, maximum: 65535, description: 'Kostal 1502, SolarEdge 502 or 1502' }),
    unit_id: Type.Integer({
      default: 1,
      minimum: 0,
      maximum: 247,
      description: 'SMA 126, Kostal 71, a Fronius meter 200',
    }),
    poll_interval_s: Type.Number({ default: 5, minimum: 1, maximum: 3600 }),
    meter_sign: Type.Union([Type.Literal('import'), Type.Literal('export')], {
      default: 'import',
      description: "What a positive meter W means: import (SunSpec's grid point, Fronius) or export (SolarEdge)",
    }),
    battery_sign: Type.Union([Type.Literal('charge'), Type.Literal('discharge')], {
      default: 'discharge',
      description: 'What a positive battery W (model 802) means (evcc reads 802 W as + discharge)',
    }),
    timeout_ms: Type.Integer({ default: 5000, minimum: 500, maximum: 60_000 }),
    connect_delay_ms: Type.Integer({ default: 0, minimum: 0, maximum: 60_000, description: 'Wait after connecting' }),
    inter_register_delay_ms: Type.Integer({
      default: 20,
      minimum: 0,
      maximum: 10_000,
      description: 'Pause between requests',
    }),
    busy_retries: Type.Integer({ default: 2, minimum: 0, maximum: 10 }),
    max_registers_per_request: Type.Integer({ default: 125, minimum: 1, maximum: 125 }),
    retry_unsupported_s: Type.Number({ default: 3600, minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
);
export type SunSpecConfig = Static<typeof SunSpecConfigSchema>;
