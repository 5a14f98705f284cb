/**
 * From the TriStar's raw register words to snapshot fields: which encoding the controller uses,
 * and the values in it. Pure; the source (source.ts) and the tests call it.
 *
 * Two encodings share the same addresses (devices.md §5.3–§5.4):
 * - `vpu` (the MODBUS document v10): V = n·V_PU·2^-15, I = n·I_PU·2^-15, P = n·V_PU·I_PU·2^-17,
 *   with V_PU = [0x0000] + [0x0001]/2^16 and I_PU = [0x0002] + [0x0003]/2^16 from the same read;
 * - `f16` (newer firmware): the word is an IEEE half-float in V, A or W.
 * `auto` decides per reading: the battery voltage (0x0018) is decoded both ways and the encoding
 * that gives a battery voltage of 8–80 V is kept; when both do, the target voltage (0x0033) must
 * agree with it (0 at night, else 0.75–1.35 × the battery voltage); when neither or both still do,
 * the reading has no scaled values (the counters, temperatures and state are the same either way).
 * A choice once made is kept while its battery voltage stays plausible.
 */

import { decodeHalf } from './half-float.js';
import {
  chargeStateName,
  isSignedQuantity,
  QUANTITY_OF,
  type Quantity,
  RTS_DISCONNECTED,
  type TristarField,
} from './registers.js';

export type Encoding = 'vpu' | 'f16';
export type EncodingSetting = Encoding | 'auto';

/** One reading's raw words by field; null or absent = the register was not read. */
export type RawWords = ReadonlyMap<TristarField, number | null>;

/** Battery voltages a TriStar MPPT can regulate (12–48 V nominal systems), V. */
export const PLAUSIBLE_BATTERY_V: readonly [number, number] = [8, 80];
/** Target voltage / battery voltage while charging, for telling the encodings apart. */
const TARGET_RATIO: readonly [number, number] = [0.75, 1.35];

export interface Scales {
  /** V_PU (null: registers 0x0000–0x0001 not read, or 0). */
  vpu: number | null;
  /** I_PU (null: registers 0x0002–0x0003 not read, or 0). */
  ipu: number | null;
}

/** V_PU and I_PU from registers 0–3 (a voltage needs only V_PU: the document's own example). */
export function scalesOf(raw: RawWords): Scales {
  const join = (hi: TristarField, lo: TristarField): number | null => {
    const h = raw.get(hi) ?? null;
    const l = raw.get(lo) ?? null;
    if (h === null || l === null) return null;
    const v = h + l / 65536;
    return v > 0 ? v : null;
  };
  return { vpu: join('v_pu_hi', 'v_pu_lo'), ipu: join('i_pu_hi', 'i_pu_lo') };
}

/** A scaled row's value in one encoding (null: not read, or the encoding cannot say). */
export function scaled(
  field: TristarField,
  word: number | null | undefined,
  enc: Encoding,
  scales: Scales,
): number | null {
  if (word === null || word === undefined) return null;
  const q = QUANTITY_OF.get(field);
  if (enc === 'f16') return decodeHalf(word);
  const n = q && isSignedQuantity(q) && word >= 0x8000 ? word - 0x10000 : word;
  const { vpu, ipu } = scales;
  switch (q) {
    case 'voltage':
      return vpu === null ? null : (n * vpu) / 32768;
    case 'current':
      return ipu === null ? null : (n * ipu) / 32768;
    case 'power':
      return vpu === null || ipu === null ? null : (n * vpu * ipu) / 131072;
    default:
      throw new Error(`${field} is not a scaled row`);
  }
}

export interface Detection {
  /** The encoding of this reading, or null when it cannot be told. */
  encoding: Encoding | null;
  /** The battery voltage each way (null: cannot be decoded that way), for the log. */
  battery: Record<Encoding, number | null>;
  /** Why, in words, for the log. */
  reason: string;
}

const plausible = (v: number | null): v is number =>
  v !== null && v >= PLAUSIBLE_BATTERY_V[0] && v <= PLAUSIBLE_BATTERY_V[1];

