/**
 * The edge's `control:` section: the capacity target, one entry per charger and per battery, and
 * the fail-safe and write-pacing settings. docs/control.md describes every key; the keys named in
 * issue 16 (`capacity_target_w`, `chargers.<name>.mode`) are a contract and keep their meaning.
 *
 * parseControlConfig validates the section (unknown keys are errors naming the key) and resolves
 * it into ControlSettings, the form decide() reads: defaults filled, currents checked against each
 * other, the deadline's local time parsed.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ConfigError } from '../errors.js';
import { parseWithSchema } from '../validate.js';

export const CHARGER_MODES = ['off', 'solar', 'min_solar', 'max_under_peak', 'deadline'] as const;
export type ChargerMode = (typeof CHARGER_MODES)[number];

const Seconds = (def: number, max = 86_400) => Type.Integer({ default: def, minimum: 0, maximum: max });
const Watts = (def: number) => Type.Number({ default: def, minimum: 0, maximum: 1_000_000 });
const Pct = (def: number) => Type.Number({ default: def, minimum: 0, maximum: 100 });

export const ChargerControlSchema = Type.Object(
  {
    mode: Type.Union(
      CHARGER_MODES.map((m) => Type.Literal(m)),
      { default: 'max_under_peak' },
    ),
    /** The charger's lowest current, A (IEC 61851: 6 A). */
    min_current_a: Type.Number({ default: 6, minimum: 1, maximum: 80 }),
    /** The highest current to set, A (the charger's rating, or the cable's, or the car's). */
    max_current_a: Type.Number({ default: 16, minimum: 1, maximum: 80 }),
    /** Phases the charger uses when it is not switched to one. */
    phases: Type.Union([Type.Literal(1), Type.Literal(3)], { default: 3 }),
    /** The charger can switch between 1 and 3 phases (NRGkick: when enabled in its app). */
    phase_switching: Type.Boolean({ default: false }),
    /** Nominal voltage per phase, V (power = voltage × phases × current). */
    voltage_v: Type.Number({ default: 230, minimum: 100, maximum: 300 }),
    /** Current when the meter is stale or the quarter's energy is unknown: a number (A) or `pause`. Default: the minimum. */
    safe_current_a: Type.Optional(Type.Union([Type.Number({ minimum: 1, maximum: 80 }), Type.Literal('pause')])),
    /** Deadline mode: the session's energy to deliver, kWh ... */
    energy_kwh: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 500 })),
    /** ... by this local time, HH:MM (the next time the clock shows it after the car is connected). */
    deadline: Type.Optional(Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' })),
    /** A charge started for a non-budget reason runs at least this long (a budget stop still stops it). */
    min_on_s: Seconds(300),
    /** After a pause the charger stays paused at least this long. */
    min_off_s: Seconds(300),
    /** Solar modes: the surplus must hold this long before a start ... */
    solar_start_delay_s: Seconds(60),
    /** ... and be gone this long before a stop. */
    solar_stop_delay_s: Seconds(180),
    /** Seconds between two phase switches. */
    phase_switch_interval_s: Seconds(600),
  },
  { additionalProperties: false },
);

