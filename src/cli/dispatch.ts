/**
 * The CLI's dispatcher: argv → a command of a registry, usage texts, and errors → exit codes
 * (0 ok, 1 runtime failure, 2 usage or configuration error). main.ts gives it every command;
 * edge-main.ts (the edge's own bundle, dist/edge.mjs) only `edge`.
 */
import { KwartierError, UsageError } from '../core/errors.js';
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
      io.stdout.write('kwartier 0.1.0\n');
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
    if (err instanceof UsageError || (err instanceof KwartierError && err.code === 'config')) {
      io.stderr.write(`${err.message}\n`);
      return 2;
    }
    io.stderr.write(`kwartier: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}
