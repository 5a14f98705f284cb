/**
 * The merger: the latest reading of every device of the site, folded into one snapshot, by role.
 *
 * - The grid meter (the P1 source, billing grade) ticks: one snapshot per P1 reading. Without one,
 *   the edge ticks on its own clock.
 * - Other devices (inverters) are carried forward until stale: older than `staleAfterPolls` × their
 *   interval. A stale device is left out and named in `stale_sources`; a device that never reported
 *   counts as stale once that time has passed since it started.
 * - By role: PV power and energy summed over the PV devices, battery power and energy summed over
 *   the batteries, the SoC weighted by capacity where every battery reports one
 *   (`battery_capacity_kwh` in its fields), else their mean; `ev_power_w` summed over the EV
 *   chargers. A stale device is left out of a sum; a sum with no fresh part is null, not 0. An
 *   energy counter (…_kwh) with a stale part is null: a partial total would look like a reset.
 * - Every other field (grid values, phases, MPPT, temperatures) comes from one device: the grid
 *   meter first, then the others in config order (the first fresh one that reports it). So an
 *   inverter's own grid values are used only without a (fresh) meter.
 * - A charge controller's output is PV: `pv_power_w` and the PV counters of a device whose roles
 *   include `pv` or `charge_controller` are in the PV sums, each device once.
 * - Derived once from the totals: load (grid + PV − battery charging; a site whose only inverter
 *   reports its own load keeps that one), self-consumption (PV − export) and self-sufficiency
 *   ((load − import) / load, 0..100, null when the load is unknown or zero or the grid unknown).
 * - A site without a grid meter (none configured, none reporting grid power: an off-grid home)
 *   has its grid fields null, and its load is the sum of its inverters' own loads, or PV − battery
 *   charging when no inverter reports one (see `ownLoad`).
 * - Per device (`perDevice`): the snapshot's `devices.<name>` holds each device's own reading
 *   (`{type, stale, fields}`, snapshot field names, units and signs; a stale device's values null).
 */
import {
  type DeviceReading,
  emptySnapshot,
  SNAPSHOT_NUMERIC_FIELDS,
  SNAPSHOT_TEXT_FIELDS,
  type Snapshot,
} from './snapshot.js';

/** What a device can be in a site (drivers/definition.ts re-exports it). */
export type Role = 'grid_meter' | 'pv' | 'battery' | 'ev_charger' | 'charge_controller';

export interface MergerSource {
  name: string;
  kind: 'p1' | 'inverter';
  intervalMs: number;
  /** The device's type (`devices.<name>.type`); default its name. */
  type?: string;
  /**
   * Roles it fills, the main one first. Default: a 'p1' source is a grid meter, an 'inverter' a
   * PV + battery device with its own grid meter.
   */
  roles?: readonly Role[];
}

export interface MergerReading {
  source: string;
  at: number;
  fields: Partial<Record<string, unknown>>;
}

export interface MergerOptions {
  /** Put each device's own reading under `devices` (default false: today's snapshot, unchanged). */
  perDevice?: boolean;
}

/** One device's reading in the snapshot (core/snapshot.ts). */
export type { DeviceReading };

/** The snapshot the merger makes (a `devices:` site's carry `devices`; the merger never sets it null). */
export type SiteSnapshot = Snapshot;

interface SourceSlot {
  def: MergerSource;
  roles: readonly Role[];
  intervalMs: number;
  since: number;
  last: MergerReading | null;
}

const NUMERIC = new Set<string>(SNAPSHOT_NUMERIC_FIELDS);
const TEXT = new Set<string>(SNAPSHOT_TEXT_FIELDS);

