/**
 * The OpenAPI document: the answer schemas routes share (src/core/api; added on the root instance, so
 * the document lists them and every route group can $ref them) and @fastify/swagger, which collects each route as
 * it is registered. docsRoutes serves the document and the docs page.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import {
  BucketPointSchema,
  ControlAnswerSchema,
  ControlPutAnswerSchema,
  CostEstimateSchema,
  DayPricesSchema,
  ErrorSchema,
  SelfSufficiencySchema,
  SnapshotOutSchema,
} from '../../core/api/index.js';

/** On the root instance, before any route group. */
export async function installOpenApi(app: FastifyInstance): Promise<void> {
  app.addSchema(ErrorSchema);
  app.addSchema(SnapshotOutSchema);
  app.addSchema(BucketPointSchema);
  app.addSchema(SelfSufficiencySchema);
  app.addSchema(CostEstimateSchema);
  app.addSchema(DayPricesSchema);
  app.addSchema(ControlAnswerSchema);
  app.addSchema(ControlPutAnswerSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Kwartier API',
        version: '1',
        description: 'Realtime and historic energy data of Kwartier homes. Times are ISO 8601 with the local offset.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
}

/** GET /api/openapi.json and the docs page at /api/docs (after every other route group). */
export const docsRoutes: FastifyPluginAsync = async (app) => {
  app.get('/api/openapi.json', { config: { auth: 'none' }, schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true });
};
