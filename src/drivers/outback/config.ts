import { type Static, Type } from '@sinclair/typebox';
import { sunspecPacingKeys } from '../sunspec/config.js';

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
    ...sunspecPacingKeys({ interRegisterDelayMs: 100, maxRegisters: 100 }),
  },
  { additionalProperties: false },
);
export type OutBackConfig = Static<typeof OutBackConfigSchema>;
