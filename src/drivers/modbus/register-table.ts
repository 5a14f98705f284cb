/**
 * Register tables: device knowledge as data (docs/architecture.md, idea 1). A row says where a value
 * lives (function, documented number, wire address), how it is encoded (type, word order) and how
 * to turn the raw integer into the named quantity (scale, sign). This module decodes rows from
 * register words, encodes them back (simulators are the inverse of drivers), and plans grouped
 * reads. Pure: no I/O. Vendor tables live beside their drivers (sungrow/registers.ts).
 */

/** FC04 input registers (read-only data) or FC03 holding registers (settings). */
export type RegisterFn = 'input' | 'holding';
export type RegisterType = 'u16' | 's16' | 'u32' | 's32' | 'utf8';
/** 32-bit word order: `lsw` = low word first (Sungrow), `msw` = high word first (Huawei, SunSpec). */
export type WordOrder = 'lsw' | 'msw';

export interface RegisterRow<F extends string = string> {
  /** Name of the quantity, with unit and sign in the name (`battery_power_w`: + charging). */
  field: F;
  fn: RegisterFn;
  /** Register number as the vendor's protocol document prints it. */
  doc: number;
  /** Address put in the Modbus PDU (Sungrow: doc − 1; Huawei: doc). */
  wire: number;
  type: RegisterType;
  /** 32-bit types: word order. Required for u32/s32. */
  words?: WordOrder;
  /** utf8: number of registers (2 bytes each). */
  count?: number;
  /** value = raw × scale (then negated when `negate`). 1 for enums and strings. */
  scale: number;
  /** The device's sign is the opposite of the field's: value = −(raw × scale). */
  negate?: boolean;
  /** Unit of the field's value ('W', 'kWh', '%', '°C', 'V', 'A', '' for enums). */
  unit: string;
  /** `cycle` (default): read every poll. `start`: read once after connecting (identity). */
  poll?: 'cycle' | 'start';
  /** Where the row comes from and anything surprising about it. */
  note?: string;
}

/**
 * Raw values that mean "not available" (Sungrow, per mkaiser's `nan_value`: 0xFFFF for U16 and
 * 0x7FFFFFFF for S32; the U32 and S16 markers are the same convention: all ones / the largest
 * positive value). A decoded marker is null, never a number.
 */
export const NOT_AVAILABLE: Readonly<Record<Exclude<RegisterType, 'utf8'>, number>> = {
  u16: 0xffff,
  s16: 0x7fff,
  u32: 0xffffffff,
  s32: 0x7fffffff,
};

/** Number of 16-bit registers a row occupies. */
export function rowLength(row: RegisterRow): number {
  switch (row.type) {
    case 'u16':
    case 's16':
      return 1;
    case 'u32':
    case 's32':
      return 2;
    case 'utf8':
      return row.count ?? 1;
  }
}

/** One past the last wire address of the row. */
export function rowEnd(row: RegisterRow): number {
  return row.wire + rowLength(row);
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

/** The field's value from the row's words: scaled and signed, null for a not-available marker. */
export function decodeRow(row: RegisterRow, words: readonly number[]): number | null {
  if (row.type === 'utf8') throw new Error(`register ${row.doc} (${row.field}) is a string: use decodeString`);
  const raw = rawInteger(row, words);
  const unsignedRaw = row.type === 's16' ? raw & 0xffff : row.type === 's32' ? raw >>> 0 : raw;
  if (unsignedRaw === NOT_AVAILABLE[row.type]) return null;
  const v = round(raw * row.scale, decimalsOf(row.scale));
  return row.negate ? (v === 0 ? 0 : -v) : v;
}

const RANGE: Readonly<Record<Exclude<RegisterType, 'utf8'>, readonly [number, number]>> = {
  u16: [0, 0xffff],
  s16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  s32: [-0x80000000, 0x7fffffff],
};

/**
 * The inverse of decodeRow: the words a device would hold for `value` (null → the marker).
 * Values outside the type's range are clamped to it (and never onto the marker).
 */
export function encodeRow(row: RegisterRow, value: number | null): number[] {
  if (row.type === 'utf8') throw new Error(`register ${row.doc} (${row.field}) is a string: use encodeString`);
  const type = row.type;
  let raw: number;
  if (value === null || !Number.isFinite(value)) {
    raw = NOT_AVAILABLE[type];
  } else {
    const [lo, hi] = RANGE[type];
    raw = Math.round((row.negate ? -value : value) / row.scale);
    raw = Math.min(hi, Math.max(lo, raw));
    const u = type === 's16' ? raw & 0xffff : type === 's32' ? raw >>> 0 : raw;
    if (u === NOT_AVAILABLE[type]) raw -= 1;
  }
  if (type === 'u16' || type === 's16') return [raw & 0xffff];
  const u = raw >>> 0;
  const hiWord = Math.floor(u / 0x10000) & 0xffff;
  const loWord = u & 0xffff;
  return (row.words ?? 'msw') === 'lsw' ? [loWord, hiWord] : [hiWord, loWord];
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
 * Problems with a table, one line each (empty: the table is sound): wire ≠ doc − docOffset,
 * overlapping rows, 32-bit rows without a word order, strings without a count, duplicate fields.
 */
export function tableProblems(rows: readonly RegisterRow[], docOffset: number): string[] {
  const out: string[] = [];
  const fields = new Set<string>();
  for (const r of rows) {
    if (r.wire !== r.doc - docOffset) out.push(`${r.field}: wire ${r.wire} is not doc ${r.doc} − ${docOffset}`);
    if ((r.type === 'u32' || r.type === 's32') && r.words === undefined)
      out.push(`${r.field}: 32-bit row without words`);
    if (r.type === 'utf8' && (r.count === undefined || r.count < 1)) out.push(`${r.field}: utf8 row without count`);
    if (!Number.isFinite(r.scale) || r.scale === 0) out.push(`${r.field}: scale must be a non-zero number`);
    if (fields.has(r.field)) out.push(`${r.field}: field appears twice`);
    fields.add(r.field);
  }
  for (const fn of ['input', 'holding'] as const) {
    const sorted = rows.filter((r) => r.fn === fn).sort((a, b) => a.wire - b.wire);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1];
      const cur = sorted[i];
      if (prev && cur && cur.wire < rowEnd(prev)) {
        out.push(`${cur.field} (${fn} ${cur.wire}) overlaps ${prev.field} (${fn} ${prev.wire}..${rowEnd(prev) - 1})`);
      }
    }
  }
  return out;
}

