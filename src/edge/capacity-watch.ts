/**
 * Capacity-tariff watch on the edge: during each clock quarter it projects the quarter's average
 * import from the meter's counters (energy so far + current import for the rest of the quarter)
 * and raises an alert when a new monthly peak is in the making: at most once per quarter, from
 * `lead_time_s` before the quarter ends (core/capacity/alert.ts). It runs on the edge so it works
 * offline; the alert goes out on MQTT `energy/{id}/capacity` and the server pushes it to the
 * WebSocket.
 *
 * The month's peak is the higher of the meter's own (1-0:1.6.0, when the P1 source gives it) and
 * the quarters this watch has seen complete this month.
 *
 * Besides alerts, each snapshot gives a `CapacityStatus` (the running quarter's average so far, its
 * forecast, the headroom and the month's peak), published as `capacity_status` on the bus for the
 * consumers that show it (home-assistant/).
 */
import {
  type AlertConfig,
  type AlertState,
  DEFAULT_ALERT_CONFIG,
  INITIAL_ALERT_STATE,
  stepAlert,
} from '../core/capacity/alert.js';
import { forecastQuarter } from '../core/capacity/forecast.js';
import type { Snapshot } from '../core/snapshot.js';
import { QUARTER_MS, quarterStart, wallClock } from '../core/time/index.js';
import type { CapacityAlert } from '../core/wire.js';
import type { EdgeBus, EdgeConsumer } from './bus.js';

/** An alert as the watch makes it: every field the wire's alert may carry, set (core/wire.ts CapacityAlertSchema). */
export type CapacityAlertMessage = Required<
  Pick<
    CapacityAlert,
    | 'type'
    | 'device_id'
    | 'timestamp'
    | 'quarter_start'
    | 'elapsed_s'
    | 'avg_so_far_w'
    | 'projected_w'
    | 'limit_w'
    | 'headroom_w'
    | 'month_peak_w'
    | 'reason'
  >
>;

/**
 * The running quarter as the watch sees it after a snapshot. A value it cannot know yet is null:
 * the quarter's average and forecast need a counter reading from just before the quarter began, so
 * they are null for the rest of the quarter the edge starts in (or after a meter replacement).
 */
export interface CapacityStatus {
  /** The snapshot's timestamp. */
  timestamp: string;
  /** The quarter's start, ISO 8601 UTC. */
  quarter_start: string;
  /** Average import power over the quarter so far, W. */
  avg_so_far_w: number | null;
  /** The quarter's average at its end if the current import holds, W. */
  projected_w: number | null;
  /** Import power for the rest of the quarter that ends it at the limit, W (negative: already past it). */
  headroom_w: number | null;
  /** The limit the headroom is computed against: the target, else the month's peak, W. */
  limit_w: number | null;
  /** The month's peak so far (the meter's or the quarters seen complete, whichever is higher), W. */
  month_peak_w: number | null;
}

export interface CapacityWatchOptions {
  timezone: string;
  alert?: Partial<AlertConfig>;
  /** A user-set target for the monthly peak (W) instead of the month's peak so far. */
  targetW?: number | null;
}

function importTotal(s: Snapshot): number | null {
  return s.grid_import_t1_kwh === null || s.grid_import_t2_kwh === null
    ? null
    : s.grid_import_t1_kwh + s.grid_import_t2_kwh;
}

export class CapacityWatch implements EdgeConsumer {
  readonly name = 'capacity-watch';
  private readonly alertConfig: AlertConfig;
  private state: AlertState = INITIAL_ALERT_STATE;
  private quarter: number | null = null;
  private quarterBaseKwh: number | null = null;
  private lastImportKwh: number | null = null;
  private month: number | null = null;
  private ownMonthPeakW: number | null = null;
  private lastStatus: CapacityStatus | null = null;

  constructor(private readonly opts: CapacityWatchOptions) {
    this.alertConfig = { ...DEFAULT_ALERT_CONFIG, ...(opts.alert ?? {}) };
  }

