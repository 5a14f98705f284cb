import { UsageError } from '../../core/errors.js';
import { isLoopbackHost } from '../../core/host-port.js';
import { type Command, parseFlags } from '../command.js';
import { ApiClient, resolveHome } from '../top/feed.js';

const usage = `Usage: kwartier top --url URL --token TOKEN [--device ID]

A live view of one home in the terminal (for example over SSH): the power flow (grid, solar,
battery with its state of charge, the home, the EV when there is one), today's energy and cost,
the running quarter-hour with its forecast and the month's peak (the capacity tariff), the age of
the meter's last P1 telegram, and each device's state. It reads the server's API and its WebSocket
(opened with a single-use ticket: the token never goes into a URL) and reconnects by itself.

Options:
  --url URL        the server's address, e.g. http://127.0.0.1:8080 (plain http only to this
                   machine: use https, or an SSH tunnel, for another host)
  --token TOKEN    an API token holding the home (api.tokens in the server config); instead of
                   the flag, KWARTIER_API_TOKEN (a flag is visible in the process list)
  --device ID      the home to show (default: the first the token holds; d switches)
  --insecure-http  allow plain http to another host (the token then crosses the network unencrypted)

Keys: 1-4 or ←/→ (Tab) switch pages (overview, today, capacity, devices), r refreshes, d shows
the next home, q (or Esc, Ctrl-C) quits. Needs a terminal of at least 80×24; a larger one shows
more. NO_COLOR=1 turns colour off.

Exit codes: 0 after q, 1 when the server cannot be reached at start, 2 on a usage error (a bad
--url, a refused token, a home the token does not hold, no terminal).
`;

export function parseServerUrl(raw: string | undefined, insecureHttp: boolean): URL {
  if (!raw) throw new UsageError('kwartier top: --url URL is required (e.g. http://127.0.0.1:8080)');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`kwartier top: --url: '${raw}' is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`kwartier top: --url: must start with http:// or https://, got '${url.protocol}'`);
  if (url.username || url.password)
    throw new UsageError('kwartier top: --url: must not hold a user or password; give the token with --token');
  if (url.search || url.hash)
    throw new UsageError('kwartier top: --url: must not have a query or fragment; give the token with --token');
  // Plain http carries the token in clear: only to this machine unless asked for.
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !insecureHttp)
    throw new UsageError(
      `kwartier top: --url: plain http to ${url.hostname} would send the token unencrypted; use https, an SSH tunnel, or --insecure-http`,
    );
  return url;
}

export const command: Command = {
  name: 'top',
  summary: 'A live terminal view of one home: power flow, today, the capacity tariff, devices',
  usage,
  async run(args, io) {
    const parsed = parseFlags(this, args, {
      url: { type: 'string' },
      token: { type: 'string' },
      device: { type: 'string' },
      'insecure-http': { type: 'boolean' },
    });
    if (!parsed) {
      io.stdout.write(usage);
      return 0;
    }
    const v = parsed.values;
    const url = parseServerUrl(v.url, v['insecure-http'] === true);
    const token = v.token ?? process.env.KWARTIER_API_TOKEN ?? '';
    if (!token) throw new UsageError('kwartier top: --token TOKEN is required (or KWARTIER_API_TOKEN)');
    if (/\s/.test(token) || [...token].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
      throw new UsageError('kwartier top: --token: must not contain spaces or control characters');
    const device = v.device ?? null;
    if (device !== null && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(device))
      throw new UsageError(`kwartier top: --device: '${device}' is not a device id`);
    // The server is asked first, so a wrong URL, token or home is named even without a terminal.
    const api = new ApiClient(url, token);
    const home = await resolveHome(api, device);
    const stdin = io.stdin as NodeJS.ReadStream;
    const stdout = io.stdout as NodeJS.WriteStream;
    if (!stdin.isTTY || !stdout.isTTY)
      throw new UsageError('kwartier top: needs a terminal: stdin and stdout must be a TTY (over SSH: ssh -t)');
    // Ink and React load only here: no other command (and not the edge's bundle) carries them.
    const { runTop } = await import('../top/run.js');
    return runTop({ api, home, stdin, stdout, stderr: io.stderr as NodeJS.WriteStream });
  },
};
