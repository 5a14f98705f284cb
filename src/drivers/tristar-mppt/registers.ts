/**
 * The Morningstar TriStar MPPT RAM registers the driver reads: data, not code. Driver and simulator
 * both use it.
 *
 * Source: TriStar MPPT MODBUS Document v10 (05 Dec 2011) pp. 3–4 and 8–17, as quoted with its
 * mirrors in the shared guide devices.md §5.2. Conventions:
 * - The RAM answers FC03 (holding) and FC04 (input) alike; "PDU Addr" is the wire address and the
 *   document's "Logical Addr" is wire + 1. `doc` below is the PDU address (addressing `doc`).
 * - Every row is read as its raw 16-bit word (scale 1, no not-available marker): what a word means
 *   depends on the controller's encoding, which the driver decides per reading (decode.ts):
 *   `voltage`, `current` and `power` rows are n·V_PU·2^-15, n·I_PU·2^-15 and n·V_PU·I_PU·2^-17 on
 *   older firmware (signed where the document ticks "Signed"), IEEE half-floats on newer firmware
 *   (devices.md §5.4); `count` rows (kWh, Wh), temperatures, the state and the bitfields are
 *   integers either way.
 * - 32-bit values (V_PU, I_PU) are HI word first; they are read as two rows and joined by the driver.
 * All rows lie in 0x0000–0x0044, one read of 69 registers (the controller takes one block read per
 * connection; the pollers in devices.md §5.1 read 0–59 or 0–79 at once).
 */
import { defineTable, type RowSpec } from '../modbus/register-table.js';

export type TristarField =
  | 'v_pu_hi'
  | 'v_pu_lo'
  | 'i_pu_hi'
  | 'i_pu_lo'
  | 'ver_sw'
  | 'adc_vb_f_med'
  | 'adc_va_f'
  | 'adc_ib_f_shadow'
  | 'adc_ia_f_shadow'
  | 't_hs'
  | 't_rts'
  | 'fault_all'
  | 'charge_state'
  | 'vb_ref'
  | 'kwhc_t'
  | 'power_out_shadow'
  | 'whc_daily';

/** How a row's word becomes a quantity (see the header). */
export type Quantity = 'voltage' | 'current' | 'power' | 'integer' | 'signed' | 'scale';

interface TristarRow extends RowSpec<TristarField> {
  quantity: Quantity;
}

const row = (doc: number, field: TristarField, quantity: Quantity, unit: string, note: string): TristarRow => ({
  field,
  fn: 'holding',
  doc,
  type: 'u16',
  scale: 1,
  unit,
  quantity,
  note,
});

export const TRISTAR_ROWS: readonly TristarRow[] = [
  row(0x0000, 'v_pu_hi', 'scale', 'V', 'V_PU whole term (logical 1)'),
  row(0x0001, 'v_pu_lo', 'scale', '', 'V_PU fraction: V_PU = hi + lo / 2^16 (logical 2)'),
  row(0x0002, 'i_pu_hi', 'scale', 'A', 'I_PU whole term (logical 3)'),
  row(0x0003, 'i_pu_lo', 'scale', '', 'I_PU fraction (logical 4)'),
  row(0x0004, 'ver_sw', 'integer', '', 'controller firmware, BCD (logical 5)'),
  row(0x0018, 'adc_vb_f_med', 'voltage', 'V', 'battery voltage, filtered, used for regulation (logical 25)'),
  row(0x001b, 'adc_va_f', 'voltage', 'V', 'array (solar input) voltage (logical 28)'),
  row(0x001c, 'adc_ib_f_shadow', 'current', 'A', 'charge current to the battery, on-board shunts (logical 29)'),
  row(0x001d, 'adc_ia_f_shadow', 'current', 'A', 'array current: "may differ … by +/- 20%" (logical 30)'),
  row(0x0023, 't_hs', 'signed', '°C', 'heatsink temperature, −127…127 (logical 36)'),
  row(0x0024, 't_rts', 'signed', '°C', 'remote temperature sensor; 0x80 = disconnected (logical 37)'),
  row(0x002c, 'fault_all', 'integer', '', 'fault bitfield (logical 45)'),
  row(0x0032, 'charge_state', 'integer', '', 'charge state 0–9 (logical 51)'),
  row(0x0033, 'vb_ref', 'voltage', 'V', 'target regulation voltage; 0 at night (logical 52)'),
  row(0x0039, 'kwhc_t', 'integer', 'kWh', 'kWh charge, total counter, no scaling (logical 58)'),
  row(0x003a, 'power_out_shadow', 'power', 'W', 'output power to the battery, unsigned (logical 59)'),
  row(0x0044, 'whc_daily', 'integer', 'Wh', "today's Wh charge, no scaling, steps of 10 Wh (logical 69)"),
];

export const TRISTAR_TABLE = defineTable<TristarField>({
  addressing: 'doc',
  words: 'msw',
  // No not-available marker in this map: every word is a reading (T_rts's 0x80 is handled apart).
  markers: {},
  rows: TRISTAR_ROWS,
});

export const QUANTITY_OF: ReadonlyMap<TristarField, Quantity> = new Map(TRISTAR_ROWS.map((r) => [r.field, r.quantity]));

/**
 * Signed rows of the older encoding (the document's "Signed" column): voltages and currents are
 * two's complement; power is not.
 */
export function isSignedQuantity(q: Quantity): boolean {
  return q === 'voltage' || q === 'current' || q === 'signed';
}

/** T_rts when no remote temperature sensor is connected (document p.3). */
export const RTS_DISCONNECTED = 0x80;

/**
 * Charge states (wire 0x0032), snake_case for the snapshot's `charge_state`: the document's START …
 * SLAVE; MPPT is the bulk stage (Morningstar's PROSTAR-MPPT MIB names it bulkMppt), so it is `bulk`.
 * Sources in devices.md §5.5.
 */
export const CHARGE_STATES: readonly string[] = [
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
];

/** The name of a charge state code; a code the document does not list is `unknown_<code>`. */
export function chargeStateName(code: number): string {
  return CHARGE_STATES[code] ?? `unknown_${code}`;
}

/** Fault bits of wire 0x002C (document p.11), bit 0 first. */
export const FAULT_BITS: readonly string[] = [
  'overcurrent',
  'FETs shorted',
  'software bug',
  'battery HVD',
  'array HVD',
  'settings switch changed',
  'custom settings edit',
  'RTS shorted',
  'RTS disconnected',
  'EEPROM retry limit',
  'reserved',
  'slave control timeout',
];

/** The names of the set bits of a fault word (unnamed bits as `fault bit N`). */
export function faultNames(bits: number): string[] {
  const out: string[] = [];
  for (let b = 0; b < 16; b++) if (bits & (1 << b)) out.push(FAULT_BITS[b] ?? `fault bit ${b}`);
  return out;
}
