/**
 * What an OutBack MATE3/MATE3s or AXS Port reports, in the snapshot's names, units and signs
 * (devices.md §4.6–§4.7). One hub carries several devices on its ports; the site sees one device
 * with the sums, and each port's values as its own fields (`cc3_pv_power_w`, `inverter1_mode`…).
 *
 * - PV: Σ FLEXmax CC_Watts (`pv_power_w`), Σ today's kWh, Σ lifetime kWh; the first two charge
 *   controllers' array voltage and current as `mppt1_*` / `mppt2_*`; `charge_state` from the first
 *   one (Silent, Float, Bulk, Absorb, EQ → silent, float, bulk, absorption, equalize).
 * - Battery: FLEXnet DC when there is one (voltage; current and Net_kW, + charging: net = input −
 *   output; SoC; temperature). Without it the voltage comes from a Radian/FX, then SunSpec 101's DCV,
 *   then a charge controller, and current, power and SoC stay null: nothing invented.
 * - AC: Σ Load_kW of the Radian/FX inverters as `load_power_w`; output, buy, sell and charger kW as
 *   the device's own fields. These are 0.1 kW steps (kWh_SF −1): 100 W resolution.
 * - No grid field: the hub's AC input may be a generator, and an off-grid site has no grid meter.
 * - SunSpec 101 on a MATE3S gives W and VA in kW and St = FAULT while inverting (devices.md §4.6):
 *   only its DCV is used.
 */
import type { SunSpecCycle, SunSpecIdentity } from '../sunspec/device.js';
import { type Fields, identityFields, num, times } from '../sunspec/fields.js';
import type { ModelLayout } from '../sunspec/models.js';
import type { ModelValues } from '../sunspec/table.js';

export const CHARGER_STATE: Readonly<Record<number, string>> = {
  0: 'silent',
  1: 'float',
  2: 'bulk',
  3: 'absorption',
  4: 'equalize',
};

export const INVERTER_MODE: Readonly<Record<number, string>> = {
  0: 'off',
  1: 'searching',
  2: 'inverting',
  3: 'charging',
  4: 'silent',
  5: 'float',
  6: 'equalize',
  7: 'charger_off',
  8: 'support',
  9: 'selling',
  10: 'pass_through',
  14: 'offsetting',
};

/** The per-port fields stop here, so the device stays within a snapshot's 64 fields per device. */
const MAX_FIELDS = 64;

/** Each inverter block's field prefix (the xlsx names differ per series). */
const INVERTER_PREFIX: Readonly<Record<number, string>> = { 64113: 'FX_', 64115: 'GS_Split_', 64117: 'GS_Single_' };

/** The points read of each layout (table.ts adds the scale factors). */
export function outbackPoints(layout: ModelLayout): readonly string[] {
  const id = layout.ids[0] ?? 0;
  if (id === 1) return ['Mn', 'Md', 'Vr', 'SN'];
  if (id === 101) return ['DCV'];
  if (id === 64111) {
    return [
      'CC_Port_number',
      'CC_Batt_Voltage',
      'CC_Array_Voltage',
      'CC_Batt_Current',
      'CC_Array_Current',
      'CC_Charger_State',
      'CC_Watts',
      'CC_Todays_kWH',
      'CC_Lifetime_kWH_Hours',
    ];
  }
  const prefix = INVERTER_PREFIX[id];
  if (prefix) {
    const mode = id === 64113 ? 'FX_Inverter_Operating_Mode' : `${prefix}Inverter_Operating_mode`;
    return [
      id === 64113 ? 'FX_Port_number' : `${prefix}Port_number`,
      `${prefix}Battery_Voltage`,
      mode,
      ...['Output', 'Buy', 'Sell', 'Charge', 'Load'].map((k) => `${prefix}${k}_kW`),
    ];
  }
  if (id === 64118) {
    return [
      'FN_Port_Number',
      'FN_Battery_Voltage',
      'FN_Battery_Current',
      'FN_Battery_Temperature',
      'FN_Input_kW',
      'FN_Output_kW',
      'FN_Net_kW',
      'FN_State_Of_Charge',
    ];
  }
  return [];
}

function name(table: Readonly<Record<number, string>>, code: number | null): string | null {
  return code === null ? null : (table[code] ?? `code_${code}`);
}

/** Σ of the non-null values; null when none is known. */
function sum(values: ReadonlyArray<number | null>, decimals = 3): number | null {
  let s: number | null = null;
  for (const v of values) if (v !== null) s = (s ?? 0) + v;
  return s === null ? null : times(s, 1, decimals);
}

interface Inverter {
  port: string;
  batteryV: number | null;
  mode: string | null;
  kw: Record<'Output' | 'Buy' | 'Sell' | 'Charge' | 'Load', number | null>;
}

