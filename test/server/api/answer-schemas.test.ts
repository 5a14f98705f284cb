/**
 * The API answers with the schemas of src/core/api, the ones the dashboard takes its types from:
 * the OpenAPI document's shared schemas and each route's 200 answer are core's, as JSON Schema.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import type { TSchema } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as answers from '../../../src/core/api/index.js';
import { createSqliteStore, type Store } from '../../../src/server/store/index.js';
import { testApi } from './setup.js';

/** The schemas added on the root instance (the document's components). */
const SHARED: Record<string, TSchema> = {
  Error: answers.ErrorSchema,
  Snapshot: answers.SnapshotOutSchema,
  BucketPoint: answers.BucketPointSchema,
  SelfSufficiency: answers.SelfSufficiencySchema,
  CostEstimate: answers.CostEstimateSchema,
  DayPrices: answers.DayPricesSchema,
  Control: answers.ControlAnswerSchema,
  ControlAccepted: answers.ControlPutAnswerSchema,
};

/** The JSON routes whose 200 answer is given inline, with the schema it must be. */
const ROUTES: Array<[string, 'get' | 'post', TSchema]> = [
  ['/api/v1/devices', 'get', answers.DeviceListSchema],
  ['/api/v1/ws-ticket', 'post', answers.WsTicketSchema],
  ['/healthz', 'get', answers.HealthySchema],
  ['/api/v1/realtime/:device_id', 'get', answers.RealtimeSchema],
  ['/api/v1/history/:device_id', 'get', answers.HistorySchema],
  ['/api/v1/capacity-tariff/:device_id', 'get', answers.CapacitySchema],
];

let dir: string;
let core: typeof doc;
let store: Store;
let app: FastifyInstance;
let doc: {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >;
  components: { schemas: Record<string, unknown> };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kwartier-answers-'));
  store = createSqliteStore(join(dir, 'store.db'), { timezone: 'Europe/Brussels' });
  await store.migrate();
  ({ app } = await testApi(store));
  doc = (await app.inject({ url: '/api/openapi.json' })).json();
  core = await documentedByCore();
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * core/api's schemas as @fastify/swagger documents them (it turns JSON Schema into OpenAPI 3.0:
 * null types into `nullable`, patternProperties into additionalProperties …): an app of its own
 * whose only routes answer with them.
 */
async function documentedByCore(): Promise<typeof doc> {
  const ref = Fastify();
  await ref.register(swagger, {
    openapi: { openapi: '3.0.3', info: { title: 'core/api', version: '1' } },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  for (const schema of Object.values(SHARED)) ref.addSchema(schema);
  for (const [path, method, schema] of ROUTES) {
    ref.route({
      method: method.toUpperCase() as 'GET',
      url: path,
      schema: { response: { 200: schema } },
      handler: () => ({}),
    });
  }
  await ref.ready();
  const out = ref.swagger() as unknown as typeof doc;
  await ref.close();
  return out;
}

/** The 200 answer's schema of a route in a document. */
const ok = (d: typeof doc, path: string, method = 'get') =>
  d.paths[path]![method]!.responses['200']!.content!['application/json']!.schema;
const toOpenApiPath = (path: string) => path.replace(/:([a-z_]+)/g, '{$1}');

describe('answer schemas', () => {
  it('the shared components are core/api’s schemas', () => {
    expect(Object.keys(doc.components.schemas).sort()).toEqual(Object.keys(SHARED).sort());
    for (const name of Object.keys(SHARED))
      expect(doc.components.schemas[name], name).toEqual(core.components.schemas[name]);
  });

  it('every JSON route answers 200 with its core/api schema', () => {
    for (const [path, method] of ROUTES) {
      const documented = toOpenApiPath(path);
      expect(ok(doc, documented, method), path).toEqual(ok(core, documented, method));
    }
    // The routes whose answer is a shared component refer to it.
    expect(ok(doc, '/api/v1/self-sufficiency/{device_id}')).toEqual({ $ref: '#/components/schemas/SelfSufficiency' });
    expect(ok(doc, '/api/v1/cost-estimate/{device_id}')).toEqual({ $ref: '#/components/schemas/CostEstimate' });
    expect(ok(doc, '/api/v1/prices/{device_id}')).toEqual({ $ref: '#/components/schemas/DayPrices' });
  });
});
