/**
 * The merger: the latest reading of every source, folded into one snapshot.
 *
 * - The P1 source (billing grade) ticks: one snapshot per P1 reading. Without one, the edge ticks on
 *   its own clock.
 * - Other sources (the inverter) are carried forward until stale: older than `staleAfterPolls` × their
 *   interval. Stale values become null and the snapshot names the source in `stale_sources`; a source
 *   that never reported counts as stale once that time has passed since it started.
 * - P1 values win over the inverter's for the same field (the meter is the source of truth).
 * - Derived: load (from the inverter, or grid + PV − battery charging), self-consumption
 *   (PV − export) and self-sufficiency ((load − import) / load, 0..100, null when the load is unknown
 *   or zero).
 */
import { emptySnapshot, SNAPSHOT_NUMERIC_FIELDS, SNAPSHOT_TEXT_FIELDS, type Snapshot } from './snapshot.js';

export interface MergerSource {
  name: string;
  kind: 'p1' | 'inverter';
  intervalMs: number;
}

export interface MergerReading {
  source: string;
  at: number;
  fields: Partial<Record<string, unknown>>;
}

interface SourceSlot {
  def: MergerSource;
  intervalMs: number;
  since: number;
  last: MergerReading | null;
}

const NUMERIC = new Set<string>(SNAPSHOT_NUMERIC_FIELDS);
const TEXT = new Set<string>(SNAPSHOT_TEXT_FIELDS);

export class Merger {
  private readonly slots = new Map<string, SourceSlot>();

  constructor(
    private readonly deviceId: string,
    sources: MergerSource[],
    private readonly staleAfterPolls = 3,
    startedAt = 0,
  ) {
    for (const def of sources)
      this.slots.set(def.name, { def, intervalMs: def.intervalMs, since: startedAt, last: null });
  }

  /** Remembers a source's latest reading. Unknown sources are ignored. */
  update(reading: MergerReading): void {
    const slot = this.slots.get(reading.source);
    if (slot) slot.last = reading;
  }

  /**
   * Updates a source's expected interval (the edge learns it from the readings: a DSMR 4 meter
   * sends every 10 s, not every second). Never below the declared interval.
   */
  setIntervalMs(name: string, ms: number): void {
    const slot = this.slots.get(name);
    if (slot && Number.isFinite(ms) && ms > 0) slot.intervalMs = Math.max(slot.def.intervalMs, ms);
  }

  /** The moment after which a source's latest values are stale. */
  staleAt(name: string): number | null {
    const slot = this.slots.get(name);
    if (!slot) return null;
    const from = slot.last?.at ?? slot.since;
    return from + this.staleAfterPolls * slot.intervalMs;
  }

  isStale(name: string, now: number): boolean {
    const at = this.staleAt(name);
    return at !== null && now > at;
  }

  /** The merged snapshot at `now` (edge clock, ms). */
  snapshot(now: number): Snapshot {
    const snap = emptySnapshot(this.deviceId, new Date(now).toISOString());
    const out = snap as unknown as Record<string, unknown>;
    const stale: string[] = [];
    // Inverters first, P1 last: the meter's values win.
    const ordered = [...this.slots.values()].sort((a, b) => rank(a.def.kind) - rank(b.def.kind));
    let inverterFresh = false;
    let inverterReportsLoad = false;
    for (const slot of ordered) {
      if (this.isStale(slot.def.name, now)) {
        stale.push(slot.def.name);
        continue;
      }
      if (!slot.last) continue;
      if (slot.def.kind === 'inverter') {
        inverterFresh = true;
        if (typeof slot.last.fields.load_power_w === 'number') inverterReportsLoad = true;
      }
      for (const [k, v] of Object.entries(slot.last.fields)) {
        if (v === null || v === undefined) continue;
        if (NUMERIC.has(k) ? typeof v === 'number' && Number.isFinite(v) : TEXT.has(k) && typeof v === 'string') {
          out[k] = v;
        }
      }
    }
    snap.stale_sources = stale.sort();
    derive(snap, inverterFresh, inverterReportsLoad);
    return snap;
  }
}

function rank(kind: MergerSource['kind']): number {
  return kind === 'p1' ? 1 : 0;
}

/** Fills load, self-consumption and self-sufficiency from what is known. Mutates `s`. */
export function derive(s: Snapshot, inverterFresh: boolean, inverterReportsLoad: boolean): void {
  const grid = s.grid_power_w;
  const pv = s.pv_power_w;
  if (!inverterReportsLoad) {
    // A fresh inverter that reports no battery means there is none: charging 0. Otherwise unknown.
    const battery = s.battery_power_w ?? (inverterFresh ? 0 : null);
    s.load_power_w = grid !== null && pv !== null && battery !== null ? round1(grid + pv - battery) : null;
  }
  if (pv !== null && grid !== null) {
    const exported = Math.max(0, -grid);
    s.self_consumption_w = round1(Math.min(pv, Math.max(0, pv - exported)));
  } else {
    s.self_consumption_w = null;
  }
  const load = s.load_power_w;
  if (load !== null && load > 0 && grid !== null) {
    const imported = Math.max(0, grid);
    s.self_sufficiency_pct = round1(Math.min(100, Math.max(0, ((load - imported) / load) * 100)));
  } else {
    s.self_sufficiency_pct = null;
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
