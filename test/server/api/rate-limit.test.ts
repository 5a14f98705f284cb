/**
 * The rate limit protects the API, not the dashboard's page and assets: bad-token requests that use
 * up an address's budget must not turn `GET /` into 429. Behind a reverse proxy every visitor comes
 * from the proxy's address: with `api.trust_proxy` naming the proxy, the limit keys on the client
 * address the proxy puts in X-Forwarded-For, and only for requests that come from that proxy.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import { checkServerConfig, ServerConfigSchema } from '../../../src/server/config.js';
import { auth, type Seeded, seededStore, TOKENS, testApi, testConfig } from './setup.js';

let seeded: Seeded;
let webRoot: string;

beforeAll(async () => {
  seeded = await seededStore();
  webRoot = mkdtempSync(join(tmpdir(), 'kwartier-web-'));
  mkdirSync(join(webRoot, 'assets'));
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>Kwartier</title>');
  writeFileSync(join(webRoot, 'assets', 'app.js'), 'console.log(1);');
});

afterAll(async () => {
  await seeded?.cleanup();
  rmSync(webRoot, { recursive: true, force: true });
});

async function limitedApi(api: Record<string, unknown>): Promise<FastifyInstance> {
  const config = testConfig({}, { rate_limit: { max: 3, window_s: 60 }, ...api });
  return (await testApi(seeded.store, { config, webRoot })).app;
}

const URL = '/api/v1/realtime/home-1';
const BAD = auth('not-a-valid-token-0123456789');

describe('what the rate limit covers', () => {
  it('bad-token API requests use up the address budget, yet the page and its assets still load', async () => {
    const app = await limitedApi({});
    try {
      for (let i = 0; i < 3; i++) expect((await app.inject({ url: URL, headers: BAD })).statusCode).toBe(401);
      expect((await app.inject({ url: URL, headers: BAD })).statusCode).toBe(429);
      for (let i = 0; i < 10; i++) {
        const page = await app.inject({ url: '/', headers: { accept: 'text/html' } });
        expect(page.statusCode, page.body).toBe(200);
        expect(page.body).toContain('Kwartier');
        expect((await app.inject({ url: '/assets/app.js' })).statusCode).toBe(200);
        // a dashboard route the browser resolves (served index.html)
        expect((await app.inject({ url: '/live', headers: { accept: 'text/html' } })).statusCode).toBe(200);
      }
      // The API stays limited for that address.
      expect((await app.inject({ url: URL, headers: BAD })).statusCode).toBe(429);
      expect((await app.inject({ url: '/api/openapi.json' })).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });
});

describe('api.trust_proxy', () => {
  const PROXY = '127.0.0.1';
  const viaProxy = (client: string) => ({ remoteAddress: PROXY, headers: { ...BAD, 'x-forwarded-for': client } });

  it('off (the default): X-Forwarded-For is ignored, every request from the proxy shares its budget', async () => {
    const app = await limitedApi({});
    try {
      for (const client of ['127.0.0.10', '127.0.0.11', '127.0.0.12'])
        expect((await app.inject({ url: URL, ...viaProxy(client) })).statusCode).toBe(401);
      expect((await app.inject({ url: URL, ...viaProxy('127.0.0.13') })).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });

  it('naming the proxy: each client behind it has its own budget; a direct client cannot pick its address', async () => {
    const app = await limitedApi({ trust_proxy: [PROXY] });
    try {
      for (let i = 0; i < 3; i++)
        expect((await app.inject({ url: URL, ...viaProxy('127.0.0.10') })).statusCode).toBe(401);
      expect((await app.inject({ url: URL, ...viaProxy('127.0.0.10') })).statusCode).toBe(429);
      // Another visitor behind the same proxy is not locked out.
      expect((await app.inject({ url: URL, ...viaProxy('127.0.0.11') })).statusCode).toBe(401);
      // A client that is not the proxy: its X-Forwarded-For is not believed, rotating it gains nothing.
      const direct = (xff: string) => ({ remoteAddress: '127.0.0.2', headers: { ...BAD, 'x-forwarded-for': xff } });
      for (let i = 0; i < 3; i++)
        expect((await app.inject({ url: URL, ...direct(`127.0.1.${i}`) })).statusCode).toBe(401);
      expect((await app.inject({ url: URL, ...direct('127.0.1.99') })).statusCode).toBe(429);
      // Valid tokens keep their own budget per token, wherever they come from.
      expect((await app.inject({ url: URL, remoteAddress: '127.0.0.2', headers: auth(TOKENS.home1) })).statusCode).toBe(
        200,
      );
    } finally {
      await app.close();
    }
  });

  it('a CIDR is accepted as Fastify takes it', async () => {
    for (const trust of [['127.0.0.0/8'], ['loopback']]) {
      const app = await limitedApi({ trust_proxy: trust });
      try {
        for (let i = 0; i < 3; i++)
          expect((await app.inject({ url: URL, ...viaProxy('127.0.0.10') })).statusCode).toBe(401);
        expect((await app.inject({ url: URL, ...viaProxy('127.0.0.10') })).statusCode).toBe(429);
        expect((await app.inject({ url: URL, ...viaProxy('127.0.0.11') })).statusCode).toBe(401);
      } finally {
        await app.close();
      }
    }
  });

  it('config: false by default; true and bad addresses are refused naming the key', () => {
    const parse = (trust_proxy: unknown) =>
      checkServerConfig(
        parseWithSchema(
          ServerConfigSchema,
          { store: { type: 'sqlite', path: 'x.db' }, api: { trust_proxy } },
          'server.yaml',
        ),
        'server.yaml',
      );
    expect(
      checkServerConfig(parseWithSchema(ServerConfigSchema, { store: { type: 'sqlite', path: 'x.db' } }, 'c'), 'c').api
        .trust_proxy,
    ).toBe(false);
    expect(parse(['10.0.0.1', '192.168.0.0/16', 'loopback', '::1']).api.trust_proxy).toEqual([
      '10.0.0.1',
      '192.168.0.0/16',
      'loopback',
      '::1',
    ]);
    expect(() => parse(true)).toThrow(/api\.trust_proxy/);
    // A hop count cannot tell the proxy from a direct client (Fastify 5 trusts nobody with it): refused.
    expect(() => parse(1)).toThrow(/api\.trust_proxy/);
    expect(() => parse(['10.0.0.300'])).toThrow(/api\.trust_proxy\[0\]: .*10\.0\.0\.300/);
    expect(() => parse(['10.0.0.0/33'])).toThrow(/api\.trust_proxy\[0\]/);
    expect(() => parse(0)).toThrow(/api\.trust_proxy/);
  });
});
