import type { BucketValues } from '../rollup.js';

/**
 * The part of a bucket (core/rollup.ts BucketValues, the store's Bucket) the tariff and capacity
 * logic reads.
 * Energy in kWh (gas, water in m3), null where no reading had the value; never negative (a counter
 * that drops starts a new series in the store).
 */
export type EnergyBucket = Pick<
  BucketValues,
  | 'start'
  | 'end'
  | 'samples'
  | 'import_kwh'
  | 'import_t1_kwh'
  | 'import_t2_kwh'
  | 'export_kwh'
  | 'export_t1_kwh'
  | 'export_t2_kwh'
  | 'pv_kwh'
  | 'battery_charge_kwh'
  | 'battery_discharge_kwh'
  | 'gas_m3'
  | 'water_m3'
>;

/** Import of a bucket: the total counter delta, else the sum of both tariff counters, else null. */
export function importKwh(b: EnergyBucket): number | null {
  if (b.import_kwh !== null) return b.import_kwh;
  if (b.import_t1_kwh !== null && b.import_t2_kwh !== null) return b.import_t1_kwh + b.import_t2_kwh;
  return null;
}

/** Export of a bucket, likewise. */
export function exportKwh(b: EnergyBucket): number | null {
  if (b.export_kwh !== null) return b.export_kwh;
  if (b.export_t1_kwh !== null && b.export_t2_kwh !== null) return b.export_t1_kwh + b.export_t2_kwh;
  return null;
}

/** Rounds half away from zero at `decimals` places, without binary artefacts (1.005 → 1.01). */
export function round(x: number, decimals: number): number {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  if (a < 0.5 * 10 ** -decimals) return 0;
  const text = String(a);
  const r = text.includes('e')
    ? Math.round(a * 10 ** decimals) / 10 ** decimals
    : Number(`${Math.round(Number(`${text}e${decimals}`))}e-${decimals}`);
  return x < 0 ? -r : r;
}
