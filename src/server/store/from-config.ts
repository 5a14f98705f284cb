/** The store a server config names (the server and `kwartier server replay-dead-letters` open it alike). */
import { KwartierError, withPrefix } from '../../core/errors.js';
import { describeDbError, prepareDbPath } from '../../lib/db-path.js';
import type { Logger } from '../../lib/log.js';
import { postgresError } from '../../lib/start-errors.js';
import type { ServerConfig } from '../config.js';
import { createPostgresStore } from './postgres.js';
import { createSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export function storeFromConfig(config: ServerConfig, log: Logger): Store {
  const storeOpts = {
    timezone: config.timezone,
    rawRetentionDays: config.store.raw_retention_days,
    deadLetterRetentionDays: config.store.dead_letter_retention_days,
    logger: log.child({ component: 'store' }),
    counterLimits: { maxPowerW: config.ingest.max_power_w, slackS: config.ingest.counter_slack_s },
  };
  if (config.store.type === 'postgres') {
    const url = process.env.KWARTIER_DATABASE_URL ?? config.store.url ?? '';
    return createPostgresStore(
      { connectionString: url, schema: config.store.schema },
      { ...storeOpts, timescale: config.store.timescale },
    );
  }
  return createSqliteStore(config.store.path ?? '', storeOpts);
}

/**
 * Opens the store and brings its schema up to date (migrations.ts); a problem names store.path (the
 * SQLite file: exit 2 for the wrong file, 1 for a full disk) or store.url (PostgreSQL, without its
 * password: exit 1).
 */
export async function openStore(config: ServerConfig, store: Store): Promise<void> {
  const s = config.store;
  if (s.type === 'postgres') {
    const fromEnv = process.env.KWARTIER_DATABASE_URL !== undefined;
    const url = process.env.KWARTIER_DATABASE_URL ?? s.url ?? '';
    await store.migrate().catch((err: unknown) => {
      throw postgresError(fromEnv ? 'KWARTIER_DATABASE_URL' : 'store.url', url, err);
    });
    return;
  }
  const path = s.path ?? '';
  prepareDbPath('store.path', path);
  await store.migrate().catch((err: unknown) => {
    throw describeDbError('store.path', path, err);
  });
}

/**
 * Opens the config's store (migrating it), runs `use` on it and closes it, for the CLI commands
 * that work on the store: errors that name a config key are prefixed with the config file's path.
 */
export async function withStore<T>(
  config: ServerConfig,
  configPath: string,
  log: Logger,
  use: (store: Store) => Promise<T>,
): Promise<T> {
  const named = (err: unknown) =>
    err instanceof KwartierError && err.key !== null ? withPrefix(err, configPath) : err;
  let store: Store;
  try {
    store = storeFromConfig(config, log);
  } catch (err) {
    throw named(err);
  }
  try {
    await openStore(config, store);
    return await use(store);
  } catch (err) {
    throw named(err);
  } finally {
    await store.close();
  }
}
