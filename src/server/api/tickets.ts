/**
 * WebSocket tickets: `POST /api/v1/ws-ticket` (Bearer) hands out a random, short-lived, single-use
 * ticket that opens one WebSocket as `?ticket=…`, so the long-lived token never appears in a URL
 * (reverse proxies log URLs). A ticket carries its token's grant: it opens exactly the feeds the
 * token could, and counts against the token's WebSocket cap.
 *
 * Bounded: each token holds at most `maxPerToken` unspent tickets (issuing one more drops its
 * oldest), so the book never holds more than tokens × maxPerToken entries and one token cannot push
 * out another's tickets. Expired tickets are swept when their token issues a new one or on `take`.
 */
import { randomBytes } from 'node:crypto';
import type { TokenGrant } from './auth.js';

/** Lifetime of a WebSocket ticket (s), and the unspent tickets one token may hold. */
export const WS_TICKET_TTL_S = 30;
export const WS_TICKETS_PER_TOKEN = 32;

interface Entry {
  grant: TokenGrant;
  expiresMs: number;
}

export interface TicketBookOptions {
  /** Lifetime of a ticket (ms). */
  ttlMs: number;
  /** Unspent tickets one token may hold. */
  maxPerToken: number;
  now: () => number;
}

export class TicketBook {
  private readonly byTicket = new Map<string, Entry>();
  /** Unspent tickets of each token (by name), oldest first. */
  private readonly byToken = new Map<string, string[]>();

  constructor(private readonly options: TicketBookOptions) {}

  get size(): number {
    return this.byTicket.size;
  }

  /** A new ticket for `grant`: 32 random bytes, base64url (43 characters). */
  issue(grant: TokenGrant): string {
    const now = this.options.now();
    const own = (this.byToken.get(grant.name) ?? []).filter((t) => {
      const e = this.byTicket.get(t);
      if (e && e.expiresMs > now) return true;
      this.byTicket.delete(t);
      return false;
    });
    while (own.length >= this.options.maxPerToken) {
      const oldest = own.shift();
      if (oldest !== undefined) this.byTicket.delete(oldest);
    }
    const ticket = randomBytes(32).toString('base64url');
    this.byTicket.set(ticket, { grant, expiresMs: now + this.options.ttlMs });
    own.push(ticket);
    this.byToken.set(grant.name, own);
    return ticket;
  }

  /** The grant of an unspent, unexpired ticket, which is spent by this call; else null. */
  take(ticket: string): TokenGrant | null {
    const e = this.byTicket.get(ticket);
    if (!e) return null;
    this.byTicket.delete(ticket);
    const own = this.byToken.get(e.grant.name);
    if (own) {
      const i = own.indexOf(ticket);
      if (i >= 0) own.splice(i, 1);
      if (own.length === 0) this.byToken.delete(e.grant.name);
    }
    return e.expiresMs > this.options.now() ? e.grant : null;
  }
}
