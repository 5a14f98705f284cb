/**
 * Prometheus metrics served at /metrics (prom-client). Metric families:
 *   kwartier_ingest_snapshots_total          counter  snapshots committed (seen on the ingest events)
 *   kwartier_ingest_rate_per_second          gauge    snapshots committed per second, last 60 s
 *   kwartier_ingest_lag_seconds{device_id}   gauge    commit time − snapshot timestamp, newest snapshot
 *   kwartier_dead_letters                    gauge    messages in the dead-letter table
 *   kwartier_edge_buffer_depth{device_id}    gauge    readings waiting in the edge's outbox
 *   kwartier_ingest_dead_letters_dropped{device_id} gauge  dead letters over the per-device rate limit
 *   kwartier_ingest_retained_cleared         gauge    retained messages cleared on data/capacity topics
 *   kwartier_ingest_side_invalid             gauge    status/capacity messages failing their schema
 *   kwartier_http_request_duration_seconds   histogram {method, route, status_code}
 *   kwartier_ws_clients                      gauge    open WebSocket clients
 *   kwartier_ws_dropped_messages_total{device_id} counter  snapshots not sent to a slow client
 *   kwartier_metrics_homes, _homes_max, _homes_left_out, _homes_left_out_total: the per-home bound
 * and, with exporters.prometheus.per_home, each home's energy, power and capacity (home-metrics.ts).
 * Ingest figures come from injected getters when the ingester supplies them, otherwise from the
 * server's bus (server/bus.ts: `committed`). Buffer depth only exists when the edge status supplies it
 * (the bus's `status`, or an injected getter). Without getters, the per-device lag and buffer depth
 * come from the bounded home table (at most max_homes homes, expired when silent).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Snapshot } from '../../core/snapshot.js';
import type { Logger } from '../../lib/log.js';
import type { Store } from '../store/types.js';
import { HomeTable, registerHomeBounds, registerHomeFamilies } from './home-metrics.js';

export interface ApiMetricsDeps {
  registry: Registry;
  /** Snapshots committed per second. Default: counted from the ingest events over the last 60 s. */
  ingestRate?: () => number;
  /** Per device: seconds from a snapshot's timestamp to its commit. Default: from the ingest events. */
  ingestLagSeconds?: () => Record<string, number>;
  /** Dead letters stored. Default: store.deadLetterCount(). */
  deadLetters?: () => number | Promise<number>;
  /** Per device: readings waiting in the edge outbox, as the edge status reports them. */
  bufferDepth?: () => Record<string, number>;
  /** What the ingester refused or cleared to keep one home from hurting another (docs/security.md). */
  ingestProtection?: () => {
    dead_letters_dropped_by_device: Record<string, number>;
    retained_cleared: number;
    side_invalid: number;
  };
}

/** exporters.prometheus (server/config.ts), and the clock the ages are measured with. */
export interface HomeMetricsConfig {
  per_home: boolean;
  max_homes: number;
  expire_after_s: number;
}

const WINDOW_S = 60;
const COLLECT_TIMEOUT_MS = 2_000;

/** Counts events per second in a ring of 60 one-second slots. */
class EventRate {
  private readonly slots = new Array<number>(WINDOW_S).fill(0);
  private lastSecond = 0;

  add(nowMs: number): void {
    this.advance(nowMs);
    const i = this.lastSecond % WINDOW_S;
    this.slots[i] = (this.slots[i] ?? 0) + 1;
  }

  perSecond(nowMs: number): number {
    this.advance(nowMs);
    // The current second is incomplete: average over the 59 complete ones plus it.
    return this.slots.reduce((a, b) => a + b, 0) / WINDOW_S;
  }

