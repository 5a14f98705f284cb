/**
 * The CLI's dispatcher: argv → a command of a registry, usage texts, and errors → exit codes
 * (0 ok, 1 runtime failure, 2 usage or configuration error). main.ts gives it every command;
 * edge-main.ts (the edge's own bundle, dist/edge-bundle/edge.mjs) only `edge`.
 */
import { inspect } from 'node:util';
import { KwartierError, UsageError } from '../core/errors.js';
import { KWARTIER_VERSION } from '../core/version.js';
import type { CliIO, Command } from './command.js';

export interface Entry {
  summary: string;
  load: () => Promise<Command>;
}

export type Registry = Record<string, Entry>;

function topUsage(commands: Registry): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const lines = Object.entries(commands).map(([name, e]) => `  ${name.padEnd(width)}  ${e.summary}`);
  return [
    'Usage: kwartier <command> [options]',
    '',
    'Kwartier: home energy for Belgian and Dutch homes.',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `kwartier <command> --help` for the options of a command.',
    '',
  ].join('\n');
}

function groupUsage(commands: Registry, group: string): string | null {
  const subs = Object.entries(commands).filter(([name]) => name.startsWith(`${group} `));
  if (subs.length === 0) return null;
  return [
    `Usage: kwartier ${group} <command> [options]`,
    '',
    'Commands:',
    ...subs.map(([n, e]) => `  ${n}  ${e.summary}`),
    '',
  ].join('\n');
}

/** Runs the command `argv` names from `commands`; resolves to the exit code. */
export async function dispatch(commands: Registry, argv: string[], io: CliIO): Promise<number> {
  try {
    const [first, second] = argv;
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      io.stdout.write(topUsage(commands));
      return first === undefined ? 2 : 0;
    }
    if (first === '--version' || first === '-v') {
      io.stdout.write(`kwartier ${KWARTIER_VERSION}\n`);
      return 0;
    }
    let name = first;
    let rest = argv.slice(1);
    if (second !== undefined && commands[`${first} ${second}`]) {
      name = `${first} ${second}`;
      rest = argv.slice(2);
    }
    const entry = commands[name];
    if (!entry) {
      const group = groupUsage(commands, first);
      if (group) {
        const askedHelp = second === undefined || second === '--help' || second === '-h';
        (askedHelp && second !== undefined ? io.stdout : io.stderr).write(
          second === undefined || askedHelp ? group : `kwartier: unknown command "${first} ${second}"\n\n${group}`,
        );
        return askedHelp && second !== undefined ? 0 : 2;
      }
      io.stderr.write(`kwartier: unknown command "${first}"\n\n${topUsage(commands)}`);
      return 2;
    }
    const cmd = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(cmd.usage.endsWith('\n') ? cmd.usage : `${cmd.usage}\n`);
      return 0;
    }
    return await cmd.run(rest, io);
  } catch (err) {
    return reportError(err, io);
  }
}

/** Stack traces only for KWARTIER_LOG_LEVEL=debug (or trace): otherwise the one line says it all. */
function debugging(): boolean {
  const level = process.env.KWARTIER_LOG_LEVEL;
  return level === 'debug' || level === 'trace';
}

/**
 * An error → one line on stderr and the exit code: 2 for a usage or configuration error, its
 * message as it is; 1 for anything else, `kwartier: ` and its message (a KwartierError's names the
 * key and the cause; an unexpected error's class and the first line of its message).
 */
function reportError(err: unknown, io: CliIO): number {
  const config = err instanceof UsageError || (err instanceof KwartierError && err.code === 'config');
  let line: string;
  if (config) line = err.message;
  else if (err instanceof KwartierError)
    line = err.message.startsWith('kwartier') ? err.message : `kwartier: ${err.message}`;
  else {
    const first = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
    line = `kwartier: ${first}${debugging() ? '' : ' (KWARTIER_LOG_LEVEL=debug shows where)'}`;
  }
  io.stderr.write(`${line}\n`);
  if (debugging() && err instanceof Error) io.stderr.write(`${inspect(err, { depth: 4 })}\n`);
  return config ? 2 : 1;
}

/**
 * Sets the exit code; after a failure the process ends within `graceMs` even if a timer or socket
 * of a half-started component is still pending (a failed start must not linger). After success
 * the process ends when its work is done, as always.
 */
export function exitWithin(code: number, graceMs = 2000): void {
  process.exitCode = code;
  if (code !== 0) setTimeout(() => process.exit(code), graceMs).unref();
}
