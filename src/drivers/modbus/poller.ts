/**
 * The shared Modbus TCP poller: one device, one connection, a register table read in grouped
 * requests every interval. What every Modbus driver needs, in one place:
 * - grouped reads (contiguous rows within `maxCount`, holes up to `maxGap`), a pause between
 *   requests, a wait after connecting, a timeout per request (tcp-client.ts);
 * - reconnect with exponential backoff and full jitter (core/backoff.ts), state
 *   connecting → connected → lost without flapping;
 * - the table's own addressing, word order and not-available markers (register-table.ts), SunSpec
 *   scale factors from another row, enums and strings;
 * - unsupported registers learnt and skipped (exception 2: the row is dropped, logged once, tried
 *   again after `retryUnsupportedMs`; table-reader.ts);
 * - `connectPerCycle`: connect, read, close each cycle (controllers that close the socket after
 *   every answer — devices.md §5.1); a request that finds the socket closed reconnects once;
 * - writes (`write()`): only rows with `access: 'rw'`, only when the device holds another value
 *   (read first), read back after `settleMs` and reported as the value the device holds, each
 *   logged with the read-back. Polls and writes never interleave (one I/O lock).
 * - `busyRetries`: a request answered "busy" (exception 6) is asked again after an exponential,
 *   jittered wait, and the pause between requests grows while the device stays busy
 *   (`maxInterRequestDelayMs`, tcp-client.ts);
 * - `blocks`: rows of a named block (`RegisterRow.block`) on their own interval, each block
 *   switched on and off by the driver (`setBlockEnabled`: a meter or battery the device lacks);
 *   each cycle reads the blocks that are due and reports which;
 * - `shareConnection`: devices behind one gateway (host:port) share one connection, each request
 *   naming its unit (shared-link.ts; a Huawei SDongle takes one client).
 * Whether a device may write at all (`control: true`) is decided where its source is built.
 * One file above 400 lines on purpose: the connection, both loops, the busy retry and the write
 * path share one I/O lock and one connection's state; the pure parts live beside it
 * (register-table.ts, table-reader.ts, block-schedule.ts, shared-link.ts).
 */
import { Backoff } from '../../core/backoff.js';
import { errorMessage, KwartierError } from '../../core/errors.js';
import type { Logger } from '../../lib/log.js';
import { sleep } from '../../lib/sleep.js';
import type { SourceState } from '../source.js';
import { BlockSchedule, DEFAULT_BLOCK } from './block-schedule.js';
import {
  DEFAULT_MARKERS,
  decodeValue,
  encodeRow,
  type Markers,
  type RegisterRow,
  rowLength,
} from './register-table.js';
import { SharedLink } from './shared-link.js';
import { type CycleResult, type RowStatusEvent, TableReader } from './table-reader.js';
import {
  EXCEPTION_SERVER_BUSY,
  ModbusException,
  ModbusTcpClient,
  ModbusTransportError,
  type WritableRegisterTransport,
} from './tcp-client.js';

export type FieldValue = number | string | null;

export interface ModbusPollerOptions<F extends string> {
  /** Device name, in errors and logs. */
  name: string;
  host: string;
  port: number;
  unitId: number;
  /** The rows, and the table's markers (default: all ones / largest positive, as Sungrow and Huawei). */
  table: { rows: readonly RegisterRow<F>[]; markers?: Markers };
  intervalMs: number;
  /** Pause between the end of one request and the start of the next (ms). */
  interRequestDelayMs: number;
  /** Wait after connecting before the first request (ms). */
  connectDelayMs: number;
  /** Timeout of the connect and of each request (ms). */
  timeoutMs: number;
  /** Most registers in one request (default 100). */
  maxCount?: number;
  /** Most unused registers one request may span between rows (default 16). */
  maxGap?: number;
  /** An unsupported row is tried again after this (ms, default 1 h). */
  retryUnsupportedMs?: number;
  /** Reconnect backoff window: first and largest (ms, defaults 1000 and 60000; full jitter). */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** Connect, read and close every cycle (default false: one connection kept open). */
  connectPerCycle?: boolean;
  /** Wait between a write and its read-back (ms, default 1000: WiNet-S, control.md §2.3). */
  settleMs?: number;
  /** Cycles in a row without one answered request before the connection is reopened (default 3). */
  maxEmptyCycles?: number;
  /** Times a request answered "busy" (exception 6) is sent again, after a growing wait (default 0). */
  busyRetries?: number;
  /** First wait before asking a busy device again (ms, default 200; doubles each try, full jitter). */
  busyBackoffMs?: number;
  /** The pause between requests may grow up to this while the device answers "busy" (default: fixed). */
  maxInterRequestDelayMs?: number;
  /**
   * Named blocks of rows (`RegisterRow.block`) read on their own interval; `enabled: false` keeps a
   * block out until setBlockEnabled(name, true). Rows without a block are read every intervalMs.
   */
  blocks?: Readonly<Record<string, { intervalMs: number; enabled?: boolean }>>;
  /** Share one connection with every other poller of the same host:port (default false). */
  shareConnection?: boolean;
  log: Logger;
}

