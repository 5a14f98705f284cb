/**
 * The parsed P1 telegram: what `kwartier dsmr parse` prints and what the P1 source maps onto snapshot
 * fields. Units in the names: power in W, energy in kWh (whatever unit the meter sent), times as
 * ISO 8601 UTC with Z. A value the telegram does not carry is null.
 */

export type Country = 'be' | 'nl';

export interface PeakHistoryEntry {
  /** Start of the month the entry is stamped with (the meter stamps the month after the peak's). */
  month_start: string | null;
  /** When the peak quarter occurred; null for a month without data (placeholder timestamp). */
  timestamp: string | null;
  peak_w: number | null;
}

export interface PowerFailure {
  /** End of the failure. */
  end: string | null;
  duration_s: number | null;
}

export interface MbusDevice {
  channel: number;
  /** EN 13757-3 device type: 3 gas, 4 heat, 7 water (null when the telegram does not say). */
  device_type: number | null;
  equipment_id: string | null;
  /** The reading in `unit` (m3, GJ, …) and its capture time. */
  value: number | null;
  unit: string | null;
  timestamp: string | null;
  /** Which register carried the reading: 24.2.1, 24.2.3 or 24.3.0 (DSMR 2.2/3). */
  obis: string | null;
  valve_position: number | null;
}

/** A line the parser does not map onto a key of its own, kept as sent. */
export interface OtherValue {
  /** `A-B:C.D.E` (without a `*255`-style suffix). */
  obis: string;
  /**
   * A number when the value has a unit (`*varh`) or decimals (`4.556`); otherwise the text as sent
   * (identifiers and codes keep their leading zeros: `00000000`); several groups `(a)(b)` as sent,
   * parentheses included; null for `()`.
   */
  value: number | string | null;
  unit: string | null;
}

export interface P1Telegram {
  meter_timestamp: string | null;
  /** 0-0:96.1.1, or 0-0:96.1.0 where a meter puts its serial there (Belgian Iskra IE.5). */
  equipment_id: string | null;
  country: Country;
  /** 0-0:96.14.0: BE 1 = day, 2 = night; NL 1 = low, 2 = normal. */
  tariff_indicator: 1 | 2 | null;
  energy_import_t1_kwh: number | null;
  energy_import_t2_kwh: number | null;
  energy_export_t1_kwh: number | null;
  energy_export_t2_kwh: number | null;
  power_import_w: number | null;
  power_export_w: number | null;
  power_l1_import_w: number | null;
  power_l2_import_w: number | null;
  power_l3_import_w: number | null;
  power_l1_export_w: number | null;
  power_l2_export_w: number | null;
  power_l3_export_w: number | null;
  voltage_l1_v: number | null;
  voltage_l2_v: number | null;
  voltage_l3_v: number | null;
  /** Magnitudes: the direction comes from the import/export powers. */
  current_l1_a: number | null;
  current_l2_a: number | null;
  current_l3_a: number | null;
  /** 1-0:1.4.0: running average import of the current quarter hour (BE). */
  avg_demand_15m_w: number | null;
  /** 1-0:1.6.0: highest quarter-hour average of the month so far, and when (BE). */
  month_peak_w: number | null;
  month_peak_timestamp: string | null;
  /** 0-0:98.1.0: monthly peaks of the past months, as the meter lists them (BE). */
  peak_history: PeakHistoryEntry[] | null;
  gas_m3: number | null;
  gas_timestamp: string | null;
  water_m3: number | null;
  water_timestamp: string | null;
  // ---- beyond the fixed set ----
  /** The identification line without the `/`, e.g. `ISK5\2M550T-1012`. */
  header: string;
  /** 1-3:0.2.8 (NL: 42, 50) or 0-0:96.1.4 (BE: 50217). */
  p1_version: string | null;
  energy_import_total_kwh: number | null;
  energy_export_total_kwh: number | null;
  /** 1-0:2.4.0 / 1-0:2.6.0: the export counterparts of 1.4.0 / 1.6.0, seen on some Fluvius meters. */
  export_avg_demand_15m_w: number | null;
  export_month_peak_w: number | null;
  export_month_peak_timestamp: string | null;
  power_failures: number | null;
  long_power_failures: number | null;
  power_failure_log: PowerFailure[] | null;
  voltage_sags_l1: number | null;
  voltage_sags_l2: number | null;
  voltage_sags_l3: number | null;
  voltage_swells_l1: number | null;
  voltage_swells_l2: number | null;
  voltage_swells_l3: number | null;
  /** 0-0:96.13.0, as sent (hex-encoded text); null when empty. */
  text_message: string | null;
  /** 0-0:96.3.10 breaker state (BE): 0 off, 1 on, 2 ready. */
  breaker_state: number | null;
  /** 0-0:17.0.0 power limiter threshold (999.9 kW = no limit). */
  limiter_threshold_w: number | null;
  /** 1-0:31.4.0 fuse supervision threshold (BE). */
  fuse_threshold_a: number | null;
  heat_gj: number | null;
  heat_timestamp: string | null;
  mbus: MbusDevice[];
  /** Lines the parser does not map (reactive energy, frequency, power factor, …), in telegram order. */
  other: OtherValue[];
}

/** The fixed keys, in output order (the extras follow). */
export const P1_TELEGRAM_KEYS = [
  'meter_timestamp',
  'equipment_id',
  'country',
  'tariff_indicator',
  'energy_import_t1_kwh',
  'energy_import_t2_kwh',
  'energy_export_t1_kwh',
  'energy_export_t2_kwh',
  'power_import_w',
  'power_export_w',
  'power_l1_import_w',
  'power_l2_import_w',
  'power_l3_import_w',
  'power_l1_export_w',
  'power_l2_export_w',
  'power_l3_export_w',
  'voltage_l1_v',
  'voltage_l2_v',
  'voltage_l3_v',
  'current_l1_a',
  'current_l2_a',
  'current_l3_a',
  'avg_demand_15m_w',
  'month_peak_w',
  'month_peak_timestamp',
  'peak_history',
  'gas_m3',
  'gas_timestamp',
  'water_m3',
  'water_timestamp',
] as const;
