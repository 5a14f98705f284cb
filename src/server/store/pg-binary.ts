/**
 * PostgreSQL binary array parameters. `pg` sends a Buffer parameter in binary format, so a column of
 * a batch goes to the server as one array that needs no text parsing on either side (array_recv).
 * Used with an explicit cast in the SQL (`$3::float8[]`), which fixes the parameter's type.
 *
 * Layout: int32 ndim, int32 has-null flag, int32 element type OID, then per dimension int32 length and
 * int32 lower bound, then per element int32 byte length (−1 for NULL) and the element's bytes.
 */

import pg from 'pg';

const OID = { int4: 23, int8: 20, float8: 701, text: 25, timestamptz: 1184 } as const;
/** Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01 (UTC). */
const PG_EPOCH_MS = 946_684_800_000;
const TWO32 = 4_294_967_296;

function header(buf: Buffer, oid: number, n: number, hasNull: boolean): number {
  if (n === 0) {
    buf.writeInt32BE(0, 0);
    buf.writeInt32BE(0, 4);
    buf.writeInt32BE(oid, 8);
    return 12;
  }
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(hasNull ? 1 : 0, 4);
  buf.writeInt32BE(oid, 8);
  buf.writeInt32BE(n, 12);
  buf.writeInt32BE(1, 16);
  return 20;
}

/** Writes a 64-bit two's complement integer given as a JS number (exact up to 2^53). */
function setInt64(dv: DataView, off: number, v: number): void {
  const hi = Math.floor(v / TWO32);
  dv.setInt32(off, hi);
  dv.setUint32(off + 4, v - hi * TWO32);
}

type Kind = 'float8' | 'int8' | 'int4' | 'timestamptz';

function fixed(kind: Kind, xs: readonly (number | null | undefined)[]): Buffer {
  const size = kind === 'int4' ? 4 : 8;
  let nulls = 0;
  for (const v of xs) if (v === null || v === undefined) nulls++;
  const n = xs.length;
  const buf = Buffer.allocUnsafe((n === 0 ? 12 : 20) + n * 4 + (n - nulls) * size);
  let off = header(buf, OID[kind], n, nulls > 0);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < n; i++) {
    const v = xs[i];
    if (v === null || v === undefined) {
      dv.setInt32(off, -1);
      off += 4;
      continue;
    }
    dv.setInt32(off, size);
    off += 4;
    if (kind === 'float8') dv.setFloat64(off, v);
    else if (kind === 'int4') dv.setInt32(off, v);
    else if (kind === 'int8') setInt64(dv, off, Math.trunc(v));
    else setInt64(dv, off, Math.round((v - PG_EPOCH_MS) * 1000));
    off += size;
  }
  return buf;
}

export function float8Array(xs: readonly (number | null | undefined)[]): Buffer {
  return fixed('float8', xs);
}

export function int8Array(xs: readonly (number | null | undefined)[]): Buffer {
  return fixed('int8', xs);
}

export function int4Array(xs: readonly (number | null | undefined)[]): Buffer {
  return fixed('int4', xs);
}

/** Instants given as milliseconds since 1970 (sent as µs since 2000, PostgreSQL's own epoch). */
export function timestamptzArray(msList: readonly (number | null | undefined)[]): Buffer {
  return fixed('timestamptz', msList);
}

export function textArray(xs: readonly (string | null | undefined)[]): Buffer {
  const parts: (Buffer | null)[] = xs.map((s) => (s === null || s === undefined ? null : Buffer.from(s, 'utf8')));
  let size = 0;
  let nulls = 0;
  for (const p of parts) {
    size += 4 + (p ? p.length : 0);
    if (!p) nulls++;
  }
  const n = parts.length;
  const buf = Buffer.allocUnsafe((n === 0 ? 12 : 20) + size);
  let off = header(buf, OID.text, n, nulls > 0);
  for (const p of parts) {
    if (!p) {
      buf.writeInt32BE(-1, off);
      off += 4;
    } else {
      buf.writeInt32BE(p.length, off);
      p.copy(buf, off + 4);
      off += 4 + p.length;
    }
  }
  return buf;
}

