import { ConfigError, KwartierError, withPrefix } from '../../core/errors.js';
import { useProcessTimeZone } from '../../core/time/zone.js';
import { EdgeApp } from '../../edge/app.js';
import { loadEdgeConfig } from '../../edge/config.js';
import { rootLogger } from '../../lib/log.js';
import { type Command, parseFlags, untilShutdown } from '../command.js';

const usage = `Usage: kwartier edge --config FILE [--console]

Runs the edge: reads the configured P1 source (dsmr or homewizard) and inverter (sungrow), merges
them into one snapshot per P1 tick (or once a second without one), commits each snapshot to the
outbox (buffer) and forwards it over MQTT (mqtt) until the server has committed it, and publishes
the home's sensors to Home Assistant's broker (home_assistant) when configured.

Options:
  --config FILE   the edge config (YAML); see config/edge.example.yaml and docs/configuration.md
  --console       also print one snapshot per line (JSON) on stdout; logs go to stderr.
                  Works without buffer and mqtt in the config (so does home_assistant).

Stops cleanly on Ctrl-C (SIGINT) or SIGTERM. Exit code 2 on a usage or configuration error (a
missing or bad TLS file, an unusable buffer.db_path), 1 on a runtime failure (a full disk); one
line names the key, the file and the cause.

Example:
  kwartier edge --config config/edge.example.yaml --console
`;

export const command: Command = {
  name: 'edge',
  summary: 'Run the edge',
  usage,
  async run(args, io) {
    const parsed = parseFlags(this, args, { config: { type: 'string', short: 'c' }, console: { type: 'boolean' } });
    if (!parsed) {
      io.stdout.write(usage);
      return 0;
    }
    const path = parsed.values.config;
    if (!path) throw new ConfigError('kwartier edge: --config FILE is required');
    const config = loadEdgeConfig(path);
    const console = parsed.values.console === true;
    if (!console && !(config.buffer && config.mqtt) && !config.home_assistant) {
      throw new ConfigError(
        `${path}: nothing to do: configure buffer and mqtt to forward snapshots, home_assistant to publish to Home Assistant, or run with --console`,
      );
    }
    if (config.mqtt && !config.buffer) {
      throw new ConfigError(`${path}: mqtt needs buffer: every snapshot is committed to the outbox before it is sent`);
    }
    // The edge process keeps its clock in the configured zone: local times (meter timestamps, the
    // capacity month) then come from Date, not from Intl, which costs ~8 MB of RSS (core/time/zone.ts).
    useProcessTimeZone(config.timezone);
    // The apps name their components (edge, outbox, uplink): the root carries only the device.
    const log = rootLogger().child({ device_id: config.device_id });
    // Errors about one key (a TLS file, buffer.db_path) get the config file's name in front.
    const named = (err: unknown) => (err instanceof KwartierError && err.key !== null ? withPrefix(err, path) : err);
    let app: EdgeApp;
    try {
      app = await EdgeApp.create({ config, log, ...(console ? { console: io.stdout } : {}) });
    } catch (err) {
      throw named(err);
    }
    try {
      await app.start();
    } catch (err) {
      await app.stop().catch(() => {});
      throw named(err);
    }
    const why = await untilShutdown();
    log.info({ signal: why, snapshots: app.snapshotCount }, 'edge stopping');
    await app.stop();
    return 0;
  },
};
