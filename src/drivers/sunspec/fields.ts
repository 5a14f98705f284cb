/**
 * What a generic SunSpec device's models mean in the snapshot's names, units and signs.
 *
 * - Inverter (101–103 int+SF, 111–113 float): `pv_power_w` = W (AC), `pv_total_kwh` = WH / 1000;
 *   the state (St), DC power and voltage as the device's own fields.
 * - MPPT extension (160): modules 1 and 2 as `mppt1_*` / `mppt2_*`, each module's DC power apart.
 * - Meter (201–204 int+SF, 211–214 float): `grid_power_w` and the phase values. The sign of a meter's
 *   W differs by vendor (devices.md §3.5: Fronius and evcc's sunspec-meter + import, SolarEdge
 *   + export): `meter_sign` says which; the counters TotWhImp / TotWhExp check it at run time and a
 *   mismatch is logged (MeterSignCheck).
 * - Battery (802, else 124): SoC, voltage, current, power. 802's W has no sign in the model
 *   (devices.md §3.4, UNVERIFIED): `battery_sign` says which; the charge state (ChaSt) checks it.
 * - Nameplate, settings, controls (120, 121, 123): rated power, battery capacity, power limit.
 * An accumulator of 0 and every SunSpec "not implemented" value are null (table.ts), never 0.
 */
import type { Logger } from '../../lib/log.js';
import type { SunSpecCycle, SunSpecIdentity } from './device.js';
import type { ModelLayout } from './models.js';
import type { FieldValue, ModelValues } from './table.js';

export type MeterSign = 'import' | 'export';
export type BatterySign = 'charge' | 'discharge';
export type Fields = Record<string, number | string | null>;

/** Inverter operating state (St, models 101–113). */
export const INVERTER_STATE: Readonly<Record<number, string>> = {
  1: 'off',
  2: 'sleeping',
  3: 'starting',
  4: 'mppt',
  5: 'throttled',
  6: 'shutting_down',
  7: 'fault',
  8: 'standby',
};

/** Charge state (ChaSt, models 124 and 802). */
export const CHARGE_STATE: Readonly<Record<number, string>> = {
  1: 'off',
  2: 'empty',
  3: 'discharging',
  4: 'charging',
  5: 'full',
  6: 'holding',
  7: 'testing',
};

const INVERTERS = new Set([101, 102, 103, 111, 112, 113]);
const METERS = new Set([201, 202, 203, 204, 211, 212, 213, 214]);

/** The points the generic driver reads of each layout (table.ts adds their scale factors). */
export function sunspecPoints(layout: ModelLayout): readonly string[] {
  const id = layout.ids[0] ?? 0;
  if (id === 1) return ['Mn', 'Md', 'Vr', 'SN'];
  if (INVERTERS.has(id)) return ['W', 'WH', 'DCW', 'DCV', 'St'];
  if (id === 120) return ['WRtg', 'WHRtg'];
  if (id === 121) return ['WMax'];
  if (id === 122) return ['ActWh'];
  if (id === 123) return ['WMaxLimPct', 'WMaxLim_Ena'];
  if (id === 124) return ['ChaState', 'InBatV', 'ChaSt'];
  if (id === 160) return ['N', 'DCA', 'DCV', 'DCW'];
  if (METERS.has(id))
    return ['W', 'WphA', 'WphB', 'WphC', 'AphA', 'AphB', 'AphC', 'PhVphA', 'PhVphB', 'PhVphC', 'TotWhExp', 'TotWhImp'];
  if (id === 802) return ['WHRtg', 'SoC', 'SoH', 'ChaSt', 'V', 'A', 'W'];
  return [];
}

