/**
 * Per-home series on /metrics, bounded (docs/integrations.md, "Prometheus").
 *
 * `HomeTable` keeps what the last snapshot and status of each home said, for at most `maxHomes`
 * homes; a home not heard from for `expireAfterMs` is dropped. A home arriving while the table is
 * full is left out (its id remembered in a second bounded map, so it is counted once, and takes a
 * freed place on its next message). Both maps are kept in the order of the homes' last messages
 * (a message moves its home to the end), so expiry only looks at the oldest entries.
 *
 * "Last heard" is when the server received a committed snapshot or a status from the home, except
 * for a retained status replayed at the server's start: that says when the edge sent it.
 *
 * With `exporters.prometheus.per_home`, `registerHomeFamilies` adds the families below, named after
 * Prometheus's conventions (base units, `_total` on counters; the guide's §5.5): energy counters in
 * joules (a meter's kWh × 3.6e6, so `rate()` gives watts), the meter's own register values (a meter
 * replaced is a counter reset, which rate() handles). An unknown value is no sample, never 0.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Snapshot } from '../../core/snapshot.js';

const JOULES_PER_KWH = 3_600_000;

/** One home's newest values (NaN: unknown) and when it was last heard from. */
interface HomeState {
  /** When a message of the home last arrived (expiry). */
  touchedMs: number;
  /** When the home was last heard from (its last-seen series). */
  heardMs: number;
  /** Timestamp (ms) of the snapshot the values come from: an older one (a backlog) does not replace them. */
  snapshotMs: number;
  values: Float64Array;
  bufferDepth: number | null;
  lagS: number | null;
}

/** The snapshot fields kept per home, in the order of HomeState.values. */
const KEPT = [
  'grid_import_t1_kwh',
  'grid_import_t2_kwh',
  'grid_export_t1_kwh',
  'grid_export_t2_kwh',
  'pv_total_kwh',
  'battery_total_charge_kwh',
  'battery_total_discharge_kwh',
  'gas_total_m3',
  'water_total_m3',
  'grid_power_w',
  'pv_power_w',
  'load_power_w',
  'battery_power_w',
  'battery_soc_pct',
  'grid_avg_15m_w',
  'grid_monthly_peak_w',
] as const satisfies readonly (keyof Snapshot)[];
type KeptField = (typeof KEPT)[number];
const AT = Object.fromEntries(KEPT.map((f, i) => [f, i])) as Record<KeptField, number>;

export interface HomeTableOptions {
  maxHomes: number;
  expireAfterMs: number;
}

export class HomeTable {
  readonly maxHomes: number;
  private readonly expireAfterMs: number;
  private readonly homes = new Map<string, HomeState>();
  /** Homes left out while the table was full: id → last heard (ms). Bounded like the table. */
  private readonly leftOut = new Map<string, number>();
  private leftOutCount = 0;

  constructor(opts: HomeTableOptions) {
    this.maxHomes = opts.maxHomes;
    this.expireAfterMs = opts.expireAfterMs;
  }

  /** Homes with series now. */
  get size(): number {
    return this.homes.size;
  }

  /** Homes left out since start (each counted when it first finds the table full; again after it expired). */
  get leftOutTotal(): number {
    return this.leftOutCount;
  }

  /** Homes left out and heard from within the expiry. */
  get leftOutNow(): number {
    return this.leftOut.size;
  }

  /** A committed snapshot: its values, unless the home already has a newer one. */
  onSnapshot(s: Snapshot, nowMs: number): void {
    const home = this.heard(s.device_id, nowMs);
    if (!home) return;
    const t = Date.parse(s.timestamp);
    if (!Number.isFinite(t)) return;
    home.lagS = Math.max(0, (nowMs - t) / 1000);
    if (t < home.snapshotMs) return;
    home.snapshotMs = t;
    for (let k = 0; k < KEPT.length; k++) {
      const v = s[KEPT[k]!];
      home.values[k] = typeof v === 'number' ? v : Number.NaN;
    }
  }

  /**
   * An edge status: its outbox's depth when it says. `sentMs` is given for a retained status (sent
   * before the server subscribed): the home was heard from then, not now.
   */
  onStatus(deviceId: string, bufferDepth: number | null | undefined, nowMs: number, sentMs?: number): void {
    const known = this.homes.get(deviceId);
    const before = known?.heardMs;
    const home = this.heard(deviceId, nowMs);
    if (!home) return;
    if (sentMs !== undefined && Number.isFinite(sentMs))
      home.heardMs = Math.max(before ?? Number.NEGATIVE_INFINITY, Math.min(nowMs, sentMs));
    if (typeof bufferDepth === 'number') home.bufferDepth = bufferDepth;
  }

