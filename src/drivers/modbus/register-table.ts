/**
 * Register tables: device knowledge as data (docs/architecture.md, idea 1). A row says where a value
 * lives (function, documented number, wire address), how it is encoded (type, word order) and how
 * to turn the raw integer into the named quantity (scale, sign). This file is what a table is: its
 * types, the not-available markers, `defineTable` and a row's place on the wire. Decoding and
 * encoding are register-codec.ts, grouped reads read-plan.ts, a table's checks table-problems.ts.
 * Pure: no I/O. Vendor tables live beside their drivers (sungrow/registers.ts).
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

/** One past the last wire address of the row. */
export function rowEnd(row: RegisterRow): number {
  return row.wire + rowLength(row);
}

/** Key of a row: function and wire address (unique within a sound table). */
export function rowKey(row: RegisterRow): string {
  return `${row.fn}:${row.wire}`;
}
