/**
 * The request schemas of the routes (path parameters and query strings): they validate what a
 * client asks and document it in the OpenAPI document (/api/openapi.json). The answers' schemas are
 * in src/core/api, where the dashboard imports their types from.
 */
import { Type } from '@sinclair/typebox';
import { StringEnum } from '../../core/api/json-schema.js';
import { HISTORY_RESOLUTIONS } from '../../core/bucket-shape.js';
import { DEVICE_NAME_PATTERN, SnapshotSchema } from '../../core/snapshot.js';

export const DeviceParams = Type.Object(
  { device_id: Type.String({ ...SnapshotSchema.properties.device_id, description: 'The device (home) id.' }) },
  { additionalProperties: false },
);

const TimeParam = (what: string) =>
  Type.String({
    description: `${what}: an ISO 8601 date-time with offset (encode + as %2B) or a date YYYY-MM-DD (local midnight).`,
    examples: ['2026-03-29', '2026-03-29T03:00:00+02:00'],
  });

export const HistoryQuery = Type.Object(
  {
    start: TimeParam('Start (inclusive)'),
    end: TimeParam('End (exclusive)'),
    resolution: StringEnum(HISTORY_RESOLUTIONS, {
      default: '15min',
      description: 'Bucket size; raw = the snapshots themselves.',
    }),
    device: Type.Optional(
      Type.String({
        pattern: DEVICE_NAME_PATTERN,
        description:
          "One device of a site (a name of the edge config's `devices:` list): that device's own readings " +
          '(`{timestamp, type, stale, …fields}`), with resolution=raw. Aggregates are of the whole home.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const CapacityQuery = Type.Object(
  {
    month: Type.Optional(
      Type.String({ description: 'The local month YYYY-MM (default: the current month).', examples: ['2026-03'] }),
    ),
  },
  { additionalProperties: false },
);

export const PeriodQuery = Type.Object(
  {
    period: Type.String({
      default: 'today',
      description:
        'today, yesterday, week (this ISO week), month, year, or a local day YYYY-MM-DD, month YYYY-MM or year YYYY.',
      examples: ['today', '2026-03-29', '2026-03'],
    }),
  },
  { additionalProperties: false },
);
