/** GET /api/v1/realtime/{device_id}: the latest snapshot and its age. */
import type { FastifyPluginAsync } from 'fastify';
import { RealtimeSchema } from '../../../core/api/realtime.js';
import type { Store } from '../../store/types.js';
import { deviceErrors } from '../errors.js';
import { DeviceParams } from '../schemas.js';
import type { ZoneClock } from '../time.js';
import { HttpError, presentRealtime, withDeadline } from '../util.js';

export interface RealtimeOptions {
  store: Store;
  clock: ZoneClock;
  now: () => number;
  timeoutMs: number;
}

export const realtimeRoutes: FastifyPluginAsync<RealtimeOptions> = async (app, { store, clock, now, timeoutMs }) => {
  app.get<{ Params: { device_id: string } }>(
    '/api/v1/realtime/:device_id',
    {
      config: { auth: 'device' },
      schema: {
        summary: 'The latest snapshot and its age',
        tags: ['data'],
        params: DeviceParams,
        response: { 200: RealtimeSchema, ...deviceErrors },
      },
    },
    async (req) => {
      const id = req.params.device_id;
      const s = await withDeadline(store.latest(id), timeoutMs, 'store.latest');
      if (!s) throw new HttpError(404, 'not_found', `no data yet for device: ${id}`);
      return presentRealtime(s, clock, now());
    },
  );
};
