/**
 * `kwartier homewizard pair HOST`: get a token from a HomeWizard P1 meter (local API v2). Messages go to
 * stderr; the token alone goes to stdout, so `TOKEN=$(kwartier homewizard pair 192.168.1.50)` works.
 */
import { UsageError } from '../../core/errors.js';
import { parseHostPort } from '../../core/host-port.js';
import { PairError, pairHomeWizard, userName } from '../../drivers/homewizard/pair.js';
import { HomeWizardTlsError, loadCaPem } from '../../drivers/homewizard/tls.js';
import { type Command, parseFlags } from '../command.js';

const USAGE = `Usage: kwartier homewizard pair HOST [--port N] [--name NAME] [--timeout S] [--ca FILE]

Pairs with a HomeWizard P1 meter over its local API v2 and prints the token for the edge config
(homewizard.token). Run it, then press the button on the P1 meter when asked.

Arguments:
  HOST           IP address (or name) of the P1 meter, optionally HOST:PORT

Options:
  --port N       HTTPS port of the device (default 443)
  --name NAME    user to register on the device, as local/NAME (default kwartier):
                 1 to 40 characters of a-z A-Z 0-9 - _ \\ / # and space; pairing again
                 with the same name issues a new token and revokes the old one
  --timeout S    give up after S seconds without a button press (default 60)
  --ca FILE      CA certificate (PEM) to verify the device with (default: HomeWizard's
                 Appliance Access CA, built in)
  -h, --help     show this help

The device certificate is verified against the CA and must name the device
(CN appliance/<type>/<serial>); the identity is printed for homewizard.identity.
Output: the token alone on one line on stdout; everything else on stderr.
Exit codes: 0 paired, 1 no token (timeout, refused, TLS failure), 2 usage error.
`;

export const command: Command = {
  name: 'homewizard pair',
  summary: 'Pair with a HomeWizard P1 meter (API v2): press its button, get a token',
  usage: USAGE,
  async run(args, io) {
    const parsed = parseFlags(
      this,
      args,
      {
        port: { type: 'string' },
        name: { type: 'string' },
        timeout: { type: 'string' },
        ca: { type: 'string' },
      },
      true,
    );
    if (parsed === null) {
      io.stdout.write(USAGE);
      return 0;
    }
    const [hostArg, extra] = parsed.positionals;
    if (hostArg === undefined)
      throw new UsageError("kwartier homewizard pair: missing HOST (the P1 meter's IP address)");
    if (extra !== undefined)
      throw new UsageError(`kwartier homewizard pair: unexpected argument ${JSON.stringify(extra)}`);
    const v = parsed.values as { port?: string; name?: string; timeout?: string; ca?: string };
    let port: number | undefined;
    if (v.port !== undefined) {
      port = Number(v.port);
      if (!/^\d+$/.test(v.port) || port < 1 || port > 65535)
        throw new UsageError(`--port: must be 1..65535, got ${JSON.stringify(v.port)}`);
    }
    const target = parseHostPort(hostArg, 'HOST', port ?? 443);
    if (port !== undefined && target.port !== port)
      throw new UsageError('HOST: give the port either as HOST:PORT or with --port, not both');
    let timeoutS = 60;
    if (v.timeout !== undefined) {
      timeoutS = Number(v.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0 || timeoutS > 3600) {
        throw new UsageError(`--timeout: seconds, more than 0 and at most 3600, got ${JSON.stringify(v.timeout)}`);
      }
    }
    const name = userName(v.name ?? 'kwartier');
    let caPem: string;
    try {
      caPem = loadCaPem(v.ca ?? null, '--ca');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }

    io.stderr.write(`Pairing with the HomeWizard device at ${target.host}:${target.port} as ${name}…\n`);
    try {
      const result = await pairHomeWizard({
        host: target.host,
        port: target.port,
        name,
        timeoutMs: timeoutS * 1000,
        caPem,
        onWaitingForButton: () => {
          io.stderr.write(`Press the button on the P1 meter (waiting up to ${timeoutS} s)…\n`);
        },
      });
      const who = result.device
        ? `${result.device.product_name ?? result.device.product_type} ${result.device.serial}`
        : `${target.host}`;
      io.stderr.write(`Paired with ${who} as ${result.name}.\n`);
      if (result.identity) io.stderr.write(`Device identity (homewizard.identity): ${result.identity}\n`);
      io.stderr.write('Token (homewizard.token, keep it secret):\n');
      io.stdout.write(`${result.token}\n`);
      return 0;
    } catch (err) {
      if (err instanceof PairError || err instanceof HomeWizardTlsError) {
        io.stderr.write(`kwartier homewizard pair: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};
