/**
 * GET /api/v1/history/{device_id}?start&end&resolution[&device]: aggregates over a range, or raw
 * snapshots (one device's own readings with `device`), rendered once and kept in the answer cache
 * (../cache.ts) until a commit can change them. Ranges and rendering: ../history.ts; whole ended days
 * joined from blocks kept in the store: ../day-blocks.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Counter } from 'prom-client';
import { HistorySchema } from '../../../core/api/history.js';
import { BucketCalendar } from '../../../core/bucket-calendar.js';
import type { HistoryResolution } from '../../../core/bucket-shape.js';
import type { Logger } from '../../../lib/log.js';
import type { Store } from '../../store/types.js';
import type { HistoryCache, RenderedJson } from '../cache.js';
import { answerFromDayBlocks } from '../day-blocks.js';
import { deviceErrors } from '../errors.js';
import { checkHistoryRange, lastBucketEnd, RAW_MAX_ROWS, renderBucketTable } from '../history.js';
import { DeviceParams, HistoryQuery } from '../schemas.js';
import { BadRequest, parseTime, type ZoneClock } from '../time.js';
import { presentSnapshot, withDeadline } from '../util.js';

export interface HistoryOptions {
  store: Store;
  clock: ZoneClock;
  historyCache: HistoryCache;
  timeoutMs: number;
  /** Whole ended days joined from their blocks kept in the store (../day-blocks.ts). */
  dayBlocks: boolean;
  now: () => number;
  log: Logger;
  /** kwartier_history_day_blocks_total. */
  dayBlockCounter: Counter<'result'>;
}

interface HistoryRequest {
  id: string;
  resolution: HistoryResolution;
  device: string | undefined;
  start: number;
  end: number;
}

export const historyRoutes: FastifyPluginAsync<HistoryOptions> = async (app, opts) => {
  const { clock, historyCache } = opts;
  const calendar = new BucketCalendar(clock.zone);
  // At most one warning a minute from the day blocks (a store that cannot keep them must not flood the log).
  let warnedAt = Number.NEGATIVE_INFINITY;
  const warn = (obj: Record<string, unknown>, msg: string): void => {
    const t = Date.now();
    if (t - warnedAt < 60_000) return;
    warnedAt = t;
    opts.log.warn(obj, msg);
  };
  app.get<{
    Params: { device_id: string };
    Querystring: { start: string; end: string; resolution: HistoryResolution; device?: string };
  }>(
    '/api/v1/history/:device_id',
    {
      config: { auth: 'device' },
      schema: {
        summary: 'Aggregates (or raw snapshots) over a range',
        description:
          'Energy per bucket from the meter counters at the bucket boundaries; daily and longer buckets are local days. ' +
          'Longest range per resolution: raw 1 h, 1min 7 days, 15min 93 days, hourly 366 days, daily 10 years, ' +
          'weekly 20 years, monthly 100 years.',
        tags: ['data'],
        params: DeviceParams,
        querystring: HistoryQuery,
        response: { 200: HistorySchema, ...deviceErrors },
      },
      // Answered as text from the cache (points are one of two shapes, rendered once with JSON.stringify).
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (req, reply) => {
      const id = req.params.device_id;
      const { resolution, device } = req.query;
      if (device !== undefined && resolution !== 'raw')
        throw new BadRequest(
          `device: one device's series is its raw readings (resolution=raw); the ${resolution} aggregates are of the whole home`,
        );
      const key = `${id}|${resolution}|${req.query.start}|${req.query.end}|${device ?? ''}`;
      let rendered = historyCache.lookup(key);
      if (!rendered) {
        const start = parseTime(req.query.start, clock, 'start');
        const end = parseTime(req.query.end, clock, 'end');
        checkHistoryRange(start, end, resolution, clock);
        const asked = { id, resolution, device, start, end };
        rendered = await historyCache.fill(id, key, lastBucketEnd(end, resolution, calendar), () =>
          renderHistory(opts, { calendar, warn }, asked),
        );
      }
      reply.type('application/json; charset=utf-8').header('vary', 'accept-encoding');
      if (rendered.length >= 1024 && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
        const gz = await rendered.gzip();
        historyCache.grew(key);
        return reply.header('content-encoding', 'gzip').send(gz);
      }
      const body = rendered.body;
      historyCache.grew(key); // a joined answer's text is made on first demand
      return reply.send(body);
    },
  );
};

/**
 * The answer's JSON, read from the store: text, bytes for the buckets (thousands of points), or an
 * answer joined from day blocks.
 */
async function renderHistory(
  opts: HistoryOptions,
  route: { calendar: BucketCalendar; warn: (obj: Record<string, unknown>, msg: string) => void },
  q: HistoryRequest,
): Promise<RenderedJson> {
  const { store, clock, timeoutMs } = opts;
  const { id, resolution, device, start, end } = q;
  const head = `{"device_id":${JSON.stringify(id)},"resolution":"${resolution}","start":"${clock.iso(start)}","end":"${clock.iso(end)}","points":`;
  if (resolution === 'raw') {
    const rows = await withDeadline(
      store.raw(id, new Date(start), new Date(end), RAW_MAX_ROWS),
      timeoutMs,
      'store.raw',
    );
    if (device !== undefined) {
      // That device's own readings, where the site's snapshots carry it.
      const points = rows.flatMap((s) => {
        const d = s.devices?.[device];
        return d
          ? [
              {
                timestamp: clock.isoFromString(s.timestamp) ?? s.timestamp,
                type: d.type,
                stale: d.stale,
                ...d.fields,
              },
            ]
          : [];
      });
      const withDevice = head.replace(',"points":', `,"device":${JSON.stringify(device)},"points":`);
      return `${withDevice}${JSON.stringify(points)}}`;
    }
    return `${head}${JSON.stringify(rows.map((s) => presentSnapshot(s, clock)))}}`;
  }
  if (opts.dayBlocks) {
    const counted = (result: 'kept' | 'made', days: number): void => {
      if (days > 0) opts.dayBlockCounter.inc({ result }, days);
    };
    const deps = { store, calendar: route.calendar, clock, now: opts.now(), timeoutMs, warn: route.warn, counted };
    const joined = await answerFromDayBlocks(deps, { id, resolution, start, end, head });
    if (joined) return joined;
  }
  const table = await withDeadline(
    store.bucketTable(id, resolution, new Date(start), new Date(end)),
    timeoutMs,
    'store.buckets',
  );
  return renderBucketTable(head, table, clock);
}