  /** The calendar month (year × 12 + month) of an instant in the configured zone. */
  private monthOf(ms: number): number {
    const l = wallClock(ms, this.opts.timezone);
    return l.year * 12 + l.month;
  }

  /**
   * As a bus consumer (bus.ts): each snapshot is fed to `update`; the quarter's status is published
   * as `capacity_status`, then each alert as `capacity_alert`.
   */
  start(bus: EdgeBus): void {
    bus.subscribe(this.name, 'snapshot', (s) => {
      const alert = this.update(s);
      if (this.lastStatus) bus.publish('capacity_status', this.lastStatus);
      if (alert) bus.publish('capacity_alert', alert);
    });
  }

  /** The running quarter after the last snapshot fed to `update` (null before the first). */
  get status(): CapacityStatus | null {
    return this.lastStatus;
  }

  stop(bus: EdgeBus): void {
    bus.unsubscribe(this.name);
  }

  /** Feeds one snapshot; returns an alert to publish, or null. */
  update(s: Snapshot): CapacityAlertMessage | null {
    const now = Date.parse(s.timestamp);
    const imp = importTotal(s);
    const q = quarterStart(now);
    const month = this.monthOf(now);
    if (month !== this.month) {
      this.month = month;
      this.ownMonthPeakW = null;
    }
    if (q !== this.quarter) {
      // Close the previous quarter (its last reading is the base of this one).
      if (
        this.quarter !== null &&
        q === this.quarter + QUARTER_MS &&
        this.quarterBaseKwh !== null &&
        this.lastImportKwh !== null
      ) {
        const kwh = this.lastImportKwh - this.quarterBaseKwh;
        if (kwh >= 0) {
          const avg = kwh * 4000;
          const prevMonth = this.monthOf(this.quarter);
          if (prevMonth === month) this.ownMonthPeakW = Math.max(this.ownMonthPeakW ?? 0, avg);
        }
      }
      this.quarter = q;
      // Without a reading just before the boundary the quarter's energy so far is unknown.
      this.quarterBaseKwh = this.lastImportKwh !== null && now - q < 60_000 ? this.lastImportKwh : null;
    }
    if (imp !== null && this.lastImportKwh !== null && imp < this.lastImportKwh) this.quarterBaseKwh = null; // meter replaced
    this.lastImportKwh = imp;

    const meterPeak = s.grid_monthly_peak_w;
    const monthPeakW = meterPeak === null ? this.ownMonthPeakW : Math.max(meterPeak, this.ownMonthPeakW ?? 0);
    const base = this.quarterBaseKwh;
    const f = forecastQuarter({
      now,
      energySoFarKwh: imp === null || base === null ? null : imp - base,
      gridPowerW: s.grid_power_w,
      monthPeakW,
      targetW: this.opts.targetW ?? null,
    });
    this.lastStatus = {
      timestamp: s.timestamp,
      quarter_start: new Date(f.quarterStartMs).toISOString(),
      avg_so_far_w: f.avg_so_far_w,
      projected_w: f.projected_w,
      headroom_w: f.headroom_w,
      limit_w: f.limit_w,
      month_peak_w: monthPeakW,
    };
    if (base === null) return null;
    const step = stepAlert(
      this.state,
      {
        quarterStartMs: f.quarterStartMs,
        remaining_s: f.remaining_s,
        projected_w: f.projected_w,
        monthPeakW,
        targetW: this.opts.targetW ?? null,
      },
      this.alertConfig,
    );
    this.state = step.state;
    if (!step.alert) return null;
    return {
      type: 'capacity_alert',
      device_id: s.device_id,
      timestamp: s.timestamp,
      quarter_start: new Date(f.quarterStartMs).toISOString(),
      elapsed_s: Math.round(f.elapsed_s),
      avg_so_far_w: f.avg_so_far_w,
      projected_w: step.alert.projected_w,
      limit_w: step.alert.limit_w,
      headroom_w: f.headroom_w,
      month_peak_w: monthPeakW,
      reason: step.alert.reason,
    };
  }
}
