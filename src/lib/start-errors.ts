/**
 * Start-up errors of sockets and databases, named: which config key, which address or URL, what
 * cause. `api.port: 127.0.0.1:8080: cannot listen: EADDRINUSE (address already in use)`. Both are
 * runtime errors (exit 1): the config is right, the machine is not ready for it (yet).
 */
import { describeCause, KwartierError } from '../core/errors.js';

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * A listen error of the socket `section` (`broker`, `api`) configures: names `<section>.port`, or
 * `<section>.host` when the address is not this machine's. The error may wrap the socket's (`cause`).
 */
export function listenError(section: string, host: string, port: number, err: unknown): KwartierError {
  const sys = err instanceof KwartierError && err.cause !== undefined ? err.cause : err;
  const code = sys !== null && typeof sys === 'object' && 'code' in sys ? (sys as { code: unknown }).code : undefined;
  const key = code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' ? `${section}.host` : `${section}.port`;
  return new KwartierError('listen', `${key}: ${hostPort(host, port)}: cannot listen: ${describeCause(sys)}`, {
    key,
    cause: err,
    retriable: code === 'EADDRINUSE',
  });
}

/** A connection string without its password (for messages and logs); unparsable ones are not shown. */
export function redactUrl(url: string): string | null {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '';
    return u.toString();
  } catch {
    return null;
  }
}

/**
 * A PostgreSQL error at start-up (connecting, preparing the schema), naming `key` and the URL
 * without its password: `store.url: postgres://kw@db:5432/kwartier: cannot connect: ECONNREFUSED …`.
 * The server exits 1; systemd (Restart=always) starts it again, so an outage of the database at
 * boot is retried there, and visible in the journal, rather than waited out in silence.
 */
export function postgresError(key: string, url: string, err: unknown): unknown {
  if (err instanceof KwartierError) return err;
  const code = err !== null && typeof err === 'object' && 'code' in err ? (err as { code: unknown }).code : undefined;
  const shown = redactUrl(url);
  const where = shown === null ? key : `${key}: ${shown}`;
  const first = describeCause(err);
  const what =
    typeof code === 'string' && /^E[A-Z]+$/.test(code)
      ? `cannot connect: ${first}`
      : typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)
        ? `${first} (SQLSTATE ${code})`
        : /timeout|terminated/i.test(first)
          ? `cannot connect: ${first}`
          : first;
  return new KwartierError('store_connect', `${where}: ${what}`, { key, cause: err, retriable: true });
}
