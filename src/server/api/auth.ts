/**
 * Bearer tokens from `api.tokens`: each grants a list of device ids ('*' = every device), to read
 * or (scope `write`) also to change what may be changed (a home's control settings).
 *
 * A presented token is compared with every configured token in constant time (SHA-256 of both,
 * then timingSafeEqual, no early exit), so neither a match nor its position leaks through timing.
 * A device the token does not hold answers exactly like an unknown device (404).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface TokenGrant {
  name: string;
  /** Every device ('*' in the config). */
  all: boolean;
  devices: ReadonlySet<string>;
  /** Scope `write`: may change the homes it holds (PUT /api/v1/control). */
  write: boolean;
}

interface Entry {
  digest: Buffer;
  grant: TokenGrant;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class TokenTable {
  private readonly entries: Entry[];

  constructor(
    tokens: ReadonlyArray<{ name: string; token: string; devices: readonly string[]; scope?: 'read' | 'write' }>,
  ) {
    this.entries = tokens.map((t) => ({
      digest: digest(t.token),
      grant: {
        name: t.name,
        all: t.devices.includes('*'),
        devices: new Set(t.devices.filter((d) => d !== '*')),
        write: t.scope === 'write',
      },
    }));
  }

  get size(): number {
    return this.entries.length;
  }

  /** The grant of a presented token, or null. Takes the same time whichever token (if any) matches. */
  lookup(presented: string): TokenGrant | null {
    const d = digest(presented);
    let found: TokenGrant | null = null;
    for (const e of this.entries) {
      if (timingSafeEqual(d, e.digest) && found === null) found = e.grant;
    }
    return found;
  }
}

export function holds(grant: TokenGrant, deviceId: string): boolean {
  return grant.all || grant.devices.has(deviceId);
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1] ?? null;
}

/** A non-empty query parameter of `url`, or null. */
export function queryParam(url: string, name: string): string | null {
  const q = url.indexOf('?');
  if (q < 0) return null;
  const v = new URLSearchParams(url.slice(q + 1)).get(name);
  return v === null || v === '' ? null : v;
}

/**
 * The token of a `?token=` query parameter (WebSocket only: browsers cannot set its headers).
 * Deprecated: the URL ends up in proxies' logs; a ticket (`?ticket=`) keeps the token out of it.
 */
export function queryToken(url: string): string | null {
  return queryParam(url, 'token');
}
