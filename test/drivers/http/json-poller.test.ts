/**
 * The shared HTTP JSON poller against a node:http server on 127.0.0.1.
 */
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonPoller, type JsonPollerOptions } from '../../../src/drivers/http/json-poller.js';
import type { SourceState } from '../../../src/drivers/source.js';
import { silentLogger } from '../../../src/lib/log.js';
import { waitFor } from '../../helpers/wait.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

interface Srv {
  port: number;
  /** Server clock (ms) when each request arrived and when it was answered. */
  seen: Array<{ at: number; done: number }>;
  maxOpen: number;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<Srv> {
  const srv: Srv = { port: 0, seen: [], maxOpen: 0 };
  let open = 0;
  const server: Server = createServer((req, res) => {
    const entry = { at: Date.now(), done: 0 };
    srv.seen.push(entry);
    open++;
    srv.maxOpen = Math.max(srv.maxOpen, open);
    res.on('close', () => {
      open--;
      entry.done = Date.now();
    });
    handler(req, res, srv.seen.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  srv.port = (server.address() as AddressInfo).port;
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return srv;
}

function poller(port: number, over: Partial<JsonPollerOptions> = {}) {
  const p = new JsonPoller({
    name: 'inverter',
    host: '127.0.0.1',
    port,
    path: '/api/data',
    intervalMs: 50,
    timeoutMs: 300,
    backoffBaseMs: 20,
    backoffMaxMs: 50,
    slowBaseMs: 20,
    slowMaxMs: 50,
    log: silentLogger(),
    ...over,
  });
  const data: unknown[] = [];
  const states: Array<[SourceState, string | undefined]> = [];
  p.onData((d) => data.push(d.body));
  p.onState((s, d) => states.push([s, d]));
  cleanup.push(() => p.stop());
  return { p, data, states };
}

const json = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(body);
};

describe('HTTP JSON poller', () => {
  it('polls with one request in flight even when the device is slower than the interval', async () => {
    const srv = await serve((_req, res, n) => setTimeout(() => json(res, 200, JSON.stringify({ n })), 120));
    const { p, data } = poller(srv.port, { intervalMs: 20, timeoutMs: 1000 });
    await p.start();
    await waitFor(() => data.length >= 4, '4 answers');
    expect(data.slice(0, 4)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    expect(srv.maxOpen).toBe(1);
    expect(p.maxInFlight).toBe(1);
    // each request starts after the previous answer (server clock)
    for (let i = 1; i < 4; i++) expect(srv.seen[i]?.at).toBeGreaterThanOrEqual(srv.seen[i - 1]?.done ?? 0);
  });

  it.each([
    [401, /401 unauthorized: inverter refused the credentials/],
    [403, /403 forbidden: inverter does not allow this; is its local API enabled/],
    [404, /the device's API answers 404: is its local API switched on\?/],
  ])('says what to do about HTTP %i', async (status, message) => {
    const srv = await serve((_req, res) => json(res, status, '{"error":"nope"}'));
    const { p, states } = poller(srv.port);
    await expect(p.get()).rejects.toThrow(message);
    await p.start();
    await waitFor(() => states.some(([s]) => s === 'lost'), 'lost');
    expect(states.find(([s]) => s === 'lost')?.[1]).toMatch(message);
  });

  it('names a JSON parse error with the parser’s message', async () => {
    const srv = await serve((_req, res) => json(res, 200, '{"power": 12,'));
    const { p } = poller(srv.port);
    await expect(p.get()).rejects.toThrow(/GET http:\/\/127\.0\.0\.1:\d+\/api\/data: the answer is not JSON: .*JSON/);
  });

  it('times out a device that does not answer, and recovers when it does', async () => {
    let silent = true;
    const srv = await serve((_req, res) => {
      if (!silent) json(res, 200, '{"ok":true}');
    });
    const { p, data, states } = poller(srv.port, { timeoutMs: 150 });
    await expect(p.get()).rejects.toThrow(/no answer within 150 ms/);
    await p.start();
    await waitFor(() => states.some(([s]) => s === 'lost'), 'lost');
    silent = false;
    await waitFor(() => data.length >= 1, 'data');
    expect(states.map(([s]) => s)).toEqual(['connecting', 'lost', 'connected']);
    expect(srv.seen.length).toBeGreaterThanOrEqual(2);
  });

  it('polls extra paths on their own intervals between the main ones, one in flight, minGapMs apart', async () => {
    const paths: string[] = [];
    const srv = await serve((req, res) => {
      paths.push(req.url ?? '');
      json(res, 200, JSON.stringify({ url: req.url }));
    });
    // Slots of 150 ms: wide enough that a loaded machine's timer jitter does not reorder them.
    const { p, data } = poller(srv.port, {
      intervalMs: 300,
      minGapMs: 150,
      extraPaths: [
        { path: '/api/meter', intervalMs: 1500 },
        { path: '/api/inverter', intervalMs: 1500 },
      ],
    });
    const seen: string[] = [];
    p.onData((d) => seen.push(d.path));
    await p.start();
    await waitFor(() => data.length >= 5, '5 answers');
    await p.stop();
    // The extras take the free slots between the main path's requests, which keep their interval.
    expect(paths.slice(0, 5)).toEqual(['/api/data', '/api/meter', '/api/data', '/api/inverter', '/api/data']);
    expect(seen.slice(0, 5)).toEqual(paths.slice(0, 5));
    expect(srv.maxOpen).toBe(1);
    for (let i = 1; i < srv.seen.length; i++) {
      expect((srv.seen[i]?.at ?? 0) - (srv.seen[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(140);
    }
  });

  it('does not starve an extra path when the main interval leaves no free slot', async () => {
    const paths: string[] = [];
    const srv = await serve((req, res) => {
      paths.push(req.url ?? '');
      json(res, 200, '{}');
    });
    const { p } = poller(srv.port, {
      intervalMs: 50,
      minGapMs: 50,
      extraPaths: [{ path: '/api/meter', intervalMs: 200 }],
    });
    await p.start();
    await waitFor(() => paths.length >= 12, '12 requests');
    await p.stop();
    expect(paths.slice(0, 4)).toEqual(['/api/data', '/api/data', '/api/meter', '/api/data']);
    expect(paths.filter((x) => x === '/api/meter').length).toBeGreaterThanOrEqual(2);
  });

  it('asks the extra paths only while the main path answers; their failures do not change the state', async () => {
    let mainUp = true;
    const paths: string[] = [];
    const srv = await serve((req, res) => {
      paths.push(req.url ?? '');
      if (req.url === '/api/meter') json(res, 500, '{}');
      else if (mainUp) json(res, 200, '{"ok":true}');
      else json(res, 503, '{}');
    });
    const { p, states } = poller(srv.port, { intervalMs: 30, extraPaths: [{ path: '/api/meter', intervalMs: 30 }] });
    const errors: string[] = [];
    p.onPathError((path, err) => errors.push(`${path}: ${(err as Error).message}`));
    await p.start();
    await waitFor(() => errors.length >= 1, 'a meter failure');
    expect(errors[0]).toMatch(/^\/api\/meter: GET .*\/api\/meter: HTTP 500$/);
    expect(states.map(([s]) => s)).toEqual(['connecting', 'connected']);
    mainUp = false;
    await waitFor(() => states.some(([s]) => s === 'lost'), 'lost');
    const at = paths.length;
    await new Promise((r) => setTimeout(r, 200));
    // While lost, only the main path is retried.
    expect(paths.slice(at).every((x) => x === '/api/data')).toBe(true);
  });
});

describe('HTTP JSON poller: poll() inside a driver’s own session', () => {
  it('polls until the deadline, then returns; the caller keeps its states', async () => {
    const srv = await serve((_req, res, n) => json(res, 200, JSON.stringify({ n })));
    const { p, states } = poller(srv.port, { intervalMs: 20 });
    const seen: unknown[] = [];
    const until = Date.now() + 300;
    await p.poll(new AbortController().signal, { until, onData: (d) => seen.push(d.body) });
    expect(Date.now()).toBeGreaterThanOrEqual(until);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.slice(0, 2)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(states).toEqual([]);
    expect(p.maxInFlight).toBe(1);
  });

  it('ends with the first failure: a refused request, or what onData throws', async () => {
    let status = 200;
    const srv = await serve((_req, res) => json(res, status, '{"error":"user:unauthorized"}'));
    const { p } = poller(srv.port, {
      statusError: (what, res) => new Error(`${what}: device says ${(res.body as { error: string }).error}`),
    });
    const signal = new AbortController().signal;
    await expect(
      p.poll(signal, {
        onData: () => {
          throw new Error('not a measurement');
        },
      }),
    ).rejects.toThrow('not a measurement');
    status = 401;
    await expect(p.poll(signal, { onData: () => {} })).rejects.toThrow(
      /GET http:\/\/127\.0\.0\.1:\d+\/api\/data: device says user:unauthorized/,
    );
    await expect(p.request('/api/data')).rejects.toThrow(/device says/);
  });

  it('returns on abort, and leaves a pool the caller owns open', async () => {
    const srv = await serve((_req, res) => json(res, 200, '{}'));
    const agent = new Agent({ keepAlive: true });
    cleanup.push(async () => agent.destroy());
    const { p } = poller(srv.port, { agent, intervalMs: 10_000 });
    const ac = new AbortController();
    let answers = 0;
    const polling = p.poll(ac.signal, { onData: () => answers++ });
    await waitFor(() => answers === 1, 'the first answer');
    ac.abort();
    await polling;
    await p.stop();
    // A destroyed pool's sockets leave freeSockets when they close, a moment later.
    await new Promise((r) => setTimeout(r, 100));
    expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);
  });
});
