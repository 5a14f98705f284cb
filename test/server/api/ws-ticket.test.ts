/**
 * POST /api/v1/ws-ticket keeps the token out of WebSocket URLs (which proxies' access logs record):
 * a Bearer request gets a short-lived, single-use ticket to pass as `?ticket=`, holding exactly the
 * token's devices. `?token=` still works for existing clients.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { auth, NOW, type Seeded, seededStore, TOKENS, testApi, testConfig } from './setup.js';

let seeded: Seeded;
let app: FastifyInstance | null = null;
let base = '';
let clock = NOW;
const open: WebSocket[] = [];

beforeAll(async () => {
  seeded = await seededStore();
});

afterEach(async () => {
  for (const ws of open.splice(0)) ws.terminate();
  await app?.close();
  app = null;
});

afterAll(async () => {
  await seeded?.cleanup();
});

async function listen(api: Record<string, unknown> = {}): Promise<FastifyInstance> {
  clock = NOW;
  const a = (await testApi(seeded.store, { config: testConfig({}, api), now: () => clock })).app;
  app = a;
  await a.listen({ host: '127.0.0.1', port: 0 });
  const addr = a.server.address();
  if (!addr || typeof addr !== 'object') throw new Error('not listening');
  base = `ws://127.0.0.1:${addr.port}`;
  return a;
}

/** Resolves with 101 and the first message, or the HTTP status and body of a refused upgrade. */
function connect(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}${path}`, { handshakeTimeout: 5_000 });
    open.push(ws);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('message', (d) => resolve({ status: 101, body: d.toString() }));
    ws.once('close', (code, reason) => resolve({ status: code, body: reason.toString() }));
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

async function ticket(a: FastifyInstance, token: string): Promise<string> {
  const r = await a.inject({ method: 'POST', url: '/api/v1/ws-ticket', headers: auth(token) });
  expect(r.statusCode, r.body).toBe(200);
  const body = r.json() as { ticket: string; expires_in_s: number };
  expect(body.expires_in_s).toBe(30);
  expect(body.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(r.headers['cache-control']).toBe('no-store');
  return body.ticket;
}

const feed = (device: string, t: string) => `/ws/v1/realtime/${device}?ticket=${t}`;

describe('POST /api/v1/ws-ticket', () => {
  it('a ticket opens the WebSocket once; used again it is refused with 401', async () => {
    const a = await listen();
    const t = await ticket(a, TOKENS.home1);
    const first = await connect(feed('home-1', t));
    expect(first.status).toBe(101);
    expect(JSON.parse(first.body)).toMatchObject({ device_id: 'home-1' });
    const again = await connect(feed('home-1', t));
    expect(again.status).toBe(401);
    expect(JSON.parse(again.body)).toMatchObject({ error: 'unauthorized', message: expect.stringMatching(/ticket/) });
  });

  it('expires after 30 s', async () => {
    const a = await listen();
    const fresh = await ticket(a, TOKENS.home1);
    const stale = await ticket(a, TOKENS.home1);
    clock = NOW + 29_999;
    expect((await connect(feed('home-1', fresh))).status).toBe(101);
    clock = NOW + 30_000;
    expect((await connect(feed('home-1', stale))).status).toBe(401);
  });

  it("holds the token's devices only: another home's feed answers 404, and the ticket is spent", async () => {
    const a = await listen();
    const t = await ticket(a, TOKENS.home1);
    expect((await connect(feed('home-2', t))).status).toBe(404);
    expect((await connect(feed('home-1', t))).status).toBe(401);
    const admin = await ticket(a, TOKENS.admin);
    expect((await connect(feed('home-2', admin))).status).toBe(101);
  });

  it('needs a valid bearer token; a ticket is no token anywhere else', async () => {
    const a = await listen();
    expect((await a.inject({ method: 'POST', url: '/api/v1/ws-ticket' })).statusCode).toBe(401);
    expect((await a.inject({ method: 'POST', url: `/api/v1/ws-ticket?token=${TOKENS.home1}` })).statusCode).toBe(401);
    expect((await a.inject({ method: 'GET', url: '/api/v1/ws-ticket', headers: auth(TOKENS.home1) })).statusCode).toBe(
      404,
    );
    const t = await ticket(a, TOKENS.home1);
    expect((await a.inject({ url: `/api/v1/realtime/home-1?ticket=${t}` })).statusCode).toBe(401);
    expect((await a.inject({ url: '/api/v1/realtime/home-1', headers: auth(t) })).statusCode).toBe(401);
    expect((await connect(`/ws/v1/realtime/home-1?token=${t}`)).status).toBe(401);
    expect((await connect(feed('home-1', 'x'.repeat(43)))).status).toBe(401);
    // Still unspent after all that.
    expect((await connect(feed('home-1', t))).status).toBe(101);
  });

  it("a socket opened with a ticket counts against its token's cap", async () => {
    const a = await listen({ websocket: { max_per_token: 1 } });
    expect((await connect(feed('home-1', await ticket(a, TOKENS.home1)))).status).toBe(101);
    const over = await connect(feed('home-1', await ticket(a, TOKENS.home1)));
    expect(over.status).toBe(1008);
  });

  it('outstanding tickets are bounded per token: the oldest gives way', async () => {
    const a = await listen();
    const tickets: string[] = [];
    for (let i = 0; i < 33; i++) tickets.push(await ticket(a, TOKENS.home1));
    expect((await connect(feed('home-1', tickets[0]!))).status).toBe(401);
    expect((await connect(feed('home-1', tickets[1]!))).status).toBe(101);
    expect((await connect(feed('home-1', tickets[32]!))).status).toBe(101);
    // Another token's tickets are not pushed out by this one's.
    const other = await ticket(a, TOKENS.home2);
    for (let i = 0; i < 40; i++) await ticket(a, TOKENS.home1);
    expect((await connect(feed('home-2', other))).status).toBe(101);
  });

  it('?token= keeps working (deprecated)', async () => {
    await listen();
    expect((await connect(`/ws/v1/realtime/home-1?token=${TOKENS.home1}`)).status).toBe(101);
  });
});
