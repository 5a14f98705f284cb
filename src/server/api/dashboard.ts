/**
 * The dashboard's files at / (when config.api.dashboard is on and the built files exist) and the
 * not-found answer: the dashboard's index.html for a browser asking for one of its pages, JSON
 * otherwise. On the root instance, after every route group.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export async function installDashboard(
  app: FastifyInstance,
  enabled: boolean,
  root: string | undefined,
): Promise<void> {
  const webRoot = root ? resolve(root) : null;
  const dashboard = enabled && webRoot !== null && existsSync(join(webRoot, 'index.html'));
  if (dashboard) {
    await app.register(fastifyStatic, { root: webRoot, prefix: '/', index: ['index.html'], wildcard: false });
  }
  app.setNotFoundHandler((req, reply) => {
    const p = req.url.split('?')[0] ?? '';
    const apiPath = p.startsWith('/api/') || p.startsWith('/ws/') || p === '/metrics' || p === '/healthz';
    if (dashboard && req.method === 'GET' && !apiPath && (req.headers.accept ?? '').includes('text/html')) {
      return reply.type('text/html').sendFile('index.html'); // the dashboard routes in the browser
    }
    return reply.code(404).send({ error: 'not_found', message: `no route: ${req.method} ${p}` });
  });
}
