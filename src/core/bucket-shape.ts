/**
 * What a bucket is, named once for every layer: the sizes it comes in (the rollups, and the history
 * API's `raw` besides them) and the value fields it carries. The aggregation maths
 * (aggregate.ts, bucket-table.ts), the stores, the API's answers and their CSV columns
 * (api/history.ts, server/api/export.ts) and the dashboard all take them from here.
 */

/** The rollup resolutions the stores keep, finest first. */
export const ROLLUP_RESOLUTIONS = ['1min', '15min', 'hourly', 'daily', 'weekly', 'monthly'] as const;
export type Resolution = (typeof ROLLUP_RESOLUTIONS)[number];

/** What the history and export routes accept: the readings themselves (`raw`) or a rollup. */
export const HISTORY_RESOLUTIONS = ['raw', ...ROLLUP_RESOLUTIONS] as const;
export type HistoryResolution = (typeof HISTORY_RESOLUTIONS)[number];

/** Energy quantities per reading and per bucket (the stores' rollup columns), in this order everywhere. */
export const ENERGY_KEYS = [
  'import_t1_kwh',
  'import_t2_kwh',
  'export_t1_kwh',
  'export_t2_kwh',
  'pv_kwh',
  'battery_charge_kwh',
  'battery_discharge_kwh',
  'gas_m3',
  'water_m3',
] as const;
export type EnergyKey = (typeof ENERGY_KEYS)[number];

/**
 * A bucket's values besides its start, end and samples: energy per kind (kWh, m3), then mean and
 * peak powers (W) and the mean state of charge, then the EV chargers' mean power (added later, so
 * last). This order is the API's: the keys of a history point and the columns of an export (a
 * change here changes the wire; a new field goes at the end).
 */
export const BUCKET_FIELDS = [
  'import_kwh',
  'export_kwh',
  ...ENERGY_KEYS,
  'avg_grid_power_w',
  'max_grid_power_w',
  'avg_pv_power_w',
  'max_pv_power_w',
  'avg_load_power_w',
  'max_load_power_w',
  'avg_battery_power_w',
  'avg_battery_soc_pct',
  'avg_ev_power_w',
] as const;
export type BucketField = (typeof BUCKET_FIELDS)[number];

/** The energy fields of a bucket (kWh, m3; the API rounds them to 6 decimals, powers to 2). */
export const BUCKET_ENERGY_FIELDS: ReadonlySet<BucketField> = new Set(
  BUCKET_FIELDS.filter((k) => k.endsWith('_kwh') || k.endsWith('_m3')),
);
