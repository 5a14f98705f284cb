import { type Static, Type } from '@sinclair/typebox';

/**
 * A `devices:` entry of type outback: an OutBack MATE3 / MATE3s or AXS Port (SunSpec over Modbus
 * TCP) and every FLEXmax, Radian, FX and FLEXnet DC on its ports. The port is required: OutBack's
 * default is 502, but installers move it (the seed system uses 1025, another AXS Port 5020;
 * devices.md §4.2). Pacing follows adamcharnock/mate3: at most 100 registers a request, and not
 * more than one poll a second ("you might brick the Modbus interface of your Mate").
 */
export const OutBackConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'The MATE3s or AXS Port' }),
    port: Type.Integer({
      minimum: 1,
      maximum: 65535,
      description: 'Its Modbus TCP port (OutBack_Modbus_Port; 502 out of the box, often moved, e.g. 1025)',
    }),
    unit_id: Type.Integer({ default: 1, minimum: 0, maximum: 247 }),
    poll_interval_s: Type.Number({ default: 5, minimum: 1, maximum: 3600 }),
    timeout_ms: Type.Integer({ default: 5000, minimum: 500, maximum: 60_000 }),
    connect_delay_ms: Type.Integer({ default: 0, minimum: 0, maximum: 60_000, description: 'Wait after connecting' }),
    inter_register_delay_ms: Type.Integer({
      default: 100,
      minimum: 0,
      maximum: 10_000,
      description: 'Pause between requests',
    }),
    busy_retries: Type.Integer({ default: 2, minimum: 0, maximum: 10 }),
    max_registers_per_request: Type.Integer({ default: 100, minimum: 1, maximum: 100 }),
    retry_unsupported_s: Type.Number({ default: 3600, minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
);
export type OutBackConfig = Static<typeof OutBackConfigSchema>;