  /** Drops the homes (and left-out ids) not heard from within the expiry. */
  expire(nowMs: number): void {
    const cutoff = nowMs - this.expireAfterMs;
    for (const [id, home] of this.homes) {
      if (home.touchedMs >= cutoff) break;
      this.homes.delete(id);
    }
    for (const [id, heard] of this.leftOut) {
      if (heard >= cutoff) break;
      this.leftOut.delete(id);
    }
  }

  entries(): IterableIterator<[string, HomeState]> {
    return this.homes.entries();
  }

  /** The home's state, moved to the end (newest heard); null when the table is full without it. */
  private heard(id: string, nowMs: number): HomeState | null {
    let home = this.homes.get(id);
    if (home) {
      this.homes.delete(id);
    } else {
      if (this.homes.size >= this.maxHomes) this.expire(nowMs);
      if (this.homes.size >= this.maxHomes) {
        this.markLeftOut(id, nowMs);
        return null;
      }
      this.leftOut.delete(id);
      home = {
        touchedMs: nowMs,
        heardMs: nowMs,
        snapshotMs: Number.NEGATIVE_INFINITY,
        values: new Float64Array(KEPT.length).fill(Number.NaN),
        bufferDepth: null,
        lagS: null,
      };
    }
    home.touchedMs = nowMs;
    home.heardMs = nowMs;
    this.homes.set(id, home);
    return home;
  }

  private markLeftOut(id: string, nowMs: number): void {
    if (this.leftOut.delete(id)) {
      this.leftOut.set(id, nowMs);
      return;
    }
    this.leftOutCount++;
    // Bounded too: past maxHomes ids the oldest is forgotten (and counted again if it returns).
    if (this.leftOut.size >= this.maxHomes) {
      const oldest = this.leftOut.keys().next().value;
      if (oldest !== undefined) this.leftOut.delete(oldest);
    }
    this.leftOut.set(id, nowMs);
  }
}

type Value = (home: HomeState, nowMs: number) => number;
const field =
  (f: KeptField, scale = 1): Value =>
  (home) =>
    (home.values[AT[f]] ?? Number.NaN) * scale;
/** A kWh register in joules, to the joule (kWh × 3.6e6 leaves float noise below it). */
const joules =
  (f: KeptField): Value =>
  (home) =>
    Math.round((home.values[AT[f]] ?? Number.NaN) * JOULES_PER_KWH);

interface Family {
  name: string;
  help: string;
  counter?: true;
  /** A value per home (NaN: no sample), or per tariff for the grid counters. */
  value?: Value;
  tariffs?: readonly [Value, Value];
}

