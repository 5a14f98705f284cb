/**
 * The public API's answers as the dashboard reads them (docs/api.md). The snapshot's own fields come
 * from the one place they are defined, src/core/snapshot.ts (imported as a type only).
 */
import type { Snapshot } from '../../src/core/snapshot.js';

export type { Snapshot };

/** GET /api/v1/realtime/{device_id}: the latest snapshot and its age in seconds. */
export type RealtimeAnswer = Snapshot & { age_s: number | null };

export type Resolution = 'raw' | '1min' | '15min' | 'hourly' | 'daily' | 'weekly' | 'monthly';

export interface HistoryPoint {
  timestamp: string;
  import_kwh: number | null;
  export_kwh: number | null;
  import_t1_kwh: number | null;
  import_t2_kwh: number | null;
  export_t1_kwh: number | null;
  export_t2_kwh: number | null;
  pv_kwh: number | null;
  battery_charge_kwh: number | null;
  battery_discharge_kwh: number | null;
  gas_m3: number | null;
  avg_grid_power_w: number | null;
  max_grid_power_w: number | null;
  avg_pv_power_w: number | null;
  avg_load_power_w: number | null;
  avg_battery_power_w: number | null;
  avg_battery_soc_pct: number | null;
  samples: number;
}

export interface HistoryAnswer {
  device_id: string;
  resolution: Resolution;
  start: string;
  end: string;
  points: HistoryPoint[];
}

export interface CapacityForecast {
  quarter_start: string;
  elapsed_s: number;
  avg_so_far_w: number | null;
  projected_w: number | null;
  headroom_w: number | null;
  new_peak_expected: boolean;
}

export interface CapacityAnswer {
  device_id: string;
  month: string;
  quarters: { start: string; avg_import_w: number | null }[];
  month_peak_w: number | null;
  month_peak_start: string | null;
  meter_month_peak_w: number | null;
  history: { month: string; peak_w: number | null }[];
  rolling_12m_avg_w: number | null;
  rate_eur_per_kw_year: number | null;
  yearly_cost_eur: number | null;
  forecast: CapacityForecast | null;
}

// GET /api/v1/cost-estimate/{device_id}: the server's own types (src/core/tariff), as types only.
export type { BreakdownLine as CostLine } from '../../src/core/tariff/cost.js';
export type { CostEstimate as CostAnswer } from '../../src/core/tariff/totals.js';

/** A capacity-tariff alert pushed on the WebSocket: the running quarter will set a new monthly peak. */
export interface CapacityAlert {
  type: 'capacity_alert';
  device_id: string;
  quarter_start: string;
  projected_w: number;
  limit_w: number;
  headroom_w: number | null;
  month_peak_w: number | null;
  reason: 'lead_time' | 'crossed';
}