export { DEFAULT_BLOCK };

/** One cycle's decoded values. */
export interface PollValues<F extends string> {
  /** Edge clock (ms) when the cycle's reads finished. */
  at: number;
  values: Map<F, FieldValue>;
  okRequests: number;
  exceptionRequests: number;
  /** The blocks this cycle read (DEFAULT_BLOCK for rows without one). */
  blocks: string[];
}

export interface WriteResult<F extends string = string> {
  field: F;
  requested: number | string;
  /** What the device holds after the write (or held already), as decoded from a read. */
  readBack: FieldValue;
  /** False when the device already held the value (nothing was written). */
  written: boolean;
  at: number;
}

export class ModbusPoller<F extends string> {
  private readonly opts: ModbusPollerOptions<F>;
  private readonly log: Logger;
  private readonly markers: Markers;
  private readonly reader: TableReader<F>;
  private readonly backoff: Backoff;
  private readonly valueListeners: Array<(v: PollValues<F>) => void> = [];
  private readonly identityListeners: Array<(v: Map<F, FieldValue>) => void> = [];
  private readonly stateListeners: Array<(s: SourceState, detail?: string) => void> = [];
  private readonly warned = new Set<string>();
  private client: ModbusTcpClient | null = null;
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private currentState: SourceState | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  private identityRead = false;
  private cycles = 0;
  private requestsClosed = 0;
  private requestsShared = 0;
  private busyAnswers = 0;
  private connects = 0;
  private writes = 0;
  private readonly link: SharedLink | null;
  private readonly schedule: BlockSchedule;

  constructor(opts: ModbusPollerOptions<F>) {
    this.opts = opts;
    this.log = opts.log;
    if (opts.shareConnection && opts.connectPerCycle) throw new Error(`${opts.name}: a shared connection stays open`);
    this.link = opts.shareConnection
      ? new SharedLink({
          host: opts.host,
          port: opts.port,
          timeoutMs: opts.timeoutMs,
          interRequestDelayMs: opts.interRequestDelayMs,
          ...(opts.maxInterRequestDelayMs === undefined ? {} : { maxInterRequestDelayMs: opts.maxInterRequestDelayMs }),
          connectDelayMs: opts.connectDelayMs,
        })
      : null;
    this.schedule = new BlockSchedule(opts.name, opts.intervalMs, opts.blocks ?? {}, opts.table.rows);
    this.markers = opts.table.markers ?? DEFAULT_MARKERS;
    this.backoff = new Backoff({ baseMs: opts.reconnectBaseMs ?? 1000, maxMs: opts.reconnectMaxMs ?? 60_000 });
    const transport: WritableRegisterTransport = {
      readRegisters: (fn, address, count) => this.request((c) => c.readRegisters(fn, address, count, this.opts.unitId)),
      writeRegisters: (address, words) => this.request((c) => c.writeRegisters(address, words, this.opts.unitId)),
    };
    this.transport = transport;
    this.reader = new TableReader(opts.table.rows, transport, {
      maxCount: opts.maxCount ?? 100,
      maxGap: opts.maxGap ?? 16,
      retryUnsupportedMs: opts.retryUnsupportedMs ?? 3_600_000,
      markers: this.markers,
      onRowStatus: (e) => this.onRowStatus(e),
    });
  }

  private readonly transport: WritableRegisterTransport;

