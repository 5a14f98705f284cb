/**
 * WebSocket fan-out of ingested snapshots: /ws/v1/realtime/{device_id}.
 *
 * A client first gets the latest stored snapshot, then every snapshot the ingester commits
 * (pushed from its events, never polled). Each client has a bounded send buffer: when the socket
 * already holds more than `maxBufferedBytes` unsent, a message is dropped and counted
 * (kwartier_ws_dropped_messages_total) rather than queued without end. Snapshots that arrive while
 * the latest one is being read wait in a small queue (capped too). A client only ever moves forward
 * in time: snapshots of a replayed backlog older than what it has seen are not sent. Pings every
 * `pingIntervalMs` close clients that stopped answering.
 */
import type { WebSocket } from 'ws';
import type { Snapshot } from '../../core/snapshot.js';
import type { Logger } from '../../lib/log.js';
import type { Store } from '../store/types.js';
import type { ApiMetrics } from './metrics.js';
import type { ZoneClock } from './time.js';
import { presentRealtime, withDeadline } from './util.js';

const OPEN = 1;
const PENDING_MAX = 32;

interface Client {
  socket: WebSocket;
  deviceId: string;
  /** Until the latest snapshot is sent, new ones wait here (capped). */
  pending: Snapshot[] | null;
  alive: boolean;
  dropped: number;
  /** Timestamp (ms) of the newest snapshot sent: a replayed backlog never goes back in time. */
  lastMs: number;
}

export interface RealtimeHubOptions {
  store: Store;
  clock: ZoneClock;
  now: () => number;
  log: Logger;
  metrics: ApiMetrics;
  timeoutMs: number;
  maxBufferedBytes: number;
  maxClients: number;
  pingIntervalMs: number;
}

export class RealtimeHub {
  private readonly byDevice = new Map<string, Set<Client>>();
  private count = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: RealtimeHubOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.ping(), this.o.pingIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const set of this.byDevice.values()) for (const c of set) c.socket.terminate();
    this.byDevice.clear();
    this.count = 0;
    this.o.metrics.wsClients.set(0);
  }

  get clients(): number {
    return this.count;
  }

  /** A new, authorised client of `deviceId`. */
  attach(socket: WebSocket, deviceId: string): void {
    if (this.count >= this.o.maxClients) {
      socket.close(1013, 'too many clients, try again later');
      return;
    }
    const client: Client = { socket, deviceId, pending: [], alive: true, dropped: 0, lastMs: Number.NEGATIVE_INFINITY };
    let set = this.byDevice.get(deviceId);
    if (!set) {
      set = new Set();
      this.byDevice.set(deviceId, set);
    }
    set.add(client);
    this.count++;
    this.o.metrics.wsClients.set(this.count);
    socket.on('pong', () => {
      client.alive = true;
    });
    socket.on('close', () => this.detach(client));
    socket.on('error', () => socket.terminate());
    // Clients have nothing to say; anything they send is ignored.
    void this.sendLatest(client);
  }

  /** Fan-out of one committed snapshot to the clients of its device. */
  publish(s: Snapshot): void {
    const set = this.byDevice.get(s.device_id);
    if (!set || set.size === 0) return;
    let text: string | null = null;
    const ms = Date.parse(s.timestamp);
    for (const c of set) {
      if (c.pending) {
        if (c.pending.length < PENDING_MAX) c.pending.push(s);
        else this.drop(c);
        continue;
      }
      if (ms <= c.lastMs) continue;
      text ??= JSON.stringify(presentRealtime(s, this.o.clock, this.o.now()));
      this.send(c, text, ms);
    }
  }

  /**
   * A typed message (e.g. `{type: 'capacity_alert', …}`) to the clients of a device. Snapshots have
   * no `type` field, so a client tells them apart by it. Not ordered against snapshots.
   */
  announce(deviceId: string, message: { type: string } & Record<string, unknown>): number {
    const set = this.byDevice.get(deviceId);
    if (!set || set.size === 0) return 0;
    const text = JSON.stringify(message);
    let sent = 0;
    for (const c of set) {
      if (c.socket.readyState !== OPEN) continue;
      if (c.socket.bufferedAmount + text.length > this.o.maxBufferedBytes) {
        this.drop(c);
        continue;
      }
      c.socket.send(text);
      sent++;
    }
    return sent;
  }

  private async sendLatest(c: Client): Promise<void> {
    let latest: Snapshot | null = null;
    try {
      latest = await withDeadline(this.o.store.latest(c.deviceId), this.o.timeoutMs, 'store.latest');
    } catch (err) {
      this.o.log.warn({ err, device_id: c.deviceId }, 'websocket: cannot read the latest snapshot');
    }
    const queued = c.pending ?? [];
    c.pending = null;
    for (const s of latest ? [latest, ...queued] : queued) {
      const ms = Date.parse(s.timestamp);
      if (ms > c.lastMs) this.send(c, JSON.stringify(presentRealtime(s, this.o.clock, this.o.now())), ms);
    }
  }

  private send(c: Client, text: string, ms: number): void {
    if (c.socket.readyState !== OPEN) return;
    if (c.socket.bufferedAmount + text.length > this.o.maxBufferedBytes) {
      this.drop(c);
      return;
    }
    c.lastMs = ms;
    c.socket.send(text);
  }

  private drop(c: Client): void {
    c.dropped++;
    this.o.metrics.wsDropped.inc({ device_id: c.deviceId });
    if (c.dropped === 1 || c.dropped % 1000 === 0) {
      this.o.log.warn({ device_id: c.deviceId, dropped: c.dropped }, 'websocket: slow client, dropping snapshots');
    }
  }

  private detach(c: Client): void {
    const set = this.byDevice.get(c.deviceId);
    if (!set?.delete(c)) return;
    if (set.size === 0) this.byDevice.delete(c.deviceId);
    this.count--;
    this.o.metrics.wsClients.set(this.count);
  }

  private ping(): void {
    for (const set of this.byDevice.values()) {
      for (const c of set) {
        if (!c.alive) {
          c.socket.terminate();
          continue;
        }
        c.alive = false;
        if (c.socket.readyState === OPEN) c.socket.ping();
      }
    }
  }
}
