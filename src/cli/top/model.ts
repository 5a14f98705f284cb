/**
 * `kwartier top`'s view model: what the API answered, turned into the lines the terminal shows.
 * Pure functions (no I/O, no React), so what a home owner reads is unit-tested on real answers.
 * Absent is shown as `—`, never as 0.
 */
import type {
  CapacityAnswer,
  CapacityForecast,
  CostEstimateAnswer,
  SelfSufficiencyAnswer,
} from '../../core/api/index.js';
import { isOffGrid } from '../../core/off-grid.js';
import type { DeviceReading, Snapshot } from '../../core/snapshot.js';
import { quarterEnd } from '../../core/time/index.js';

/**
 * The API's answers, typed where the server's schemas are (core/api): the realtime answer and each
 * WebSocket snapshot (the snapshot plus its age on the server), the capacity, cost and
 * self-sufficiency answers, and the capacity alert the WebSocket pushes.
 */
export type Realtime = Snapshot & { age_s: number };
export type { CapacityAlertPush as CapacityAlert, CapacityForecast } from '../../core/api/index.js';
export type Capacity = CapacityAnswer;
export type CostEstimate = CostEstimateAnswer;
export type SelfSufficiency = SelfSufficiencyAnswer;

export const DASH = '—';

/** Watts as `850 W` or `3.42 kW`; null as `—`. The sign is the caller's (flows say the direction). */
export function power(w: number | null | undefined): string {
  if (w === null || w === undefined || !Number.isFinite(w)) return DASH;
  const abs = Math.abs(w);
  if (abs < 1000) return `${Math.round(w)} W`;
  return `${(w / 1000).toFixed(abs < 10_000 ? 2 : 1)} kW`;
}

export function kwh(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? DASH : `${v.toFixed(digits)} kWh`;
}

export function euro(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  return `${v < 0 ? '-' : ''}€ ${Math.abs(v).toFixed(2)}`;
}

export function pct(v: number | null | undefined, digits = 0): string {
  return v === null || v === undefined || !Number.isFinite(v) ? DASH : `${v.toFixed(digits)} %`;
}

