/**
 * The edge: runs the configured sources, merges their readings and emits one snapshot per P1 tick
 * (each valid telegram or HomeWizard reading). Without a P1 source, or while the P1 source is
 * silent (stale), it ticks on its own clock once a second so inverter data keeps flowing, with the
 * meter named in `stale_sources`.
 */
import { EventEmitter } from 'node:events';
import { Merger } from '../core/merger.js';
import type { Snapshot } from '../core/snapshot.js';
import type { Source, SourceReading, SourceState } from '../drivers/source.js';
import type { Logger } from '../lib/log.js';
import type { EdgeBus } from './bus.js';

export interface SourceHealth {
  state: SourceState | 'idle';
  last_reading_at: string | null;
  stale: boolean;
  readings: number;
  detail?: string;
}

export interface EdgeOptions {
  deviceId: string;
  sources: Source[];
  log: Logger;
  staleAfterPolls?: number;
  /** Own-clock tick when there is no fresh P1 source (ms). Default 1000. */
  tickMs?: number;
  now?: () => number;
  /** Where each snapshot and each change of a source's state is published (bus.ts; app.ts registers the consumers). */
  bus?: EdgeBus;
}

export interface EdgeEvents {
  snapshot: [Snapshot];
}

export class Edge extends EventEmitter<EdgeEvents> {
  private readonly merger: Merger;
  private readonly now: () => number;
  private readonly tickMs: number;
  private readonly health = new Map<string, SourceHealth>();
  private readonly p1: Source | undefined;
  private timer: NodeJS.Timeout | null = null;
  private lastEmit = 0;
  /** Recent gaps between readings per source: the learnt interval is their median. */
  private readonly gaps = new Map<string, { last: number; gaps: number[] }>();
  private running = false;

  constructor(private readonly opts: EdgeOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.tickMs = opts.tickMs ?? 1000;
    const p1s = opts.sources.filter((s) => s.kind === 'p1');
    if (p1s.length > 1) throw new Error(`more than one P1 source: ${p1s.map((s) => s.name).join(', ')}`);
    this.p1 = p1s[0];
    this.merger = new Merger(
      opts.deviceId,
      opts.sources.map((s) => ({ name: s.name, kind: s.kind, intervalMs: s.intervalMs })),
      opts.staleAfterPolls ?? 3,
      this.now(),
    );
    for (const s of opts.sources) {
      this.health.set(s.name, { state: 'idle', last_reading_at: null, stale: false, readings: 0 });
    }
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (const source of this.opts.sources) {
      source.onReading((r) => this.onReading(source, r));
      source.onState?.((state, detail) => {
        const h = this.health.get(source.name);
        if (h) {
          h.state = state;
          if (detail === undefined) delete h.detail;
          else h.detail = detail;
        }
        this.opts.bus?.publish('source_state', {
          source: source.name,
          state,
          ...(detail === undefined ? {} : { detail }),
        });
      });
    }
    // Start every source; one failing to start does not stop the others (it retries on its own).
    await Promise.all(
      this.opts.sources.map(async (s) => {
        try {
          await s.start();
        } catch (err) {
          this.opts.log.error({ source: s.name, err: String(err) }, 'source failed to start');
        }
      }),
    );
    this.timer = setInterval(() => this.onClock(), this.tickMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled(this.opts.sources.map((s) => s.stop()));
  }

  /** Per-source health for the status topic and logs. */
  sourceHealth(): Record<string, SourceHealth> {
    const now = this.now();
    const out: Record<string, SourceHealth> = {};
    for (const [name, h] of this.health) out[name] = { ...h, stale: this.merger.isStale(name, now) };
    return out;
  }

  private onReading(source: Source, reading: SourceReading): void {
    const h = this.health.get(source.name);
    if (h) {
      h.readings++;
      h.last_reading_at = new Date(reading.at).toISOString();
    }
    this.learnInterval(source.name, reading.at);
    this.merger.update(reading);
    if (source.kind === 'p1') this.emitAt(reading.at);
  }

  /**
   * Learns how often a source really reports (median of its last 5 gaps, at most 5 minutes), so a
   * meter that sends every 10 s (DSMR 4) is not called stale between telegrams. One outage does
   * not move a median.
   */
  private learnInterval(name: string, at: number): void {
    let g = this.gaps.get(name);
    if (!g) {
      g = { last: at, gaps: [] };
      this.gaps.set(name, g);
      return;
    }
    const gap = at - g.last;
    g.last = at;
    if (gap <= 0) return;
    g.gaps.push(gap);
    if (g.gaps.length > 5) g.gaps.shift();
    if (g.gaps.length < 3) return;
    const sorted = [...g.gaps].sort((a, b) => a - b);
    this.merger.setIntervalMs(name, Math.min(300_000, sorted[Math.floor(sorted.length / 2)] ?? gap));
  }

  /** Own clock: ticks when no P1 source is configured or the P1 source has gone stale. */
  private onClock(): void {
    const now = this.now();
    if (this.p1 && !this.merger.isStale(this.p1.name, now)) return;
    this.emitAt(now);
  }

  private emitAt(at: number): void {
    // One snapshot per instant: the store is idempotent on (device, time), so never reuse a time.
    const t = at <= this.lastEmit ? this.lastEmit + 1 : at;
    this.lastEmit = t;
    const snapshot = this.merger.snapshot(t);
    this.opts.bus?.publish('snapshot', snapshot);
    this.emit('snapshot', snapshot);
  }
}