  private advance(nowMs: number): void {
    const sec = Math.floor(nowMs / 1000);
    if (sec <= this.lastSecond) return;
    const steps = Math.min(WINDOW_S, sec - this.lastSecond);
    for (let k = 1; k <= steps; k++) this.slots[(this.lastSecond + k) % WINDOW_S] = 0;
    this.lastSecond = sec;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export class ApiMetrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly wsClients: Gauge;
  readonly wsDropped: Counter<'device_id'>;
  /** History days joined from a kept block (`kept`) or rendered and kept for the next answers (`made`). */
  readonly dayBlocks: Counter<'result'>;
  private readonly ingested: Counter;
  private readonly rate = new EventRate();
  /** Per home: the newest values, lag and buffer depth, bounded (home-metrics.ts). */
  private readonly homes: HomeTable;

  constructor(deps: ApiMetricsDeps, store: Store, log: Logger, homeConfig: HomeMetricsConfig, now: () => number) {
    const registers = [deps.registry];
    const homes = new HomeTable({ maxHomes: homeConfig.max_homes, expireAfterMs: homeConfig.expire_after_s * 1000 });
    this.homes = homes;
    this.registry = deps.registry;
    this.ingested = new Counter({
      name: 'kwartier_ingest_snapshots_total',
      help: 'Snapshots committed by the ingester (seen on its events).',
      registers,
    });
    const rate = this.rate;
    new Gauge({
      name: 'kwartier_ingest_rate_per_second',
      help: 'Snapshots committed per second over the last 60 s.',
      registers,
      collect() {
        this.set(deps.ingestRate ? deps.ingestRate() : rate.perSecond(Date.now()));
      },
    });
    new Gauge({
      name: 'kwartier_ingest_lag_seconds',
      help: "Seconds between the newest snapshot's timestamp and its commit, per device.",
      labelNames: ['device_id'],
      registers,
      collect() {
        this.reset();
        if (deps.ingestLagSeconds) {
          for (const [device_id, v] of Object.entries(deps.ingestLagSeconds())) this.set({ device_id }, v);
          return;
        }
        homes.expire(now());
        for (const [device_id, home] of homes.entries()) if (home.lagS !== null) this.set({ device_id }, home.lagS);
      },
    });
    new Gauge({
      name: 'kwartier_dead_letters',
      help: 'Messages kept in the dead-letter table (rejected by the ingester).',
      registers,
      async collect() {
        try {
          const n = await withTimeout(
            Promise.resolve(deps.deadLetters ? deps.deadLetters() : store.deadLetterCount()),
            COLLECT_TIMEOUT_MS,
            'dead-letter count',
          );
          this.set(n);
        } catch (err) {
          log.warn({ err }, 'metrics: cannot count dead letters');
        }
      },
    });
    if (deps.ingestProtection) protectionGauges(deps.ingestProtection, registers);
    new Gauge({
      name: 'kwartier_edge_buffer_depth',
      help: "Readings waiting in the edge's outbox, per device (as the edge last reported).",
      labelNames: ['device_id'],
      registers,
      collect() {
        this.reset();
        if (deps.bufferDepth) {
          for (const [device_id, v] of Object.entries(deps.bufferDepth())) this.set({ device_id }, v);
          return;
        }
        homes.expire(now());
        for (const [device_id, home] of homes.entries())
          if (home.bufferDepth !== null) this.set({ device_id }, home.bufferDepth);
      },
    });
    this.httpDuration = new Histogram({
      name: 'kwartier_http_request_duration_seconds',
      help: 'HTTP request latency by route (the route pattern, not the URL).',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.wsClients = new Gauge({ name: 'kwartier_ws_clients', help: 'Open WebSocket clients.', registers });
    this.wsDropped = new Counter({
      name: 'kwartier_ws_dropped_messages_total',
      help: 'Snapshots not sent to a WebSocket client because its send buffer was full.',
      labelNames: ['device_id'],
      registers,
    });
    this.dayBlocks = new Counter({
      name: 'kwartier_history_day_blocks_total',
      help: 'Whole ended days of history answers: joined from a block kept in the store (kept), or rendered and kept (made).',
      labelNames: ['result'],
      registers,
    });
    registerHomeBounds(deps.registry, homes, now);
    if (homeConfig.per_home) registerHomeFamilies(deps.registry, homes, now);
  }

  /** Called for every edge status (kwartier_edge_buffer_depth when it gives one); sentMs for a retained one. */
  onStatus(deviceId: string, bufferDepth: number | null | undefined, nowMs: number, sentMs?: number): void {
    this.homes.onStatus(deviceId, bufferDepth, nowMs, sentMs);
  }

  /** Called for every ingested snapshot (after its commit). */
  onSnapshot(snapshot: Snapshot, nowMs: number): void {
    this.ingested.inc();
    this.rate.add(nowMs);
    this.homes.onSnapshot(snapshot, nowMs);
  }
}

/** The ingester's protection counters (input bounds, retained clean-up, side-message schema). */
function protectionGauges(protection: NonNullable<ApiMetricsDeps['ingestProtection']>, registers: Registry[]): void {
  new Gauge({
    name: 'kwartier_ingest_dead_letters_dropped',
    help: "Dead letters not stored over the device's rate limit (ingest.dead_letters_per_minute), per device.",
    labelNames: ['device_id'],
    registers,
    collect() {
      this.reset();
      for (const [device_id, v] of Object.entries(protection().dead_letters_dropped_by_device))
        this.set({ device_id }, v);
    },
  });
  new Gauge({
    name: 'kwartier_ingest_retained_cleared',
    help: 'Retained messages found on data or capacity topics and cleared by the ingester.',
    registers,
    collect() {
      this.set(protection().retained_cleared);
    },
  });
  new Gauge({
    name: 'kwartier_ingest_side_invalid',
    help: 'Status and capacity messages dropped for not matching their schema.',
    registers,
    collect() {
      this.set(protection().side_invalid);
    },
  });
}
