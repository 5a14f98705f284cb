/**
 * A register row's value from its words and back (simulators are the inverse of drivers): integers
 * of any width and word order, scale and sign, SunSpec scale factors, enums, strings and the
 * not-available markers (register-table.ts). Pure: no I/O.
 */
import {
  DEFAULT_MARKERS,
  MARKERS_SUNSPEC,
  type Markers,
  type NumericType,
  type RegisterRow,
  rowLength,
} from './register-table.js';

/** The raw register value as an UNSIGNED integer of the row's width (for marker checks). */
export function rawUnsigned(row: RegisterRow, words: readonly number[]): bigint {
  const n = row.type === 'utf8' ? 0 : rowLength(row);
  const ws = Array.from({ length: n }, (_, i) => BigInt((words[i] ?? 0) & 0xffff));
  if (n > 1 && (row.words ?? 'msw') === 'lsw') ws.reverse();
  let u = 0n;
  for (const w of ws) u = (u << 16n) | w;
  return u;
}

/** The raw signed/unsigned integer as a bigint (64-bit rows keep every bit). */
export function rawBigInt(row: RegisterRow, words: readonly number[]): bigint {
  const u = rawUnsigned(row, words);
  switch (row.type) {
    case 's16':
      return BigInt.asIntN(16, u);
    case 's32':
      return BigInt.asIntN(32, u);
    case 's64':
      return BigInt.asIntN(64, u);
    default:
      return u;
  }
}

/** True when the row's words hold one of the table's not-available markers. */
export function isMarker(row: RegisterRow, words: readonly number[], markers: Markers = DEFAULT_MARKERS): boolean {
  if (row.type === 'utf8') return false;
  const list = markers[row.type];
  if (!list || list.length === 0) return false;
  const u = rawUnsigned(row, words);
  return list.includes(u);
}

/** The raw integer of a numeric row from its words (no scale, no marker check). */
export function rawInteger(row: RegisterRow, words: readonly number[]): number {
  const w0 = (words[0] ?? 0) & 0xffff;
  switch (row.type) {
    case 'u16':
      return w0;
    case 's16':
      return w0 >= 0x8000 ? w0 - 0x10000 : w0;
    case 'u32':
    case 's32': {
      const w1 = (words[1] ?? 0) & 0xffff;
      const [lo, hi] = (row.words ?? 'msw') === 'lsw' ? [w0, w1] : [w1, w0];
      const u = hi * 0x10000 + lo;
      return row.type === 's32' && u >= 0x80000000 ? u - 0x100000000 : u;
    }
    case 'u64':
    case 's64':
      return Number(rawBigInt(row, words));
    case 'utf8':
      throw new Error(`register ${row.doc} (${row.field}) is a string, not a number`);
  }
}

/** Decimal places a scale implies (0.1 → 1, 0.01 → 2, 1 → 0), to round away float noise. */
function decimalsOf(scale: number): number {
  const a = Math.abs(scale);
  if (a >= 1 || a === 0) return 0;
  return Math.min(6, Math.ceil(-Math.log10(a) - 1e-9));
}

function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  const r = Math.round(x * f) / f;
  return Object.is(r, -0) ? 0 : r;
}

/** Decodes a utf8 row: bytes big-endian within each word, trailing NULs and spaces removed. */
export function decodeString(row: RegisterRow, words: readonly number[]): string | null {
  const n = rowLength(row);
  const buf = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) buf.writeUInt16BE((words[i] ?? 0) & 0xffff, i * 2);
  const end = buf.indexOf(0);
  const text = buf
    .subarray(0, end < 0 ? buf.length : end)
    .toString('utf8')
    .trim();
  return text === '' ? null : text;
}

/**
 * The field's value from the row's words: scaled and signed, null for a not-available marker.
 * `sf`: the SunSpec scale factor for rows with `scaleFrom` (value × 10^sf; null → null).
 */
export function decodeRow(
  row: RegisterRow,
  words: readonly number[],
  markers: Markers = DEFAULT_MARKERS,
  sf?: number | null,
): number | null {
  if (row.type === 'utf8') throw new Error(`register ${row.doc} (${row.field}) is a string: use decodeString`);
  if (isMarker(row, words, markers)) return null;
  const raw = rawInteger(row, words);
  let scale = row.scale;
  if (row.scaleFrom !== undefined) {
    if (sf === null || sf === undefined || !Number.isInteger(sf) || Math.abs(sf) > 10) return null;
    scale = row.scale * 10 ** sf;
  }
  const v = round(raw * scale, decimalsOf(scale));
  return row.negate ? (v === 0 ? 0 : -v) : v;
}