export const BatteryControlSchema = Type.Object(
  {
    /** The battery never discharges below this SoC, not even to shave a peak. */
    reserve_soc_pct: Pct(10),
    /**
     * Below this SoC the battery holds (covers the house only to shave a peak), so the energy
     * between reserve_soc_pct and here is kept for peak shaving. Default: reserve_soc_pct (off).
     */
    hold_soc_pct: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    max_charge_w: Watts(5000),
    max_discharge_w: Watts(5000),
    /** Charge from the grid in cheap hours up to this SoC (0: never from the grid). */
    grid_charge_soc_pct: Pct(0),
    /** Battery round trip (charge × discharge efficiency): grid charging must pay after it. */
    round_trip_efficiency: Type.Number({ default: 0.9, exclusiveMinimum: 0, maximum: 1 }),
    /** An hour is cheap when its price is within this of the lowest price of the next 24 h, €/kWh. */
    cheap_band_eur_per_kwh: Type.Number({ default: 0.01, minimum: 0, maximum: 10 }),
    /** Set-points move in steps of this many W (fewer writes to the inverter). */
    power_step_w: Type.Number({ default: 100, minimum: 10, maximum: 10_000 }),
    /**
     * While a charger draws, may self-consumption discharge the battery into the car? Default yes
     * (in a sunny month that empties the battery for the next day's PV); false keeps it for the
     * house (and the quarter's shave), and the car charges from the grid.
     */
    discharge_to_chargers: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

export const ControlConfigSchema = Type.Object(
  {
    /** The monthly peak to stay under, W, or `follow_peak` (the month's peak so far, at least floor_w). */
    capacity_target_w: Type.Union([Type.Number({ minimum: 0, maximum: 1_000_000 }), Type.Literal('follow_peak')], {
      default: 'follow_peak',
      errorMessage: 'must be a number of W (0 to 1000000) or follow_peak',
    }),
    /** The target is never below this, W (the 2.5 kW a Flemish month is billed at anyway). */
    floor_w: Watts(2500),
    /** Chargers and grid charging plan to stay this far under the target, W (the battery shaves to the target itself). */
    margin_w: Watts(100),
    /** Decide and report, write nothing. */
    dry_run: Type.Boolean({ default: false }),
    /** A meter reading older than this is stale: chargers go to their safe current. */
    stale_after_s: Type.Integer({ default: 10, minimum: 1, maximum: 3600 }),
    /**
     * How to read the meter's 1-0:1.4.0 (running quarter average) to learn the energy of a quarter
     * the edge starts in: `elapsed` (average over the time elapsed in the quarter: E = avg × elapsed),
     * `quarter` (E = avg × 15 min), `off` (never: the quarter stays unknown until the next one, the
     * chargers at their safe current). Which one a meter does is not documented; the edge checks it
     * against the counters every quarter and logs when the setting looks wrong.
     */
    meter_quarter_average: Type.Union([Type.Literal('elapsed'), Type.Literal('quarter'), Type.Literal('off')], {
      default: 'elapsed',
      errorMessage: 'must be elapsed, quarter or off',
    }),
    /** At most one write per device in this many seconds. */
    min_write_interval_s: Type.Integer({ default: 5, minimum: 1, maximum: 3600 }),
    /** Time constant of the smoothed house load that start/stop decisions use, s (so a kettle is not a trend). */
    base_smoothing_s: Type.Integer({ default: 120, minimum: 1, maximum: 3600 }),
    /** Deadline planning: the house load assumed for the hours ahead, W. */
    planning_base_w: Watts(500),
    /**
     * A tariff file (the server's format, docs/tariffs.md; relative to the edge's config file) whose
     * import prices the deadline plan and the battery's cheap hours use: day/night, time-of-use
     * bands, or a dynamic contract with its price_file. Without it deadlines take the earliest
     * quarters and the battery never charges from the grid.
     */
    tariff_file: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    chargers: Type.Record(Type.String({ minLength: 1, maxLength: 32 }), ChargerControlSchema, { default: {} }),
    batteries: Type.Record(Type.String({ minLength: 1, maxLength: 32 }), BatteryControlSchema, { default: {} }),
  },
  { additionalProperties: false },
);

export type ControlConfigFile = Static<typeof ControlConfigSchema>;

/** How the meter's 1-0:1.4.0 relates to the quarter's energy (ControlConfigSchema.meter_quarter_average). */
export type MeterQuarterAverage = 'elapsed' | 'quarter' | 'off';

export interface ChargerSettings {
  name: string;
  mode: ChargerMode;
  minCurrentA: number;
  maxCurrentA: number;
  phases: 1 | 3;
  phaseSwitching: boolean;
  voltageV: number;
  /** null: pause when unsafe. */
  safeCurrentA: number | null;
  energyKwh: number | null;
  /** Minutes after local midnight; null without a deadline. */
  deadlineMinutes: number | null;
  minOnS: number;
  minOffS: number;
  solarStartDelayS: number;
  solarStopDelayS: number;
  phaseSwitchIntervalS: number;
}

export interface BatterySettings {
  name: string;
  reserveSocPct: number;
  holdSocPct: number;
  maxChargeW: number;
  maxDischargeW: number;
  gridChargeSocPct: number;
  roundTripEfficiency: number;
  cheapBandEurPerKwh: number;
  powerStepW: number;
  dischargeToChargers: boolean;
}

export interface ControlSettings {
  /** null: follow the peak. */
  targetW: number | null;
  floorW: number;
  marginW: number;
  dryRun: boolean;
  staleAfterS: number;
  meterQuarterAverage: MeterQuarterAverage;
  minWriteIntervalS: number;
  baseSmoothingS: number;
  planningBaseW: number;
  /** The tariff file's path as configured (the edge resolves and reads it); null without one. */
  tariffFile: string | null;
  /** In config order: earlier chargers get the budget first. */
  chargers: ChargerSettings[];
  batteries: BatterySettings[];
}

function charger(name: string, c: Static<typeof ChargerControlSchema>, key: string): ChargerSettings {
  if (c.min_current_a > c.max_current_a) {
    throw new ConfigError(`${key}.max_current_a: must be >= min_current_a (${c.min_current_a})`);
  }
  const safe = c.safe_current_a ?? c.min_current_a;
  if (safe !== 'pause' && (safe < c.min_current_a || safe > c.max_current_a)) {
    throw new ConfigError(`${key}.safe_current_a: must be between min_current_a and max_current_a, or pause`);
  }
  if (c.mode === 'deadline' && (c.energy_kwh === undefined || c.deadline === undefined)) {
    throw new ConfigError(`${key}: mode deadline needs energy_kwh and deadline (HH:MM)`);
  }
  const [h, m] = (c.deadline ?? '').split(':').map(Number);
  return {
    name,
    mode: c.mode,
    minCurrentA: c.min_current_a,
    maxCurrentA: c.max_current_a,
    phases: c.phases,
    phaseSwitching: c.phase_switching,
    voltageV: c.voltage_v,
    safeCurrentA: safe === 'pause' ? null : safe,
    energyKwh: c.energy_kwh ?? null,
    deadlineMinutes: c.deadline === undefined ? null : (h as number) * 60 + (m as number),
    minOnS: c.min_on_s,
    minOffS: c.min_off_s,
    solarStartDelayS: c.solar_start_delay_s,
    solarStopDelayS: c.solar_stop_delay_s,
    phaseSwitchIntervalS: c.phase_switch_interval_s,
  };
}

function battery(name: string, b: Static<typeof BatteryControlSchema>, key: string): BatterySettings {
  const hold = b.hold_soc_pct ?? b.reserve_soc_pct;
  if (hold < b.reserve_soc_pct) throw new ConfigError(`${key}.hold_soc_pct: must be >= reserve_soc_pct`);
  return {
    name,
    reserveSocPct: b.reserve_soc_pct,
    holdSocPct: hold,
    maxChargeW: b.max_charge_w,
    maxDischargeW: b.max_discharge_w,
    gridChargeSocPct: b.grid_charge_soc_pct,
    roundTripEfficiency: b.round_trip_efficiency,
    cheapBandEurPerKwh: b.cheap_band_eur_per_kwh,
    powerStepW: b.power_step_w,
    dischargeToChargers: b.discharge_to_chargers,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** TypeBox fills no defaults inside a Record's values: each charger and battery is validated (and filled) on its own first. */
function withEntryDefaults(doc: unknown, what: string): unknown {
  if (!isObject(doc)) return doc;
  const out: Record<string, unknown> = { ...doc };
  for (const [key, schema] of [
    ['chargers', ChargerControlSchema],
    ['batteries', BatteryControlSchema],
  ] as const) {
    const entries = doc[key];
    if (!isObject(entries)) continue;
    out[key] = Object.fromEntries(
      Object.entries(entries).map(([n, v]) => [n, parseWithSchema(schema, v, what, `${key}.${n}`)]),
    );
  }
  return out;
}

/** Validates and resolves a `control:` section (already parsed from YAML). `what` prefixes errors. */
export function parseControlConfig(doc: unknown, what = 'control'): ControlSettings {
  const c = parseWithSchema(ControlConfigSchema, withEntryDefaults(doc ?? {}, what), what);
  const names = [...Object.keys(c.chargers), ...Object.keys(c.batteries)];
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new ConfigError(`${what}: batteries.${dup}: also listed under chargers`);
  return {
    targetW: c.capacity_target_w === 'follow_peak' ? null : c.capacity_target_w,
    floorW: c.floor_w,
    marginW: c.margin_w,
    dryRun: c.dry_run,
    staleAfterS: c.stale_after_s,
    meterQuarterAverage: c.meter_quarter_average,
    minWriteIntervalS: c.min_write_interval_s,
    baseSmoothingS: c.base_smoothing_s,
    planningBaseW: c.planning_base_w,
    tariffFile: c.tariff_file ?? null,
    chargers: Object.entries(c.chargers).map(([n, v]) => charger(n, v, `${what}: chargers.${n}`)),
    batteries: Object.entries(c.batteries).map(([n, v]) => battery(n, v, `${what}: batteries.${n}`)),
  };
}
