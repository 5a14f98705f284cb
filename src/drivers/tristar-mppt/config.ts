import { type Static, Type } from '@sinclair/typebox';

/**
 * A `devices:` entry of type tristar-mppt: one Morningstar TriStar MPPT charge controller over
 * Modbus TCP (the TS-MPPT-60's Ethernet port; a 30/45 through an EMC-1). Defaults from
 * devices.md §5.1: port 502, MODBUS id 1, connect → read → close every 5 s (the controller closes
 * the socket after each answer), a short timeout (the Victron driver uses 1 s).
 */
export const TristarConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: "The controller's address (DHCP; 192.168.1.253 if DHCP fails)" }),
    port: Type.Integer({
      default: 502,
      minimum: 1,
      maximum: 65535,
      description: 'Settable with MSView (the seed system uses 1025)',
    }),
    unit_id: Type.Integer({ default: 1, minimum: 1, maximum: 247, description: 'The MODBUS id (EEPROM 0xE019)' }),
    poll_interval_s: Type.Number({
      default: 5,
      minimum: 1,
      maximum: 3600,
      description: 'One connection and one read per poll; below 5 s on your own hardware’s word only',
    }),
    timeout_ms: Type.Integer({ default: 2000, minimum: 200, maximum: 60_000 }),
    encoding: Type.Union([Type.Literal('auto'), Type.Literal('vpu'), Type.Literal('f16')], {
      default: 'auto',
      description: 'vpu: V_PU/I_PU scaling (MODBUS doc v10); f16: half-floats (newer firmware); auto: told per reading',
    }),
    retry_unsupported_s: Type.Number({ default: 3600, minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
);
export type TristarConfig = Static<typeof TristarConfigSchema>;