function inverterOf(m: ModelValues): Inverter {
  const prefix = INVERTER_PREFIX[m.instance.id] ?? '';
  const fx = m.instance.id === 64113;
  const kw = (k: string) => times(num(m, `${prefix}${k}_kW`), 1000, 0);
  return {
    port: String(num(m, fx ? 'FX_Port_number' : `${prefix}Port_number`) ?? `at${m.instance.index}`),
    batteryV: num(m, `${prefix}Battery_Voltage`),
    mode: name(INVERTER_MODE, num(m, fx ? 'FX_Inverter_Operating_Mode' : `${prefix}Inverter_Operating_mode`)),
    kw: { Output: kw('Output'), Buy: kw('Buy'), Sell: kw('Sell'), Charge: kw('Charge'), Load: kw('Load') },
  };
}

/** One cycle of the hub → the site's fields, then each port's own. */
export function outbackFields(cycle: SunSpecCycle, identity: SunSpecIdentity | null): Fields {
  const f: Fields = identityFields(identity);
  const ccs = cycle.models.filter((m) => m.instance.id === 64111);
  const inverters = cycle.models.filter((m) => INVERTER_PREFIX[m.instance.id] !== undefined).map(inverterOf);
  const fndc = cycle.models.find((m) => m.instance.id === 64118);
  const sunspec = cycle.models.find((m) => [101, 102, 103].includes(m.instance.id));

  if (ccs.length > 0) {
    f.pv_power_w = sum(ccs.map((m) => num(m, 'CC_Watts')));
    f.pv_daily_kwh = sum(ccs.map((m) => num(m, 'CC_Todays_kWH')));
    f.pv_total_kwh = sum(ccs.map((m) => num(m, 'CC_Lifetime_kWH_Hours')));
    ccs.slice(0, 2).forEach((m, i) => {
      f[`mppt${i + 1}_voltage_v`] = num(m, 'CC_Array_Voltage');
      f[`mppt${i + 1}_current_a`] = num(m, 'CC_Array_Current');
    });
    f.charge_state = name(CHARGER_STATE, num(ccs[0], 'CC_Charger_State'));
  }
  f.battery_voltage_v =
    num(fndc, 'FN_Battery_Voltage') ??
    inverters.find((i) => i.batteryV !== null)?.batteryV ??
    num(sunspec, 'DCV') ??
    ccs.map((m) => num(m, 'CC_Batt_Voltage')).find((v) => v !== null) ??
    null;
  if (fndc) {
    f.battery_current_a = num(fndc, 'FN_Battery_Current');
    f.battery_power_w = times(num(fndc, 'FN_Net_kW'), 1000, 0);
    f.battery_soc_pct = num(fndc, 'FN_State_Of_Charge');
    f.battery_temp_c = num(fndc, 'FN_Battery_Temperature');
  }
  if (inverters.length > 0) {
    f.load_power_w = sum(
      inverters.map((i) => i.kw.Load),
      0,
    );
    f.inverter_mode = inverters[0]?.mode ?? null;
    f.ac_output_power_w = sum(
      inverters.map((i) => i.kw.Output),
      0,
    );
    f.ac_buy_power_w = sum(
      inverters.map((i) => i.kw.Buy),
      0,
    );
    f.ac_sell_power_w = sum(
      inverters.map((i) => i.kw.Sell),
      0,
    );
    f.charger_power_w = sum(
      inverters.map((i) => i.kw.Charge),
      0,
    );
  }
  if (fndc) {
    f.fndc_input_power_w = times(num(fndc, 'FN_Input_kW'), 1000, 0);
    f.fndc_output_power_w = times(num(fndc, 'FN_Output_kW'), 1000, 0);
  }
  perPort(f, ccs, inverters);
  return f;
}

/** Each charge controller's and inverter's own values, while the device has room for them. */
function perPort(f: Fields, ccs: readonly ModelValues[], inverters: readonly Inverter[]): void {
  const room = () => Object.keys(f).length;
  for (const m of ccs) {
    const p = `cc${num(m, 'CC_Port_number') ?? `at${m.instance.index}`}`;
    const own: Fields = {
      [`${p}_pv_power_w`]: num(m, 'CC_Watts'),
      [`${p}_charge_state`]: name(CHARGER_STATE, num(m, 'CC_Charger_State')),
      [`${p}_array_voltage_v`]: num(m, 'CC_Array_Voltage'),
      [`${p}_battery_current_a`]: num(m, 'CC_Batt_Current'),
      [`${p}_daily_kwh`]: num(m, 'CC_Todays_kWH'),
    };
    if (room() + Object.keys(own).length > MAX_FIELDS) return;
    Object.assign(f, own);
  }
  for (const inv of inverters) {
    const p = `inverter${inv.port}`;
    const own: Fields = {
      [`${p}_mode`]: inv.mode,
      [`${p}_load_power_w`]: inv.kw.Load,
      [`${p}_output_power_w`]: inv.kw.Output,
      [`${p}_battery_voltage_v`]: inv.batteryV,
    };
    if (room() + Object.keys(own).length > MAX_FIELDS) return;
    Object.assign(f, own);
  }
}
