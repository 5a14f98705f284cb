/** Operations: GET /healthz (the store answers) and GET /metrics (Prometheus, for a '*' token). */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { HealthySchema, UnhealthySchema } from '../../../core/api/access.js';
import type { Logger } from '../../../lib/log.js';
import type { Store } from '../../store/types.js';
import { ErrorRef } from '../errors.js';
import { withDeadline } from '../util.js';

export interface OperationsOptions {
  store: Store;
  registry: Registry;
  log: Logger;
}

export const operationsRoutes: FastifyPluginAsync<OperationsOptions> = async (app, { store, registry, log }) => {
  app.get(
    '/healthz',
    {
      config: { auth: 'none', rateLimit: false },
      schema: {
        summary: 'Health: the store answers',
        tags: ['operations'],
        security: [],
        response: {
          200: HealthySchema,
          503: UnhealthySchema,
        },
      },
    },
    async (_req, reply) => {
      try {
        await withDeadline(store.devices(), 2_000, 'store');
        return { status: 'ok' as const };
      } catch (err) {
        log.warn({ err }, 'api: health check failed');
        return reply.code(503).send({ status: 'unavailable', error: err instanceof Error ? err.message : String(err) });
      }
    },
  );

  app.get(
    '/metrics',
    {
      config: { auth: 'metrics' },
      schema: {
        summary: "Prometheus metrics (needs a token granting '*')",
        tags: ['operations'],
        produces: ['text/plain'],
        response: { 401: ErrorRef, 403: ErrorRef, 429: ErrorRef },
      },
    },
    async (_req, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
};
