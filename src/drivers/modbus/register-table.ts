/**
 * Register tables: device knowledge as data (docs/architecture.md, idea 1). A row says where a value
 * lives (function, documented number, wire address), how it is encoded (type, word order) and how
 * to turn the raw integer into the named quantity (scale, sign). This module decodes rows from
 * register words, encodes them back (simulators are the inverse of drivers), and plans grouped
 * reads. Pure: no I/O. Vendor tables live beside their drivers (sungrow/registers.ts).
 */

/** FC04 input registers (read-only data) or FC03 holding registers (settings). */
export type RegisterFn = 'input' | 'holding';
export type RegisterType = 'u16' | 's16' | 'u32' | 's32' | 'u64' | 's64' | 'utf8';
export type NumericType = Exclude<RegisterType, 'utf8'>;
/**
 * Word order of 32/64-bit values: `lsw` = low word first (Sungrow), `msw` = high word first
 * (Huawei, SunSpec, Morningstar). Bytes within a word are always big-endian.
 */
export type WordOrder = 'lsw' | 'msw';
/** `r` (default): read only. `rw`: a setting the driver may write (holding registers only). */
export type RegisterAccess = 'r' | 'rw';

export interface RegisterRow<F extends string = string> {
  /** Name of the quantity, with unit and sign in the name (`battery_power_w`: + charging). */
  field: F;
  fn: RegisterFn;
  /** Register number as the vendor's protocol document prints it. */
  doc: number;
  /** Address put in the Modbus PDU (Sungrow: doc − 1; Huawei: doc). */
  wire: number;
  type: RegisterType;
  /** 32/64-bit types: word order. Required for u32/s32/u64/s64. */
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
  /**
   * A named block of rows the poller reads on the block's own interval and the driver can switch
   * off (a meter or battery the device does not have); default: the table's main cycle.
   */
  block?: string;
  /** `rw`: the poller may write this row (holding registers only). Default `r`. */
  access?: RegisterAccess;
  /**
   * SunSpec scale factor: the field of an s16 row holding SF; value = raw × scale × 10^SF.
   * A not-available SF (0x8000) makes the value null.
   */
  scaleFrom?: F;
  /** An enumeration: raw code → name. The decoded value is the name (unknown codes: `0x…` hex). */
  enum?: Readonly<Record<number, string>>;
  /** Writes outside [min, max] (in the field's unit) are refused. */
  min?: number;
  max?: number;
  /** Where the row comes from and anything surprising about it. */
  note?: string;
}

/**
 * Raw values that mean "not available" (Sungrow, per mkaiser's `nan_value`: 0xFFFF for U16 and
 * 0x7FFFFFFF for S32; the U32 and S16 markers are the same convention: all ones / the largest
 * positive value). A decoded marker is null, never a number.
 */
export const NOT_AVAILABLE: Readonly<Record<Exclude<RegisterType, 'utf8' | 'u64' | 's64'>, number>> = {
  u16: 0xffff,
  s16: 0x7fff,
  u32: 0xffffffff,
  s32: 0x7fffffff,
};

/**
 * Not-available markers of a table: per type, the raw values (as unsigned integers) that decode to
 * null. Types without an entry have no marker. The first entry is what encodeRow writes for null.
 */
export type Markers = Readonly<Partial<Record<NumericType, readonly bigint[]>>>;

/** Sungrow and Huawei: all ones for unsigned types, the largest positive value for signed ones (devices.md §1.4). */
export const MARKERS_MAX_POSITIVE: Markers = {
  u16: [0xffffn],
  s16: [0x7fffn],
  u32: [0xffffffffn],
  s32: [0x7fffffffn],
  u64: [0xffffffffffffffffn],
  s64: [0x7fffffffffffffffn],
};

/**
 * SunSpec (`sunspec2/mb.py`, devices.md §3.3): int16 0x8000, uint16 0xFFFF, int32 0x80000000,
 * uint32 0xFFFFFFFF, int64 0x8000000000000000, uint64 all ones. (acc32 "0 = not implemented" is a
 * per-row matter: give such rows their own table or check the value.)
 */
