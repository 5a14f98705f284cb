/**
 * Errors carry a stable `code` and whether retrying can help. Messages name the problem and,
 * for config or input errors, the path of the offending key (`sungrow.port: must be ...`).
 */
export class KwartierError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  /**
   * The config key the error is about (`broker.port`, `store.path`), when it is about one: its
   * message then starts with that key, and the CLI puts the config file's name in front.
   */
  readonly key: string | null;

  constructor(
    code: string,
    message: string,
    options: { retriable?: boolean; cause?: unknown; key?: string | null } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KwartierError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.key = options.key ?? null;
  }
}

/** A usage or configuration error: the CLI exits with code 2. */
export class UsageError extends KwartierError {
  constructor(message: string) {
    super('usage', message);
    this.name = 'UsageError';
  }
}

export class ConfigError extends KwartierError {
  constructor(message: string, options: { cause?: unknown; key?: string | null } = {}) {
    super('config', message, options);
    this.name = 'ConfigError';
  }
}

/**
 * The same error with `prefix: ` in front of its message (the config file's name in front of a
 * key's error, `server.yaml: store.path: …`); its class, code, key and cause are kept.
 */
export function withPrefix(err: KwartierError, prefix: string): KwartierError {
  const options = { cause: err.cause, key: err.key };
  const message = `${prefix}: ${err.message}`;
  if (err instanceof ConfigError) return new ConfigError(message, options);
  return new KwartierError(err.code, message, { ...options, retriable: err.retriable });
}

/** What the system error codes we meet at start-up mean, in a few words. */
const CAUSES: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  EEXIST: 'already exists',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'name resolution failed, try again',
};

/**
 * The cause of an error on one line: `ENOENT (no such file)` for a system error, else the first
 * line of its message (with its code when it has one of its own, `… (SQLITE_FULL)`).
 */
export function describeCause(err: unknown): string {
  const code = err !== null && typeof err === 'object' && 'code' in err ? (err as { code: unknown }).code : undefined;
  if (typeof code === 'string' && CAUSES[code] !== undefined) return `${code} (${CAUSES[code]})`;
  const first = errorMessage(err).split('\n')[0]?.trim() || 'unknown error';
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && !first.includes(code)) return `${code} (${first})`;
  return first;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