export function num(m: ModelValues | undefined, point: string): number | null {
  const v = m?.values.get(point);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function times(v: number | null, k: number, decimals = 3): number | null {
  if (v === null) return null;
  const f = 10 ** decimals;
  const r = Math.round(v * k * f) / f;
  return Object.is(r, -0) ? 0 : r;
}

function named(table: Readonly<Record<number, string>>, code: number | null): string | null {
  return code === null ? null : (table[code] ?? `code_${code}`);
}

/** The device's identity as its own fields. */
export function identityFields(id: SunSpecIdentity | null): Fields {
  return {
    manufacturer: id?.manufacturer ?? null,
    model: id?.model ?? null,
    serial: id?.serial ?? null,
    firmware: id?.version ?? null,
  };
}

/**
 * Checks a meter's sign against its counters: while |W| is above NOISE_W, exactly one counter should
 * rise, the one the power's direction names. Two disagreements in a row log one warning (and an
 * agreement after it one info line), so a user whose meter counts the other way finds out.
 */
export class MeterSignCheck {
  static readonly NOISE_W = 20;
  private imp: number | null = null;
  private exp: number | null = null;
  private wrongInRow = 0;
  private warned = false;

  constructor(
    private readonly sign: MeterSign,
    private readonly log: Logger,
  ) {}

  /** `w`: the grid power after the sign setting (+ import); the two counters in kWh. */
  observe(w: number | null, imp: number | null, exp: number | null): void {
    const prevImp = this.imp;
    const prevExp = this.exp;
    if (imp !== null) this.imp = imp;
    if (exp !== null) this.exp = exp;
    if (w === null || imp === null || exp === null || prevImp === null || prevExp === null) return;
    const rose = { import: imp > prevImp, export: exp > prevExp };
    if (rose.import === rose.export || Math.abs(w) < MeterSignCheck.NOISE_W) return;
    const counted: MeterSign = rose.import ? 'import' : 'export';
    const says: MeterSign = w > 0 ? 'import' : 'export';
    if (says === counted) {
      this.wrongInRow = 0;
      if (this.warned) {
        this.warned = false;
        this.log.info({ grid_power_w: w, meter_sign: this.sign }, 'meter sign agrees with its counters again');
      }
      return;
    }
    if (++this.wrongInRow < 2 || this.warned) return;
    this.warned = true;
    const other: MeterSign = this.sign === 'import' ? 'export' : 'import';
    this.log.warn(
      { grid_power_w: w, rising_counter: counted === 'import' ? 'TotWhImp' : 'TotWhExp', meter_sign: this.sign },
      `meter sign looks the wrong way round: the power says ${says} while only the ${counted} counter rises; ` +
        `set meter_sign: ${other} for this device (SolarEdge meters count + as export)`,
    );
  }
}

/** Checks 802's power sign against its charge state (ChaSt), logging one warning on a mismatch. */
export class BatterySignCheck {
  static readonly NOISE_W = 50;
  private warned = false;

  constructor(
    private readonly sign: BatterySign,
    private readonly log: Logger,
  ) {}

  /** `w`: the battery power after the sign setting (+ charging); `state`: ChaSt's name. */
  observe(w: number | null, state: string | null): void {
    if (w === null || Math.abs(w) < BatterySignCheck.NOISE_W) return;
    const wrong = (state === 'charging' && w < 0) || (state === 'discharging' && w > 0);
    if (!wrong || this.warned) return;
    this.warned = true;
    this.log.warn(
      { battery_power_w: w, charge_state: state, battery_sign: this.sign },
      `battery sign looks the wrong way round: model 802 says ${state} while its power says the opposite; ` +
        `set battery_sign: ${this.sign === 'charge' ? 'discharge' : 'charge'} for this device`,
    );
  }
}

export interface SunSpecFieldOptions {
  meterSign: MeterSign;
  batterySign: BatterySign;
  log: Logger;
}

/** One cycle of a generic SunSpec device → snapshot fields and its own fields. */
export class SunSpecFields {
  private readonly meterCheck: MeterSignCheck;
  private readonly batteryCheck: BatterySignCheck;

  constructor(private readonly opts: SunSpecFieldOptions) {
    this.meterCheck = new MeterSignCheck(opts.meterSign, opts.log);
    this.batteryCheck = new BatterySignCheck(opts.batterySign, opts.log);
  }

  map(cycle: SunSpecCycle, identity: SunSpecIdentity | null): Fields {
    const first = (ids: ReadonlySet<number> | number) =>
      cycle.models.find((m) => (typeof ids === 'number' ? m.instance.id === ids : ids.has(m.instance.id)));
    const f: Fields = identityFields(identity);
    const inverter = first(INVERTERS);
    if (inverter) {
      f.pv_power_w = num(inverter, 'W');
      f.pv_total_kwh = times(num(inverter, 'WH'), 0.001);
      f.inverter_state = named(INVERTER_STATE, num(inverter, 'St'));
      f.inverter_dc_power_w = num(inverter, 'DCW');
      f.inverter_dc_voltage_v = num(inverter, 'DCV');
    }
    const status = first(122);
    if (status && (f.pv_total_kwh ?? null) === null) f.pv_total_kwh = times(num(status, 'ActWh'), 0.001);
    this.mppt(first(160), f);
    this.meter(first(METERS), f);
    this.battery(first(802), first(124), f);
    const plate = first(120);
    if (plate) {
      f.rated_power_w = num(plate, 'WRtg');
      if ((f.battery_capacity_kwh ?? null) === null) f.battery_capacity_kwh = times(num(plate, 'WHRtg'), 0.001);
    }
    const settings = first(121);
    if (settings) f.max_power_w = num(settings, 'WMax');
    const controls = first(123);
    if (controls) f.power_limit_pct = num(controls, 'WMaxLim_Ena') === 1 ? num(controls, 'WMaxLimPct') : null;
    return f;
  }

  private mppt(m: ModelValues | undefined, f: Fields): void {
    if (!m) return;
    for (let k = 1; k <= Math.min(m.instance.repeats, 4); k++) {
      if (k <= 2) {
        f[`mppt${k}_voltage_v`] = num(m, `module${k}.DCV`);
        f[`mppt${k}_current_a`] = num(m, `module${k}.DCA`);
      }
      f[`mppt${k}_power_w`] = num(m, `module${k}.DCW`);
    }
  }

  private meter(m: ModelValues | undefined, f: Fields): void {
    if (!m) return;
    const s = this.opts.meterSign === 'import' ? 1 : -1;
    f.grid_power_w = times(num(m, 'W'), s);
    const phases = ['A', 'B', 'C'] as const;
    phases.forEach((p, i) => {
      f[`power_l${i + 1}_w`] = times(num(m, `Wph${p}`), s);
      f[`voltage_l${i + 1}_v`] = num(m, `PhVph${p}`);
      f[`current_l${i + 1}_a`] = times(num(m, `Aph${p}`), s);
    });
    const imp = times(num(m, 'TotWhImp'), 0.001);
    const exp = times(num(m, 'TotWhExp'), 0.001);
    f.grid_import_kwh = imp;
    f.grid_export_kwh = exp;
    this.meterCheck.observe(f.grid_power_w, imp, exp);
  }

  private battery(b802: ModelValues | undefined, b124: ModelValues | undefined, f: Fields): void {
    if (b802) {
      const s = this.opts.batterySign === 'charge' ? 1 : -1;
      f.battery_power_w = times(num(b802, 'W'), s);
      f.battery_current_a = times(num(b802, 'A'), s);
      f.battery_voltage_v = num(b802, 'V');
      f.battery_soc_pct = num(b802, 'SoC');
      f.battery_soh_pct = num(b802, 'SoH');
      f.battery_capacity_kwh = times(num(b802, 'WHRtg'), 0.001);
      f.battery_state = named(CHARGE_STATE, num(b802, 'ChaSt'));
      this.batteryCheck.observe(f.battery_power_w, f.battery_state);
      return;
    }
    if (b124) {
      f.battery_soc_pct = num(b124, 'ChaState');
      f.battery_voltage_v = num(b124, 'InBatV');
      f.battery_state = named(CHARGE_STATE, num(b124, 'ChaSt'));
    }
  }
}

export type { FieldValue };
