/** GET /api/v1/devices: the homes a token may read, and the time zone of their days and quarters. */
import type { FastifyPluginAsync } from 'fastify';
import { DeviceListSchema } from '../../../core/api/access.js';
import type { ServerConfig } from '../../config.js';
import type { Store } from '../../store/types.js';
import { holds } from '../auth.js';
import type { KnownDevices } from '../devices.js';
import { ErrorRef } from '../errors.js';
import type { ZoneClock } from '../time.js';
import { withDeadline } from '../util.js';

export interface DevicesOptions {
  store: Store;
  config: ServerConfig;
  clock: ZoneClock;
  known: KnownDevices;
  timeoutMs: number;
}

export const devicesRoutes: FastifyPluginAsync<DevicesOptions> = async (
  app,
  { store, config, clock, known, timeoutMs },
) => {
  app.get(
    '/api/v1/devices',
    {
      config: { auth: 'token' },
      schema: {
        summary: 'The homes this token may read, and the time zone their days and quarters are in',
        tags: ['data'],
        response: {
          200: DeviceListSchema,
          401: ErrorRef,
          429: ErrorRef,
          503: ErrorRef,
        },
      },
    },
    async (req) => {
      const grant = req.grant!;
      // The known devices (configured, stored) the token holds: no other home's id is revealed.
      const held = (await known.all()).filter((id) => holds(grant, id)).sort();
      const devices = await Promise.all(
        held.map(async (id) => {
          const latest = await withDeadline(store.latest(id), timeoutMs, 'store.latest');
          return {
            device_id: id,
            country: config.devices[id]?.country ?? latest?.country ?? null,
            last_seen: latest ? (clock.isoFromString(latest.timestamp) ?? latest.timestamp) : null,
          };
        }),
      );
      return { timezone: config.timezone, devices };
    },
  );
};
