/**
 * The poller's write path (poller.ts `write`): only rows with `access: 'rw'`, only when the device
 * holds another value (read first), read back after `settleMs` and reported as the value the device
 * holds, each write logged with its read-back.
 */
import { KwartierError } from '../../core/errors.js';
import type { Logger } from '../../lib/log.js';
import { sleep } from '../../lib/sleep.js';
import type { DeviceConnection } from './device-connection.js';
import { decodeValue, encodeRow } from './register-codec.js';
import { type Markers, type RegisterRow, rowLength } from './register-table.js';
import type { TableReader } from './table-reader.js';
import { ModbusTransportError } from './tcp-client.js';

export type FieldValue = number | string | null;

export interface WriteResult<F extends string = string> {
  field: F;
  requested: number | string;
  /** What the device holds after the write (or held already), as decoded from a read. */
  readBack: FieldValue;
  /** False when the device already held the value (nothing was written). */
  written: boolean;
  at: number;
}

/** A write's value as a number in the field's unit (enum names → codes), checked against min/max. */
export function writeCode(row: RegisterRow, value: number | string, what: string): number {
  let n: number;
  if (typeof value === 'string') {
    const hit = Object.entries(row.enum ?? {}).find(([, name]) => name === value);
    if (!hit) {
      const names = Object.values(row.enum ?? {});
      throw new KwartierError(
        'control_value',
        `${what}: ${JSON.stringify(value)} is not one of ${names.length ? names.join(', ') : '(a number is expected)'}`,
      );
    }
    n = Number(hit[0]);
  } else {
    n = value;
  }
  if (!Number.isFinite(n)) throw new KwartierError('control_value', `${what}: ${String(value)} is not a number`);
  if (row.enum && typeof value === 'number' && row.enum[n] === undefined) {
    throw new KwartierError('control_value', `${what}: ${n} is not one of ${Object.keys(row.enum).join(', ')}`);
  }
  if ((row.min !== undefined && n < row.min) || (row.max !== undefined && n > row.max)) {
    throw new KwartierError(
      'control_value',
      `${what}: ${n} is outside ${row.min ?? '−∞'}…${row.max ?? '∞'} ${row.unit}`,
    );
  }
  if (row.type === 'utf8') throw new KwartierError('control_value', `${what}: strings are not written`);
  return n;
}

export interface RegisterWriterOptions<F extends string> {
  /** Device name, in errors and logs. */
  name: string;
  rows: readonly RegisterRow<F>[];
  markers: Markers;
  reader: TableReader<F>;
  connection: DeviceConnection;
  connectPerCycle: boolean;
  settleMs: number;
  signal: () => AbortSignal | undefined;
  log: Logger;
}

export class RegisterWriter<F extends string> {
  private writeCount = 0;

  constructor(private readonly options: RegisterWriterOptions<F>) {}

  /** Registers written since this was made. */
  get writes(): number {
    return this.writeCount;
  }

  /** The row of `field`, or a KwartierError naming it. */
  row(field: string): RegisterRow<F> {
    const row = this.options.rows.find((r) => r.field === field);
    if (!row) throw new KwartierError('modbus_unknown_field', `${this.options.name}.${field}: no such register row`);
    return row;
  }

  /** See ModbusPoller.write. */
  write(field: F, value: number | string): Promise<WriteResult<F>> {
    let row: RegisterRow<F>;
    let what: string;
    let code: number;
    try {
      row = this.row(field);
      what = `${this.options.name}.${field} (register ${row.doc})`;
      if (row.access !== 'rw' || row.fn !== 'holding') {
        throw new KwartierError('control_read_only', `${what}: read-only, not written`);
      }
      code = writeCode(row, value, what);
    } catch (err) {
      return Promise.reject(err);
    }
    const { connection } = this.options;
    return connection.exclusive(async () => {
      if (!this.options.connectPerCycle && !connection.isOpen) {
        throw new ModbusTransportError(`${what}: not connected to ${connection.endpoint}, not written`);
      }
      try {
        return await this.writeChecked(row, code, value, what);
      } finally {
        if (this.options.connectPerCycle) await connection.close();
      }
    });
  }

  /** Reads the row, writes it when it holds another value, waits settleMs and reads it back. */
  private async writeChecked(
    row: RegisterRow<F>,
    code: number,
    value: number | string,
    what: string,
  ): Promise<WriteResult<F>> {
    const { reader, markers, log } = this.options;
    const field = row.field;
    const rows = this.rowsFor(row);
    const before = await reader.readRows(rows);
    const sfValue = row.scaleFrom === undefined ? undefined : before.values.get(row.scaleFrom);
    const sf = typeof sfValue === 'number' ? sfValue : row.scaleFrom === undefined ? undefined : null;
    if (sf === null) throw new KwartierError('control_value', `${what}: its scale factor is not available`);
    const words = encodeRow(row, code, markers, sf);
    const wanted = decodeValue(row, words, markers, sf);
    const current = before.values.get(field) ?? null;
    if (current !== null && current === wanted) {
      log.debug({ field, register: row.doc, value: current }, 'register already holds the value: not written');
      return { field, requested: value, readBack: current, written: false, at: Date.now() };
    }
    if (words.length !== rowLength(row)) throw new Error(`${what}: encoded ${words.length} words`);
    await this.options.connection.transport.writeRegisters(row.wire, words);
    this.writeCount++;
    await sleep(this.options.settleMs, this.options.signal());
    const after = await reader.readRows(rows);
    const readBack = after.values.get(field) ?? null;
    const entry = { field, register: row.doc, wire: row.wire, requested: value, was: current, read_back: readBack };
    if (readBack === wanted) log.info(entry, 'register written');
    else log.warn(entry, 'register written but reads back another value');
    return { field, requested: value, readBack, written: true, at: Date.now() };
  }

  /** The row and, for a scaled row, its scale-factor row. */
  private rowsFor(row: RegisterRow<F>): RegisterRow<F>[] {
    if (row.scaleFrom === undefined) return [row];
    return [row, this.row(row.scaleFrom)];
  }
}