/** An enum row's name for a code (unknown codes as `0x…`). */
export function enumName(row: RegisterRow, code: number): string {
  return row.enum?.[code] ?? `0x${code.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** Decodes any row: strings, enum names, or numbers (see decodeRow). */
export function decodeValue(
  row: RegisterRow,
  words: readonly number[],
  markers: Markers = DEFAULT_MARKERS,
  sf?: number | null,
): number | string | null {
  if (row.type === 'utf8') return decodeString(row, words);
  if (row.enum) {
    if (isMarker(row, words, markers)) return null;
    return enumName(row, rawInteger(row, words));
  }
  return decodeRow(row, words, markers, sf);
}

const RANGE: Readonly<Record<NumericType, readonly [number, number]>> = {
  u16: [0, 0xffff],
  s16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  s32: [-0x80000000, 0x7fffffff],
  u64: [0, Number.MAX_SAFE_INTEGER],
  s64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/**
 * The inverse of decodeRow: the words a device would hold for `value` (null → the marker).
 * Values outside the type's range are clamped to it (and never onto the marker).
 */
export function encodeRow(
  row: RegisterRow,
  value: number | null,
  markers: Markers = DEFAULT_MARKERS,
  sf?: number | null,
): number[] {
  if (row.type === 'utf8') throw new Error(`register ${row.doc} (${row.field}) is a string: use encodeString`);
  const type = row.type;
  const scale = row.scaleFrom !== undefined && typeof sf === 'number' ? row.scale * 10 ** sf : row.scale;
  if (type === 'u64' || type === 's64') return encodeWide(row, value, markers, scale);
  let raw: number;
  const marker = markers[type]?.[0];
  if (value === null || !Number.isFinite(value)) {
    raw = marker === undefined ? 0 : Number(marker);
  } else {
    const [lo, hi] = RANGE[type];
    raw = Math.round((row.negate ? -value : value) / scale);
    raw = Math.min(hi, Math.max(lo, raw));
    const list = markers[type] ?? [];
    const unsigned = (r: number) => BigInt(type === 's16' ? r & 0xffff : type === 's32' ? r >>> 0 : r);
    // Never onto a marker: step towards zero.
    while (list.includes(unsigned(raw))) raw += raw > 0 ? -1 : 1;
  }
  if (type === 'u16' || type === 's16') return [raw & 0xffff];
  const u = raw >>> 0;
  const hiWord = Math.floor(u / 0x10000) & 0xffff;
  const loWord = u & 0xffff;
  return (row.words ?? 'msw') === 'lsw' ? [loWord, hiWord] : [hiWord, loWord];
}

/** encodeRow for 64-bit rows (values beyond 2^53 are clamped to the safe-integer range). */
function encodeWide(row: RegisterRow, value: number | null, markers: Markers, scale: number): number[] {
  const type = row.type as 'u64' | 's64';
  let u: bigint;
  if (value === null || !Number.isFinite(value)) {
    u = markers[type]?.[0] ?? 0n;
  } else {
    const [lo, hi] = RANGE[type];
    const raw = Math.min(hi, Math.max(lo, Math.round((row.negate ? -value : value) / scale)));
    u = BigInt.asUintN(64, BigInt(raw));
    const list = markers[type] ?? [];
    if (list.includes(u)) u = BigInt.asUintN(64, BigInt(raw > 0 ? raw - 1 : raw + 1));
  }
  const out: number[] = [];
  for (let i = 3; i >= 0; i--) out.push(Number((u >> BigInt(16 * i)) & 0xffffn));
  return (row.words ?? 'msw') === 'lsw' ? out.reverse() : out;
}

/** The words holding `text` in a utf8 row (UTF-8, NUL-padded, cut to the row's length). */
export function encodeString(row: RegisterRow, text: string | null): number[] {
  const n = rowLength(row);
  const buf = Buffer.alloc(n * 2);
  if (text !== null) buf.write(text, 0, n * 2, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(buf.readUInt16BE(i * 2));
  return out;
}

/**
 * Decodes rows from their words: scale-factor rows first, so rows with `scaleFrom` use the SF read
 * in the same cycle. Rows without words are left out.
 */
export function decodeRows<F extends string>(
  rows: readonly RegisterRow<F>[],
  words: ReadonlyMap<F, readonly number[]>,
  markers: Markers = DEFAULT_MARKERS,
): Map<F, number | string | null> {
  const out = new Map<F, number | string | null>();
  const byField = new Map(rows.map((r) => [r.field, r] as const));
  const sfOf = (field: F | undefined): number | null => {
    if (field === undefined) return null;
    const sfRow = byField.get(field);
    const w = words.get(field);
    if (!sfRow || !w) return null;
    const v = decodeRow({ ...sfRow, scale: 1, negate: false, scaleFrom: undefined }, w, MARKERS_SUNSPEC);
    return v;
  };
  for (const r of rows) {
    const w = words.get(r.field);
    if (!w) continue;
    out.set(r.field, decodeValue(r, w, markers, r.scaleFrom === undefined ? undefined : sfOf(r.scaleFrom)));
  }
  return out;
}