/** One Modbus read request: `count` registers from `start`, covering `rows` (sorted by address). */
export interface ReadGroup<F extends string = string> {
  fn: RegisterFn;
  start: number;
  count: number;
  rows: RegisterRow<F>[];
}

export interface PlanOptions {
  /** Most registers in one request (the Modbus limit is 125; devices often want less). */
  maxCount: number;
  /** Most unused registers a request may span between two rows (0: only touching rows share a request). */
  maxGap: number;
  /** Addresses a request must never cover (registers known to answer "illegal address"). */
  avoid?: (fn: RegisterFn, wire: number) => boolean;
  /** True when `a` and the next row `b` must not share a request (a split learned at runtime). */
  apart?: (a: RegisterRow, b: RegisterRow) => boolean;
}

/** Key of a row: function and wire address (unique within a sound table). */
export function rowKey(row: RegisterRow): string {
  return `${row.fn}:${row.wire}`;
}

/** A group covering exactly `rows` (sorted by address, same function). */
export function spanOf<F extends string>(rows: RegisterRow<F>[]): ReadGroup<F> {
  const first = rows[0];
  if (!first) throw new Error('spanOf: no rows');
  const end = Math.max(...rows.map(rowEnd));
  return { fn: first.fn, start: first.wire, count: end - first.wire, rows };
}

/**
 * Groups rows into few read requests, computed from the table: rows of one function, in address
 * order, share a request while the span stays within maxCount, the hole between them is at most
 * maxGap registers, no avoided address lies in the span, and `apart` does not separate them.
 */
export function planReads<F extends string>(rows: readonly RegisterRow<F>[], opts: PlanOptions): ReadGroup<F>[] {
  const groups: ReadGroup<F>[] = [];
  for (const fn of ['input', 'holding'] as const) {
    const sorted = rows.filter((r) => r.fn === fn).sort((a, b) => a.wire - b.wire);
    let cur: RegisterRow<F>[] = [];
    let end = 0;
    for (const r of sorted) {
      const prev = cur[cur.length - 1];
      if (prev) {
        const gap = r.wire - end;
        const fits = rowEnd(r) - (cur[0]?.wire ?? r.wire) <= opts.maxCount;
        let blocked = gap > opts.maxGap || !fits || (opts.apart?.(prev, r) ?? false);
        if (!blocked && opts.avoid) {
          for (let a = end; a < r.wire; a++) {
            if (opts.avoid(fn, a)) {
              blocked = true;
              break;
            }
          }
        }
        if (blocked) {
          groups.push(spanOf(cur));
          cur = [];
        }
      }
      cur.push(r);
      end = Math.max(cur.length > 1 ? end : 0, rowEnd(r));
    }
    if (cur.length > 0) groups.push(spanOf(cur));
  }
  return groups;
}

/** Decodes every numeric row of `rows` lying inside a group's words (`words[0]` is at `start`). */
export function decodeGroup<F extends string>(
  start: number,
  words: readonly number[],
  rows: readonly RegisterRow<F>[],
): Map<F, number | string | null> {
  const out = new Map<F, number | string | null>();
  for (const r of rows) {
    const off = r.wire - start;
    if (off < 0 || off + rowLength(r) > words.length) continue;
    const slice = words.slice(off, off + rowLength(r));
    out.set(r.field, r.type === 'utf8' ? decodeString(r, slice) : decodeRow(r, slice));
  }
  return out;
}
