/** The OpenAPI document, the docs page, /healthz, the dashboard files and the not-found answers. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../../src/server/store/index.js';
import { type Seeded, seededStore, testApi, testConfig } from './setup.js';

let seeded: Seeded;
let app: FastifyInstance;
let web: string;

beforeAll(async () => {
  seeded = await seededStore();
  web = join(seeded.dir, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(
    join(web, 'index.html'),
    '<!doctype html><title>Kwartier</title><script src="/assets/app.js"></script>',
  );
  writeFileSync(join(web, 'assets', 'app.js'), 'console.log("kwartier")');
  ({ app } = await testApi(seeded.store, { webRoot: web }));
});

afterAll(async () => {
  await app?.close();
  await seeded?.cleanup();
});

describe('OpenAPI', () => {
  it('lists every route with its parameters, answers and bearer security', async () => {
    const r = await app.inject({ url: '/api/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json() as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          { parameters?: Array<{ name: string; in: string }>; responses: Record<string, unknown>; security?: unknown[] }
        >
      >;
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/api/v1/capacity-tariff/{device_id}',
        '/api/v1/control/{device_id}',
        '/api/v1/cost-estimate/{device_id}',
        '/api/v1/devices',
        '/api/v1/export/{device_id}',
        '/api/v1/history/{device_id}',
        '/api/v1/prices/{device_id}',
        '/api/v1/realtime/{device_id}',
        '/api/v1/self-sufficiency/{device_id}',
        '/api/v1/ws-ticket',
        '/healthz',
        '/metrics',
        '/ws/v1/realtime/{device_id}',
      ].sort(),
    );
    const hist = doc.paths['/api/v1/history/{device_id}']!.get!;
    expect(hist.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(
      ['path:device_id', 'query:device', 'query:end', 'query:resolution', 'query:start'].sort(),
    );
    expect(Object.keys(hist.responses).sort()).toEqual(['200', '400', '401', '404', '429', '503']);
    expect(doc.paths['/healthz']!.get!.security).toEqual([]);
    expect(Object.keys(doc.paths['/api/v1/devices']!.get!.responses).sort()).toEqual(['200', '401', '429', '503']);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Error', 'Snapshot', 'BucketPoint', 'SelfSufficiency', 'CostEstimate', 'DayPrices']),
    );
    const prices = doc.paths['/api/v1/prices/{device_id}']!.get!;
    expect(prices.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['path:device_id', 'query:date']);
    expect(Object.keys(prices.responses).sort()).toEqual(['200', '400', '401', '404', '429', '503']);
    expect(prices.security).not.toEqual([]);
    const schemas = doc.components.schemas as Record<string, { properties: Record<string, unknown> }>;
    expect(Object.keys(schemas.DayPrices!.properties)).toEqual(
      expect.arrayContaining(['date', 'resolution_minutes', 'points']),
    );
    // The network rule in the cost estimate's and the capacity answer's schemas.
    expect(schemas.CostEstimate!.properties.network_rule).toMatchObject({ nullable: true });
    const capacity = doc.paths['/api/v1/capacity-tariff/{device_id}']!.get!.responses['200'] as {
      content: Record<string, { schema: { properties: Record<string, unknown> } }>;
    };
    expect(capacity.content['application/json']!.schema.properties.network_rule).toMatchObject({ nullable: true });
    const ws = doc.paths['/ws/v1/realtime/{device_id}']!.get!;
    expect(ws.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual([
      'path:device_id',
      'query:ticket',
      'query:token',
    ]);
    // ?token= is deprecated (its schema says so: @fastify/swagger keeps the flag there).
    const token = ws.parameters!.find((p) => p.name === 'token') as { schema?: { deprecated?: boolean } } | undefined;
    expect(token?.schema?.deprecated).toBe(true);
    const ticket = doc.paths['/api/v1/ws-ticket']!.post!;
    expect(Object.keys(ticket.responses).sort()).toEqual(['200', '401', '429']);
  });

  it('serves the docs page (swagger-ui)', async () => {
    const r = await app.inject({ url: '/api/docs' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.body).toContain('swagger');
  });
});

describe('/healthz', () => {
  it('503 when the store does not answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kwartier-api-'));
    const store = createSqliteStore(join(dir, 's.db'), { timezone: 'Europe/Brussels' });
    await store.migrate();
    const { app: a } = await testApi(store);
    try {
      expect((await a.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
      await store.close();
      const r = await a.inject({ url: '/healthz' });
      expect(r.statusCode).toBe(503);
      expect(r.json().status).toBe('unavailable');
    } finally {
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dashboard and not found', () => {
  it('serves the dashboard at / with a CSP; browser paths get index.html; API paths get JSON 404', async () => {
    const root = await app.inject({ url: '/' });
    expect(root.statusCode).toBe(200);
    expect(root.body).toContain('<title>Kwartier</title>');
    expect(root.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(root.headers['x-frame-options']).toBe('DENY');
    const asset = await app.inject({ url: '/assets/app.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.body).toContain('kwartier');
    const spa = await app.inject({ url: '/history/day', headers: { accept: 'text/html' } });
    expect(spa.statusCode).toBe(200);
    expect(spa.body).toContain('<title>Kwartier</title>');
    const api = await app.inject({ url: '/api/v1/nothing/home-1', headers: { accept: 'text/html' } });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toEqual({ error: 'not_found', message: 'no route: GET /api/v1/nothing/home-1' });
  });

  it('no dashboard when config.api.dashboard is false', async () => {
    const { app: a } = await testApi(seeded.store, { webRoot: web, config: testConfig({}, { dashboard: false }) });
    try {
      const r = await a.inject({ url: '/' });
      expect(r.statusCode).toBe(404);
      expect(r.json().error).toBe('not_found');
    } finally {
      await a.close();
    }
  });
});