/**
 * Rows in PostgreSQL's binary COPY format (`COPY … FROM STDIN (FORMAT binary)`): the signature and
 * header, per row an int16 field count and per field an int32 length (−1 for NULL) and the bytes,
 * then an int16 −1 trailer. No text is parsed on either side.
 */
export class BinaryCopyWriter {
  private buf: Buffer;
  private dv: DataView;
  private off = 0;
  rows = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(64, initialBytes)); // room for the 19-byte header at least
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.buf.write('PGCOPY\n\xff\r\n\0', 0, 'latin1');
    this.dv.setInt32(11, 0); // flags
    this.dv.setInt32(15, 0); // header extension length
    this.off = 19;
  }

  private room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  row(fields: number): void {
    this.room(2);
    this.dv.setInt16(this.off, fields);
    this.off += 2;
    this.rows++;
  }

  private nul(): void {
    this.room(4);
    this.dv.setInt32(this.off, -1);
    this.off += 4;
  }

  float8(v: number | null | undefined): void {
    if (v === null || v === undefined) {
      this.nul();
      return;
    }
    this.room(12);
    this.dv.setInt32(this.off, 8);
    this.dv.setFloat64(this.off + 4, v);
    this.off += 12;
  }

  int8(v: number | null | undefined): void {
    if (v === null || v === undefined) {
      this.nul();
      return;
    }
    this.room(12);
    this.dv.setInt32(this.off, 8);
    setInt64(this.dv, this.off + 4, Math.trunc(v));
    this.off += 12;
  }

  /** An instant in ms since 1970. */
  timestamptz(ms: number): void {
    this.room(12);
    this.dv.setInt32(this.off, 8);
    setInt64(this.dv, this.off + 4, Math.round((ms - PG_EPOCH_MS) * 1000));
    this.off += 12;
  }

  text(s: string | null | undefined): void {
    if (s === null || s === undefined) {
      this.nul();
      return;
    }
    // Short ASCII (timestamps, ids, country codes: nearly all of it) is copied in JS; a call into
    // the UTF-8 encoder costs more than the copy.
    const len = s.length;
    if (len <= 64) {
      this.room(4 + len);
      const start = this.off + 4;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        this.buf[start + i] = c;
      }
      if (i === len) {
        this.dv.setInt32(this.off, len);
        this.off = start + len;
        return;
      }
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.room(4 + n);
    this.dv.setInt32(this.off, n);
    this.buf.write(s, this.off + 4, n, 'utf8');
    this.off += 4 + n;
  }

  /** A field's bytes as they are (text already encoded as UTF-8, for a value repeated on every row). */
  bytes(b: Buffer | null): void {
    if (b === null) {
      this.nul();
      return;
    }
    this.room(4 + b.length);
    this.dv.setInt32(this.off, b.length);
    this.buf.set(b, this.off + 4);
    this.off += 4 + b.length;
  }

  /** The finished COPY data (the writer must not be used afterwards). */
  finish(): Buffer {
    this.room(2);
    this.dv.setInt16(this.off, -1);
    this.off += 2;
    return this.buf.subarray(0, this.off);
  }
}

interface CopyConnection {
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/**
 * `COPY … FROM STDIN` with the data in one buffer. pg's Query calls `handleCopyInResponse` when the
 * server is ready for the data (the hook pg-copy-streams uses too); we send it and end the copy.
 */
class CopyFromBuffer extends pg.Query {
  constructor(
    text: string,
    private readonly data: Buffer,
    callback: (err: Error | undefined, result: { rowCount: number | null }) => void,
  ) {
    super(text, callback);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    connection.sendCopyFromChunk(this.data);
    connection.endCopyFrom();
  }
}

/** Runs `COPY <target> FROM STDIN (FORMAT binary)` with `data`; resolves to the rows copied. */
export function copyFrom(client: pg.ClientBase, target: string, data: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    client.query(
      new CopyFromBuffer(`COPY ${target} FROM STDIN (FORMAT binary)`, data, (err, result) => {
        if (err) reject(err);
        else resolve(result.rowCount ?? 0);
      }),
    );
  });
}

interface CopyDataMessage {
  chunk: Buffer;
}

/**
 * `COPY (query) TO STDOUT (FORMAT binary)`, its data gathered into one buffer. pg's Query hands each
 * CopyData message (a row) to `handleCopyData` (the hook pg-copy-streams uses too); the chunk is a
 * view of pg's read buffer, valid only during the call, so its bytes are copied at once.
 */
