/**
 * The live feed: the WebSocket pushes each snapshot as it is ingested; while it is down the feed
 * polls the realtime route, and reconnects with exponential backoff and full jitter (core/backoff.ts).
 * The REST answer's age_s also gives the offset between this browser's clock and the server's, so
 * the age of pushed snapshots is right even on a phone whose clock is off.
 */
import { Backoff } from '../../src/core/backoff.js';
import { ApiError, apiGet, wsTicket, wsUrl } from './api.js';
import { POLL_INTERVAL_MS, WS_SILENCE_MS } from './config.js';
import type { CapacityAlert, RealtimeAnswer, Snapshot } from './types.js';

export type FeedMode = 'connecting' | 'live' | 'polling';

export interface FeedState {
  snapshot: Snapshot | null;
  /** Browser clock minus server clock (ms), learnt from a REST answer's age_s. */
  clockOffsetMs: number;
  mode: FeedMode;
  error: ApiError | null;
  /** The latest capacity-tariff alert pushed by the server (a new monthly peak in the making). */
  alert: CapacityAlert | null;
}

export class RealtimeFeed {
  private state: FeedState = { snapshot: null, clockOffsetMs: 0, mode: 'connecting', error: null, alert: null };
  private ws: WebSocket | null = null;
  private wsTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private silenceTimer: ReturnType<typeof setTimeout> | null = null;
  private abort: AbortController | null = null;
  // 1 s doubling to 30 s, never below 250 ms (core/backoff.ts: full jitter).
  private readonly backoff = new Backoff({ baseMs: 1000, maxMs: 30_000, minMs: 250 });
  private running = false;

  constructor(
    private readonly deviceId: string,
    private readonly token: string,
    private readonly onState: (s: FeedState) => void,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    void this.poll();
    this.openSocket();
  }

  stop(): void {
    this.running = false;
    this.abort?.abort();
    for (const t of [this.wsTimer, this.pollTimer, this.silenceTimer]) if (t) clearTimeout(t);
    this.wsTimer = this.pollTimer = this.silenceTimer = null;
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
      this.ws = null;
    }
  }

  private set(patch: Partial<FeedState>): void {
    this.state = { ...this.state, ...patch };
    this.onState(this.state);
  }

  private accept(answer: Snapshot & { age_s?: number | null }): void {
    const { age_s, ...s } = answer;
    if (typeof age_s === 'number' && Number.isFinite(age_s)) {
      this.state.clockOffsetMs = Date.now() - Date.parse(s.timestamp) - age_s * 1000;
    }
    const prev = this.state.snapshot;
    // never go back in time (a late poll answer after a newer push)
    if (prev && Date.parse(prev.timestamp) > Date.parse(s.timestamp)) return;
    this.set({ snapshot: s, error: null });
  }

  private async poll(): Promise<void> {
    if (!this.running) return;
    try {
      const answer = await apiGet<RealtimeAnswer>(
        this.token,
        `realtime/${encodeURIComponent(this.deviceId)}`,
        {},
        this.abort?.signal,
      );
      if (!this.running) return;
      this.accept(answer);
    } catch (err) {
      if (!this.running) return;
      if (err instanceof ApiError) {
        this.set({ error: err });
        if (err.kind === 'unauthorized') return; // the app asks for a token again
      }
    }
    if (this.running && this.state.mode !== 'live') {
      this.pollTimer = setTimeout(() => void this.poll(), POLL_INTERVAL_MS);
    }
  }

  private openSocket(): void {
    void this.openSocketWithTicket();
  }

  /** A fresh ticket for each attempt (single use, 30 s), then the socket. */
  private async openSocketWithTicket(): Promise<void> {
    if (!this.running) return;
    let ticket: string;
    try {
      ticket = await wsTicket(this.token, this.abort?.signal);
    } catch {
      // Polling goes on meanwhile (and reports a token that is no longer valid).
      if (this.running) this.scheduleReconnect();
      return;
    }
    if (!this.running) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(wsUrl(this.deviceId, ticket));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.backoff.reset();
      this.set({ mode: 'live' });
      if (this.pollTimer) clearTimeout(this.pollTimer);
      this.pollTimer = null;
      this.armSilence();
    };
    ws.onmessage = (ev: MessageEvent) => {
      this.armSilence();
      if (typeof ev.data !== 'string') return;
      try {
        const msg = JSON.parse(ev.data) as RealtimeAnswer & { type?: unknown };
        // Typed messages are not snapshots (snapshots carry no `type`).
        if (msg && msg.type === 'capacity_alert') this.set({ alert: msg as unknown as CapacityAlert });
        else if (msg && msg.type === undefined && typeof msg.timestamp === 'string') this.accept(msg);
      } catch {
        // not a snapshot: ignore
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.silenceTimer) clearTimeout(this.silenceTimer);
      if (!this.running) return;
      this.set({ mode: 'polling' });
      if (!this.pollTimer) void this.poll();
      this.scheduleReconnect();
    };
  }

  private armSilence(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      // open but silent: treat as dead
      this.ws?.close();
    }, WS_SILENCE_MS);
  }

  private scheduleReconnect(): void {
    if (this.wsTimer) clearTimeout(this.wsTimer);
    this.wsTimer = setTimeout(() => this.openSocket(), this.backoff.next());
  }
}
