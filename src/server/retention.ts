/**
 * Retention on a schedule: the store's applyRetention() (raw readings older than
 * `store.raw_retention_days`, dead letters older than `store.dead_letter_retention_days`) a short
 * while after start-up, then every `store.retention_interval_minutes`. One run at a time; a run that
 * fails is logged and tried again at the next tick, never thrown. See docs/storage.md (Retention).
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../lib/log.js';
import type { Store } from './store/types.js';

export interface RetentionSchedulerOptions {
  store: Pick<Store, 'applyRetention'>;
  log: Logger;
  /** Before the first run, ms. Default 60 000 (the server starts ingesting first). */
  initialDelayMs?: number;
  /** Between the end of one run and the start of the next, ms. Default 3 600 000. */
  intervalMs?: number;
  /** The clock (tests move it). Default: the system clock. */
  now?: () => Date;
}

export interface RetentionScheduler {
  start(): void;
  /** Stops the timer and waits for a run in progress (the store may then be closed). */
  stop(): Promise<void>;
}

/** setTimeout's limit (about 24.8 days): a longer delay would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

function delayOption(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || v > MAX_TIMER_MS)
    throw new RangeError(
      `retention scheduler: ${name}: must be between 0 and ${MAX_TIMER_MS} ms, not ${String(value)}`,
    );
  return v;
}

export function createRetentionScheduler(opts: RetentionSchedulerOptions): RetentionScheduler {
  const initialDelay = delayOption('initialDelayMs', opts.initialDelayMs, 60_000);
  const interval = delayOption('intervalMs', opts.intervalMs, 3_600_000);
  const now = opts.now ?? (() => new Date());
  const { store, log } = opts;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = true;

  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };

  const run = async (): Promise<void> => {
    const at = now();
    const t0 = performance.now();
    try {
      const r = await store.applyRetention(at);
      const fields = {
        deleted: r.deleted,
        dead_letters: r.deadLetters,
        now: at.toISOString(),
        took_ms: Math.round(performance.now() - t0),
      };
      if (r.deleted > 0 || r.deadLetters > 0) log.info(fields, 'retention applied');
      else log.debug(fields, 'retention applied');
    } catch (err) {
      log.error({ err: errorMessage(err), retry_in_ms: interval }, 'retention failed, retried next time');
    }
  };

  function tick(): void {
    timer = null;
    running = run().finally(() => {
      running = null;
      schedule(interval);
    });
  }

  return {
    start(): void {
      if (!stopped) return;
      stopped = false;
      schedule(initialDelay);
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
