/**
 * IEEE 754 half precision (binary16): 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
 * Newer Morningstar firmware sends its scaled values in this form at the registers that held
 * V_PU/I_PU-scaled integers (devices.md §5.4). Pure; no I/O.
 */

/** The value of a half-float word; NaN and ±infinity (exponent all ones) are null: no reading. */
export function decodeHalf(word: number): number | null {
  const w = word & 0xffff;
  const sign = w & 0x8000 ? -1 : 1;
  const exponent = (w >> 10) & 0x1f;
  const mantissa = w & 0x3ff;
  if (exponent === 0x1f) return null;
  // Subnormal (exponent 0): no leading 1, fixed exponent −14.
  const magnitude = exponent === 0 ? (mantissa / 1024) * 2 ** -14 : (1 + mantissa / 1024) * 2 ** (exponent - 15);
  return magnitude === 0 ? 0 : sign * magnitude;
}

const MAX_HALF = 65504;

/**
 * The half-float word nearest to `value` (ties to even), for the simulator. Values beyond the
 * largest half (65504) become ±infinity; NaN or null becomes the quiet NaN 0x7E00.
 */
export function encodeHalf(value: number | null): number {
  if (value === null || Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a === 0) return sign;
  if (a > MAX_HALF) return sign | 0x7c00;
  let exponent = Math.floor(Math.log2(a));
  if (exponent < -14) {
    // Subnormal: units of 2^-24.
    const units = roundHalfEven(a / 2 ** -24);
    return sign | units; // 1024 units carry into the smallest normal, as the bit pattern says
  }
  // log2 can land one off for values next to a power of two.
  if (2 ** exponent > a) exponent--;
  if (2 ** (exponent + 1) <= a) exponent++;
  let mantissa = roundHalfEven((a / 2 ** exponent - 1) * 1024);
  if (mantissa === 1024) {
    mantissa = 0;
    exponent++;
  }
  if (exponent > 15) return sign | 0x7c00;
  return sign | ((exponent + 15) << 10) | mantissa;
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
