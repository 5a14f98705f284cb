import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, KwartierError, withPrefix } from '../../core/errors.js';
import { rootLogger } from '../../lib/log.js';
import { ServerApp } from '../../server/app.js';
import { loadServerConfig } from '../../server/config.js';
import { type Command, parseFlags, untilShutdown } from '../command.js';

const usage = `Usage: kwartier server --config FILE

Runs the server: subscribes to the MQTT broker (a shared subscription, so several servers can run
side by side), stores snapshots in PostgreSQL/TimescaleDB or SQLite with their aggregates,
acknowledges each commit to the edge, and serves the REST + WebSocket API and the dashboard.
With broker.enabled it also runs an MQTT broker in-process (one home, nothing else installed).

Options:
  --config FILE   the server config (YAML); see config/server.example.yaml and docs/configuration.md

Environment:
  KWARTIER_DATABASE_URL   overrides store.url

Stops cleanly on Ctrl-C (SIGINT) or SIGTERM. Exit code 2 on a usage or configuration error (a
missing or bad TLS file, an unusable store.path), 1 when the machine is not ready for the config
(a port in use, PostgreSQL unreachable, a full disk); one line names the key, the file and the cause.
`;

/** The built dashboard, when present (web/dist relative to the package root). */
export function defaultWebRoot(): string | undefined {
  const dir = fileURLToPath(new URL('../../../web/dist', import.meta.url));
  return existsSync(dir) ? dir : undefined;
}

export const command: Command = {
  name: 'server',
  summary: 'Run the server',
  usage,
  async run(args, io) {
    const parsed = parseFlags(this, args, { config: { type: 'string', short: 'c' } });
    if (!parsed) {
      io.stdout.write(usage);
      return 0;
    }
    const path = parsed.values.config;
    if (!path) throw new ConfigError('kwartier server: --config FILE is required');
    const config = loadServerConfig(path);
    const log = rootLogger(); // the app names its components (store, ingest, api, broker)
    const webRoot = defaultWebRoot();
    // Errors about one key (a TLS file, store.path, a port in use) get the config file's name in front.
    const named = (err: unknown) => (err instanceof KwartierError && err.key !== null ? withPrefix(err, path) : err);
    let app: ServerApp;
    try {
      app = new ServerApp({ config, configPath: path, log, ...(webRoot ? { webRoot } : {}) });
    } catch (err) {
      throw named(err);
    }
    try {
      await app.start();
    } catch (err) {
      await app.stop();
      throw named(err);
    }
    const why = await untilShutdown();
    log.info({ signal: why }, 'server stopping');
    await app.stop();
    return 0;
  },
};
