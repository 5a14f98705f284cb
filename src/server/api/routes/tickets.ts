/** POST /api/v1/ws-ticket: a single-use ticket that opens one WebSocket without the token in its URL. */
import type { FastifyPluginAsync } from 'fastify';
import { WsTicketSchema } from '../../../core/api/access.js';
import { ErrorRef } from '../errors.js';
import { type TicketBook, WS_TICKET_TTL_S, WS_TICKETS_PER_TOKEN } from '../tickets.js';

export interface TicketsOptions {
  tickets: TicketBook;
}

export const ticketsRoutes: FastifyPluginAsync<TicketsOptions> = async (app, { tickets }) => {
  app.post(
    '/api/v1/ws-ticket',
    {
      config: { auth: 'token' },
      schema: {
        summary: 'A single-use ticket to open the WebSocket without putting the token in its URL',
        description:
          `Pass it as /ws/v1/realtime/{device_id}?ticket=…: it opens one WebSocket within ${WS_TICKET_TTL_S} s, for a ` +
          'device this token holds, and is spent by that attempt. No request body. A token holds at most ' +
          `${WS_TICKETS_PER_TOKEN} unspent tickets (a new one drops its oldest).`,
        tags: ['data'],
        response: {
          200: WsTicketSchema,
          401: ErrorRef,
          429: ErrorRef,
        },
      },
    },
    async (req) => ({ ticket: tickets.issue(req.grant!), expires_in_s: WS_TICKET_TTL_S }),
  );
};
