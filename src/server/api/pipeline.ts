/**
 * The request pipeline every route group goes through, installed on the root instance before the
 * groups are registered (hooks and the error handler of a parent reach its encapsulated plugins):
 *
 * onRequest identifies the bearer token (or a ticket, or the deprecated `?token=`, on the WebSocket)
 * → preParsing applies the rate limit per token (per IP without a valid token) → preValidation
 * answers 401 to a route that needs a token → validation (400 naming the parameter) → preHandler
 * answers 404 for a device the token does not hold or that does not exist (the same answer for
 * both) → the route → onSend adds the security headers → onResponse times the request.
 *
 * A route says what it needs in `config.auth` (AuthMode).
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../lib/log.js';
import type { ServerConfig } from '../config.js';
import { bearerToken, holds, queryParam, queryToken, type TokenGrant, type TokenTable } from './auth.js';
import type { KnownDevices } from './devices.js';
import { ERRORS } from './errors.js';
import type { ApiMetrics } from './metrics.js';
import { type TicketBook, WS_TICKET_TTL_S } from './tickets.js';
import { HttpError } from './util.js';

export type AuthMode = 'device' | 'device_write' | 'metrics' | 'token' | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * device: a token holding the route's device_id; device_write: the same with scope `write`
     * (403 for a read-only token); metrics: a token holding every device ('*'); token: any valid
     * token (the route answers only what it holds).
     */
    auth?: AuthMode;
  }
  interface FastifyRequest {
    grant: TokenGrant | null;
  }
}

/** Paths the rate limit covers: the API and the WebSocket, not the dashboard or the API's docs page. */
export function isLimitedPath(url: string): boolean {
  const p = url.split('?', 1)[0] ?? '';
  return (p.startsWith('/api/') && !p.startsWith('/api/docs')) || p.startsWith('/ws/') || p === '/metrics';
}

export interface PipelineDeps {
  config: ServerConfig;
  tokens: TokenTable;
  tickets: TicketBook;
  known: KnownDevices;
  metrics: ApiMetrics;
  log: Logger;
}

/** Installs the whole pipeline on the root instance (`app`), in the order the hooks run. */
export async function installPipeline(app: FastifyInstance, d: PipelineDeps): Promise<void> {
  await installAuth(app, d);
  installResponses(app, d);
}

/** Who is asking (onRequest), the rate limit (preParsing), 401/403 (preValidation), 404 (preHandler). */
async function installAuth(app: FastifyInstance, d: PipelineDeps): Promise<void> {
  const { config, tokens, tickets, known } = d;
  app.decorateRequest('grant', null);
  app.addHook('onRequest', async (req) => {
    const auth = req.routeOptions.config.auth ?? 'none';
    if (auth === 'none') return;
    const presented = bearerToken(req.headers.authorization);
    if (presented === null && req.headers.upgrade?.toLowerCase() === 'websocket') {
      // A ticket (spent here, whatever follows) or, deprecated, the token itself in the URL.
      const ticket = queryParam(req.url, 'ticket');
      if (ticket !== null) {
        req.grant = tickets.take(ticket);
        return;
      }
      const token = queryToken(req.url);
      req.grant = token === null ? null : tokens.lookup(token);
      return;
    }
    req.grant = presented === null ? null : tokens.lookup(presented);
  });

  await app.register(rateLimit, {
    global: true,
    hook: 'preParsing',
    max: config.api.rate_limit.max,
    timeWindow: config.api.rate_limit.window_s * 1000,
    keyGenerator: (req: FastifyRequest) => (req.grant ? `token:${req.grant.name}` : `ip:${req.ip}`),
    // The API only: the dashboard's page and assets stay reachable when an address has used its budget.
    allowList: (req: FastifyRequest) => !isLimitedPath(req.url),
    errorResponseBuilder: (_req, ctx) =>
      new HttpError(
        429,
        'too_many_requests',
        `rate limit: at most ${config.api.rate_limit.max} requests per ${config.api.rate_limit.window_s} s; retry in ${ctx.after}`,
      ),
  });

  app.addHook('preValidation', requireGrant);

  app.addHook('preHandler', async (req) => {
    const auth = req.routeOptions.config.auth;
    if (auth !== 'device' && auth !== 'device_write') return;
    const id = (req.params as { device_id?: string }).device_id ?? '';
    // Not held and not existing answer the same, so a token cannot probe other homes' ids.
    if (!req.grant || !holds(req.grant, id) || !(await known.has(id))) {
      throw new HttpError(404, 'not_found', `unknown device: ${id}`);
    }
  });
}

/**
 * preValidation: 401 to a route that needs a token and got none that is valid; 403 on /metrics
 * without '*', and on a route that writes for a read-only token (before its body is even checked).
 */
async function requireGrant(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const auth = req.routeOptions.config.auth ?? 'none';
  if (auth === 'none') return;
  if (!req.grant) {
    const upgrade = req.headers.upgrade?.toLowerCase() === 'websocket';
    const ticket = upgrade && req.headers.authorization === undefined && queryParam(req.url, 'ticket') !== null;
    if (ticket) {
      reply.header('www-authenticate', 'Bearer realm="kwartier", error="invalid_token"');
      throw new HttpError(
        401,
        'unauthorized',
        `the ticket is not valid: a ticket opens one WebSocket within ${WS_TICKET_TTL_S} s of POST /api/v1/ws-ticket`,
      );
    }
    const presented = req.headers.authorization !== undefined || queryToken(req.url) !== null;
    reply.header(
      'www-authenticate',
      presented ? 'Bearer realm="kwartier", error="invalid_token"' : 'Bearer realm="kwartier"',
    );
    throw new HttpError(
      401,
      'unauthorized',
      presented ? 'the bearer token is not valid' : 'a bearer token is required',
    );
  }
  if (auth === 'metrics' && !req.grant.all) {
    // Metrics name every device: only a token holding every device may read them.
    throw new HttpError(403, 'forbidden', "/metrics needs a token granting every device ('*')");
  }
  if (auth === 'device_write' && !req.grant.write) {
    throw new HttpError(
      403,
      'forbidden',
      'this token may only read: changing settings needs a token with scope: write',
    );
  }
}

/** The security headers (onSend), the request timing (onResponse) and the error answers. */
function installResponses(app: FastifyInstance, d: PipelineDeps): void {
  const { metrics, log } = d;
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    const url = req.url;
    if (
      url.startsWith('/api/v1/') ||
      url.startsWith('/metrics') ||
      url.startsWith('/healthz') ||
      url.startsWith('/ws/')
    ) {
      reply.header('cache-control', 'no-store');
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    } else if (!reply.hasHeader('content-security-policy')) {
      reply.header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; " +
          "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      );
    }
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: req.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500 && !(err instanceof HttpError)) {
      log.error({ err, url: req.url }, 'api: request failed');
      return reply.code(500).send({ error: 'internal', message: 'internal error' });
    }
    if (status >= 500) log.warn({ url: req.url, message: err.message }, 'api: store unavailable');
    const error = err instanceof HttpError ? err.error : (ERRORS[status] ?? 'error');
    return reply.code(status).send({ error, message: err.message });
  });
}
