/**
 * `kwartier`: the one CLI. Composition only: each command wires components from core, drivers,
 * edge and server. Commands load lazily, so `kwartier dsmr parse` does not load the server.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
 */
import { KwartierError, UsageError } from '../core/errors.js';
import type { CliIO, Command } from './command.js';

interface Entry {
  summary: string;
  load: () => Promise<Command>;
}

export const COMMANDS: Record<string, Entry> = {
  demo: {
    summary: 'Run the whole system on this machine with simulated devices (what `npm start` runs)',
    load: async () => (await import('./commands/demo.js')).command,
  },
  edge: {
    summary: 'Run the edge: read the P1 meter and inverter, merge, buffer and forward snapshots',
    load: async () => (await import('./commands/edge.js')).command,
  },
  server: {
    summary: 'Run the server: ingest from MQTT, store, aggregate, serve the API and dashboard',
    load: async () => (await import('./commands/server.js')).command,
  },
  simulate: {
    summary: 'Simulate devices on loopback (DSMR P1 over TCP, HomeWizard, Sungrow) for tests and demos',
    load: async () => (await import('./commands/simulate.js')).command,
  },
  'dsmr parse': {
    summary: 'Parse P1 telegrams (DSMR / e-MUCS) from a file or stdin and print one JSON object per telegram',
    load: async () => (await import('./commands/dsmr-parse.js')).command,
  },
  'homewizard pair': {
    summary: 'Pair with a HomeWizard P1 meter (API v2): press its button, get a token',
    load: async () => (await import('./commands/homewizard-pair.js')).command,
  },
  'certs init': {
    summary: 'Create a device CA and a server certificate for the MQTT broker',
    load: async () => (await import('./commands/certs.js')).initCommand,
  },
  'certs device': {
    summary: 'Create a client certificate for one edge device (CN = device id)',
    load: async () => (await import('./commands/certs.js')).deviceCommand,
  },
};

function topUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([name, e]) => `  ${name.padEnd(width)}  ${e.summary}`);
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

function groupUsage(group: string): string | null {
  const subs = Object.entries(COMMANDS).filter(([name]) => name.startsWith(`${group} `));
  if (subs.length === 0) return null;
  return [
    `Usage: kwartier ${group} <command> [options]`,
    '',
    'Commands:',
    ...subs.map(([n, e]) => `  ${n}  ${e.summary}`),
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO = process): Promise<number> {
  try {
    const [first, second] = argv;
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      io.stdout.write(topUsage());
      return first === undefined ? 2 : 0;
    }
    if (first === '--version' || first === '-v') {
      io.stdout.write('kwartier 0.1.0\n');
      return 0;
    }
    let name = first;
    let rest = argv.slice(1);
    if (second !== undefined && COMMANDS[`${first} ${second}`]) {
      name = `${first} ${second}`;
      rest = argv.slice(2);
    }
    const entry = COMMANDS[name];
    if (!entry) {
      const group = groupUsage(first);
      if (group) {
        const askedHelp = second === undefined || second === '--help' || second === '-h';
        (askedHelp && second !== undefined ? io.stdout : io.stderr).write(
          second === undefined || askedHelp ? group : `kwartier: unknown command "${first} ${second}"\n\n${group}`,
        );
        return askedHelp && second !== undefined ? 0 : 2;
      }
      io.stderr.write(`kwartier: unknown command "${first}"\n\n${topUsage()}`);
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