/** Summed over the devices of a role. Counters (…_kwh) are null when a part that reports them is stale. */
const SUMS: ReadonlyArray<readonly [string, Role]> = [
  ['pv_power_w', 'pv'],
  ['pv_daily_kwh', 'pv'],
  ['pv_total_kwh', 'pv'],
  ['battery_power_w', 'battery'],
  ['battery_daily_charge_kwh', 'battery'],
  ['battery_daily_discharge_kwh', 'battery'],
  ['battery_total_charge_kwh', 'battery'],
  ['battery_total_discharge_kwh', 'battery'],
  ['ev_power_w', 'ev_charger'],
];
/** Not taken from a device: the merger computes them. */
const COMPUTED = new Set<string>([
  ...SUMS.map(([f]) => f),
  'battery_soc_pct',
  'load_power_w',
  'self_consumption_w',
  'self_sufficiency_pct',
]);

const MAX_DEVICE_FIELDS = 64;
const FIELD_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** Whether a device counts in a role's sums: a charge controller's output is PV, counted once. */
function fills(slot: SourceSlot, role: Role): boolean {
  return slot.roles.includes(role) || (role === 'pv' && slot.roles.includes('charge_controller'));
}

function defaultRoles(kind: MergerSource['kind']): readonly Role[] {
  return kind === 'p1' ? ['grid_meter'] : ['pv', 'battery', 'grid_meter'];
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export class Merger {
  private readonly slots = new Map<string, SourceSlot>();
  private readonly perDevice: boolean;
  private readonly hasCharger: boolean;

  constructor(
    private readonly deviceId: string,
    sources: MergerSource[],
    private readonly staleAfterPolls = 3,
    startedAt = 0,
    options: MergerOptions = {},
  ) {
    for (const def of sources)
      this.slots.set(def.name, {
        def,
        roles: def.roles ?? defaultRoles(def.kind),
        intervalMs: def.intervalMs,
        since: startedAt,
        last: null,
      });
    this.perDevice = options.perDevice ?? false;
    this.hasCharger = [...this.slots.values()].some((s) => s.roles.includes('ev_charger'));
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
  snapshot(now: number): SiteSnapshot {
    const snap: SiteSnapshot = emptySnapshot(this.deviceId, new Date(now).toISOString());
    const out = snap as unknown as Record<string, unknown>;
    const all = [...this.slots.values()];
    const staleNames = new Set(all.filter((s) => this.isStale(s.def.name, now)).map((s) => s.def.name));
    const fresh = all.filter((s) => !staleNames.has(s.def.name) && s.last !== null);

    // One device per field: the grid meter first, then the others in config order; the first
    // fresh one that reports a value wins.
    const ordered = [...fresh].sort((a, b) => rank(a) - rank(b));
    for (const slot of ordered) {
      for (const [k, v] of Object.entries(slot.last?.fields ?? {})) {
        if (v === null || v === undefined || COMPUTED.has(k) || out[k] !== null) continue;
        if (NUMERIC.has(k) ? finite(v) : TEXT.has(k) && typeof v === 'string') out[k] = v;
      }
    }

    // Sums by role.
    for (const [field, role] of SUMS) {
      if (field === 'ev_power_w' && !this.hasCharger) continue;
      let sum: number | null = null;
      let parts = 0;
      let partial = false;
      for (const slot of all) {
        if (!fills(slot, role)) continue;
        const v = slot.last?.fields[field];
        if (staleNames.has(slot.def.name)) {
          if (v !== undefined) partial = true;
          continue;
        }
        if (finite(v)) {
          sum = (sum ?? 0) + v;
          parts++;
        }
      }
      out[field] = sum === null || (partial && field.endsWith('_kwh')) ? null : parts > 1 ? round3(sum) : sum;
    }
    snap.battery_soc_pct = soc(fresh.filter((s) => s.roles.includes('battery')));

    const freshProducers = fresh.filter((s) => s.roles[0] !== 'grid_meter');
    const load = ownLoad(snap, all, freshProducers);
    if (load !== undefined) snap.load_power_w = load;
    snap.stale_sources = [...staleNames].sort();
    derive(snap, freshProducers.length > 0, load !== undefined);

    if (this.perDevice) {
      const devices: Record<string, DeviceReading> = {};
      for (const slot of all) {
        const stale = staleNames.has(slot.def.name);
        devices[slot.def.name] = {
          type: slot.def.type ?? slot.def.name,
          stale,
          fields: deviceFields(slot.last, stale),
        };
      }
      snap.devices = devices;
    }
    return snap;
  }
}

/**
 * The load when it is not derived from the grid (undefined: derive it as grid + PV − battery).
 * - A site whose one PV/battery device reports its own load keeps that one.
 * - A site without a grid meter (no device whose main role is `grid_meter`, and no fresh device
 *   reporting grid power): the sum of the fresh devices' own loads (an off-grid inverter's AC
 *   output); if none reports one, PV − battery charging when both are known. A negative result
 *   means a source the site does not measure (a generator through the inverter's charger): null.
 * A site whose meter is configured but stale is not off-grid: its load is unknown, not the inverters'.
 */
function ownLoad(
  snap: Snapshot,
  all: readonly SourceSlot[],
  freshProducers: readonly SourceSlot[],
): number | null | undefined {
  const producers = all.filter((s) => s.roles[0] !== 'grid_meter');
  if (producers.length === 1) {
    const own = freshProducers[0]?.last?.fields.load_power_w;
    if (finite(own)) return own;
  }
  if (!isOffGrid(snap, all)) return undefined;
  let sum: number | null = null;
  for (const slot of freshProducers) {
    const v = slot.last?.fields.load_power_w;
    if (finite(v)) sum = (sum ?? 0) + v;
  }
  if (sum !== null) return round1(sum);
  const pv = snap.pv_power_w;
  const battery = snap.battery_power_w;
  if (pv === null || battery === null) return null;
  const load = round1(pv - battery);
  return load >= 0 ? load : null;
}

/** No grid meter in the site's config and no device reporting grid power. */
function isOffGrid(snap: Snapshot, all: readonly SourceSlot[]): boolean {
  return snap.grid_power_w === null && !all.some((s) => s.roles[0] === 'grid_meter');
}

/** The grid meter (main role) first, then the others in config order (the sort is stable). */
function rank(slot: SourceSlot): number {
  return slot.roles[0] === 'grid_meter' ? 0 : 1;
}

/** SoC of the fresh batteries: weighted by `battery_capacity_kwh` when each one reports it, else the mean. */
function soc(batteries: SourceSlot[]): number | null {
  const parts: Array<{ soc: number; kwh: unknown }> = [];
  for (const b of batteries) {
    const v = b.last?.fields.battery_soc_pct;
    if (finite(v)) parts.push({ soc: v, kwh: b.last?.fields.battery_capacity_kwh });
  }
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0]?.soc ?? null;
  const weighted = parts.every((p) => finite(p.kwh) && p.kwh > 0);
  let num = 0;
  let den = 0;
  for (const p of parts) {
    const w = weighted ? (p.kwh as number) : 1;
    num += p.soc * w;
    den += w;
  }
  return round1(num / den);
}

/** One device's reading as the snapshot carries it: snake_case names, numbers or short text; stale → null. */
function deviceFields(last: MergerReading | null, stale: boolean): Record<string, number | string | null> {
  const fields: Record<string, number | string | null> = {};
  if (!last) return fields;
  let n = 0;
  for (const [k, v] of Object.entries(last.fields)) {
    if (n >= MAX_DEVICE_FIELDS) break;
    if (!FIELD_NAME.test(k)) continue;
    if (v === null || finite(v) || (typeof v === 'string' && v.length <= 64)) {
      fields[k] = stale ? null : v;
      n++;
    }
  }
  return fields;
}

/**
 * Fills load (unless `loadKnown`: the caller set it), self-consumption and self-sufficiency from
 * what is known. Mutates `s`.
 */
export function derive(s: Snapshot, inverterFresh: boolean, loadKnown: boolean): void {
  const grid = s.grid_power_w;
  const pv = s.pv_power_w;
  if (!loadKnown) {
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

/** Sums of decimal readings without binary noise (0.1 + 0.2). */
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
