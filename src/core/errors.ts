/**
 * Errors carry a stable `code` and whether retrying can help. Messages name the problem and,
 * for config or input errors, the path of the offending key (`sungrow.port: must be ...`).
 */
export class KwartierError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KwartierError';
    this.code = code;
    this.retriable = options.retriable ?? false;
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
  constructor(message: string) {
    super('config', message);
    this.name = 'ConfigError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
