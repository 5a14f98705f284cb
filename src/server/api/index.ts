/**
 * The HTTP API: `createApi(deps)` returns a configured Fastify instance (not yet listening).
 *
 *   const app = await createApi({ store, config, bus, log });   // bus: server/bus.ts
 *   await app.listen({ host: config.api.host, port: config.api.port });
 *
 * Routes (docs/api.md), one Fastify plugin per group in ./routes/: operations (/healthz, /metrics),
 * devices, tickets (POST /api/v1/ws-ticket), realtime, history, export, insights (capacity tariff,
 * self-sufficiency, cost estimate), prices (a day's prices per quarter), control (a home's control
 * settings, GET and PUT), websocket
 * (/ws/v1/realtime/{device_id}); the OpenAPI document
 * and /api/docs (openapi.ts); the dashboard at / (dashboard.ts: config.api.dashboard and webRoot).
 *
 * Here: the services the groups share, the bus's consumers, and the order of registration. The
 * request pipeline (auth, rate limit, headers, errors: pipeline.ts) goes on the root instance first,
 * so it reaches every group; the groups are encapsulated and get only what they use.
 */
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { CapacityAlertPush } from '../../core/api/realtime.js';
import { type Logger, silentLogger } from '../../lib/log.js';
import type { ServerBus } from '../bus.js';
import type { ServerConfig } from '../config.js';
import type { Store } from '../store/types.js';
import { TokenTable } from './auth.js';
import { HistoryCache } from './cache.js';
import { ControlStates } from './control-states.js';
import { installDashboard } from './dashboard.js';
import { KnownDevices } from './devices.js';
import { type AjvError, deviceErrors, formatValidation } from './errors.js';
import { ApiMetrics, type ApiMetricsDeps } from './metrics.js';
import { docsRoutes, installOpenApi } from './openapi.js';
import { installPipeline } from './pipeline.js';
import { type ControlPublisher, controlRoutes } from './routes/control.js';
import { devicesRoutes } from './routes/devices.js';
import { exportRoutes } from './routes/export.js';
import { historyRoutes } from './routes/history.js';
import { type InsightDeps, insightRoutes } from './routes/insights.js';
import { operationsRoutes } from './routes/operations.js';
import { priceRoutes } from './routes/prices.js';
import { realtimeRoutes } from './routes/realtime.js';
import { ticketsRoutes } from './routes/tickets.js';
import { websocketRoutes } from './routes/websocket.js';
import { loadTariffs } from './tariffs.js';
import { TicketBook, WS_TICKET_TTL_S, WS_TICKETS_PER_TOKEN } from './tickets.js';
import { ZoneClock } from './time.js';
import { RealtimeHub } from './ws.js';

export { type AuthMode, isLimitedPath } from './pipeline.js';
export { WS_TICKET_TTL_S, WS_TICKETS_PER_TOKEN } from './tickets.js';

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
  /**
   * Whole ended days of history answers joined from blocks kept in the store (day-blocks.ts). Default:
   * config.api.history_day_blocks; false renders every answer whole (the benchmark's figure without them).
   */
  historyDayBlocks?: boolean;
  /** Deadline of each store call made for a request (ms). Default 10 000. */
  storeTimeoutMs?: number;
  /**
   * Sends a home's control settings to its edge (the ingester's MQTT connection: ServerApp). Absent:
   * PUT /api/v1/control stores them only (answering `published: false`).
   */
  publishControl?: ControlPublisher;
}

/** What the route groups share, made once per API. */
interface Services {
  clock: ZoneClock;
  now: () => number;
  log: Logger;
  timeoutMs: number;
  tokens: TokenTable;
  tickets: TicketBook;
  registry: Registry;
  metrics: ApiMetrics;
  known: KnownDevices;
  hub: RealtimeHub;
  historyCache: HistoryCache;
  /** What each home's edge says it applies (`control_state`). */
  controlStates: ControlStates;
}

function services(deps: ApiDeps): Services {
  const { store, config } = deps;
  const log = deps.log ?? silentLogger();
  const now = deps.now ?? Date.now;
  const clock = new ZoneClock(config.timezone);
  const timeoutMs = deps.storeTimeoutMs ?? 10_000;
  const registry = deps.metrics?.registry ?? new Registry();
  if (!deps.metrics?.registry) collectDefaultMetrics({ register: registry });
  const metrics = new ApiMetrics({ ...deps.metrics, registry }, store, log, config.exporters.prometheus, now);
  return {
    clock,
    now,
    log,
    timeoutMs,
    tokens: new TokenTable(config.api.tokens),
    tickets: new TicketBook({ ttlMs: WS_TICKET_TTL_S * 1000, maxPerToken: WS_TICKETS_PER_TOKEN, now }),
    registry,
    metrics,
    known: new KnownDevices(store, Object.keys(config.devices), 2_000, timeoutMs),
    hub: new RealtimeHub({
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
    }),
    historyCache: new HistoryCache({
      ttlMs: deps.historyCache?.ttlMs ?? 60_000,
      maxEntries: deps.historyCache?.maxEntries ?? 256,
      maxBytes: deps.historyCache?.maxBytes ?? 64 * 1024 * 1024,
      now,
    }),
    controlStates: new ControlStates(),
  };
}