/** Seconds as `4 s`, `3 min 20 s`, `2 h 5 min`. */
export function duration(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return DASH;
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${t % 60} s`;
  if (t < 86_400) return `${Math.floor(t / 3600)} h ${Math.floor((t % 3600) / 60)} min`;
  return `${Math.floor(t / 86_400)} d ${Math.floor((t % 86_400) / 3600)} h`;
}

/** Wall-clock formatting in the server's time zone (where days and quarters are counted). */
export class Clock {
  private readonly time: Intl.DateTimeFormat;
  private readonly date: Intl.DateTimeFormat;
  constructor(readonly timezone: string) {
    this.time = new Intl.DateTimeFormat('en-GB', {
      timeZone: timezone,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    this.date = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, month: '2-digit', day: '2-digit' });
  }
  /** `14:03:22` */
  hms(t: number | string): string {
    return this.time.format(new Date(t));
  }
  /** `14:03` */
  hm(t: number | string): string {
    return this.hms(t).slice(0, 5);
  }
  /** `03-05 18:15` */
  dayHm(t: number | string): string {
    return `${this.date.format(new Date(t))} ${this.hm(t)}`;
  }
}

export type Direction = 'in' | 'out' | 'idle' | 'unknown';

/** One row of the power flow: what a source or sink does now. */
export interface FlowRow {
  key: 'grid' | 'solar' | 'battery' | 'home' | 'ev';
  label: string;
  watts: number | null;
  /** What the sign means here, in words: `import`, `export`, `charging`, … */
  verb: string;
  direction: Direction;
  /** Beside the power: the battery's SoC. */
  extra: string | null;
}

/** Below this a flow counts as idle: meters and inverters report a few watts of noise. */
const IDLE_W = 10;

function signed(w: number | null | undefined, positive: string, negative: string): { verb: string; dir: Direction } {
  if (w === null || w === undefined) return { verb: '', dir: 'unknown' };
  if (Math.abs(w) < IDLE_W) return { verb: 'idle', dir: 'idle' };
  return w > 0 ? { verb: positive, dir: 'in' } : { verb: negative, dir: 'out' };
}

/** Whether the home has an EV charger: a charger's power in the snapshot, or an EV device in the site. */
function hasEv(rt: Realtime): boolean {
  if (rt.ev_power_w !== null && rt.ev_power_w !== undefined) return true;
  return Object.values(rt.devices ?? {}).some((d) => 'ev_power_w' in d.fields);
}

/**
 * The power flow of a snapshot: grid (+ import, − export), solar, battery (+ charging, − discharging,
 * with its SoC), the home's load, and the EV when the home has a charger. A home without an inverter
 * still lists solar and battery, as `—`: absent, not zero; an off-grid home (core/off-grid.ts) has
 * no grid row.
 */
export function flows(rt: Realtime): FlowRow[] {
  const grid = signed(rt.grid_power_w, 'import', 'export');
  const batt = signed(rt.battery_power_w, 'charging', 'discharging');
  const pv =
    rt.pv_power_w === null ? { verb: '', dir: 'unknown' as Direction } : signed(rt.pv_power_w, 'producing', '');
  const rows: FlowRow[] = [
    { key: 'grid', label: 'Grid', watts: rt.grid_power_w, verb: grid.verb, direction: grid.dir, extra: null },
    { key: 'solar', label: 'Solar', watts: rt.pv_power_w, verb: pv.verb, direction: pv.dir, extra: null },
    {
      key: 'battery',
      label: 'Battery',
      watts: rt.battery_power_w,
      verb: batt.verb,
      direction: batt.dir,
      extra: rt.battery_soc_pct === null ? null : `SoC ${pct(rt.battery_soc_pct, 1)}`,
    },
    {
      key: 'home',
      label: 'Home',
      watts: rt.load_power_w,
      verb: rt.load_power_w === null ? '' : 'using',
      direction: rt.load_power_w === null ? 'unknown' : 'out',
      extra: null,
    },
  ];
  if (hasEv(rt)) {
    const ev = signed(rt.ev_power_w ?? null, 'charging', '');
    rows.push({ key: 'ev', label: 'EV', watts: rt.ev_power_w ?? null, verb: ev.verb, direction: ev.dir, extra: null });
  }
  // An off-grid home has no grid to show (as on the dashboard's live page), not a grid of `—`.
  return isOffGrid(rt) ? rows.filter((r) => r.key !== 'grid') : rows;
}

/** Watts on a row, without sign: the verb says the direction. */
export function flowPower(row: FlowRow): string {
  return row.watts === null ? DASH : power(Math.abs(row.watts));
}

/**
 * Seconds since the meter's last P1 telegram, on the server's clock, so a terminal whose clock is
 * off still shows the right age: the snapshot's age when it arrived (the server's) plus the time it
 * has been on screen, plus how much older the meter's own timestamp is than the snapshot. Null when
 * no meter timestamp came (a HomeWizard meter gives none) or the grid meter is stale.
 */
export function p1AgeSeconds(rt: Realtime | null, receivedAt: number, now: number): number | null {
  if (!rt || rt.meter_timestamp === null) return null;
  const meter = Date.parse(rt.meter_timestamp);
  const snap = Date.parse(rt.timestamp);
  if (!Number.isFinite(meter) || !Number.isFinite(snap)) return null;
  return rt.age_s + (now - receivedAt) / 1000 + (snap - meter) / 1000;
}

/** Seconds since the snapshot was taken, now (server's clock, as above). */
export function snapshotAgeSeconds(rt: Realtime | null, receivedAt: number, now: number): number | null {
  return rt ? rt.age_s + (now - receivedAt) / 1000 : null;
}

export interface DeviceState {
  name: string;
  type: string;
  ok: boolean;
  /** The device's main values in a few words: `3.10 kW PV`, `SoC 54 %`. */
  detail: string;
}

/** The fields worth a glance per device, in order; the first three present are shown. */
const DEVICE_FIELDS: Array<[string, (v: number) => string]> = [
  ['grid_power_w', (v) => `grid ${power(v)}`],
  ['pv_power_w', (v) => `PV ${power(v)}`],
  ['battery_power_w', (v) => `battery ${power(v)}`],
  ['battery_soc_pct', (v) => `SoC ${pct(v)}`],
  ['ev_power_w', (v) => `EV ${power(v)}`],
  ['load_power_w', (v) => `load ${power(v)}`],
];

function deviceDetail(d: DeviceReading, limit: number): string {
  const parts: string[] = [];
  for (const [field, fmt] of DEVICE_FIELDS) {
    const v = d.fields[field];
    if (typeof v === 'number') parts.push(fmt(v));
    if (parts.length >= limit) break;
  }
  const evState = d.fields['ev_state'];
  if (typeof evState === 'string' && parts.length < limit) parts.push(evState);
  return parts.join(', ');
}

/**
 * Each device's state. A site (the edge's `devices:` list) carries every device's own reading; a
 * home of the legacy sections does not, so its meter and inverter are told from the snapshot's
 * values and `stale_sources` (whose entries are the sections' names: `dsmr`, `sungrow`, …).
 */
export function deviceStates(rt: Realtime, detailFields = 3): DeviceState[] {
  if (rt.devices && Object.keys(rt.devices).length > 0) {
    return Object.entries(rt.devices).map(([name, d]) => ({
      name,
      type: d.type,
      ok: !d.stale,
      detail: d.stale ? 'stale: no recent reading' : deviceDetail(d, detailFields),
    }));
  }
  const stale = new Set(rt.stale_sources);
  const out: DeviceState[] = [];
  const meterStale = ['dsmr', 'homewizard'].filter((n) => stale.has(n));
  if (rt.grid_power_w !== null || meterStale.length > 0) {
    out.push({
      name: meterStale[0] ?? 'meter',
      type: 'grid meter',
      ok: meterStale.length === 0 && rt.grid_power_w !== null,
      detail: rt.grid_power_w === null ? 'stale: no recent telegram' : `grid ${power(rt.grid_power_w)}`,
    });
  }
  const inverterStale = rt.stale_sources.filter((n) => n !== 'dsmr' && n !== 'homewizard');
  if (rt.pv_power_w !== null || inverterStale.length > 0) {
    const parts = [`PV ${power(rt.pv_power_w)}`];
    if (rt.battery_soc_pct !== null) parts.push(`SoC ${pct(rt.battery_soc_pct)}`);
    out.push({
      name: inverterStale[0] ?? 'inverter',
      type: 'inverter',
      ok: inverterStale.length === 0,
      detail: inverterStale.length > 0 ? 'stale: no recent reading' : parts.join(', '),
    });
  }
  for (const name of inverterStale.slice(1)) out.push({ name, type: '', ok: false, detail: 'stale' });
  return out;
}

/** `████▌` of `value` against `max` in `width` cells (eighths for the last cell); empty for null. */
export function bar(value: number | null, max: number, width: number): string {
  if (value === null || !Number.isFinite(value) || max <= 0 || width <= 0) return '';
  const eighths = Math.round(Math.min(1, Math.max(0, value / max)) * width * 8);
  const full = Math.floor(eighths / 8);
  const rest = eighths % 8;
  return '█'.repeat(full) + (rest > 0 ? (' ▏▎▍▌▋▊▉'[rest] ?? '') : '');
}

/** One cell per value, `▁` to `█` against `max`; a value unknown is a space. */
export function sparkline(values: Array<number | null>, max: number): string {
  const levels = '▁▂▃▄▅▆▇█';
  return values
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' ';
      const i = max > 0 ? Math.round((Math.min(Math.max(v, 0), max) / max) * (levels.length - 1)) : 0;
      return levels[i] ?? ' ';
    })
    .join('');
}

/** The running quarter's window, `14:00–14:15`, from the forecast's start. */
export function quarterWindow(clock: Clock, f: CapacityForecast): string {
  const start = Date.parse(f.quarter_start);
  return `${clock.hm(start)}–${clock.hm(quarterEnd(start))}`;
}

/** The highest quarters of today, newest first when equal: for the capacity page. */
export function todaysQuarters(c: Capacity, todayStart: number): Array<{ start: number; w: number | null }> {
  return c.quarters
    .map((q) => ({ start: Date.parse(q.start), w: q.avg_import_w }))
    .filter((q) => q.start >= todayStart);
}
