/**
 * Day-ahead prices from the server (docs/control.md "Where the prices come from"): reads this edge's
 * `prices` topic through the uplink's connection (core/wire-prices.ts), and hands the prices to the
 * control (EdgeControl.setServerPrices), which plans deadlines and the battery's cheap hours with
 * them where its tariff file's price_file has no price.
 *
 * - Made only for a control whose tariff has a dynamic contract: any other edge never subscribes.
 * - A message is applied whole or not at all: one that does not decode is logged with the reason
 *   (naming the field) and the prices held before stay.
 * - The newer message wins: one issued before the one held (a stale retained copy) is ignored.
 * - The last message is kept in the outbox's database (`meta`, Outbox.keepState), so an edge
 *   restarted while the broker or the server is away plans with it; the retained message replaces
 *   it once connected. An empty message (the server cleared the topic) drops the server's prices.
 */
import { errorMessage } from '../core/errors.js';
import { decodePricesMessage, type PricesMessage, pricesSeries } from '../core/wire-prices.js';
import type { Logger } from '../lib/log.js';
import type { EdgeControl } from './control.js';
import type { StateKeep } from './outbox.js';
import type { UplinkChannel } from './uplink/index.js';

/** What this needs of the uplink (uplink/index.ts): reading its own `prices` topic. */
export interface PricesChannel {
  attach(channel: UplinkChannel): void;
}

export interface PricesRemoteOptions {
  control: Pick<EdgeControl, 'setServerPrices'>;
  channel: PricesChannel;
  /** Null: nothing is kept (the retained message comes again after a restart). */
  keep: StateKeep | null;
  log: Logger;
}

/** The key the message is kept under. */
export const PRICES_STATE_KEY = 'server_prices';

export class PricesRemote {
  /** The message applied now (null: none). */
  private held: PricesMessage | null = null;

  constructor(private readonly opts: PricesRemoteOptions) {}

  /** The server's message the control plans with now (null: none). */
  get message(): PricesMessage | null {
    return this.held;
  }

  /** Applies the message kept before a restart, then reads the topic on every connection. */
  start(): void {
    this.loadKept();
    this.opts.channel.attach({ read: { prices: (payload) => this.onPrices(payload) } });
  }

  /** A message on the `prices` topic. */
  onPrices(payload: Buffer): void {
    if (payload.length === 0) {
      if (this.held === null) return;
      this.held = null;
      this.opts.control.setServerPrices(null);
      this.keep(null);
      this.opts.log.info("day-ahead prices from the server cleared: planning with the tariff file's own");
      return;
    }
    let msg: PricesMessage;
    try {
      msg = decodePricesMessage(payload);
    } catch (err) {
      this.opts.log.warn(
        { reason: errorMessage(err) },
        'day-ahead prices from the server refused; the prices held before stay',
      );
      return;
    }
    const held = this.held;
    if (held && Date.parse(msg.issued_at) < Date.parse(held.issued_at)) {
      this.opts.log.debug({ issued_at: msg.issued_at, held: held.issued_at }, 'older day-ahead prices ignored');
      return;
    }
    if (held && held.issued_at === msg.issued_at && JSON.stringify(held.prices) === JSON.stringify(msg.prices)) return;
    this.apply(msg, 'received');
    this.keep(JSON.stringify(msg));
  }

  private apply(msg: PricesMessage, how: 'received' | 'kept'): void {
    const series = pricesSeries(msg);
    this.held = msg;
    this.opts.control.setServerPrices(series);
    this.opts.log.info(
      {
        zone: msg.zone,
        issued_at: msg.issued_at,
        prices: msg.prices.length,
        from: msg.prices[0]?.start,
        to: new Date(series.ends[series.ends.length - 1] ?? 0).toISOString(),
      },
      how === 'received'
        ? 'day-ahead prices from the server applied'
        : 'day-ahead prices from the server applied (kept from before the restart)',
    );
  }

  private loadKept(): void {
    const keep = this.opts.keep;
    if (!keep) return;
    let text: string | null;
    try {
      text = keep.keptState(PRICES_STATE_KEY);
    } catch (err) {
      this.opts.log.warn({ err: errorMessage(err) }, 'the day-ahead prices kept before the restart cannot be read');
      return;
    }
    if (text === null) return;
    try {
      this.apply(decodePricesMessage(text), 'kept');
    } catch (err) {
      this.opts.log.warn({ reason: errorMessage(err) }, 'the day-ahead prices kept before the restart are ignored');
    }
  }

  private keep(text: string | null): void {
    try {
      this.opts.keep?.keepState(PRICES_STATE_KEY, text);
    } catch (err) {
      // A full disk: the retained message comes again after a restart anyway.
      this.opts.log.warn({ err: errorMessage(err) }, 'the day-ahead prices could not be kept for a restart');
    }
  }
}
