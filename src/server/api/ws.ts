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
  /** The token's name and the client address: each has its own cap. */
  token: string;
  address: string;
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
  /** Open sockets of one token (by name), and of one client address, within maxClients. */
  maxPerToken: number;
  maxPerAddress: number;
  pingIntervalMs: number;
}

/** Close code of a socket over its token's or address's cap (RFC 6455 1008, policy violation). */
export const CLOSE_OVER_CAP = 1008;
/** Close code when the server holds maxClients (RFC 6455 1013, try again later). */
export const CLOSE_FULL = 1013;

export class RealtimeHub {
  private readonly byDevice = new Map<string, Set<Client>>();
  private count = 0;
  private readonly perToken = new Map<string, number>();
  private readonly perAddress = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: RealtimeHubOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.ping(), this.options.pingIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const set of this.byDevice.values()) for (const c of set) c.socket.terminate();
    this.byDevice.clear();
    this.perToken.clear();
    this.perAddress.clear();
    this.count = 0;
    this.options.metrics.wsClients.set(0);
  }

  get clients(): number {
    return this.count;
  }

  /**
   * A new, authorised client of `deviceId`, opened with the token named `token` from `address`.
   * Over a cap the socket is closed at once: 1013 when the server is full, 1008 (with the cap in the
   * reason) when this token or address already holds its share, so one home cannot take every slot.
   */
  attach(socket: WebSocket, deviceId: string, token: string, address: string): void {
    if (this.count >= this.options.maxClients) {
      socket.close(CLOSE_FULL, 'too many clients, try again later');
      return;
    }
    if ((this.perToken.get(token) ?? 0) >= this.options.maxPerToken) {
      socket.close(CLOSE_OVER_CAP, `too many WebSockets for this token (at most ${this.options.maxPerToken})`);
      return;
    }
    if ((this.perAddress.get(address) ?? 0) >= this.options.maxPerAddress) {
      socket.close(CLOSE_OVER_CAP, `too many WebSockets from this address (at most ${this.options.maxPerAddress})`);
      return;
    }
    const client: Client = {
      socket,
      deviceId,
      token,
      address,
      pending: [],
      alive: true,
      dropped: 0,
      lastMs: Number.NEGATIVE_INFINITY,
    };
    this.perToken.set(token, (this.perToken.get(token) ?? 0) + 1);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    let set = this.byDevice.get(deviceId);
    if (!set) {
      set = new Set();
      this.byDevice.set(deviceId, set);
    }
    set.add(client);
    this.count++;
    this.options.metrics.wsClients.set(this.count);
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
      text ??= JSON.stringify(presentRealtime(s, this.options.clock, this.options.now()));
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
      if (c.socket.bufferedAmount + text.length > this.options.maxBufferedBytes) {
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
      latest = await withDeadline(this.options.store.latest(c.deviceId), this.options.timeoutMs, 'store.latest');
    } catch (err) {
      this.options.log.warn({ err, device_id: c.deviceId }, 'websocket: cannot read the latest snapshot');
    }
    const queued = c.pending ?? [];
    c.pending = null;
    for (const s of latest ? [latest, ...queued] : queued) {
      const ms = Date.parse(s.timestamp);
      if (ms > c.lastMs) this.send(c, JSON.stringify(presentRealtime(s, this.options.clock, this.options.now())), ms);
    }
  }

  private send(c: Client, text: string, ms: number): void {
    if (c.socket.readyState !== OPEN) return;
    if (c.socket.bufferedAmount + text.length > this.options.maxBufferedBytes) {
      this.drop(c);
      return;
    }
    c.lastMs = ms;
    c.socket.send(text);
  }

  private drop(c: Client): void {
    c.dropped++;
    this.options.metrics.wsDropped.inc({ device_id: c.deviceId });
    if (c.dropped === 1 || c.dropped % 1000 === 0) {
      this.options.log.warn(
        { device_id: c.deviceId, dropped: c.dropped },
        'websocket: slow client, dropping snapshots',
      );
    }
  }

  private detach(c: Client): void {
    const set = this.byDevice.get(c.deviceId);
    if (!set?.delete(c)) return;
    if (set.size === 0) this.byDevice.delete(c.deviceId);
    decrement(this.perToken, c.token);
    decrement(this.perAddress, c.address);
    this.count--;
    this.options.metrics.wsClients.set(this.count);
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

function decrement(m: Map<string, number>, key: string): void {
  const n = (m.get(key) ?? 0) - 1;
  if (n > 0) m.set(key, n);
  else m.delete(key);
}
