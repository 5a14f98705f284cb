/**
 * The server's bus: what the ingester commits and what the edges say on their side topics, for the
 * API's consumers (WebSocket, metrics, the answer cache, the list of known devices; later exporters).
 * A consumer that throws, or whose promise rejects, is logged once per kind of error with its name
 * and the others go on (lib/bus.ts).
 *
 * - `committed`: a snapshot in the database (after the commit, never before).
 * - `status`: an edge's `status`, checked against core/wire.ts StatusMessageSchema.
 * - `capacity`: an edge's `capacity` (report or alert), checked against CapacityMessageSchema.
 * - `control_state`: the control settings an edge applies and its last decisions, checked against
 *   ControlStateMessageSchema (core/wire-control.ts).
 * The topic's device id is authoritative (`deviceId`): a device publishes only under its own.
 */
import type { CapacityMessage, ControlStateMessage, StatusMessage } from '../core/wire.js';
import { Bus, type BusOptions } from '../lib/bus.js';
import type { IngestedSnapshot, SideMessage } from './ingest/ingester.js';

export interface ServerEvents {
  committed: IngestedSnapshot;
  status: SideMessage<StatusMessage>;
  capacity: SideMessage<CapacityMessage>;
  control_state: SideMessage<ControlStateMessage>;
}

export class ServerBus extends Bus<ServerEvents> {}

export function createServerBus(opts: BusOptions): ServerBus {
  return new ServerBus(opts);
}
