/** Small helpers shared by the API routes. */
import type { Snapshot } from '../../core/snapshot.js';
import type { ZoneClock } from './time.js';

/** An error answered with its status and `{error, message}`. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly error: string;
  constructor(statusCode: number, error: string, message: string) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.error = error;
  }
}

/** Rejects after `ms` with a 503 naming `what` (every store call in a request has a deadline). */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(503, 'unavailable', `${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export type SnapshotOut = Omit<Snapshot, 'timestamp'> & { timestamp: string };

/** A snapshot as the API shows it: the same fields, its times in local time with offset. */
export function presentSnapshot(s: Snapshot, clock: ZoneClock): SnapshotOut {
  return {
    ...s,
    timestamp: clock.isoFromString(s.timestamp) ?? s.timestamp,
    meter_timestamp: clock.isoFromString(s.meter_timestamp),
    grid_monthly_peak_timestamp: clock.isoFromString(s.grid_monthly_peak_timestamp),
  };
}

/** The realtime answer: the snapshot plus its age in seconds (never negative). */
export function presentRealtime(s: Snapshot, clock: ZoneClock, nowMs: number): SnapshotOut & { age_s: number } {
  const ts = Date.parse(s.timestamp);
  const age = Number.isFinite(ts) ? Math.max(0, (nowMs - ts) / 1000) : 0;
  return { ...presentSnapshot(s, clock), age_s: Math.round(age * 1000) / 1000 };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