/** The bus's consumers (server/bus.ts; each isolated: one that throws is logged, the others go on). */
function subscribeConsumers(app: FastifyInstance, bus: ServerBus, s: Services): void {
  const consumers = ['known-devices', 'cache', 'metrics', 'ws', 'control'] as const;
  bus.subscribe('known-devices', 'committed', (e) => s.known.add(e.snapshot.device_id));
  bus.subscribe('cache', 'committed', (e) =>
    s.historyCache.invalidate(e.snapshot.device_id, Date.parse(e.snapshot.timestamp)),
  );
  bus.subscribe('metrics', 'committed', (e) => s.metrics.onSnapshot(e.snapshot, s.now()));
  // The home was heard from, and the edge's buffer depth (its retained status) for /metrics.
  bus.subscribe('metrics', 'status', (m) =>
    s.metrics.onStatus(
      m.deviceId,
      m.message.buffer_depth,
      s.now(),
      m.retained ? Date.parse(m.message.timestamp) : undefined,
    ),
  );
  bus.subscribe('ws', 'committed', (e) => s.hub.publish(e.snapshot));
  // Capacity alerts from the edge reach the dashboard as typed WebSocket messages; a replayed
  // (retained) alert never reaches here (the ingester clears it).
  bus.subscribe('ws', 'capacity', (m) => {
    if (m.message.kind === 'alert')
      s.hub.announce(m.deviceId, {
        ...m.message,
        type: 'capacity_alert',
        device_id: m.deviceId,
      } satisfies CapacityAlertPush);
  });
  bus.subscribe('control', 'control_state', (m) => s.controlStates.set(m.deviceId, m.message));
  app.addHook('onReady', async () => s.hub.start());
  app.addHook('onClose', async () => {
    for (const c of consumers) bus.unsubscribe(c);
    s.hub.stop();
  });
}

export async function createApi(deps: ApiDeps): Promise<FastifyInstance> {
  const { store, config } = deps;
  const s = services(deps);
  const { clock, now, log, timeoutMs } = s;

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

  subscribeConsumers(app, deps.bus, s);
  await installPipeline(app, { config, tokens: s.tokens, tickets: s.tickets, known: s.known, metrics: s.metrics, log });
  await installOpenApi(app);
  await app.register(websocket, {
    options: { maxPayload: 4 * 1024 },
    errorHandler: (err, socket) => {
      log.warn({ err }, 'api: websocket handler failed');
      socket.terminate();
    },
  });

  // The route groups, in the order of the OpenAPI document.
  await app.register(operationsRoutes, { store, registry: s.registry, log });
  await app.register(devicesRoutes, { store, config, clock, known: s.known, timeoutMs });
  await app.register(ticketsRoutes, { tickets: s.tickets });
  await app.register(realtimeRoutes, { store, clock, now, timeoutMs });
  await app.register(historyRoutes, {
    store,
    clock,
    historyCache: s.historyCache,
    timeoutMs,
    dayBlocks: deps.historyDayBlocks ?? config.api.history_day_blocks,
    now,
    log,
    dayBlockCounter: s.metrics.dayBlocks,
  });
  await app.register(exportRoutes, { store, clock, log, timeoutMs });
  const tariffs = deps.insights?.tariffs ?? loadTariffs(config, deps.configDir ?? process.cwd());
  await app.register(insightRoutes, {
    store,
    config,
    clock,
    now,
    log,
    timeoutMs,
    configDir: deps.configDir ?? process.cwd(),
    errorResponses: deviceErrors,
    ...deps.insights,
    tariffs,
  });
  await app.register(priceRoutes, { store, config, now, timeoutMs, tariffs, errorResponses: deviceErrors });
  await app.register(controlRoutes, {
    store,
    clock,
    timeoutMs,
    states: s.controlStates,
    publish: deps.publishControl ?? null,
  });
  await app.register(websocketRoutes, { hub: s.hub });
  await app.register(docsRoutes);

  await installDashboard(app, config.api.dashboard, deps.webRoot);
  return app;
}