/** The per-home families (per_home: true). Energy as counters in joules, the rest as gauges. */
const FAMILIES: readonly Family[] = [
  {
    name: 'kwartier_grid_import_energy_joules_total',
    help: "Energy imported from the grid: the meter's counter per tariff (BE 1 = day, NL 1 = low), in joules.",
    counter: true,
    tariffs: [joules('grid_import_t1_kwh'), joules('grid_import_t2_kwh')],
  },
  {
    name: 'kwartier_grid_export_energy_joules_total',
    help: "Energy exported to the grid: the meter's counter per tariff, in joules.",
    counter: true,
    tariffs: [joules('grid_export_t1_kwh'), joules('grid_export_t2_kwh')],
  },
  {
    name: 'kwartier_pv_energy_joules_total',
    help: "Energy the PV produced: the inverters' lifetime counter, in joules.",
    counter: true,
    value: joules('pv_total_kwh'),
  },
  {
    name: 'kwartier_battery_charge_energy_joules_total',
    help: "Energy into the battery: the inverters' lifetime counter, in joules.",
    counter: true,
    value: joules('battery_total_charge_kwh'),
  },
  {
    name: 'kwartier_battery_discharge_energy_joules_total',
    help: "Energy out of the battery: the inverters' lifetime counter, in joules.",
    counter: true,
    value: joules('battery_total_discharge_kwh'),
  },
  {
    name: 'kwartier_gas_volume_cubic_meters_total',
    help: "Gas delivered: the meter's counter, in cubic metres.",
    counter: true,
    value: field('gas_total_m3'),
  },
  {
    name: 'kwartier_water_volume_cubic_meters_total',
    help: "Water delivered: the meter's counter, in cubic metres.",
    counter: true,
    value: field('water_total_m3'),
  },
  {
    name: 'kwartier_grid_power_watts',
    help: 'Grid power in the newest snapshot: + import, - export.',
    value: field('grid_power_w'),
  },
  { name: 'kwartier_pv_power_watts', help: 'PV power in the newest snapshot.', value: field('pv_power_w') },
  {
    name: 'kwartier_load_power_watts',
    help: "The home's consumption in the newest snapshot.",
    value: field('load_power_w'),
  },
  {
    name: 'kwartier_battery_power_watts',
    help: 'Battery power in the newest snapshot: + charging, - discharging.',
    value: field('battery_power_w'),
  },
  {
    name: 'kwartier_battery_state_of_charge_ratio',
    help: 'Battery state of charge, 0..1.',
    value: field('battery_soc_pct', 0.01),
  },
  {
    name: 'kwartier_quarter_average_power_watts',
    help: "The running quarter-hour's average import power as the meter reports it (capacity tariff).",
    value: field('grid_avg_15m_w'),
  },
  {
    name: 'kwartier_month_peak_watts',
    help: "The month's highest quarter-hour average import power as the meter reports it (capacity tariff).",
    value: field('grid_monthly_peak_w'),
  },
  {
    name: 'kwartier_home_last_seen_timestamp_seconds',
    help: 'When the server last heard from the home (a committed snapshot or a status), Unix time.',
    value: (home) => home.heardMs / 1000,
  },
  {
    name: 'kwartier_home_last_seen_age_seconds',
    help: 'Seconds since the server last heard from the home (a committed snapshot or a status).',
    value: (home, nowMs) => Math.max(0, (nowMs - home.heardMs) / 1000),
  },
];

const TARIFFS = ['1', '2'] as const;

/** Adds the per-home families to the registry; each reads the table when scraped. */
export function registerHomeFamilies(registry: Registry, table: HomeTable, now: () => number): void {
  const registers = [registry];
  for (const family of FAMILIES) {
    const labelNames = family.tariffs ? ['device_id', 'tariff'] : ['device_id'];
    const fill = (put: (labels: Record<string, string>, v: number) => void) => {
      const nowMs = now();
      table.expire(nowMs);
      for (const [device_id, home] of table.entries()) {
        if (family.tariffs) {
          family.tariffs.forEach((value, k) => {
            const v = value(home, nowMs);
            if (!Number.isNaN(v)) put({ device_id, tariff: TARIFFS[k]! }, v);
          });
        } else if (family.value) {
          const v = family.value(home, nowMs);
          if (!Number.isNaN(v)) put({ device_id }, v);
        }
      }
    };
    if (family.counter) {
      new Counter({
        name: family.name,
        help: family.help,
        labelNames,
        registers,
        collect() {
          this.reset();
          // A meter's register is already cumulative: it is the counter's value.
          fill((labels, v) => this.inc(labels, Math.max(0, v)));
        },
      });
    } else {
      new Gauge({
        name: family.name,
        help: family.help,
        labelNames,
        registers,
        collect() {
          this.reset();
          fill((labels, v) => this.set(labels, v));
        },
      });
    }
  }
}

/** How many homes have series, and how many were left out (always registered). */
export function registerHomeBounds(registry: Registry, table: HomeTable, now: () => number): void {
  const registers = [registry];
  new Gauge({
    name: 'kwartier_metrics_homes',
    help: 'Homes with per-home series on /metrics (at most exporters.prometheus.max_homes).',
    registers,
    collect() {
      table.expire(now());
      this.set(table.size);
    },
  });
  new Gauge({
    name: 'kwartier_metrics_homes_max',
    help: 'exporters.prometheus.max_homes: the most homes with per-home series.',
    registers,
    collect() {
      this.set(table.maxHomes);
    },
  });
  new Counter({
    name: 'kwartier_metrics_homes_left_out_total',
    help: 'Homes given no per-home series because max_homes homes had them already.',
    registers,
    collect() {
      this.reset();
      this.inc(table.leftOutTotal);
    },
  });
  new Gauge({
    name: 'kwartier_metrics_homes_left_out',
    help: 'Homes without per-home series now (left out and heard from within expire_after_s).',
    registers,
    collect() {
      this.set(table.leftOutNow);
    },
  });
}
