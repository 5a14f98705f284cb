/**
 * PVOutput statuses from the store: what one interval of one home says, in PVOutput's terms
 * (pvoutput.org/help/api_specification.html, "Add Status"; ../shared/guide/control.md §5.3):
 *
 *   d  yyyymmdd and t hh:mm: the end of the interval in the home's local time (an interval ending
 *      at midnight is sent as 23:59 of the day it belongs to: PVOutput has no 24:00)
 *   v1 energy generated today up to t (Wh)     v2 mean PV power over the interval (W)
 *   v3 energy consumed today up to t (Wh)      v4 mean consumption power over the interval (W)
 *   v6 mean voltage of phase L1 over the interval (V)
 *
 * Energies come from the store's 1-minute buckets, which are computed from the meters' own
 * counters (core/aggregate.ts), so a day's v1 ends at the inverter's own daily figure and a status
 * sent late (after an outage) says what a status sent on time would have said. Consumption is
 * import − export + PV + battery discharge − battery charge (absent devices count 0; a minute without
 * grid counters adds nothing, and its energy comes back in the next minute that has them).
 * A value nothing measured is left out, never sent as 0.
 */
import { DateTime } from 'luxon';
import type { Snapshot } from '../../core/snapshot.js';
import { localDayStart, offsetMinutes } from '../../core/time/index.js';
import type { Bucket, Store } from '../store/types.js';

export interface PvStatus {
  /** End of the interval (ms since 1970). */
  end: number;
  /** yyyymmdd and hh:mm, local. */
  d: string;
  t: string;
  v1: number | null;
  v2: number | null;
  v3: number | null;
  v4: number | null;
  v6: number | null;
}

/** The first interval boundary strictly after `t`, on the local clock's grid of `minutes`. */
export function nextBoundary(t: number, minutes: number, zone: string): number {
  const step = minutes * 60_000;
  const offset = offsetMinutes(t, zone) * 60_000;
  return (Math.floor((t + offset) / step) + 1) * step - offset;
}

/** The boundary at or before `t`. */
export function boundaryAtOrBefore(t: number, minutes: number, zone: string): number {
  return nextBoundary(t, minutes, zone) - minutes * 60_000;
}

/** `d` and `t` of a status ending at `end` (midnight: 23:59 of the day before). */
export function statusDateTime(end: number, zone: string): { d: string; t: string } {
  const local = DateTime.fromMillis(end, { zone });
  if (local.hour === 0 && local.minute === 0) {
    const prev = local.minus({ minutes: 1 });
    return { d: prev.toFormat('yyyyLLdd'), t: '23:59' };
  }
  return { d: local.toFormat('yyyyLLdd'), t: local.toFormat('HH:mm') };
}

/** Parses PVOutput's local `yyyymmdd` and `hh:mm` into an instant (23:59 means the next midnight). */
export function parseStatusTime(d: string, t: string, zone: string): number | null {
  const local = DateTime.fromFormat(`${d} ${t}`, 'yyyyLLdd HH:mm', { zone });
  if (!local.isValid) return null;
  return t === '23:59' ? local.plus({ minutes: 1 }).toMillis() : local.toMillis();
}

function consumptionKwh(b: Bucket): number | null {
  if (b.import_kwh === null || b.export_kwh === null) return null;
  return b.import_kwh - b.export_kwh + (b.pv_kwh ?? 0) + (b.battery_discharge_kwh ?? 0) - (b.battery_charge_kwh ?? 0);
}

/** The mean of `pick` over the buckets, weighted by their samples; null when no bucket had it. */
function weightedMean(buckets: Bucket[], pick: (b: Bucket) => number | null): number | null {
  let sum = 0;
  let weight = 0;
  for (const b of buckets) {
    const v = pick(b);
    if (v === null || b.samples <= 0) continue;
    sum += v * b.samples;
    weight += b.samples;
  }
  return weight > 0 ? sum / weight : null;
}

function loadPower(b: Bucket): number | null {
  if (b.avg_load_power_w !== null) return b.avg_load_power_w;
  if (b.avg_grid_power_w === null) return null;
  return b.avg_grid_power_w + (b.avg_pv_power_w ?? 0) - (b.avg_battery_power_w ?? 0);
}

function meanVoltage(rows: Snapshot[]): number | null {
  let sum = 0;
  let n = 0;
  for (const r of rows) {
    if (r.voltage_l1_v === null) continue;
    sum += r.voltage_l1_v;
    n++;
  }
  return n > 0 ? Math.round((sum / n) * 10) / 10 : null;
}

const round = (x: number | null): number | null => (x === null ? null : Math.round(x));

/**
 * The statuses of the intervals ending at `ends` (ascending, one local day or several) for
 * `deviceId`; an interval without any reading gives no status. One bucket query per local day.
 */
export async function statusesFor(
  store: Store,
  deviceId: string,
  ends: readonly number[],
  minutes: number,
  zone: string,
): Promise<PvStatus[]> {
  const out: PvStatus[] = [];
  const step = minutes * 60_000;
  let i = 0;
  while (i < ends.length) {
    const dayStart = localDayStart(ends[i]! - 1, zone);
    let j = i;
    while (j + 1 < ends.length && localDayStart(ends[j + 1]! - 1, zone) === dayStart) j++;
    const buckets = await store.buckets(deviceId, '1min', new Date(dayStart), new Date(ends[j]!));
    let k = 0;
    let pvWh: number | null = null;
    let useWh: number | null = null;
    for (let e = i; e <= j; e++) {
      const end = ends[e]!;
      const inInterval: Bucket[] = [];
      for (; k < buckets.length && buckets[k]!.start.getTime() < end; k++) {
        const b = buckets[k]!;
        if (b.pv_kwh !== null) pvWh = (pvWh ?? 0) + b.pv_kwh * 1000;
        const c = consumptionKwh(b);
        if (c !== null) useWh = (useWh ?? 0) + c * 1000;
        if (b.start.getTime() >= end - step) inInterval.push(b);
      }
      if (!inInterval.some((b) => b.samples > 0)) continue;
      const raw = await store.raw(deviceId, new Date(end - step), new Date(end), 5000);
      out.push({
        end,
        ...statusDateTime(end, zone),
        v1: round(pvWh),
        v2: round(weightedMean(inInterval, (b) => b.avg_pv_power_w)),
        v3: useWh === null ? null : Math.max(0, Math.round(useWh)),
        v4: round(weightedMean(inInterval, loadPower)),
        v6: meanVoltage(raw),
      });
    }
    i = j + 1;
  }
  return out;
}
