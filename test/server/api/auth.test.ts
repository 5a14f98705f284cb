/**
 * Auth on every route: 401 without a valid token (with WWW-Authenticate), 404 for a device the token
 * does not hold, answered exactly like a device that does not exist; ?token= on the WebSocket only;
 * the rate limit per token; /metrics needs a token holding every device.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { auth, NOW, type Seeded, seededStore, TOKENS, testApi, testConfig } from './setup.js';

let seeded: Seeded;
let app: FastifyInstance;
let base: string;

const ROUTES = [
  (id: string) => `/api/v1/realtime/${id}`,
  (id: string) => `/api/v1/history/${id}?start=2026-03-29&end=2026-03-30&resolution=hourly`,
  (id: string) => `/api/v1/capacity-tariff/${id}?month=2026-03`,
  (id: string) => `/api/v1/self-sufficiency/${id}?period=2026-03-29`,
  (id: string) => `/api/v1/cost-estimate/${id}?period=2026-03-29`,
];

beforeAll(async () => {
  seeded = await seededStore();
  ({ app } = await testApi(seeded.store));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr !== 'object') throw new Error('not listening');
  base = `127.0.0.1:${addr.port}`;
});

afterAll(async () => {
  await app?.close();
  await seeded?.cleanup();
});

/** Opens a WebSocket; resolves with the first message, or the HTTP status when the upgrade is refused. */
function wsOpen(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body?: string; first?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${base}${path}`, { headers, handshakeTimeout: 5_000 });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('message', (d) => {
      resolve({ status: 101, first: d.toString() });
      ws.close();
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

describe('auth matrix', () => {
  it('every route: 401 without a token or with a wrong one, WWW-Authenticate: Bearer', async () => {
    for (const route of ROUTES) {
      const url = route('home-1');
      const none = await app.inject({ url });
      expect(none.statusCode, url).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="kwartier"');
      expect(none.json()).toEqual({ error: 'unauthorized', message: 'a bearer token is required' });
      const wrong = await app.inject({ url, headers: auth('not-a-token-at-all-0000') });
      expect(wrong.statusCode, url).toBe(401);
      expect(wrong.headers['www-authenticate']).toMatch(/^Bearer realm="kwartier", error="invalid_token"$/);
      // A token is never accepted from the query string on plain HTTP routes.
      const q = await app.inject({ url: `${url}${url.includes('?') ? '&' : '?'}token=${TOKENS.admin}` });
      expect(q.statusCode, url).toBe(401);
      // Malformed headers.
      const basic = await app.inject({ url, headers: { authorization: `Basic ${TOKENS.home1}` } });
      expect(basic.statusCode).toBe(401);
    }
  });

  it('every route: a device the token does not hold answers exactly like an unknown device', async () => {
    for (const route of ROUTES) {
      // home-2 exists (it has data) but the home1 token does not hold it.
      const held = await app.inject({ url: route('home-2'), headers: auth(TOKENS.home2) });
      expect(held.statusCode, route('home-2')).toBe(200);
      const notHeld = await app.inject({ url: route('home-2'), headers: auth(TOKENS.home1) });
      expect(notHeld.statusCode).toBe(404);
      expect(notHeld.json()).toEqual({ error: 'not_found', message: 'unknown device: home-2' });
      // ghost does not exist at all: the same answer, for a scoped token and for '*'.
      for (const t of [TOKENS.home1, TOKENS.admin]) {
        const ghost = await app.inject({ url: route('home-2').replace('home-2', 'ghost-2'), headers: auth(t) });
        expect(ghost.statusCode).toBe(404);
        expect(ghost.json()).toEqual({ error: 'not_found', message: 'unknown device: ghost-2' });
        expect(Object.keys(ghost.headers).sort()).toEqual(Object.keys(notHeld.headers).sort());
      }
      const own = await app.inject({ url: route('home-1'), headers: auth(TOKENS.home1) });
      expect(own.statusCode, route('home-1')).toBe(200);
      const all = await app.inject({ url: route('home-1'), headers: auth(TOKENS.admin) });
      expect(all.statusCode).toBe(200);
    }
  });

  it('WebSocket: 401 without a token, 404 for a device not held or unknown; ?token= or the header opens it', async () => {
    expect((await wsOpen('/ws/v1/realtime/home-1')).status).toBe(401);
    expect((await wsOpen('/ws/v1/realtime/home-1?token=wrong-token-0000000000')).status).toBe(401);
    const notHeld = await wsOpen(`/ws/v1/realtime/home-2?token=${TOKENS.home1}`);
    expect(notHeld.status).toBe(404);
    expect(JSON.parse(notHeld.body ?? '')).toEqual({ error: 'not_found', message: 'unknown device: home-2' });
    const ghost = await wsOpen(`/ws/v1/realtime/ghost-2?token=${TOKENS.admin}`);
    expect(ghost.status).toBe(404);
    expect(JSON.parse(ghost.body ?? '')).toEqual({ error: 'not_found', message: 'unknown device: ghost-2' });

    const viaQuery = await wsOpen(`/ws/v1/realtime/home-1?token=${TOKENS.home1}`);
    expect(viaQuery.status).toBe(101);
    expect(JSON.parse(viaQuery.first ?? '').device_id).toBe('home-1');
    const viaHeader = await wsOpen('/ws/v1/realtime/home-1', auth(TOKENS.home1));
    expect(viaHeader.status).toBe(101);
    expect(JSON.parse(viaHeader.first ?? '').timestamp).toBe('2026-03-30T12:07:00+02:00');
  });

  it("/api/v1/devices: a token sees the homes it holds, never another's id", async () => {
    const none = await app.inject({ url: '/api/v1/devices' });
    expect(none.statusCode).toBe(401);
    const one = await app.inject({ url: '/api/v1/devices', headers: auth(TOKENS.home1) });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({
      timezone: 'Europe/Brussels',
      // The latest snapshot's time, in local time (its UTC value is the last seeded one).
      devices: [{ device_id: 'home-1', country: seeded.snaps.at(-1)!.country, last_seen: '2026-03-30T12:07:00+02:00' }],
    });
    expect(Date.parse(one.json().devices[0].last_seen)).toBe(Date.parse(seeded.snaps.at(-1)!.timestamp));
    const all = await app.inject({ url: '/api/v1/devices', headers: auth(TOKENS.admin) });
    expect(all.json().devices.map((d: { device_id: string }) => d.device_id)).toEqual(['home-1', 'home-2']);
    const two = await app.inject({ url: '/api/v1/devices', headers: auth(TOKENS.home2) });
    expect(two.json().devices.map((d: { device_id: string }) => d.device_id)).toEqual(['home-2']);
    expect(two.json().devices[0].last_seen).not.toBeNull();
  });

  it('/metrics: 401 without a token, 403 for a token without every device, 200 for a "*" token', async () => {
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);
    const scoped = await app.inject({ url: '/metrics', headers: auth(TOKENS.home1) });
    expect(scoped.statusCode).toBe(403);
    expect(scoped.json().error).toBe('forbidden');
    const all = await app.inject({ url: '/metrics', headers: auth(TOKENS.admin) });
    expect(all.statusCode).toBe(200);
    expect(all.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('no token needed for /healthz, the OpenAPI document and the docs page', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ url: '/api/openapi.json' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/docs' })).statusCode).toBe(200);
  });
});

describe('rate limit', () => {
  it('per token: the 4th request in the window is 429, another token is unaffected, and so is the WebSocket key', async () => {
    const config = testConfig({}, { rate_limit: { max: 3, window_s: 60 } });
    const { app: limited } = await testApi(seeded.store, { config, now: () => NOW });
    try {
      const url = '/api/v1/realtime/home-1';
      for (let i = 0; i < 3; i++) {
        const r = await limited.inject({ url, headers: auth(TOKENS.home1) });
        expect(r.statusCode).toBe(200);
        expect(r.headers['x-ratelimit-remaining']).toBe(String(2 - i));
      }
      const over = await limited.inject({ url, headers: auth(TOKENS.home1) });
      expect(over.statusCode).toBe(429);
      expect(over.json()).toMatchObject({ error: 'too_many_requests' });
      expect(over.json().message).toMatch(/at most 3 requests per 60 s/);
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
      // Another token has its own budget.
      expect((await limited.inject({ url, headers: auth(TOKENS.admin) })).statusCode).toBe(200);
      // Requests without a valid token are limited per address, then refused.
      for (let i = 0; i < 3; i++) expect((await limited.inject({ url })).statusCode).toBe(401);
      expect((await limited.inject({ url })).statusCode).toBe(429);
      // /healthz is not limited.
      for (let i = 0; i < 5; i++) expect((await limited.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
