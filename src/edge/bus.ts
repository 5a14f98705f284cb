/**
 * The edge's bus: the edge (edge.ts) publishes each merged snapshot and each change of a source's
 * state; the consumers are registered in one place (app.ts: the control, outbox, console, capacity
 * watch, the uplink's subset and capacity topics, Home Assistant; later exporters). A consumer that throws,
 * or whose promise rejects, is logged once per kind of error with its name and the others go on
 * (lib/bus.ts).
 *
 * A consumer with its own life follows zigbee2mqtt's extensions: nothing in its constructor,
 * `start(bus)` subscribes, `stop()` unsubscribes (`bus.unsubscribe(name)`).
 */
import type { Snapshot } from '../core/snapshot.js';
import type { SourceState } from '../drivers/source.js';
import { Bus, type BusOptions } from '../lib/bus.js';
import type { CapacityAlertMessage, CapacityStatus } from './capacity-watch.js';

export interface SourceStateEvent {
  /** The source's (device's) name. */
  source: string;
  state: SourceState;
  detail?: string;
}

export interface EdgeEvents {
  /** One merged snapshot per tick (edge.ts). */
  snapshot: Snapshot;
  /** A source connected, lost its connection, or is connecting again. */
  source_state: SourceStateEvent;
  /** The capacity watch sees a new monthly peak in the making (capacity-watch.ts). */
  capacity_alert: CapacityAlertMessage;
  /** The running quarter after each snapshot: average so far, forecast, month peak (capacity-watch.ts). */
  capacity_status: CapacityStatus;
}

export class EdgeBus extends Bus<EdgeEvents> {}

export function createEdgeBus(opts: BusOptions): EdgeBus {
  return new EdgeBus(opts);
}

/** A consumer with a life of its own (zigbee2mqtt's extensions): subscribes in start, not in its constructor. */
export interface EdgeConsumer {
  readonly name: string;
  start(bus: EdgeBus): void;
  stop(bus: EdgeBus): void;
}
