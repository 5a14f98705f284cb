/**
 * What every exporter is to the server: a named consumer of the server's bus (server/bus.ts) with a
 * life of its own. Nothing happens in its constructor; `start(bus)` subscribes and starts its
 * timers, `stop()` unsubscribes, writes what it can within its timeout and releases everything.
 * A consumer's handler only queues: the ingester's commit path never waits on an exporter.
 */
import type { ServerBus } from '../bus.js';

export interface ExporterStats {
  /** Items waiting (points, statuses). */
  queued: number;
  /** Items delivered since the start. */
  sent: number;
  /** Items given up: dropped for memory, refused by the other side, or too old to send. */
  dropped: number;
  /** Requests that failed (and were retried) since the start. */
  failures: number;
}

export interface Exporter {
  /** `influxdb`, `pvoutput`: the bus consumer's name and the metrics' label. */
  readonly name: string;
  start(bus: ServerBus): void;
  stop(): Promise<void>;
  stats(): ExporterStats;
}
