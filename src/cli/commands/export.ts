import { HISTORY_RESOLUTIONS, type HistoryResolution } from '../../core/bucket-shape.js';
import { ConfigError, UsageError } from '../../core/errors.js';
import { rootLogger } from '../../lib/log.js';
import { EXPORT_FORMATS, type ExportFormat, exportChunks } from '../../server/api/export.js';
import { BadRequest, parseTime, ZoneClock } from '../../server/api/time.js';
import { loadServerConfig } from '../../server/config.js';
import { withStore } from '../../server/store/from-config.js';
import { type CliIO, type Command, parseFlags } from '../command.js';

const usage = `Usage: kwartier export --config FILE --device ID --start TIME --end TIME [--resolution R] [--format csv|json]

Writes one home's buckets or raw readings over [start, end) to stdout, read straight from the store
the server config names (the API's GET /api/v1/export gives the same text over HTTP, within
history's ranges; here any range goes, read a slice at a time). Times are local with their offset.
csv: a header row, one row per bucket or reading, null as an empty field; json: the history answer.

Options:
  --config FILE       the server config (YAML): its store and time zone
  --device ID         the home (device id)
  --start TIME        start, inclusive: YYYY-MM-DD (local midnight) or an ISO 8601 date-time with offset
  --end TIME          end, exclusive, the same way
  --resolution R      ${HISTORY_RESOLUTIONS.join(', ')} (default 15min; raw = the readings themselves)
  --format F          csv (default) or json

Environment:
  KWARTIER_DATABASE_URL   overrides store.url

Example:
  kwartier export --config /etc/kwartier/server.yaml --device home-1 --start 2026-01-01 --end 2027-01-01 \\
    --resolution daily --format csv > home-1-2026.csv

Exit code 0 when done, 1 on a runtime failure (the database unreachable), 2 on a usage or
configuration error (a bad time, an unknown device).
`;

const NAME = 'kwartier export';

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`${NAME}: --${flag}: must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

function timeFlag(flag: string, value: string | undefined, clock: ZoneClock): number {
  if (value === undefined) throw new UsageError(`${NAME}: --${flag} is required`);
  try {
    return parseTime(value, clock, `--${flag}`);
  } catch (err) {
    if (err instanceof BadRequest) throw new UsageError(`${NAME}: ${err.message}`);
    throw err;
  }
}

/** Writes each piece, waiting while stdout's buffer is full; stops quietly when the reader went away (EPIPE). */
async function writeAll(pieces: AsyncGenerator<string>, out: CliIO['stdout']): Promise<void> {
  let failure: NodeJS.ErrnoException | null = null;
  const onError = (err: NodeJS.ErrnoException) => {
    failure = err;
  };
  out.on('error', onError);
  try {
    for await (const piece of pieces) {
      if (failure) break;
      if (!out.write(piece)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            out.off('drain', done);
            out.off('error', done);
            out.off('close', done);
            resolve();
          };
          out.on('drain', done);
          out.on('error', done);
          out.on('close', done);
        });
      }
    }
  } finally {
    out.off('error', onError);
  }
  const err = failure as NodeJS.ErrnoException | null;
  if (err && err.code !== 'EPIPE') throw err;
}

export const command: Command = {
  name: 'export',
  summary: "Export a home's buckets or raw readings as CSV or JSON, read from the store",
  usage,
  async run(args, io) {
    const parsed = parseFlags(this, args, {
      config: { type: 'string', short: 'c' },
      device: { type: 'string' },
      start: { type: 'string' },
      end: { type: 'string' },
      resolution: { type: 'string' },
      format: { type: 'string' },
    });
    if (!parsed) {
      io.stdout.write(usage);
      return 0;
    }
    const { config: path, device } = parsed.values;
    if (!path) throw new ConfigError(`${NAME}: --config FILE is required`);
    if (device === undefined) throw new UsageError(`${NAME}: --device ID is required`);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(device))
      throw new UsageError(`${NAME}: --device: '${device}' is not a device id`);
    const resolution = oneOf<HistoryResolution>('resolution', parsed.values.resolution ?? '15min', HISTORY_RESOLUTIONS);
    const format = oneOf<ExportFormat>('format', parsed.values.format ?? 'csv', EXPORT_FORMATS);
    const config = loadServerConfig(path);
    const clock = new ZoneClock(config.timezone);
    const start = timeFlag('start', parsed.values.start, clock);
    const end = timeFlag('end', parsed.values.end, clock);
    if (end <= start) throw new UsageError(`${NAME}: --end: must be later than --start`);

    await withStore(config, path, rootLogger(), async (store) => {
      const devices = await store.devices();
      if (!devices.includes(device))
        throw new UsageError(
          `${NAME}: --device: the store holds no data of '${device}' (it has ${devices.length} devices)`,
        );
      await writeAll(exportChunks({ store, clock }, { deviceId: device, resolution, start, end, format }), io.stdout);
    });
    return 0;
  },
};