  get endpoint(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  get state(): SourceState | null {
    return this.currentState;
  }

  onValues(listener: (v: PollValues<F>) => void): void {
    this.valueListeners.push(listener);
  }

  /** The `poll: 'start'` rows, read after each (re)connect (connectPerCycle: once until a failure). */
  onIdentity(listener: (v: Map<F, FieldValue>) => void): void {
    this.identityListeners.push(listener);
  }

  onState(listener: (s: SourceState, detail?: string) => void): void {
    this.stateListeners.push(listener);
  }

  /**
   * Switches a block of rows on (read from the next cycle on, at once) or off (not read; its rows
   * are left out of the values). Unknown names throw.
   */
  setBlockEnabled(name: string, enabled: boolean): void {
    this.schedule.setEnabled(name, enabled);
  }

  blockEnabled(name: string): boolean {
    return this.schedule.enabled(name);
  }

  /** Counters for status output and benchmarks. */
  stats(): {
    cycles: number;
    requests: number;
    connects: number;
    writes: number;
    busy: number;
    unsupported: Array<{ doc: number; field: string; reason: string }>;
  } {
    return {
      cycles: this.cycles,
      requests: this.link ? this.requestsShared : this.requestsClosed + (this.client?.requests ?? 0),
      connects: this.connects,
      writes: this.writes,
      busy: this.busyAnswers,
      unsupported: this.reader.excludedRows().map((e) => ({ doc: e.row.doc, field: e.row.field, reason: e.reason })),
    };
  }

  /** Starts polling in the background; never throws for an unreachable device (it retries). */
  async start(): Promise<void> {
    if (this.loop) return;
    this.abort = new AbortController();
    this.setState('connecting');
    const signal = this.abort.signal;
    const run = this.opts.connectPerCycle ? this.runPerCycle(signal) : this.runPersistent(signal);
    this.loop = run.catch((err: unknown) => {
      this.log.error({ err: errorMessage(err) }, 'modbus poller stopped on an unexpected error');
    });
  }

  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.abort?.abort();
    // A shared connection is not this poller's to close while others use it (their requests end
    // within their timeout); its last user closes it at once.
    if (!this.link || this.link.users <= 1) await this.client?.close();
    await loop;
    await this.link?.release();
    this.loop = null;
    this.abort = null;
  }

  // ---- connection --------------------------------------------------------------------------------

  private newClient(signal?: AbortSignal): ModbusTcpClient {
    const max = this.opts.maxInterRequestDelayMs;
    return new ModbusTcpClient({
      host: this.opts.host,
      port: this.opts.port,
      unitId: this.opts.unitId,
      timeoutMs: this.opts.timeoutMs,
      interRequestDelayMs: this.opts.interRequestDelayMs,
      ...(max === undefined ? {} : { maxInterRequestDelayMs: max }),
      ...(signal ? { signal } : {}),
    });
  }

  /** Opens a connection (and waits connectDelayMs); the previous one is closed. */
  private async connect(signal?: AbortSignal): Promise<ModbusTcpClient> {
    this.schedule.reset();
    if (this.link) {
      const { client, fresh } = await this.link.open();
      this.client = client;
      this.connects++;
      this.log.debug({ endpoint: this.endpoint, shared_by: this.link.users, fresh }, 'using the shared connection');
      return client;
    }
    await this.closeClient();
    const client = this.newClient(signal);
    this.client = client;
    await client.connect();
    this.connects++;
    this.log.debug({ endpoint: this.endpoint }, 'tcp connected');
    if (this.opts.connectDelayMs > 0) await sleep(this.opts.connectDelayMs, signal);
    return client;
  }

  private async closeClient(): Promise<void> {
    const c = this.client;
    if (!c) return;
    this.client = null;
    if (this.link) {
      // Stopping: stop() releases it. Failing: the connection is not to be trusted, for anyone.
      if (!this.abort?.signal.aborted) await this.link.drop(c);
      return;
    }
    this.requestsClosed += c.requests;
    await c.close();
  }

