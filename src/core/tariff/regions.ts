/**
 * Region presets: each region's network rule as data, named in the tariff file as `region: …`.
 * Sources and the reasoning behind each figure: docs/tariffs.md §6 (regions).
 *
 * - Flanders (one preset per Fluvius area): a capacity tariff on the monthly 15-minute peak, with
 *   the area's published rate per kW per year (excl. VAT) and its validity. A rate written in the
 *   tariff file (`capacity_eur_per_kw_year`) wins over the preset.
 * - Wallonia: time-of-use network prices; the day/night (bihoraire) hours changed on 1 January
 *   2026, and the optional three-band "tarif Impact" is the `wallonia-impact` schedule.
 * - Brussels: a yearly capacity term by connection size (`connection_capacity_eur_per_year`), no
 *   monthly peak.
 * - Netherlands: no capacity tariff; net metering (salderingsregeling) ends on 1 January 2027.
 *
 * Rates are only given where a source was read; where none was (Walloon and Brussels amounts), the
 * file states them.
 */
import type { BandHours } from './time-of-use.js';

/** Which network rule applies to a home. */
export const NETWORK_RULE_KINDS = ['capacity_tariff', 'time_of_use', 'connection_capacity', 'none'] as const;
export type NetworkRuleKind = (typeof NETWORK_RULE_KINDS)[number];

export interface RateSpan {
  /** Local dates YYYY-MM-DD; `to` exclusive. */
  from: string;
  to: string;
  eurPerKwYear: number;
}

export interface SchedulePreset {
  /** Versions oldest first; `from` a local date, null for "since ever". */
  versions: Array<{ from: string | null; bands: Record<string, BandHours> }>;
  source: string;
}

export interface RegionPreset {
  name: string;
  country: 'be' | 'nl';
  /** The rule the region applies to households. */
  rule: NetworkRuleKind;
  /** Published capacity-tariff rates (Flanders), excl. VAT. */
  capacityRates?: RateSpan[];
  /** The region's day/night hours (replacing `day_night` unless the file sets it). */
  dayNight?: SchedulePreset;
  /** Net metering is not allowed from this local date on (NL). */
  netMeteringEnds?: string;
  source: string;
}

const VNR_2026 =
  'Vlaamse Nutsregulator, "Hoeveel bedragen de distributienettarieven?" 2026, row "Gemiddelde maandpiek (laagspanning met piekmeting)"';

function fluvius(name: string, eurPerKwYear: number): RegionPreset {
  return {
    name: `Fluvius ${name}`,
    country: 'be',
    rule: 'capacity_tariff',
    capacityRates: [{ from: '2026-01-01', to: '2027-01-01', eurPerKwYear }],
    source: VNR_2026,
  };
}

/** Wallonia's bihoraire hours (CWaPE): before 2026 night 22–07 and weekends; from 2026 every day alike. */
const WALLONIA_DAY_NIGHT: SchedulePreset = {
  versions: [
    { from: null, bands: { day: { weekdays: ['07-22'] }, night: { weekdays: ['22-07'], weekends: ['00-24'] } } },
    { from: '2026-01-01', bands: { day: { every_day: ['07-11', '17-22'] }, night: { every_day: ['11-17', '22-07'] } } },
  ],
  source: 'CWaPE, publication 6649 (network tariffs 2026): peak 07-11 and 17-22 every day, weekends included',
};

export const REGIONS = {
  'fluvius-antwerpen': fluvius('Antwerpen', 49.4),
  'fluvius-halle-vilvoorde': fluvius('Halle-Vilvoorde', 56.04),
  'fluvius-imewo': fluvius('Imewo', 54.2),
  'fluvius-kempen': fluvius('Kempen', 56.21),
  'fluvius-limburg': fluvius('Limburg', 49.05),
  'fluvius-midden-vlaanderen': fluvius('Midden-Vlaanderen', 50.12),
  'fluvius-west': fluvius('West', 57.1),
  'fluvius-zenne-dijle': fluvius('Zenne-Dijle', 56.12),
  wallonia: {
    name: 'Wallonia (CWaPE)',
    country: 'be',
    rule: 'time_of_use',
    dayNight: WALLONIA_DAY_NIGHT,
    source: WALLONIA_DAY_NIGHT.source,
  },
  brussels: {
    name: 'Brussels (Sibelga, Brugel)',
    country: 'be',
    rule: 'connection_capacity',
    source: 'Brugel, tariff grid 2025-2027: "puissance mise à disposition" ≤ 13 kVA and > 13 kVA, per year',
  },
  netherlands: {
    name: 'Netherlands',
    country: 'nl',
    rule: 'none',
    netMeteringEnds: '2027-01-01',
    source: 'Kamerstuk 36611 (Wet collectief leveringsmodel): the salderingsregeling ends on 1 January 2027',
  },
} as const satisfies Record<string, RegionPreset>;

export type RegionId = keyof typeof REGIONS;
export const REGION_IDS = Object.keys(REGIONS) as RegionId[];

/** Named time-of-use schedules a tariff file may use as `time_of_use: <name>`. */
export const SCHEDULES = {
  'wallonia-impact': {
    versions: [
      {
        from: '2026-01-01',
        bands: {
          peak: { every_day: ['17-22'] },
          medium: { every_day: ['07-11', '22-01'] },
          eco: { every_day: ['01-07', '11-17'] },
        },
      },
    ],
    source: 'CWaPE, publication 6649: tarif Impact, PIC 17-22, MEDIUM 07-11 and 22-01, ECO 01-07 and 11-17, every day',
  },
} as const satisfies Record<string, SchedulePreset>;

export type ScheduleId = keyof typeof SCHEDULES;
export const SCHEDULE_IDS = Object.keys(SCHEDULES) as ScheduleId[];

export function regionPreset(id: string): RegionPreset | null {
  return (REGIONS as Record<string, RegionPreset>)[id] ?? null;
}
