/**
 * The TriStar's decoding without I/O: the MODBUS document's worked examples and the recorded values
 * of the fixtures' sources (test/fixtures/tristar-mppt/SOURCES.md), both encodings, how `auto`
 * tells them apart, half-floats, charge-state names and what is not available.
 */
import { describe, expect, it } from 'vitest';
import { tableProblems } from '../../../src/drivers/modbus/table-problems.js';
import {
  decodeReading,
  detectEncoding,
  type Encoding,
  scaled,
  scalesOf,
} from '../../../src/drivers/tristar-mppt/decode.js';
import { decodeHalf, encodeHalf } from '../../../src/drivers/tristar-mppt/half-float.js';
import { asHalfFloats } from '../../../src/drivers/tristar-mppt/recorded.js';
import {
  CHARGE_STATES,
  chargeStateName,
  faultNames,
  TRISTAR_TABLE,
  type TristarField,
} from '../../../src/drivers/tristar-mppt/registers.js';

/** Raw words by field, as the poller hands them over. */
const raw = (words: Partial<Record<TristarField, number>>) =>
  new Map<TristarField, number | null>(Object.entries(words) as Array<[TristarField, number]>);

/** A whole legacy reading at V_PU 180 / I_PU 80 (the ioBroker controller's scales). */
const NIGHT_12V = {
  v_pu_hi: 180,
  v_pu_lo: 0,
  i_pu_hi: 80,
  i_pu_lo: 0,
  adc_vb_f_med: 2445,
  adc_va_f: 60,
  adc_ib_f_shadow: 0,
  adc_ia_f_shadow: 0,
  t_hs: 4,
  t_rts: 5,
  charge_state: 3,
  power_out_shadow: 0,
  whc_daily: 0,
} as const;

describe('the register table', () => {
  it('is sound: PDU addresses on the wire, no overlaps, one read of 0x0000–0x0044', () => {
    expect(tableProblems(TRISTAR_TABLE.rows, 0)).toEqual([]);
    const wires = TRISTAR_TABLE.rows.map((r) => r.wire);
    expect(Math.min(...wires)).toBe(0);
    expect(Math.max(...wires)).toBe(0x44);
    // devices.md §5.2: battery voltage 0x0018, charge state 0x0032, output power 0x003A, kWh total 0x0039.
    const at = (f: TristarField) => TRISTAR_TABLE.rows.find((r) => r.field === f)?.wire;
    expect([at('adc_vb_f_med'), at('charge_state'), at('power_out_shadow'), at('kwhc_t'), at('whc_daily')]).toEqual([
      0x18, 0x32, 0x3a, 0x39, 0x44,
    ]);
  });
});

describe('V_PU/I_PU scaling (MODBUS document v10)', () => {
  it('joins the whole and fraction terms: p.8 (78.01425) and p.25 (123.876)', () => {
    expect(scalesOf(raw({ v_pu_hi: 0x004e, v_pu_lo: 0x03a6 })).vpu).toBeCloseTo(78.01425, 5);
    expect(scalesOf(raw({ v_pu_hi: 0x007b, v_pu_lo: 0xe041 })).vpu).toBeCloseTo(123.876, 3);
    expect(scalesOf(raw({ v_pu_hi: 0x007b, v_pu_lo: 0xe041 })).ipu).toBeNull();
  });

  it('p.25: 0x0DB0 at V_PU 123.876 is 13.25 V', () => {
    const r = raw({ v_pu_hi: 0x007b, v_pu_lo: 0xe041, adc_vb_f_med: 0x0db0 });
    expect(decodeReading(r, 'vpu').battery_voltage_v).toBe(13.25);
  });

  it('the ioBroker night (V_PU 180, I_PU 80): 2445 → 13.43 V, 60 → 0.33 V, night', () => {
    const v = decodeReading(raw(NIGHT_12V), 'vpu');
    expect(v).toMatchObject({
      battery_voltage_v: 13.43,
      mppt1_voltage_v: 0.33,
      mppt1_current_a: 0,
      charge_current_a: 0,
      pv_power_w: 0,
      pv_daily_kwh: 0,
      battery_temp_c: 5,
      heatsink_temp_c: 4,
      charge_state: 'night',
      encoding: 'vpu',
    });
  });

  it('currents are signed (dodo5522: 0xFFA8 at I_PU 80 is −0.21 A), power is not and uses both scales', () => {
    const scales = scalesOf(raw({ v_pu_hi: 180, v_pu_lo: 0, i_pu_hi: 80, i_pu_lo: 0 }));
    expect(scaled('adc_ib_f_shadow', 0xffa8, 'vpu', scales)).toBeCloseTo(-0.21484375, 8);
    // dodo5522's 24 V battery at 0x0026: 4512 → 24.785 V (voltages are signed too, but positive here).
    expect(scaled('adc_vb_f_med', 4512, 'vpu', scales)).toBeCloseTo(24.78515625, 8);
    // P = n·V_PU·I_PU·2^-17: 1000 W at 180/80 is raw 9102 (devices.md §5.4), and 0xFFFF stays positive.
    expect(scaled('power_out_shadow', 9102, 'vpu', scales)).toBeCloseTo(999.98, 2);
    expect(scaled('power_out_shadow', 0xffff, 'vpu', scales)).toBeCloseTo(7199.89, 2);
    const r = decodeReading(raw({ ...NIGHT_12V, adc_ib_f_shadow: 0xffa8, power_out_shadow: 9102 }), 'vpu');
    expect(r.charge_current_a).toBe(-0.21);
    expect(r.pv_power_w).toBe(1000);
  });

  it('without I_PU a voltage still scales, a current or power does not', () => {
    const r = decodeReading(
      raw({ v_pu_hi: 180, v_pu_lo: 0, adc_vb_f_med: 2445, adc_ib_f_shadow: 100, power_out_shadow: 9 }),
      'vpu',
    );
    expect(r.battery_voltage_v).toBe(13.43);
    expect(r.charge_current_a).toBeNull();
    expect(r.pv_power_w).toBeNull();
  });

  it('counters are unscaled: kWh total as it is, Wh today in kWh', () => {
    const r = decodeReading(raw({ ...NIGHT_12V, kwhc_t: 260, whc_daily: 1230 }), 'vpu');
    expect(r.pv_total_kwh).toBe(260);
    expect(r.pv_daily_kwh).toBe(1.23);
  });
});

