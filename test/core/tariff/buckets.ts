/** Test helpers: buckets and instants for the tariff and capacity tests. */
import { DateTime } from 'luxon';
import type { EnergyBucket } from '../../../src/core/tariff/bucket.js';

export const TZ = 'Europe/Brussels';

/** Epoch ms of an ISO string; a string without offset is Brussels local time. */
export function at(iso: string): number {
  const d = /(Z|[+-]\d{2}:\d{2})$/.test(iso)
    ? DateTime.fromISO(iso, { setZone: true })
    : DateTime.fromISO(iso, { zone: TZ });
  if (!d.isValid) throw new Error(`bad time in test: ${iso}`);
  return d.toMillis();
}

/** A bucket starting at `start` (see at()), 15 minutes by default, every value null unless given. */
export function bucket(start: string, values: Partial<EnergyBucket> = {}, minutes = 15): EnergyBucket {
  const s = at(start);
  return {
    start: new Date(s),
    end: new Date(s + minutes * 60_000),
    samples: 900,
    import_kwh: null,
    import_t1_kwh: null,
    import_t2_kwh: null,
    export_kwh: null,
    export_t1_kwh: null,
    export_t2_kwh: null,
    pv_kwh: null,
    battery_charge_kwh: null,
    battery_discharge_kwh: null,
    gas_m3: null,
    water_m3: null,
    ...values,
  };
}
