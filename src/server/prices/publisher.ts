/**
 * Sends each home the day-ahead prices the price feed stored (docs/mqtt.md `prices`, docs/control.md
 * "Where the prices come from"): one retained message per home on `{prefix}/{id}/prices`
 * (core/wire-prices.ts), through the ingester's connection, the only client the brokers let write
 * there. An edge whose control plans with a dynamic contract uses them; any other ignores them.
 *
 * - What: the prices stored for the server's zone (`prices.zone`) over today's and tomorrow's local
 *   days of the zone: today's, and tomorrow's once published (13:05).
 * - Which homes: every home the server knows, all of them in the one zone: the store's devices, the
 *   config's `devices:` and any home whose `status` arrives (a new home, before its first reading).
 *   A device id a broker would refuse as a topic level is left out.
 * - When: after the feed stored new prices, at each connection of the ingester (the embedded broker
 *   keeps nothing across a restart), and to a home whose `status` arrives when it lacks the current
 *   message. Each home gets each message once: what was sent is remembered per home, and forgotten
 *   when its publish failed or the broker lost the ingester's session (`sessionPresent` false: a
 *   broker restarted without its retained messages). A window that only moved on (after midnight:
 *   yesterday's prices drop out, nothing new) is no new message: the one sent holds today's too.
 * - Bounded: one publish per home per new message (and per broker that lost its state), at most
 *   `concurrency` in flight.
 */
import { errorMessage } from '../../core/errors.js';
import { localDay } from '../../core/time/index.js';
import { type PricesMessage, pricesMessage } from '../../core/wire-prices.js';
import type { Logger } from '../../lib/log.js';
import { validIdentity } from '../broker/acl.js';
import type { Store } from '../store/types.js';
import { ZONES, type ZoneId } from './zones.js';

export interface PricePublisherOptions {
  store: Pick<Store, 'dayAheadPrices' | 'devices'>;
  zone: ZoneId;
  /** Homes named in the server config (`devices:`), besides the store's. */
  configured?: readonly string[];
  /** Publishes one home's message (the ingester's publishPrices): true once the broker has it. */
  publish: (deviceId: string, message: PricesMessage) => Promise<boolean>;
  log: Logger;
  now?: () => number;
  /** Publishes in flight at once. Default 8. */
  concurrency?: number;
}

interface Current {
  message: PricesMessage;
  /** start ms → `minutes price`, to tell a message with something new from a narrower window. */
  index: Map<number, string>;
  /** Which message (the generation): what `sent` remembers per home. */
  key: string;
}

export class PricePublisher {
  /** Publishes made and failed (tests, logs). */
  readonly counters = { published: 0, failed: 0 };
  private current: Current | null = null;
  /** Per home, the key of the message it was sent (in flight or acknowledged). */
  private readonly sent = new Map<string, string>();
  /** Homes whose status arrived. */
  private readonly seen = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private stopped = false;
  /** One more for each new message: its key in `sent`. */
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly opts: PricePublisherOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The message homes are sent now (null before any price is stored). */
  get message(): PricesMessage | null {
    return this.current?.message ?? null;
  }

  /** Reads the stored prices again and sends a new message to every home (after the feed stored some). */
  update(): Promise<void> {
    return this.enqueue(() => this.rebuildAndSync());
  }

  /**
   * At each connection of the ingester: the homes that lack the message get it. Without the session
   * (`sessionPresent` false) the broker lost what it retained, so every home gets it again.
   */
  connected(sessionPresent: boolean): Promise<void> {
    return this.enqueue(async () => {
      if (!sessionPresent) this.sent.clear();
      await this.rebuildAndSync();
    });
  }

  /** A home's status arrived (it is connected, or was): it gets the message if it lacks it. */
  homeSeen(deviceId: string): void {
    if (this.stopped || !validIdentity(deviceId)) return;
    this.seen.add(deviceId);
    const cur = this.current;
    if (cur && this.sent.get(deviceId) !== cur.key) void this.send(deviceId, cur);
  }

  /** Stops sending; resolves when the publishes in flight are done. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waiting.splice(0)) w();
    await this.chain.catch(() => undefined);
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        await task();
      } catch (err) {
        this.opts.log.warn({ err: errorMessage(err) }, 'day-ahead prices not sent: the store did not answer');
      }
    });
    this.chain = run;
    return run;
  }

  private async rebuildAndSync(): Promise<void> {
    const { store, zone, log } = this.opts;
    const tz = ZONES[zone].timezone;
    const now = this.now();
    const today = localDay(now, tz);
    const end = localDay(today.end, tz).end;
    const rows = await store.dayAheadPrices(zone, new Date(today.start), new Date(end));
    const points = rows.map((r) => ({ start: r.start.getTime(), end: r.end.getTime(), eurPerMwh: r.eurPerMwh }));
    if (this.current === null || points.some((p) => this.current?.index.get(p.start) !== entryKey(p))) {
      const message = pricesMessage(zone, points, now);
      if (message) {
        const index = new Map(points.map((p) => [p.start, entryKey(p)]));
        this.current = { message, index, key: String(++this.generation) };
        log.info(
          {
            zone,
            prices: message.prices.length,
            from: message.prices[0]?.start,
            to: new Date(points[points.length - 1]?.end ?? now).toISOString(),
          },
          'day-ahead prices: a new message for the homes',
        );
      }
    }
    const cur = this.current;
    if (!cur) return;
    const homes = new Set([...(await store.devices()), ...(this.opts.configured ?? []), ...this.seen]);
    const todo = [...homes].filter((h) => validIdentity(h) && this.sent.get(h) !== cur.key);
    if (todo.length === 0) return;
    const results = await Promise.all(todo.map((h) => this.send(h, cur)));
    const ok = results.filter(Boolean).length;
    log.info(
      { zone, homes: todo.length, published: ok, issued_at: cur.message.issued_at },
      'day-ahead prices sent to the homes',
    );
  }

  /** One home's publish, at most `concurrency` at once; forgotten when it fails (sent again later). */
  private async send(home: string, cur: Current): Promise<boolean> {
    this.sent.set(home, cur.key);
    await this.slot();
    let ok = false;
    try {
      if (!this.stopped) ok = await this.opts.publish(home, cur.message);
    } catch {
      ok = false;
    } finally {
      this.release();
    }
    if (ok) this.counters.published++;
    else {
      this.counters.failed++;
      if (this.sent.get(home) === cur.key) this.sent.delete(home);
    }
    return ok;
  }

  private async slot(): Promise<void> {
    if (this.active < (this.opts.concurrency ?? 8) || this.stopped) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

function entryKey(p: { start: number; end: number; eurPerMwh: number }): string {
  return `${p.end - p.start} ${p.eurPerMwh}`;
}
