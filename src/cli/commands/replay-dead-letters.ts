import { ConfigError, UsageError } from '../../core/errors.js';
import { rootLogger } from '../../lib/log.js';
import { loadServerConfig } from '../../server/config.js';
import { formatSummary, replayDeadLetters } from '../../server/ingest/replay.js';
import { withStore } from '../../server/store/from-config.js';
import { type Command, parseFlags } from '../command.js';

const usage = `Usage: kwartier server replay-dead-letters --config FILE [--device ID] [--since ISO] [--dry-run]

Re-runs the stored dead letters through the ingester's checks (the same code, no MQTT), once their
cause is fixed: a server upgraded to a newer release, a widened ingest window. Each letter whose
snapshots now all pass is stored (a reading the store already has is skipped) and then deleted;
the others stay. Prints how many were replayed and, by reason, how many still fail. Safe to run
beside a running server, and to run again.

Options:
  --config FILE   the server config (YAML): its store, time zone, mqtt.topic_prefix and ingest limits
  --device ID     only this device's dead letters
  --since ISO     only those received at or after this time (e.g. 2026-12-01T00:00:00Z)
  --dry-run       decode and count only: nothing is stored or deleted

Environment:
  KWARTIER_DATABASE_URL   overrides store.url

Exit code 0 when done (whether or not some still fail), 1 on a runtime failure (the database
unreachable), 2 on a usage or configuration error.
`;

export const command: Command = {
  name: 'server replay-dead-letters',
  summary: 'Replay stored dead letters through the current checks; store what now passes',
  usage,
  async run(args, io) {
    const parsed = parseFlags(this, args, {
      config: { type: 'string', short: 'c' },
      device: { type: 'string' },
      since: { type: 'string' },
      'dry-run': { type: 'boolean' },
    });
    if (!parsed) {
      io.stdout.write(usage);
      return 0;
    }
    const { config: path, device, since } = parsed.values;
    if (!path) throw new ConfigError('kwartier server replay-dead-letters: --config FILE is required');
    if (device !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(device))
      throw new UsageError(`kwartier server replay-dead-letters: --device: '${device}' is not a device id`);
    let sinceDate: Date | undefined;
    if (since !== undefined) {
      const t = Date.parse(since);
      if (!/^\d{4}-\d{2}-\d{2}/.test(since) || !Number.isFinite(t))
        throw new UsageError(`kwartier server replay-dead-letters: --since: '${since}' is not an ISO 8601 date-time`);
      sinceDate = new Date(t);
    }
    const dryRun = parsed.values['dry-run'] === true;
    const config = loadServerConfig(path);
    await withStore(config, path, rootLogger(), async (store) => {
      const summary = await replayDeadLetters({
        store,
        prefix: config.mqtt.topic_prefix,
        window: { maxPastDays: config.ingest.max_past_days, maxFutureS: config.ingest.max_future_s },
        ...(device !== undefined ? { deviceId: device } : {}),
        ...(sinceDate ? { since: sinceDate } : {}),
        dryRun,
      });
      io.stdout.write(formatSummary(summary, dryRun));
    });
    return 0;
  },
};