describe('half-floats', () => {
  it('Campbell forum: 21226 is 55.3125 V; the seed’s 0x238E reads 0.0147', () => {
    expect(decodeHalf(21226)).toBe(55.3125);
    expect(decodeHalf(0x238e)).toBeCloseTo(0.01476, 5);
    expect(decodeReading(raw({ adc_vb_f_med: 21226 }), 'f16').battery_voltage_v).toBe(55.31);
  });

  it('signs, subnormals, zero; NaN and infinity are no reading (null)', () => {
    expect(decodeHalf(0x3c00)).toBe(1);
    expect(decodeHalf(0xc000)).toBe(-2);
    expect(decodeHalf(0x0001)).toBe(2 ** -24);
    expect(decodeHalf(0x8000)).toBe(0);
    expect(decodeHalf(0x7bff)).toBe(65504);
    expect(decodeHalf(0x7c00)).toBeNull();
    expect(decodeHalf(0xfc00)).toBeNull();
    expect(decodeHalf(0x7e00)).toBeNull();
    const r = decodeReading(raw({ adc_vb_f_med: 0x7e00, adc_ib_f_shadow: 0xc000 }), 'f16');
    expect(r.battery_voltage_v).toBeNull();
    expect(r.charge_current_a).toBe(-2);
  });

  it('every finite word survives encode(decode(word)); encoding rounds to the nearest', () => {
    let mismatches = 0;
    for (let w = 0; w < 0x10000; w++) {
      const v = decodeHalf(w);
      if (v !== null && v !== 0 && encodeHalf(v) !== w) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(encodeHalf(13.4307861328125)).toBe(0x4ab7);
    expect(encodeHalf(1e6)).toBe(0x7c00);
    expect(encodeHalf(null)).toBe(0x7e00);
  });

  it('a reading in half-floats gives the same values as the recording it was made from', () => {
    const wires = new Map(TRISTAR_TABLE.rows.map((r) => [r.field, r.wire]));
    const byWire = new Map<number, number>();
    for (const [f, w] of Object.entries(NIGHT_12V)) byWire.set(wires.get(f as TristarField) as number, w);
    byWire.set(wires.get('adc_ib_f_shadow') as number, 0xffa8);
    const f16 = asHalfFloats(byWire);
    const back = new Map<TristarField, number | null>();
    for (const [f, w] of wires) back.set(f, f16.get(w) ?? null);
    const legacy = decodeReading(raw({ ...NIGHT_12V, adc_ib_f_shadow: 0xffa8 }), 'vpu');
    expect({ ...decodeReading(back, 'f16'), encoding: 'vpu' }).toEqual(legacy);
    expect(f16.get(0x18)).toBe(0x4ab7);
  });
});

describe('auto: telling the encodings apart', () => {
  const both = (enc: Encoding, previous: Encoding | null = null) =>
    detectEncoding(raw(NIGHT_12V), previous).encoding === enc;

  it('takes the one encoding whose battery voltage is 8–80 V', () => {
    expect(both('vpu')).toBe(true);
    const d = detectEncoding(raw({ ...NIGHT_12V, adc_vb_f_med: encodeHalf(13.43) }), null);
    expect(d.encoding).toBe('f16');
    expect(d.battery.vpu).toBeCloseTo(105.07, 2); // the half-float's bits read as V_PU-scaled: implausible
    // No V_PU at all (Campbell): only the half-float can be read.
    expect(detectEncoding(raw({ adc_vb_f_med: 21226 }), null).encoding).toBe('f16');
  });

  it('when both are plausible, the target voltage decides; when it cannot, nothing is guessed', () => {
    const scalesP25 = { v_pu_hi: 0x007b, v_pu_lo: 0xe041 };
    // V_PU 123.876 (p.25): 0x4A00 is 12.0 V as a half-float and 71.6 V scaled: both plausible.
    const ambiguous = { ...scalesP25, adc_vb_f_med: 0x4a00 };
    // Target 0x4B33: 14.4 V as a half-float (1.2 × 12 V), 72.8 V scaled (1.02 × 71.6 V): both agree.
    expect(detectEncoding(raw({ ...ambiguous, vb_ref: 0x4b33 }), null).encoding).toBeNull();
    // Night (target 0) agrees with both.
    expect(detectEncoding(raw({ ...ambiguous, vb_ref: 0 }), null).encoding).toBeNull();
    // Target 0x4000: 2 V as a half-float (0.17 × 12 V), 61.9 V scaled (0.87 × 71.6 V): only scaled agrees.
    const d = detectEncoding(raw({ ...ambiguous, vb_ref: 0x4000 }), null);
    expect(d.encoding).toBe('vpu');
    expect(d.battery.f16).toBe(12);
    expect(d.battery.vpu).toBeCloseTo(71.616, 2);
    // Neither plausible: a 0 V battery.
    expect(detectEncoding(raw({ ...scalesP25, adc_vb_f_med: 0 }), null).encoding).toBeNull();
  });

  it('keeps an earlier choice while its battery voltage stays plausible, changes when it does not', () => {
    const ambiguous = { v_pu_hi: 0x007b, v_pu_lo: 0xe041, adc_vb_f_med: 0x4a00, vb_ref: 0 };
    expect(detectEncoding(raw(ambiguous), 'f16').encoding).toBe('f16');
    expect(detectEncoding(raw(ambiguous), 'vpu').encoding).toBe('vpu');
    expect(detectEncoding(raw(NIGHT_12V), 'f16').encoding).toBe('vpu');
  });

  it('an undecided reading has no scaled values, but its counters, temperatures and state', () => {
    const r = decodeReading(raw({ ...NIGHT_12V, kwhc_t: 12 }), null);
    expect(r).toMatchObject({
      battery_voltage_v: null,
      pv_power_w: null,
      mppt1_voltage_v: null,
      charge_current_a: null,
      pv_total_kwh: 12,
      pv_daily_kwh: 0,
      charge_state: 'night',
      heatsink_temp_c: 4,
      encoding: null,
    });
  });
});

describe('names and markers', () => {
  it('charge states 0–9 by name (devices.md §5.5); unknown codes say so', () => {
    expect(CHARGE_STATES.map((_, i) => chargeStateName(i))).toEqual([
      'start',
      'night_check',
      'disconnect',
      'night',
      'fault',
      'bulk',
      'absorption',
      'float',
      'equalize',
      'slave',
    ]);
    expect(chargeStateName(10)).toBe('unknown_10');
    expect(decodeReading(raw({ charge_state: 6 }), 'vpu').charge_state).toBe('absorption');
  });

  it('T_rts 0x80 is a disconnected sensor: no battery temperature; temperatures are signed', () => {
    expect(decodeReading(raw({ t_rts: 0x80 }), 'vpu').battery_temp_c).toBeNull();
    expect(decodeReading(raw({ t_rts: 0xfffb, t_hs: 0xfffe }), 'vpu')).toMatchObject({
      battery_temp_c: -5,
      heatsink_temp_c: -2,
    });
  });

  it('fault bits by the document’s names (p.11: 0x0013 = overcurrent, FETs shorted, array HVD)', () => {
    expect(faultNames(0x0013)).toEqual(['overcurrent', 'FETs shorted', 'array HVD']);
    expect(faultNames(0x8000)).toEqual(['fault bit 15']);
  });

  it('what the controller does not report is null, never 0', () => {
    const r = decodeReading(raw({}), 'vpu');
    for (const v of Object.values({ ...r, encoding: null })) expect(v).toBeNull();
  });
});
