/**
 * Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS architecture blog):
 * delay = random(0 .. min(max, base * 2^attempt)), but never below `minMs` so a reconnect loop
 * cannot spin.
 */
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  minMs?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly minMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 500;
    this.maxMs = opts.maxMs ?? 60_000;
    this.minMs = opts.minMs ?? Math.min(100, this.baseMs);
    this.random = opts.random ?? Math.random;
  }

  /** The delay before the next attempt; each call grows the window. */
  next(): number {
    const cap = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.max(this.minMs, Math.round(this.random() * cap));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
