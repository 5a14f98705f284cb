import { type Static, Type } from '@sinclair/typebox';

/**
 * The keys that pace the SunSpec device (device.ts: timeouts, pauses, request size, busy retries),
 * shared by the two types that read one: sunspec and outback (../outback/config.ts). Each type gives
 * its own pause between requests and largest request (also the largest allowed).
 */
export function sunspecPacingKeys(defaults: { interRegisterDelayMs: number; maxRegisters: number }) {
  return {
    timeout_ms: Type.Integer({ default: 5000, minimum: 500, maximum: 60_000 }),
    connect_delay_ms: Type.Integer({ default: 0, minimum: 0, maximum: 60_000, description: 'Wait after connecting' }),
    inter_register_delay_ms: Type.Integer({
      default: defaults.interRegisterDelayMs,
      minimum: 0,
      maximum: 10_000,
      description: 'Pause between requests',
    }),
    busy_retries: Type.Integer({ default: 2, minimum: 0, maximum: 10 }),
    max_registers_per_request: Type.Integer({
      default: defaults.maxRegisters,
      minimum: 1,
      maximum: defaults.maxRegisters,
    }),
    retry_unsupported_s: Type.Number({ default: 3600, minimum: 1, maximum: 86_400 }),
  };
}

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
    ...sunspecPacingKeys({ interRegisterDelayMs: 20, maxRegisters: 125 }),
  },
  { additionalProperties: false },
);
export type SunSpecConfig = Static<typeof SunSpecConfigSchema>;

/** What the SunSpec device's source needs of a config: every key of both types but the signs. */
export type SunSpecDeviceConfig = Omit<SunSpecConfig, 'meter_sign' | 'battery_sign'>;