  /**
   * One request on the current connection. In connectPerCycle mode a connection the device closed
   * after its previous answer is reopened, and a request that fails on the transport is sent once
   * more on a new connection.
   */
  private async request<T>(fn: (c: ModbusTcpClient) => Promise<T>): Promise<T> {
    const tries = this.opts.busyRetries ?? 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.requestOnce(fn);
      } catch (err) {
        if (!(err instanceof ModbusException) || err.exceptionCode !== EXCEPTION_SERVER_BUSY) throw err;
        this.busyAnswers++;
        const signal = this.abort?.signal;
        if (attempt >= tries || signal?.aborted) throw err;
        // Exponential with full jitter, as the reconnects: several clients do not retry in step.
        const wait = Math.round(Math.random() * (this.opts.busyBackoffMs ?? 200) * 2 ** attempt);
        this.log[attempt === 0 && this.busyAnswers === 1 ? 'warn' : 'debug'](
          { retry_in_ms: wait, attempt: attempt + 1, pause_ms: this.client?.interRequestDelayMs },
          'device busy (Modbus exception 6): asking again later, slower',
        );
        await sleep(wait, signal);
      }
    }
  }

  private async requestOnce<T>(fn: (c: ModbusTcpClient) => Promise<T>): Promise<T> {
    const signal = this.abort?.signal;
    let c = this.client;
    if (!this.opts.connectPerCycle) {
      if (!c?.isOpen) throw new ModbusTransportError(`${this.opts.name}: not connected to ${this.endpoint}`);
      if (this.link) this.requestsShared++;
      return fn(c);
    }
    // Let the socket report a close that came with the previous answer before using it again
    // (a request sent on it would only time out; the retry below covers a later close).
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
    if (!c?.isOpen) c = await this.connect(signal);
    try {
      return await fn(c);
    } catch (err) {
      if (!(err instanceof ModbusTransportError) || signal?.aborted) throw err;
      this.log.debug({ err: err.message }, 'request failed on a per-cycle connection: reconnecting once');
      c = await this.connect(signal);
      return fn(c);
    }
  }

  /** Runs `fn` with no other poll or write in between. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  // ---- the loops ---------------------------------------------------------------------------------

  private async runPersistent(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.exclusive(async () => {
          await this.connect(signal);
          if (!signal.aborted) await this.readIdentity();
        });
        if (signal.aborted) break;
        await this.pollLoop(signal);
      } catch (err) {
        if (signal.aborted) break;
        this.setState('lost', errorMessage(err));
      } finally {
        await this.exclusive(() => this.closeClient());
      }
      if (signal.aborted) break;
      const wait = this.backoff.next();
      this.log.debug({ retry_in_ms: wait }, 'reconnecting');
      await sleep(wait, signal);
    }
  }

  private async pollLoop(signal: AbortSignal): Promise<void> {
    let empty = 0;
    const maxEmpty = this.opts.maxEmptyCycles ?? 3;
    while (!signal.aborted) {
      const started = Date.now();
      const due = this.schedule.due(started);
      if (due.length === 0) {
        await sleep(Math.max(1, this.schedule.nextDueAt() - started), signal);
        continue;
      }
      const res = await this.exclusive(() => this.reader.read('cycle', this.schedule.filter(due)));
      if (signal.aborted) return;
      this.schedule.read(due, started, Date.now() - started);
      this.cycles++;
      if (res.okRequests === 0 && res.exceptionRequests > 0) {
        empty++;
        if (empty >= maxEmpty) throw new ModbusTransportError(`no request answered with data in ${maxEmpty} cycles`);
      } else {
        empty = 0;
        this.backoff.reset();
        this.setState('connected');
        this.emit(res, due);
      }
      await sleep(Math.max(0, this.schedule.nextDueAt() - Date.now()), signal);
    }
  }

  private async runPerCycle(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = Date.now();
      let wait = 0;
      try {
        const res = await this.exclusive(async () => {
          try {
            await this.connect(signal);
            if (!this.identityRead && !signal.aborted) await this.readIdentity();
            return signal.aborted
              ? null
              : await this.reader.read('cycle', this.schedule.filter(this.schedule.enabledNames()));
          } finally {
            await this.closeClient();
          }
        });
        if (!res || signal.aborted) break;
        this.cycles++;
        if (res.okRequests === 0 && res.exceptionRequests > 0) {
          throw new ModbusTransportError('no request answered with data');
        }
        this.backoff.reset();
        this.setState('connected');
        this.emit(res, this.schedule.enabledNames());
      } catch (err) {
        if (signal.aborted) break;
        this.identityRead = false;
        this.setState('lost', errorMessage(err));
        wait = this.backoff.next();
      }
      await sleep(Math.max(wait, started + this.opts.intervalMs - Date.now()), signal);
    }
  }

  private async readIdentity(): Promise<void> {
    const startRows = this.opts.table.rows.filter((r) => r.poll === 'start');
    if (startRows.length === 0) {
      this.identityRead = true;
      return;
    }
    const res = await this.reader.read('start');
    this.identityRead = true;
    for (const l of this.identityListeners) l(res.values);
  }

  private emit(res: CycleResult<F>, blocks: string[]): void {
    const v: PollValues<F> = {
      at: Date.now(),
      values: res.values,
      okRequests: res.okRequests,
      exceptionRequests: res.exceptionRequests,
      blocks,
    };
    for (const l of this.valueListeners) l(v);
  }

  // ---- writes ------------------------------------------------------------------------------------

  /** The row of `field`, or a KwartierError naming it. */
  row(field: string): RegisterRow<F> {
    const row = this.opts.table.rows.find((r) => r.field === field);
    if (!row) throw new KwartierError('modbus_unknown_field', `${this.opts.name}.${field}: no such register row`);
    return row;
  }

  /**
   * Writes `value` (in the field's unit; an enum row takes its name or code) to an `access: 'rw'`
   * row — only when the device holds another value — waits settleMs, reads the row back and
   * returns what the device holds. Throws KwartierError `control_read_only` for other rows,
   * `control_value` for a value out of range, ModbusException / ModbusTransportError on failure.
   */
  write(field: F, value: number | string): Promise<WriteResult<F>> {
    let row: RegisterRow<F>;
    try {
      row = this.row(field);
    } catch (err) {
      return Promise.reject(err);
    }
    const what = `${this.opts.name}.${field} (register ${row.doc})`;
    if (row.access !== 'rw' || row.fn !== 'holding') {
      return Promise.reject(new KwartierError('control_read_only', `${what}: read-only, not written`));
    }
    let code: number;
    try {
      code = this.toNumber(row, value, what);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.exclusive(async () => {
      if (!this.opts.connectPerCycle && !this.client?.isOpen) {
        throw new ModbusTransportError(`${what}: not connected to ${this.endpoint}, not written`);
      }
      try {
        const rows = this.rowsFor(row);
        const before = await this.reader.readRows(rows);
        const sfValue = row.scaleFrom === undefined ? undefined : before.values.get(row.scaleFrom);
        const sf = typeof sfValue === 'number' ? sfValue : row.scaleFrom === undefined ? undefined : null;
        if (sf === null) throw new KwartierError('control_value', `${what}: its scale factor is not available`);
        const words = encodeRow(row, code, this.markers, sf);
        const wanted = decodeValue(row, words, this.markers, sf);
        const current = before.values.get(field) ?? null;
        if (current !== null && current === wanted) {
          this.log.debug({ field, register: row.doc, value: current }, 'register already holds the value: not written');
          return { field, requested: value, readBack: current, written: false, at: Date.now() };
        }
        if (words.length !== rowLength(row)) throw new Error(`${what}: encoded ${words.length} words`);
        await this.transport.writeRegisters(row.wire, words);
        this.writes++;
        await sleep(this.opts.settleMs ?? 1000, this.abort?.signal);
        const after = await this.reader.readRows(rows);
        const readBack = after.values.get(field) ?? null;
        const entry = { field, register: row.doc, wire: row.wire, requested: value, was: current, read_back: readBack };
        if (readBack === wanted) this.log.info(entry, 'register written');
        else this.log.warn(entry, 'register written but reads back another value');
        return { field, requested: value, readBack, written: true, at: Date.now() };
      } finally {
        if (this.opts.connectPerCycle) await this.closeClient();
      }
    });
  }

  /** The row and, for a scaled row, its scale-factor row. */
  private rowsFor(row: RegisterRow<F>): RegisterRow<F>[] {
    if (row.scaleFrom === undefined) return [row];
    return [row, this.row(row.scaleFrom)];
  }

  /** A write's value as a number in the field's unit (enum names → codes), checked against min/max. */
  private toNumber(row: RegisterRow<F>, value: number | string, what: string): number {
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

  // ---- state and logs ----------------------------------------------------------------------------

  private onRowStatus(e: RowStatusEvent): void {
    const what = { register: e.row.doc, wire: e.row.wire, fn: e.row.fn, field: e.row.field };
    if (e.status === 'supported') {
      for (const k of [...this.warned]) if (k.startsWith(`${e.row.fn}:${e.row.wire}:`)) this.warned.delete(k);
      this.log.info(what, 'register answers again');
      return;
    }
    const retryInS = e.retryAt === undefined ? undefined : Math.round((e.retryAt - Date.now()) / 1000);
    // Once per register and reason: the hourly retry that fails again is no news.
    const key = `${e.row.fn}:${e.row.wire}:${e.status}`;
    const first = !this.warned.has(key);
    this.warned.add(key);
    this.log[first ? 'warn' : 'debug'](
      { ...what, retry_in_s: retryInS },
      e.status === 'unsupported'
        ? 'register not supported by this firmware (illegal data address): value null, left out of requests'
        : 'register keeps answering "not available": value null, no longer polled on its own',
    );
  }

  private setState(state: SourceState, detail?: string): void {
    if (state === this.currentState) return;
    // After a loss, reconnect attempts stay 'lost' until one works: no connecting/lost flapping.
    if (state === 'connecting' && this.currentState === 'lost') return;
    this.currentState = state;
    if (state === 'connected') this.log.info('connected');
    else if (state === 'lost') this.log.warn({ detail }, 'connection lost');
    else this.log.info('connecting');
    for (const l of this.stateListeners) l(state, detail);
  }
}
