/**
 * A fake day-ahead price feed on loopback: answers Energy-Charts' `/price` and ENTSO-E's `/api` with
 * the stored answers in test/fixtures/prices, chosen by the request's query, and records each request.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '../../fixtures/prices');
export const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

export interface FakeAnswer {
  status: number;
  body: string;
  type?: string;
}

export interface FakeFeed {
  url: string;
  /** Every request's path and query, in order. */
  requests: URL[];
  /** What to answer; replaced by the tests. Default: 404. */
  answer: (u: URL, req: IncomingMessage) => FakeAnswer;
  stop(): Promise<void>;
}

export async function startFakeFeed(): Promise<FakeFeed> {
  const feed: FakeFeed = {
    url: '',
    requests: [],
    answer: () => ({ status: 404, body: 'not found' }),
    stop: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    feed.requests.push(u);
    const a = feed.answer(u, req);
    res.writeHead(a.status, { 'content-type': a.type ?? (a.body.startsWith('<') ? 'text/xml' : 'application/json') });
    res.end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  feed.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  feed.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return feed;
}
