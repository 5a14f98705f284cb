/**
 * The HTTP API: `createApi(deps)` returns a configured Fastify instance (not yet listening).
 *
 *   const app = await createApi({ store, config, bus, log });   // bus: server/bus.ts
 *   await app.listen({ host: config.api.host, port: config.api.port });
 *
 * Routes (docs/api.md): realtime, history, capacity-tariff, self-sufficiency, cost-estimate under
 * /api/v1/…/{device_id}; the WebSocket /ws/v1/realtime/{device_id}; /healthz; /metrics;
 * /api/openapi.json and /api/docs; the dashboard at / (config.api.dashboard and webRoot).
 *
 * Request pipeline: onRequest identifies the bearer token (or `?token=` on the WebSocket) →
 * preParsing applies the rate limit per token (per IP without a valid token) → preValidation answers
 * 401 to a route that needs a token → validation (400 naming the parameter) → preHandler answers 404
 * for a device the token does not hold or that does not exist (the same answer for both).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import { Type } from '@sinclair/typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { type Logger, silentLogger } from '../../lib/log.js';
import type { ServerBus } from '../bus.js';
import type { ServerConfig } from '../config.js';
import type { Store } from '../store/types.js';
import { bearerToken, holds, queryParam, queryToken, type TokenGrant, TokenTable } from './auth.js';
import { HistoryCache } from './cache.js';
import { KnownDevices } from './devices.js';
import { bucketJson, checkHistoryRange, lastBucketEnd, RAW_MAX_ROWS } from './history.js';
import { type InsightDeps, registerInsightRoutes } from './insights.js';
import { ApiMetrics, type ApiMetricsDeps } from './metrics.js';
import {
  BucketPointSchema,
  DeviceParams,
  ErrorSchema,
  HistoryQuery,
  type HistoryResolution,
  HistorySchema,
  RealtimeSchema,
  SnapshotOutSchema,
} from './schemas.js';
import { TicketBook } from './tickets.js';
import { BadRequest, parseTime, ZoneClock } from './time.js';
import { HttpError, presentRealtime, presentSnapshot, withDeadline } from './util.js';
import { RealtimeHub } from './ws.js';

export interface ApiDeps {
  store: Store;
  config: ServerConfig;
  /**
   * What the ingester commits and what the edges say (server/bus.ts): the WebSocket, the metrics, the
   * answer cache and the known devices are its consumers, subscribed here when the API starts.
   */
  bus: ServerBus;
  log?: Logger;
  /** Prometheus registry and ingest figures (see metrics.ts). Default: a fresh registry with process metrics. */
  metrics?: Partial<ApiMetricsDeps>;
  /** Capacity tariff and cost: tariffs per device, or the directory to resolve config.devices[id].tariffs against. */
  insights?: Partial<InsightDeps>;
  /** Directory of the config file (tariff paths are relative to it). Default: the working directory. */
  configDir?: string;
  /** Dashboard files, served at / when config.api.dashboard is true and the directory exists. */
  webRoot?: string;
  /** The clock (ms since epoch). Default Date.now. */
  now?: () => number;
  /** WebSocket limits. */
  ws?: { maxBufferedBytes?: number; maxClients?: number; pingIntervalMs?: number };
  /** Cache of rendered history answers (cache.ts). ttlMs 0 turns it off. Default 60 s, 256 entries, 64 MiB. */
  historyCache?: { ttlMs?: number; maxEntries?: number; maxBytes?: number };
  /** Deadline of each store call made for a request (ms). Default 10 000. */
  storeTimeoutMs?: number;
}

export type AuthMode = 'device' | 'metrics' | 'token' | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * device: a token holding the route's device_id; metrics: a token holding every device ('*');
     * token: any valid token (the route answers only what it holds).
     */
    auth?: AuthMode;
  }
  interface FastifyRequest {
    grant: TokenGrant | null;
  }
}

const ERRORS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
};