class CopyToBuffer extends pg.Query {
  private buf: Buffer;
  private size = 0;

  constructor(text: string, expectedBytes: number, callback: (err: Error | undefined) => void) {
    super(text, callback);
    this.buf = Buffer.allocUnsafe(Math.max(1 << 12, expectedBytes));
  }

  handleCopyData(msg: CopyDataMessage): void {
    const chunk = msg.chunk;
    if (this.size + chunk.length > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.size + chunk.length));
      this.buf.copy(bigger, 0, 0, this.size);
      this.buf = bigger;
    }
    chunk.copy(this.buf, this.size);
    this.size += chunk.length;
  }

  data(): Buffer {
    return this.buf.subarray(0, this.size);
  }
}

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * The rows of `select` (every column float8, as the caller casts them) through
 * `COPY (select) TO STDOUT (FORMAT binary)`, each handed to `onRow` in one reused array (NaN for
 * NULL; copy what you keep). A few thousand rows of many doubles come back several times faster
 * than as a query's result, whose every field pg decodes as a string first. COPY takes no
 * parameters: `select` carries its values as literals (client.escapeLiteral). `expectedBytes`: the
 * data's likely size (a row of n float8 takes 2 + 12 n bytes). Resolves to the rows.
 */
export async function copyFloat8Rows(
  client: pg.ClientBase,
  select: string,
  onRow: (row: Float64Array) => void,
  expectedBytes = 1 << 16,
): Promise<number> {
  return parseFloat8Copy(await copyOut(client, select, expectedBytes), onRow);
}

/**
 * The rows of `select` through binary COPY as their fields' bytes (null for NULL), for columns of
 * any type the caller decodes (float8 readDoubleBE, int4 readInt32BE, bytea as it is): a bytea
 * comes without the hex text a query's result would carry. The fields are views of one buffer.
 */
export async function copyBinaryRows(
  client: pg.ClientBase,
  select: string,
  onRow: (fields: readonly (Buffer | null)[]) => void,
  expectedBytes = 1 << 16,
): Promise<number> {
  const data = await copyOut(client, select, expectedBytes);
  let off = copyBodyStart(data);
  let rows = 0;
  for (;;) {
    const n = data.readInt16BE(off);
    off += 2;
    if (n === -1) return rows;
    const fields: (Buffer | null)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const len = data.readInt32BE(off);
      off += 4;
      fields[i] = len === -1 ? null : data.subarray(off, off + len);
      if (len > 0) off += len;
    }
    rows++;
    onRow(fields);
  }
}

function copyOut(client: pg.ClientBase, select: string, expectedBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const q: CopyToBuffer = new CopyToBuffer(
      `COPY (${select}) TO STDOUT (FORMAT binary)`,
      expectedBytes,
      (err: Error | undefined) => (err ? reject(err) : resolve(q.data())),
    );
    client.query(q);
  });
}

/** Where the rows of binary COPY data start (after the signature, flags and header extension). */
function copyBodyStart(data: Buffer): number {
  if (data.length < 19 || !data.subarray(0, 11).equals(COPY_SIGNATURE))
    throw new Error('binary COPY: the data does not start with the PGCOPY signature');
  return 19 + data.readInt32BE(15);
}

/** Rows of binary COPY data whose fields are all float8 (8 bytes) or NULL (NaN): see copyFloat8Rows. */
export function parseFloat8Copy(data: Buffer, onRow: (row: Float64Array) => void): number {
  let off = copyBodyStart(data);
  let row = new Float64Array(0);
  let rows = 0;
  for (;;) {
    const fields = data.readInt16BE(off);
    off += 2;
    if (fields === -1) return rows;
    if (row.length !== fields) row = new Float64Array(fields);
    for (let i = 0; i < fields; i++) {
      const len = data.readInt32BE(off);
      off += 4;
      if (len === -1) row[i] = Number.NaN;
      else if (len === 8) {
        row[i] = data.readDoubleBE(off);
        off += 8;
      } else throw new Error(`binary COPY: a field of ${len} bytes where a float8 (8) was expected`);
    }
    rows++;
    onRow(row);
  }
}
