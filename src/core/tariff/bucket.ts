/**
 * The part of the store's Bucket (src/server/store/types.ts) the tariff and capacity logic reads.
 * Declared here because core imports nothing outside core; the store's Bucket is assignable to it.
 * Energy in kWh (gas, water in m3), null where no reading had the value; never negative (a counter
 * that drops starts a new series in the store).
 */
export interface EnergyBucket {
  /** Start (UTC instant); 15-minute buckets start on clock quarters. */
  start: Date;
  /** End, exclusive. */
  end: Date;
  samples: number;
  import_kwh: number | null;
  import_t1_kwh: number | null;
  import_t2_kwh: number | null;
  export_kwh: number | null;
  export_t1_kwh: number | null;
  export_t2_kwh: number | null;
  pv_kwh: number | null;
  battery_charge_kwh: number | null;
  battery_discharge_kwh: number | null;
  gas_m3: number | null;
  water_m3: number | null;
}

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
