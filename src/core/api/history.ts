/**
 * The history answer (GET /api/v1/history/{device_id}): a range of buckets, or with resolution=raw
 * the snapshots themselves, or with `device` one device's own readings. The export route's JSON is
 * the same answer; its CSV has the bucket point's columns.
 */
import { type Static, Type } from '@sinclair/typebox';
import { BUCKET_FIELDS, type BucketField } from '../bucket-shape.js';
import { LocalTime, NullableNumber } from './json-schema.js';
import { SnapshotOutSchema } from './realtime.js';

export const BucketPointSchema = Type.Object(
  {
    timestamp: LocalTime('Start of the bucket (local midnight for daily and longer).'),
    ...(Object.fromEntries(BUCKET_FIELDS.map((k) => [k, NullableNumber])) as Record<
      BucketField,
      typeof NullableNumber
    >),
    samples: Type.Integer({ description: 'Readings in the bucket.' }),
  },
  { $id: 'BucketPoint', description: 'One aggregate bucket: energy from the counters at its boundaries.' },
);
export type BucketPoint = Static<typeof BucketPointSchema>;

/** One device's own reading of a site (query `device`): `{timestamp, type, stale, …fields}`. */
export const DevicePointSchema = Type.Object(
  { timestamp: Type.String(), type: Type.String(), stale: Type.Boolean() },
  { additionalProperties: true, description: "One device's reading (query `device`)." },
);

export const HistorySchema = Type.Object(
  {
    device_id: Type.String(),
    resolution: Type.String(),
    start: LocalTime('Start of the range.'),
    end: LocalTime('End of the range (exclusive).'),
    device: Type.Optional(Type.String({ description: 'The device of the site asked for (query `device`).' })),
    points: Type.Array(Type.Union([Type.Ref(BucketPointSchema), Type.Ref(SnapshotOutSchema), DevicePointSchema]), {
      description:
        "Buckets whose start lies in [start, end), oldest first; for raw: the snapshots; with `device`: that device's readings.",
    }),
  },
  { $id: 'History' },
);
export type HistoryAnswer = Static<typeof HistorySchema>;

/** The history answer for a rollup resolution (not raw, no `device`): its points are buckets. */
export type BucketHistoryAnswer = Omit<HistoryAnswer, 'points' | 'device'> & { points: BucketPoint[] };