/** Which encoding a reading is in (see the header); `previous` is the last choice, kept while it fits. */
export function detectEncoding(raw: RawWords, previous: Encoding | null): Detection {
  const scales = scalesOf(raw);
  const word = raw.get('adc_vb_f_med') ?? null;
  const battery: Record<Encoding, number | null> = {
    vpu: scaled('adc_vb_f_med', word, 'vpu', scales),
    f16: scaled('adc_vb_f_med', word, 'f16', scales),
  };
  if (word === null) return { encoding: previous, battery, reason: 'battery voltage (0x0018) not read' };
  if (previous && plausible(battery[previous])) return { encoding: previous, battery, reason: 'as before' };
  const fits = (['vpu', 'f16'] as const).filter((e) => plausible(battery[e]));
  if (fits.length === 1) {
    const [only] = fits;
    return { encoding: only ?? null, battery, reason: `only ${only} gives a battery voltage of 8–80 V` };
  }
  if (fits.length === 0)
    return { encoding: null, battery, reason: 'neither encoding gives a battery voltage of 8–80 V' };
  const target = raw.get('vb_ref') ?? null;
  const agrees = fits.filter((e) => {
    const t = scaled('vb_ref', target, e, scales);
    const v = battery[e] as number;
    return t !== null && (t === 0 || (t / v >= TARGET_RATIO[0] && t / v <= TARGET_RATIO[1]));
  });
  if (agrees.length === 1) {
    const [only] = agrees;
    return { encoding: only ?? null, battery, reason: `both plausible; only ${only} agrees with the target voltage` };
  }
  return { encoding: null, battery, reason: 'both encodings give a plausible battery and target voltage' };
}

/** What a reading gives: snapshot fields and the device's own values. */
export interface TristarValues {
  /** Snapshot fields (names, units and signs of core/snapshot.ts). */
  battery_voltage_v: number | null;
  pv_power_w: number | null;
  pv_daily_kwh: number | null;
  pv_total_kwh: number | null;
  mppt1_voltage_v: number | null;
  mppt1_current_a: number | null;
  battery_temp_c: number | null;
  charge_state: string | null;
  /** The controller's output current to the battery bus (+ charging); not the battery's net current. */
  charge_current_a: number | null;
  /** The voltage the controller charges to now (temperature compensated); 0 at night. */
  target_voltage_v: number | null;
  heatsink_temp_c: number | null;
  /** The encoding the scaled values were read in (null: not known, scaled values null). */
  encoding: Encoding | null;
}

const round = (x: number | null, decimals: number): number | null => {
  if (x === null || !Number.isFinite(x)) return null;
  const f = 10 ** decimals;
  const r = Math.round(x * f) / f;
  return Object.is(r, -0) ? 0 : r;
};

/** A signed 16-bit integer row (temperatures). */
const s16 = (w: number | null | undefined): number | null =>
  w === null || w === undefined ? null : w >= 0x8000 ? w - 0x10000 : w;

/**
 * The values of one reading in `encoding` (null: the scaled values are null). Voltages and currents
 * to 0.01, power to 0.1 W (the older encoding's steps at V_PU 180 / I_PU 80 are 5.5 mV, 2.4 mA and
 * 0.11 W).
 */
export function decodeReading(raw: RawWords, encoding: Encoding | null): TristarValues {
  const scales = scalesOf(raw);
  const value = (f: TristarField, decimals: number) =>
    encoding === null ? null : round(scaled(f, raw.get(f), encoding, scales), decimals);
  const int = (f: TristarField) => raw.get(f) ?? null;
  const state = int('charge_state');
  const rts = s16(int('t_rts'));
  const wh = int('whc_daily');
  const power = value('power_out_shadow', 1);
  return {
    battery_voltage_v: value('adc_vb_f_med', 2),
    // Output power to the battery: what the array delivers after the controller's losses. Never
    // negative (the document's power is unsigned; a half-float −0 is 0).
    pv_power_w: power === null ? null : Math.max(0, power),
    pv_daily_kwh: wh === null ? null : wh / 1000,
    pv_total_kwh: int('kwhc_t'),
    mppt1_voltage_v: value('adc_va_f', 2),
    mppt1_current_a: value('adc_ia_f_shadow', 2),
    battery_temp_c: rts === null || rts === RTS_DISCONNECTED ? null : rts,
    charge_state: state === null ? null : chargeStateName(state),
    charge_current_a: value('adc_ib_f_shadow', 2),
    target_voltage_v: value('vb_ref', 2),
    heatsink_temp_c: s16(int('t_hs')),
    encoding,
  };
}

/** The quantities of the rows (re-exported for the simulator's encoder). */
export type { Quantity };
