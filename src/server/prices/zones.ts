/**
 * The bidding zones the price feed knows: their ENTSO-E area code (EIC), their Energy-Charts name
 * and the time zone their delivery days are counted in (docs/tariffs.md §1.5; the guide's §4.6).
 */
export interface BiddingZone {
  /** ENTSO-E area code, for in_Domain and out_Domain of an A44 request. */
  eic: string;
  /** Energy-Charts' `bzn`. */
  energyCharts: string;
  /** Delivery days are local days here (CET/CEST for both). */
  timezone: string;
}

export const ZONES = {
  BE: { eic: '10YBE----------2', energyCharts: 'BE', timezone: 'Europe/Brussels' },
  NL: { eic: '10YNL----------L', energyCharts: 'NL', timezone: 'Europe/Amsterdam' },
} as const satisfies Record<string, BiddingZone>;

export type ZoneId = keyof typeof ZONES;
export const ZONE_IDS = Object.keys(ZONES) as ZoneId[];

/** One day-ahead price from a feed: it holds over [start, end) (epoch ms); €/MWh. */
export interface FeedPoint {
  start: number;
  end: number;
  eurPerMwh: number;
}
