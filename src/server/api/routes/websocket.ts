/** The WebSocket /ws/v1/realtime/{device_id}: every snapshot as it is committed (the hub in ../ws.ts). */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ErrorRef } from '../errors.js';
import { DeviceParams } from '../schemas.js';
import type { RealtimeHub } from '../ws.js';

export interface WebSocketOptions {
  hub: RealtimeHub;
}

export const websocketRoutes: FastifyPluginAsync<WebSocketOptions> = async (app, { hub }) => {
  app.get<{ Params: { device_id: string } }>(
    '/ws/v1/realtime/:device_id',
    {
      websocket: true,
      config: {
        auth: 'device',
        // @fastify/websocket hides WebSocket routes from the document; show this one (it is the realtime feed).
        swaggerTransform: ({ schema, url }) => ({ schema: { ...(schema as object), hide: false }, url }),
      },
      schema: {
        summary: 'WebSocket: every snapshot as it is committed (first the latest one)',
        description:
          'Each message is a JSON realtime object (the snapshot plus age_s). Browsers cannot set headers on a WebSocket: ' +
          'get a ticket from POST /api/v1/ws-ticket and pass it as ?ticket=… (?token=… still works but is deprecated: ' +
          'proxies log URLs). A client that does not keep up loses messages (counted in /metrics). Open sockets are ' +
          'capped per token and per address (close code 1008 beyond) and in all (1013).',
        tags: ['data'],
        params: DeviceParams,
        querystring: Type.Object({
          ticket: Type.Optional(
            Type.String({ description: 'A ticket from POST /api/v1/ws-ticket (single use, 30 s).' }),
          ),
          token: Type.Optional(
            Type.String({ description: 'Deprecated: the bearer token itself (it ends up in logs).', deprecated: true }),
          ),
        }),
        response: {
          101: Type.Null({ description: 'Switching protocols: the WebSocket is open.' }),
          401: ErrorRef,
          404: ErrorRef,
          429: ErrorRef,
        },
      },
    },
    (socket, req) => hub.attach(socket, req.params.device_id, req.grant?.name ?? '', req.ip),
  );
};
