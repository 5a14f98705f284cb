/**
 * A typed in-process bus: one map of events to payloads, named consumers, each isolated.
 *
 * Modelled on zigbee2mqtt's lib/eventBus.ts: the event map is a type, every subscription names its
 * consumer (`bus.subscribe('outbox', 'snapshot', fn)`), and a consumer is removed by its name. The
 * programs use it through their own event maps (edge/bus.ts, server/bus.ts).
 *
 * Isolation: `publish` calls the consumers of an event synchronously, in the order they subscribed. A
 * consumer that throws, or whose promise rejects, is counted and logged (once per consumer, event and
 * kind of error: its name and code, or its message with the digits masked, so a failure at 1 Hz is one
 * log line, not 3 600 an hour), and the others go on. Bounded: at most `maxLoggedKinds` kinds are
 * remembered; past that the memory is cleared and logging starts over.
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from './log.js';

export type Handler<T> = (payload: T) => void | Promise<void>;

interface Subscription<T> {
  consumer: string;
  handler: Handler<T>;
}

export interface BusOptions {
  log: Logger;
  /** Kinds of error remembered as already logged (default 256). */
  maxLoggedKinds?: number;
}

export interface BusErrorStats {
  /** Errors (throws and rejections) per consumer since the start. */
  [consumer: string]: number;
}

/** What kind of error this is, for logging it once: its name and code, or its message with the digits masked. */
function errorKind(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}:${typeof code === 'string' || typeof code === 'number' ? String(code) : err.message.replace(/\d+/g, '#')}`;
  }
  return `thrown:${String(err).replace(/\d+/g, '#').slice(0, 200)}`;
}

export class Bus<E extends { [K in keyof E]: unknown }> {
  private readonly subs = new Map<keyof E, Array<Subscription<never>>>();
  private readonly logged = new Set<string>();
  private readonly errorCounts = new Map<string, number>();
  private readonly published = new Map<keyof E, number>();

  constructor(private readonly opts: BusOptions) {}

  /**
   * Adds `consumer`'s handler for `event` (after those already there). Returns its removal. One consumer
   * may take several events; a consumer name is a short kebab-case word (`outbox`, `ws`, `metrics`).
   */
  subscribe<K extends keyof E>(consumer: string, event: K, handler: Handler<E[K]>): () => void {
    const list = this.subs.get(event) ?? [];
    const sub: Subscription<E[K]> = { consumer, handler };
    // A fresh array each change: a publish in progress keeps going over the list it started with.
    this.subs.set(event, [...list, sub as Subscription<never>]);
    return () => {
      const now = this.subs.get(event) ?? [];
      this.subs.set(
        event,
        now.filter((s) => s !== (sub as Subscription<never>)),
      );
    };
  }

  /** Removes every handler of `consumer` (its stop). */
  unsubscribe(consumer: string): void {
    for (const [event, list] of this.subs) {
      this.subs.set(
        event,
        list.filter((s) => s.consumer !== consumer),
      );
    }
  }

  /** Hands `payload` to every consumer of `event`; none of them can stop the others (see the top). */
  publish<K extends keyof E>(event: K, payload: E[K]): void {
    this.published.set(event, (this.published.get(event) ?? 0) + 1);
    const list = this.subs.get(event) as Array<Subscription<E[K]>> | undefined;
    if (!list) return;
    for (const s of list) {
      try {
        const r = s.handler(payload);
        if (r && typeof (r as Promise<void>).then === 'function')
          (r as Promise<void>).then(undefined, (err: unknown) => this.failed(s.consumer, event, err));
      } catch (err) {
        this.failed(s.consumer, event, err);
      }
    }
  }

  /** The consumers of each event, in calling order (for logs and tests). */
  consumers(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [event, list] of this.subs) if (list.length > 0) out[String(event)] = list.map((s) => s.consumer);
    return out;
  }

  /** Errors per consumer since the start. */
  errors(): BusErrorStats {
    return Object.fromEntries(this.errorCounts);
  }

  /** Payloads published per event since the start. */
  publishedCount(event: keyof E): number {
    return this.published.get(event) ?? 0;
  }

  private failed(consumer: string, event: keyof E, err: unknown): void {
    this.errorCounts.set(consumer, (this.errorCounts.get(consumer) ?? 0) + 1);
    const kind = `${consumer}\u0000${String(event)}\u0000${errorKind(err)}`;
    if (this.logged.has(kind)) return;
    if (this.logged.size >= (this.opts.maxLoggedKinds ?? 256)) this.logged.clear();
    this.logged.add(kind);
    this.opts.log.error(
      { consumer, event: String(event), err: errorMessage(err), errors: this.errorCounts.get(consumer) },
      `bus consumer ${consumer} failed on ${String(event)} (logged once per kind of error; the other consumers go on)`,
    );
  }
}
