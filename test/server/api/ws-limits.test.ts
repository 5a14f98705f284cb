/**
 * One home cannot hurt another through the WebSocket: sockets are capped per token and per client
 * address within the global cap, and a token that holds its cap is refused with a clear close code
 * while another token still connects. The ws-ticket keeps the token out of URLs.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Seeded, seededStore, TOKENS, testApi, testConfig } from './setup.js';

let seeded: Seeded;
let app: FastifyInstance | null = null;
let base = '';
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

async function listen(api: Record<string, unknown> = {}, now = () => Date.parse('2026-03-30T10:07:30Z')) {
  const config = testConfig({}, api);
  ({ app } = await testApi(seeded.store, { config, now }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr !== 'object') throw new Error('not listening');
  base = `ws://127.0.0.1:${addr.port}`;
}

type Outcome =
  | { kind: 'message'; ws: WebSocket }
  | { kind: 'closed'; code: number; reason: string }
  | { kind: 'refused'; status: number; body: string };

/** Connects; resolves at the first message (kept open), at a close, or at a refused upgrade. */
function connect(path: string, opts: WebSocket.ClientOptions = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}${path}`, { handshakeTimeout: 5_000, ...opts });
    open.push(ws);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ kind: 'refused', status: res.statusCode ?? 0, body }));
    });
    ws.once('message', () => resolve({ kind: 'message', ws }));
    ws.once('close', (code, reason) => resolve({ kind: 'closed', code, reason: reason.toString() }));
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

const feed = (device: string, token: string) => `/ws/v1/realtime/${device}?token=${token}`;

describe('WebSocket caps', () => {
  it('a token at its cap is refused (1008, naming the token cap) while another token still connects', async () => {
    await listen({ websocket: { max_per_token: 3 } });
    for (let i = 0; i < 3; i++) expect((await connect(feed('home-1', TOKENS.home1))).kind).toBe('message');
    const over = await connect(feed('home-1', TOKENS.home1));
    expect(over).toMatchObject({ kind: 'closed', code: 1008 });
    expect((over as { reason: string }).reason).toMatch(/token.*at most 3/);
    // Other homes are not locked out.
    expect((await connect(feed('home-2', TOKENS.home2))).kind).toBe('message');
    expect((await connect(feed('home-1', TOKENS.admin))).kind).toBe('message');
  });

  it('an address at its cap is refused (1008, naming the address cap) while another address connects', async () => {
    await listen({ websocket: { max_per_token: 10, max_per_address: 2 } });
    expect((await connect(feed('home-1', TOKENS.home1))).kind).toBe('message');
    expect((await connect(feed('home-2', TOKENS.home2))).kind).toBe('message');
    const over = await connect(feed('home-1', TOKENS.admin));
    expect(over).toMatchObject({ kind: 'closed', code: 1008 });
    expect((over as { reason: string }).reason).toMatch(/address.*at most 2/);
    expect((await connect(feed('home-1', TOKENS.admin), { localAddress: '127.0.0.2' })).kind).toBe('message');
  });

  it('the defaults: 1 000 in all, 50 per token, 100 per address', () => {
    expect(testConfig().api.websocket).toEqual({ max_clients: 1000, max_per_token: 50, max_per_address: 100 });
  });

  it('the global cap still applies (1013)', async () => {
    await listen({ websocket: { max_clients: 2 } });
    expect((await connect(feed('home-1', TOKENS.home1))).kind).toBe('message');
    expect((await connect(feed('home-2', TOKENS.home2))).kind).toBe('message');
    expect(await connect(feed('home-1', TOKENS.admin))).toMatchObject({ kind: 'closed', code: 1013 });
  });

  it('a closed socket frees its slot', async () => {
    await listen({ websocket: { max_per_token: 1 } });
    const first = await connect(feed('home-1', TOKENS.home1));
    if (first.kind !== 'message') throw new Error('not open');
    const closed = new Promise<void>((resolve) => first.ws.once('close', () => resolve()));
    first.ws.close();
    await closed;
    // The server detaches on its own close event; retry until it has (bounded, no timing assertion).
    let again: Outcome = { kind: 'closed', code: 0, reason: '' };
    for (let i = 0; i < 50 && again.kind !== 'message'; i++) again = await connect(feed('home-1', TOKENS.home1));
    expect(again.kind).toBe('message');
  });
});