const ErrorRef = Type.Ref(ErrorSchema);
const deviceErrors = { 400: ErrorRef, 401: ErrorRef, 404: ErrorRef, 429: ErrorRef, 503: ErrorRef };

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `start: is required`, `resolution: must be one of raw, 1min, …`: the parameter first. */
function formatValidation(errors: AjvError[], part: string): Error {
  const e = errors[0] ?? {};
  const path = (e.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const p = e.params ?? {};
  let message: string;
  if (e.keyword === 'required') message = `${String(p.missingProperty)}: is required`;
  else if (e.keyword === 'additionalProperties') message = `${String(p.additionalProperty)}: unknown parameter`;
  else if (e.keyword === 'enum')
    message = `${path || part}: must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
  else message = `${path || part}: ${e.message ?? 'is not valid'}`;
  return new HttpError(400, 'bad_request', message);
}

/** Lifetime of a WebSocket ticket (s), and the unspent tickets one token may hold. */
export const WS_TICKET_TTL_S = 30;
export const WS_TICKETS_PER_TOKEN = 32;

/** Paths the rate limit covers: the API and the WebSocket, not the dashboard or the API's docs page. */
export function isLimitedPath(url: string): boolean {
  const p = url.split('?', 1)[0] ?? '';
  return (p.startsWith('/api/') && !p.startsWith('/api/docs')) || p.startsWith('/ws/') || p === '/metrics';
}

export async function createApi(deps: ApiDeps): Promise<FastifyInstance> {
  const { store, config } = deps;
  const log = deps.log ?? silentLogger();
  const now = deps.now ?? Date.now;
  const clock = new ZoneClock(config.timezone);
  const tokens = new TokenTable(config.api.tokens);
  const tickets = new TicketBook({ ttlMs: WS_TICKET_TTL_S * 1000, maxPerToken: WS_TICKETS_PER_TOKEN, now });
  const timeoutMs = deps.storeTimeoutMs ?? 10_000;
  const registry = deps.metrics?.registry ?? new Registry();
  if (!deps.metrics?.registry) collectDefaultMetrics({ register: registry });
  const metrics = new ApiMetrics({ ...deps.metrics, registry }, store, log);
  const known = new KnownDevices(store, Object.keys(config.devices), 2_000, timeoutMs);
  const hub = new RealtimeHub({
    store,
    clock,
    now,
    log,
    metrics,
    timeoutMs,
    maxBufferedBytes: deps.ws?.maxBufferedBytes ?? 256 * 1024,
    maxClients: deps.ws?.maxClients ?? config.api.websocket.max_clients,
    maxPerToken: config.api.websocket.max_per_token,
    maxPerAddress: config.api.websocket.max_per_address,
    pingIntervalMs: deps.ws?.pingIntervalMs ?? 30_000,
  });

  const historyCache = new HistoryCache({
    ttlMs: deps.historyCache?.ttlMs ?? 60_000,
    maxEntries: deps.historyCache?.maxEntries ?? 256,
    maxBytes: deps.historyCache?.maxBytes ?? 64 * 1024 * 1024,
    now,
  });

  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    requestTimeout: 30_000,
    routerOptions: { maxParamLength: 200 },
    schemaErrorFormatter: (errors, part) => formatValidation(errors as AjvError[], part),
    // req.ip: the client address from X-Forwarded-For only when the request comes from the configured proxy.
    trustProxy: Array.isArray(config.api.trust_proxy) ? config.api.trust_proxy : false,
  });

  // ---- the bus's consumers (server/bus.ts; each isolated: one that throws is logged, the others go on) ----
  const bus = deps.bus;
  const consumers = ['known-devices', 'cache', 'metrics', 'ws'] as const;
  bus.subscribe('known-devices', 'committed', (e) => known.add(e.snapshot.device_id));
  bus.subscribe('cache', 'committed', (e) =>
    historyCache.invalidate(e.snapshot.device_id, Date.parse(e.snapshot.timestamp)),
  );
  bus.subscribe('metrics', 'committed', (e) => metrics.onSnapshot(e.snapshot.device_id, e.snapshot.timestamp, now()));
  // The edge's buffer depth (its retained status) for /metrics, unless a getter was given.
  bus.subscribe('metrics', 'status', (m) => {
    if (typeof m.message.buffer_depth === 'number') metrics.onBufferDepth(m.deviceId, m.message.buffer_depth);
  });
  bus.subscribe('ws', 'committed', (e) => hub.publish(e.snapshot));
  // Capacity alerts from the edge reach the dashboard as typed WebSocket messages; a replayed
  // (retained) alert never reaches here (the ingester clears it).
  bus.subscribe('ws', 'capacity', (m) => {
    if (m.message.kind === 'alert')
      hub.announce(m.deviceId, { ...m.message, type: 'capacity_alert', device_id: m.deviceId });
  });
  app.addHook('onReady', async () => hub.start());
  app.addHook('onClose', async () => {
    for (const c of consumers) bus.unsubscribe(c);
    hub.stop();
  });

  // ---- auth, limits, headers, metrics ----------------------------------------------------------------
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

  app.addHook('preValidation', async (req, reply) => {
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
  });

  app.addHook('preHandler', async (req) => {
    if (req.routeOptions.config.auth !== 'device') return;
    const id = (req.params as { device_id?: string }).device_id ?? '';
    // Not held and not existing answer the same, so a token cannot probe other homes' ids.
    if (!req.grant || !holds(req.grant, id) || !(await known.has(id))) {
      throw new HttpError(404, 'not_found', `unknown device: ${id}`);
    }
  });

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

  // ---- OpenAPI ------------------------------------------------------------------------------------------
  app.addSchema(ErrorSchema);
  app.addSchema(SnapshotOutSchema);
  app.addSchema(BucketPointSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Kwartier API',
        version: '1',
        description: 'Realtime and historic energy data of Kwartier homes. Times are ISO 8601 with the local offset.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(websocket, {
    options: { maxPayload: 4 * 1024 },
    errorHandler: (err, socket) => {
      log.warn({ err }, 'api: websocket handler failed');
      socket.terminate();
    },
  });

  // ---- routes -----------------------------------------------------------------------------------------------
  app.get(
    '/healthz',
    {
      config: { auth: 'none', rateLimit: false },
      schema: {
        summary: 'Health: the store answers',
        tags: ['operations'],
        security: [],
        response: {
          200: Type.Object({ status: Type.Literal('ok') }),
          503: Type.Object({ status: Type.Literal('unavailable'), error: Type.String() }),
        },
      },
    },
    async (_req, reply) => {
      try {
        await withDeadline(store.devices(), 2_000, 'store');
        return { status: 'ok' as const };
      } catch (err) {
        log.warn({ err }, 'api: health check failed');
        return reply.code(503).send({ status: 'unavailable', error: err instanceof Error ? err.message : String(err) });
      }
    },
  );

  app.get(
    '/metrics',
    {
      config: { auth: 'metrics' },
      schema: {
        summary: "Prometheus metrics (needs a token granting '*')",
        tags: ['operations'],
        produces: ['text/plain'],
        response: { 401: ErrorRef, 403: ErrorRef, 429: ErrorRef },
      },
    },
    async (_req, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );

  app.get(
    '/api/v1/devices',
    {
      config: { auth: 'token' },
      schema: {
        summary: 'The homes this token may read, and the time zone their days and quarters are in',
        tags: ['data'],
        response: {
          200: Type.Object({
            timezone: Type.String({
              description: "IANA time zone of days, hours and quarters (the config's `timezone`).",
            }),
            devices: Type.Array(
              Type.Object({
                device_id: Type.String(),
                country: Type.Union([Type.Literal('be'), Type.Literal('nl'), Type.Null()], {
                  description: "The config's `devices.<id>.country`, else what the meter's telegrams say, else null.",
                }),
                last_seen: Type.Union([
                  Type.String({ description: 'Local time of the latest snapshot.' }),
                  Type.Null(),
                ]),
              }),
            ),
          }),
          401: ErrorRef,
          429: ErrorRef,
          503: ErrorRef,
        },
      },
    },
    async (req) => {
      const grant = req.grant!;
      // The known devices (configured, stored) the token holds: no other home's id is revealed.
      const held = (await known.all()).filter((id) => holds(grant, id)).sort();
      const devices = await Promise.all(
        held.map(async (id) => {
          const latest = await withDeadline(store.latest(id), timeoutMs, 'store.latest');
          return {
            device_id: id,
            country: config.devices[id]?.country ?? latest?.country ?? null,
            last_seen: latest ? (clock.isoFromString(latest.timestamp) ?? latest.timestamp) : null,
          };
        }),
      );
      return { timezone: config.timezone, devices };
    },
  );

  app.post(
    '/api/v1/ws-ticket',
    {
      config: { auth: 'token' },
      schema: {
        summary: 'A single-use ticket to open the WebSocket without putting the token in its URL',
        description:
          `Pass it as /ws/v1/realtime/{device_id}?ticket=…: it opens one WebSocket within ${WS_TICKET_TTL_S} s, for a ` +
          'device this token holds, and is spent by that attempt. No request body. A token holds at most ' +
          `${WS_TICKETS_PER_TOKEN} unspent tickets (a new one drops its oldest).`,
        tags: ['data'],
        response: {
          200: Type.Object({
            ticket: Type.String({ description: 'Opaque, 43 characters (base64url).' }),
            expires_in_s: Type.Integer({ description: 'Seconds the ticket stays valid.' }),
          }),
          401: ErrorRef,
          429: ErrorRef,
        },
      },
    },
    async (req) => ({ ticket: tickets.issue(req.grant!), expires_in_s: WS_TICKET_TTL_S }),
  );

  app.get<{ Params: { device_id: string } }>(
    '/api/v1/realtime/:device_id',
    {
      config: { auth: 'device' },
      schema: {
        summary: 'The latest snapshot and its age',
        tags: ['data'],
        params: DeviceParams,
        response: { 200: RealtimeSchema, ...deviceErrors },
      },
    },
    async (req) => {
      const id = req.params.device_id;
      const s = await withDeadline(store.latest(id), timeoutMs, 'store.latest');
      if (!s) throw new HttpError(404, 'not_found', `no data yet for device: ${id}`);
      return presentRealtime(s, clock, now());
    },
  );

  app.get<{
    Params: { device_id: string };
    Querystring: { start: string; end: string; resolution: HistoryResolution; device?: string };
  }>(
    '/api/v1/history/:device_id',
    {
      config: { auth: 'device' },
      schema: {
        summary: 'Aggregates (or raw snapshots) over a range',
        description:
          'Energy per bucket from the meter counters at the bucket boundaries; daily and longer buckets are local days. ' +
          'Longest range per resolution: raw 1 h, 1min 7 days, 15min 93 days, hourly 366 days, daily 10 years, ' +
          'weekly 20 years, monthly 100 years.',
        tags: ['data'],
        params: DeviceParams,
        querystring: HistoryQuery,
        response: { 200: HistorySchema, ...deviceErrors },
      },
      // Answered as text from the cache (points are one of two shapes, rendered once with JSON.stringify).
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (req, reply) => {
      const id = req.params.device_id;
      const { resolution, device } = req.query;
      if (device !== undefined && resolution !== 'raw')
        throw new BadRequest(
          `device: one device's series is its raw readings (resolution=raw); the ${resolution} aggregates are of the whole home`,
        );
      const key = `${id}|${resolution}|${req.query.start}|${req.query.end}|${device ?? ''}`;
      let rendered = historyCache.lookup(key);
      if (!rendered) {
        const start = parseTime(req.query.start, clock, 'start');
        const end = parseTime(req.query.end, clock, 'end');
        checkHistoryRange(start, end, resolution, clock);
        rendered = await historyCache.fill(id, key, lastBucketEnd(end, resolution, clock), async () => {
          const head = `{"device_id":${JSON.stringify(id)},"resolution":"${resolution}","start":"${clock.iso(start)}","end":"${clock.iso(end)}","points":`;
          if (resolution === 'raw') {
            const rows = await withDeadline(
              store.raw(id, new Date(start), new Date(end), RAW_MAX_ROWS),
              timeoutMs,
              'store.raw',
            );
            if (device !== undefined) {
              // That device's own readings, where the site's snapshots carry it.
              const points = rows.flatMap((s) => {
                const d = s.devices?.[device];
                return d
                  ? [
                      {
                        timestamp: clock.isoFromString(s.timestamp) ?? s.timestamp,
                        type: d.type,
                        stale: d.stale,
                        ...d.fields,
                      },
                    ]
                  : [];
              });
              const withDevice = head.replace(',"points":', `,"device":${JSON.stringify(device)},"points":`);
              return `${withDevice}${JSON.stringify(points)}}`;
            }
            return `${head}${JSON.stringify(rows.map((s) => presentSnapshot(s, clock)))}}`;
          }
          const buckets = await withDeadline(
            store.buckets(id, resolution, new Date(start), new Date(end)),
            timeoutMs,
            'store.buckets',
          );
          return `${head}[${buckets.map((b) => bucketJson(b, clock)).join(',')}]}`;
        });
      }
      reply.type('application/json; charset=utf-8').header('vary', 'accept-encoding');
      if (rendered.body.length >= 1024 && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
        const gz = await rendered.gzip();
        historyCache.grew(key);
        return reply.header('content-encoding', 'gzip').send(gz);
      }
      return reply.send(rendered.body);
    },
  );

  await registerInsightRoutes(app, {
    store,
    config,
    clock,
    now,
    log,
    timeoutMs,
    configDir: deps.configDir ?? process.cwd(),
    errorResponses: deviceErrors,
    ...deps.insights,
  });

  app.get<{ Params: { device_id: string } }>(
    '/ws/v1/realtime/:device_id',
    {
      websocket: true,
      config: {
        auth: 'device',
        // @fastify/websocket hides WebSocket routes from the document; show this one (it is the realtime feed).
        swaggerTransform: ({ schema, url }) => ({ schema: { ...(schema as object), hide: false }, url }),
      },
      schema: {
        summary: 'WebSocket: every snapshot as it is committed (first the latest one)',
        description:
          'Each message is a JSON realtime object (the snapshot plus age_s). Browsers cannot set headers on a WebSocket: ' +
          'get a ticket from POST /api/v1/ws-ticket and pass it as ?ticket=… (?token=… still works but is deprecated: ' +
          'proxies log URLs). A client that does not keep up loses messages (counted in /metrics). Open sockets are ' +
          'capped per token and per address (close code 1008 beyond) and in all (1013).',
        tags: ['data'],
        params: DeviceParams,
        querystring: Type.Object({
          ticket: Type.Optional(
            Type.String({ description: 'A ticket from POST /api/v1/ws-ticket (single use, 30 s).' }),
          ),
          token: Type.Optional(
            Type.String({ description: 'Deprecated: the bearer token itself (it ends up in logs).', deprecated: true }),
          ),
        }),
        response: {
          101: Type.Null({ description: 'Switching protocols: the WebSocket is open.' }),
          401: ErrorRef,
          404: ErrorRef,
          429: ErrorRef,
        },
      },
    },
    (socket, req) => hub.attach(socket, req.params.device_id, req.grant?.name ?? '', req.ip),
  );

  app.get('/api/openapi.json', { config: { auth: 'none' }, schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true });

  // ---- dashboard --------------------------------------------------------------------------------------------
  const webRoot = deps.webRoot ? resolve(deps.webRoot) : null;
  const dashboard = config.api.dashboard && webRoot !== null && existsSync(join(webRoot, 'index.html'));
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

  return app;
}
