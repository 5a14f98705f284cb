/**
 * The answers around access and operation: the homes a token may read (GET /api/v1/devices), a
 * WebSocket ticket (POST /api/v1/ws-ticket) and the health check (GET /healthz).
 */
import { type Static, Type } from '@sinclair/typebox';

export const DeviceListSchema = Type.Object({
  timezone: Type.String({
    description: "IANA time zone of days, hours and quarters (the config's `timezone`).",
  }),
  devices: Type.Array(
    Type.Object({
      device_id: Type.String(),
      country: Type.Union([Type.Literal('be'), Type.Literal('nl'), Type.Null()], {
        description: "The config's `devices.<id>.country`, else what the meter's telegrams say, else null.",
      }),
      last_seen: Type.Union([Type.String({ description: 'Local time of the latest snapshot.' }), Type.Null()]),
    }),
  ),
});
export type DeviceListAnswer = Static<typeof DeviceListSchema>;

export const WsTicketSchema = Type.Object({
  ticket: Type.String({ description: 'Opaque, 43 characters (base64url).' }),
  expires_in_s: Type.Integer({ description: 'Seconds the ticket stays valid.' }),
});
export type WsTicketAnswer = Static<typeof WsTicketSchema>;

export const HealthySchema = Type.Object({ status: Type.Literal('ok') });
export const UnhealthySchema = Type.Object({ status: Type.Literal('unavailable'), error: Type.String() });
