import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../core/errors.js';

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

/** One CLI command. `usage` is the full `--help` text. `run` resolves to the exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], io: CliIO): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a command's flags strictly (unknown flags are usage errors). Returns null when `--help`
 * was asked for (the caller prints usage and exits 0).
 */
export function parseFlags<O extends Options>(
  cmd: Pick<Command, 'name'>,
  args: string[],
  options: O,
  allowPositionals = false,
) {
  const config = {
    args,
    options: { ...options, help: { type: 'boolean', short: 'h' } } as O,
    allowPositionals: true as const,
    strict: true as const,
  };
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    throw new UsageError(`kwartier ${cmd.name}: ${(err as Error).message}`);
  }
  if ((parsed.values as Record<string, unknown>).help) return null;
  if (!allowPositionals && parsed.positionals.length > 0) {
    throw new UsageError(`kwartier ${cmd.name}: unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
  }
  return parsed;
}

/** Resolves when SIGINT or SIGTERM arrives (or the signal aborts): for long-running commands. */
export function untilShutdown(signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    signal?.addEventListener('abort', () => done('abort'), { once: true });
  });
}
