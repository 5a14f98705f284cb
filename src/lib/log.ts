/**
 * Structured logs (pino) on stderr, so stdout stays free for data (`--console`, `dsmr parse`).
 * One child logger per component or device: `log.child({ component: 'sungrow' })`.
 * Level from KWARTIER_LOG_LEVEL (default info); KWARTIER_LOG_FORMAT=pretty prints one readable line.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

let root: Logger | undefined;

export function rootLogger(): Logger {
  if (!root) {
    const level = process.env.KWARTIER_LOG_LEVEL ?? 'info';
    root = pino(
      { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
      pino.destination({ fd: 2, sync: true }),
    );
  }
  return root;
}

export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
