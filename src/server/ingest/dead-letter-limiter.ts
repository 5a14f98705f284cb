/**
 * Dead letters per device are rate-limited: a token bucket of `burst` letters, refilled at
 * `perMinute`. What goes over is counted per device (and in total), not stored, and logged once a
 * minute per device ("device X: N dead letters dropped"), so one device sending garbage in a loop
 * cannot fill the database, the log or the write path of the other devices.
 */
import type { Logger } from '../../lib/log.js';

export interface DeadLetterLimits {
  /** Dead letters a device may write at once (`ingest.dead_letter_burst`). */
  burst: number;
  /** …and then this many a minute (`ingest.dead_letters_per_minute`). */
  perMinute: number;
}

export const DEFAULT_DEAD_LETTER_LIMITS: Readonly<DeadLetterLimits> = { burst: 20, perMinute: 6 };

interface Bucket {
  tokens: number;
  at: number;
  dropped: number;
  /** Dropped since the last log line. */
  unlogged: number;
  loggedAt: number | null;
}

const LOG_PERIOD_MS = 60_000;
/** The most devices tracked (the oldest is forgotten beyond: its bucket starts full again). */
const MAX_DEVICES = 10_000;

export class DeadLetterLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private total = 0;

  constructor(
    private readonly limits: DeadLetterLimits,
    private readonly log: Logger,
  ) {}

  /** Whether a dead letter of `device` may be stored now; false counts it as dropped. */
  take(device: string, now: number): boolean {
    let b = this.buckets.get(device);
    if (!b) {
      if (this.buckets.size >= MAX_DEVICES) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.limits.burst, at: now, dropped: 0, unlogged: 0, loggedAt: null };
      this.buckets.set(device, b);
    } else {
      const refill = ((now - b.at) / 60_000) * this.limits.perMinute;
      if (refill > 0) b.tokens = Math.min(this.limits.burst, b.tokens + refill);
      b.at = Math.max(b.at, now);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      if (b.unlogged > 0) this.report(device, b, now); // the tally of the flood that ended
      return true;
    }
    b.dropped++;
    b.unlogged++;
    this.total++;
    if (b.loggedAt === null || now - b.loggedAt >= LOG_PERIOD_MS) this.report(device, b, now);
    return false;
  }

  private report(device: string, b: Bucket, now: number): void {
    this.log.warn(
      { device_id: device, dropped: b.unlogged, dropped_total: b.dropped, ...this.limits },
      `device ${device}: ${b.unlogged} dead letters dropped (over ${this.limits.burst} at once, then ${this.limits.perMinute} a minute)`,
    );
    b.unlogged = 0;
    b.loggedAt = now;
  }

  /** Dead letters dropped, all devices. */
  get dropped(): number {
    return this.total;
  }

  /** Dead letters dropped per device (of the devices still tracked). */
  droppedByDevice(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [d, b] of this.buckets) if (b.dropped > 0) out[d] = b.dropped;
    return out;
  }
}
