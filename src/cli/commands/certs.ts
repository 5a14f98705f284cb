/**
 * `kwartier certs init` and `kwartier certs device`: the MQTT uplink's own certificate authority.
 * See docs/mqtt.md (certificates).
 */
import { UsageError } from '../../core/errors.js';
import { INGESTER_IDENTITY, initCertDir, issueDeviceFiles } from '../../lib/certs.js';
import { type Command, parseFlags } from '../command.js';

const INIT_USAGE = `Usage: kwartier certs init --dir DIR [--server-name NAME ...] [--force]

Creates a dedicated device CA and the broker's certificates in DIR:
  ca.crt, ca.key                     the device CA (the broker trusts only certificates it signed)
  server.crt, server.key             the broker's certificate; SAN localhost, 127.0.0.1, ::1
                                     and every --server-name
  ${INGESTER_IDENTITY}.crt/.key   the ingester's client certificate (CN ${INGESTER_IDENTITY})
Keys are ECDSA P-256, PKCS#8 PEM, mode 0600. Existing files are never overwritten without --force.

Options:
  --dir DIR            directory to write into (created if missing)
  --server-name NAME   DNS name or IP address the edges use to reach the broker (repeatable)
  --force              overwrite existing files (a new CA invalidates every device certificate)
  -h, --help           this text
`;

const DEVICE_USAGE = `Usage: kwartier certs device ID --dir DIR [--days N] [--force]

Creates ID.crt and ID.key in DIR, signed by the CA there (made by \`kwartier certs init\`).
The certificate's common name is ID, the edge's device_id: the broker lets it publish only under
energy/ID/ and read only energy/ID/ack. Extended key usage: clientAuth. Key mode 0600.

Options:
  --dir DIR    the directory holding ca.crt and ca.key
  --days N     validity in days (default 3650)
  --force      overwrite existing ID.crt/ID.key
  -h, --help   this text
`;

export const initCommand: Command = {
  name: 'certs init',
  summary: 'Create a device CA and a server certificate for the MQTT broker',
  usage: INIT_USAGE,
  async run(args, io) {
    const parsed = parseFlags(this, args, {
      dir: { type: 'string' },
      'server-name': { type: 'string', multiple: true },
      force: { type: 'boolean' },
    });
    if (!parsed) {
      io.stdout.write(INIT_USAGE);
      return 0;
    }
    const dir = parsed.values.dir;
    if (!dir) throw new UsageError(`kwartier certs init: --dir is required\n\n${INIT_USAGE}`);
    const res = await initCertDir({
      dir,
      serverNames: parsed.values['server-name'] ?? [],
      force: parsed.values.force ?? false,
    });
    for (const p of res.written) io.stdout.write(`wrote ${p}\n`);
    return 0;
  },
};

export const deviceCommand: Command = {
  name: 'certs device',
  summary: 'Create a client certificate for one edge device (CN = device id)',
  usage: DEVICE_USAGE,
  async run(args, io) {
    const parsed = parseFlags(
      this,
      args,
      { dir: { type: 'string' }, days: { type: 'string' }, force: { type: 'boolean' } },
      true,
    );
    if (!parsed) {
      io.stdout.write(DEVICE_USAGE);
      return 0;
    }
    const [id, extra] = parsed.positionals;
    if (id === undefined) throw new UsageError(`kwartier certs device: the device ID is required\n\n${DEVICE_USAGE}`);
    if (extra !== undefined)
      throw new UsageError(`kwartier certs device: unexpected argument ${JSON.stringify(extra)}`);
    const dir = parsed.values.dir;
    if (!dir) throw new UsageError(`kwartier certs device: --dir is required\n\n${DEVICE_USAGE}`);
    let days: number | undefined;
    if (parsed.values.days !== undefined) {
      days = Number(parsed.values.days);
      if (!Number.isInteger(days) || days < 1 || days > 36_500) {
        throw new UsageError('kwartier certs device: --days: must be an integer 1..36500');
      }
    }
    const res = await issueDeviceFiles({ dir, id, days, force: parsed.values.force ?? false });
    for (const p of res.written) io.stdout.write(`wrote ${p}\n`);
    return 0;
  },
};