export const MARKERS_SUNSPEC: Markers = {
  u16: [0xffffn],
  s16: [0x8000n],
  u32: [0xffffffffn],
  s32: [0x80000000n],
  u64: [0xffffffffffffffffn],
  s64: [0x8000000000000000n],
};

/** Both signed conventions (evcc's int32nan: 0x80000000 and 0x7FFFFFFF). */
export const MARKERS_BOTH: Markers = {
  u16: [0xffffn],
  s16: [0x7fffn, 0x8000n],
  u32: [0xffffffffn],
  s32: [0x7fffffffn, 0x80000000n],
  u64: [0xffffffffffffffffn],
  s64: [0x7fffffffffffffffn, 0x8000000000000000n],
};

/** The markers decodeRow uses when a table declares none (today's Sungrow convention). */
export const DEFAULT_MARKERS: Markers = MARKERS_MAX_POSITIVE;

/**
 * A register table with its conventions declared: how documented numbers map to wire addresses,
 * the word order of wide values, and which raw values mean "not available".
 */
export interface RegisterTable<F extends string = string> {
  /** `doc`: wire = documented number (Huawei); `doc-1`: wire = documented − 1 (Sungrow, SunSpec). */
  addressing: 'doc' | 'doc-1';
  words: WordOrder;
  markers: Markers;
  rows: readonly RegisterRow<F>[];
}

/** A row as a table declares it: no wire address (the table's addressing gives it), words optional. */
export type RowSpec<F extends string = string> = Omit<RegisterRow<F>, 'wire' | 'words'> & { words?: WordOrder };

/** Builds a table: wire addresses from the addressing, the table's word order on wide rows. */
export function defineTable<F extends string>(spec: {
  addressing: 'doc' | 'doc-1';
  words: WordOrder;
  markers: Markers;
  rows: readonly RowSpec<F>[];
}): RegisterTable<F> {
  const off = spec.addressing === 'doc-1' ? 1 : 0;
  const rows = spec.rows.map((r) => {
    const row: RegisterRow<F> = { ...r, wire: r.doc - off };
    if (r.type !== 'u16' && r.type !== 's16' && r.type !== 'utf8') row.words = r.words ?? spec.words;
    return row;
  });
  return { addressing: spec.addressing, words: spec.words, markers: spec.markers, rows };
}

/** Number of 16-bit registers a row occupies. */
export function rowLength(row: RegisterRow): number {
  switch (row.type) {
    case 'u16':
    case 's16':
      return 1;
    case 'u32':
    case 's32':
      return 2;
    case 'u64':
    case 's64':
      return 4;
    case 'utf8':
      return row.count ?? 1;
  }
}

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
    if ((r.type === 'u64' || r.type === 's64') && r.words === undefined)
      out.push(`${r.field}: 64-bit row without words`);
    if (r.access === 'rw' && r.fn !== 'holding') out.push(`${r.field}: only holding registers can be written`);
    if (r.scaleFrom !== undefined) {
      const sfRow = rows.find((x) => x.field === r.scaleFrom);
      if (!sfRow) out.push(`${r.field}: scaleFrom ${r.scaleFrom} is not a row of the table`);
      else if (sfRow.type !== 's16') out.push(`${r.field}: scaleFrom ${r.scaleFrom} must be an s16 row`);
    }
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

/** The words of every row of `rows` lying inside a group's words (`words[0]` is at `start`). */
export function sliceGroup<F extends string>(
  start: number,
  words: readonly number[],
  rows: readonly RegisterRow<F>[],
): Map<F, number[]> {
  const out = new Map<F, number[]>();
  for (const r of rows) {
    const off = r.wire - start;
    if (off < 0 || off + rowLength(r) > words.length) continue;
    out.set(r.field, words.slice(off, off + rowLength(r)));
  }
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

/** Decodes every row of `rows` lying inside a group's words (`words[0]` is at `start`). */
export function decodeGroup<F extends string>(
  start: number,
  words: readonly number[],
  rows: readonly RegisterRow<F>[],
  markers: Markers = DEFAULT_MARKERS,
): Map<F, number | string | null> {
  return decodeRows(rows, sliceGroup(start, words, rows), markers);
}
