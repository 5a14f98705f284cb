/**
 * GET /api/v1/export/{device_id}?start&end&resolution&format: a device's buckets or raw readings as
 * CSV or JSON, streamed as the store is read (../export.ts). The same token, ranges and rate limit as
 * history (../history.ts HISTORY_LIMITS); not cached (a download is asked for once).
 */
import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { StringEnum } from '../../../core/api/json-schema.js';
import { HISTORY_RESOLUTIONS, type HistoryResolution } from '../../../core/bucket-shape.js';
import type { Logger } from '../../../lib/log.js';
import type { Store } from '../../store/types.js';
import { deviceErrors } from '../errors.js';
import { EXPORT_FORMATS, type ExportFormat, type ExportRequest, exportChunks, exportFileName } from '../export.js';
import { checkHistoryRange } from '../history.js';
import { DeviceParams, HistoryQuery } from '../schemas.js';
import { parseTime, type ZoneClock } from '../time.js';
import { withDeadline } from '../util.js';

export interface ExportOptions {
  store: Store;
  clock: ZoneClock;
  log: Logger;
  timeoutMs: number;
}

const ExportQuery = Type.Object(
  {
    start: HistoryQuery.properties.start,
    end: HistoryQuery.properties.end,
    resolution: StringEnum(HISTORY_RESOLUTIONS, {
      default: '15min',
      description: 'Bucket size; raw = the snapshots themselves. The longest range per resolution is history’s.',
    }),
    format: StringEnum(EXPORT_FORMATS, {
      default: 'csv',
      description:
        'csv: a header row, one row per bucket or reading, null as an empty field; json: the history answer.',
    }),
  },
  { additionalProperties: false },
);

const CONTENT_TYPE: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  json: 'application/json; charset=utf-8',
};

/** The export's pieces as a stream that starts with `first` (already read) and pulls the rest. */
async function* continued(first: string, rest: AsyncGenerator<string>): AsyncGenerator<string> {
  yield first;
  yield* rest;
}

export const exportRoutes: FastifyPluginAsync<ExportOptions> = async (app, { store, clock, log, timeoutMs }) => {
  app.get<{
    Params: { device_id: string };
    Querystring: { start: string; end: string; resolution: HistoryResolution; format: ExportFormat };
  }>(
    '/api/v1/export/:device_id',
    {
      config: { auth: 'device' },
      schema: {
        summary: 'Export buckets (or raw snapshots) over a range as CSV or JSON, streamed',
        description:
          'Local times with their offset; one row per bucket or raw reading. The same ranges as history: ' +
          'raw 1 h, 1min 7 days, 15min 93 days, hourly 366 days, daily 10 years, weekly 20 years, monthly 100 years. ' +
          'Longer exports: `kwartier export` on the server.',
        tags: ['data'],
        produces: ['text/csv', 'application/json'],
        params: DeviceParams,
        querystring: ExportQuery,
        response: { ...deviceErrors },
      },
    },
    async (req, reply) => {
      const start = parseTime(req.query.start, clock, 'start');
      const end = parseTime(req.query.end, clock, 'end');
      const { resolution, format } = req.query;
      checkHistoryRange(start, end, resolution, clock);
      const q: ExportRequest = { deviceId: req.params.device_id, resolution, start, end, format };
      const chunks = exportChunks({ store, clock, read: (call, what) => withDeadline(call, timeoutMs, what) }, q);
      // The first piece holds the first store read: a store that fails fails the answer's status.
      const first = await chunks.next();
      const body = Readable.from(continued(first.done ? '' : first.value, chunks), { objectMode: false });
      reply
        .type(CONTENT_TYPE[format])
        .header('content-disposition', `attachment; filename="${exportFileName(q, clock)}"`)
        .header('vary', 'accept-encoding');
      if (!/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) return reply.send(body);
      const gzip = createGzip();
      // A store failure after the first piece ends the answer early (the status is sent already).
      pipeline(body, gzip, (err) => {
        if (err) log.warn({ err, url: req.url }, 'api: export ended early');
      });
      return reply.header('content-encoding', 'gzip').send(gzip);
    },
  );
};
