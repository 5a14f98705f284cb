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
 * - writes (`write()`, register-writer.ts): only `access: 'rw'` rows, only when the device holds
 *   another value, read back after `settleMs`. Polls and writes never interleave (one I/O lock);
 * - `busyRetries` (device-connection.ts): a request answered "busy" (exception 6) is asked again
 *   after an exponential, jittered wait, and the pause between requests grows while the device
 *   stays busy (`maxInterRequestDelayMs`, tcp-client.ts);
 * - `blocks`: rows of a named block (`RegisterRow.block`) on their own interval, each block
 *   switched on and off by the driver (`setBlockEnabled`: a meter or battery the device lacks);
 *   each cycle reads the blocks that are due and reports which;
 * - `shareConnection`: devices behind one gateway (host:port) share one connection, each request
 *   naming its unit (shared-link.ts; a Huawei SDongle takes one client).
 * Whether a device may write at all (`control: true`) is decided where its source is built.
 * This file: the two loops (a connection kept open, or one per cycle), the state and the listeners;
 * the connection and its I/O lock are device-connection.ts, the reads table-reader.ts.
 */
import { Backoff } from '../../core/backoff.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../lib/log.js';
import { sleep } from '../../lib/sleep.js';
import type { SourceState } from '../source.js';
import { BlockSchedule, DEFAULT_BLOCK } from './block-schedule.js';
import { DeviceConnection } from './device-connection.js';
import { DEFAULT_MARKERS, type Markers, type RegisterRow } from './register-table.js';
import { type FieldValue, RegisterWriter, type WriteResult } from './register-writer.js';
import { type CycleResult, type RowStatusEvent, TableReader } from './table-reader.js';
import { ModbusTransportError } from './tcp-client.js';

export type { FieldValue, WriteResult };

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

export class ModbusPoller<F extends string> {
  private readonly options: ModbusPollerOptions<F>;
  private readonly log: Logger;
  private readonly connection: DeviceConnection;
  private readonly reader: TableReader<F>;
  private readonly writer: RegisterWriter<F>;
  private readonly schedule: BlockSchedule;
  private readonly backoff: Backoff;
  private readonly valueListeners: Array<(v: PollValues<F>) => void> = [];
  private readonly identityListeners: Array<(v: Map<F, FieldValue>) => void> = [];
  private readonly stateListeners: Array<(s: SourceState, detail?: string) => void> = [];
  /** Registers already warned about, `fn:wire:status`: a failing retry is logged at debug. */
  private readonly warned = new Set<string>();
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private currentState: SourceState | null = null;
  private identityRead = false;
  private cycles = 0;

  constructor(options: ModbusPollerOptions<F>) {
    this.options = options;
    this.log = options.log;
    const signal = () => this.abort?.signal;
    this.connection = new DeviceConnection({
      name: options.name,
      host: options.host,
      port: options.port,
      unitId: options.unitId,
      timeoutMs: options.timeoutMs,
      interRequestDelayMs: options.interRequestDelayMs,
      ...(options.maxInterRequestDelayMs === undefined
        ? {}
        : { maxInterRequestDelayMs: options.maxInterRequestDelayMs }),
      connectDelayMs: options.connectDelayMs,
      connectPerCycle: options.connectPerCycle ?? false,
      shareConnection: options.shareConnection ?? false,
      busyRetries: options.busyRetries ?? 0,
      busyBackoffMs: options.busyBackoffMs ?? 200,
      signal,
      onConnecting: () => this.schedule.reset(),
      log: options.log,
    });
    this.schedule = new BlockSchedule(options.name, options.intervalMs, options.blocks ?? {}, options.table.rows);
    const markers: Markers = options.table.markers ?? DEFAULT_MARKERS;
    this.backoff = new Backoff({ baseMs: options.reconnectBaseMs ?? 1000, maxMs: options.reconnectMaxMs ?? 60_000 });
    this.reader = new TableReader(options.table.rows, this.connection.transport, {
      maxCount: options.maxCount ?? 100,
      maxGap: options.maxGap ?? 16,
      retryUnsupportedMs: options.retryUnsupportedMs ?? 3_600_000,
      markers,
      onRowStatus: (e) => this.onRowStatus(e),
    });
    this.writer = new RegisterWriter({
      name: options.name,
      rows: options.table.rows,
      markers,
      reader: this.reader,
      connection: this.connection,
      connectPerCycle: options.connectPerCycle ?? false,
      settleMs: options.settleMs ?? 1000,
      signal,
      log: options.log,
    });
  }

  get endpoint(): string {
    return this.connection.endpoint;
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
    const { requests, connects, busy } = this.connection.counts;
    return {
      cycles: this.cycles,
      requests,
      connects,
      writes: this.writer.writes,
      busy,
      unsupported: this.reader.excludedRows().map((e) => ({ doc: e.row.doc, field: e.row.field, reason: e.reason })),
    };
  }

  /** Starts polling in the background; never throws for an unreachable device (it retries). */
  async start(): Promise<void> {
    if (this.loop) return;
    this.abort = new AbortController();
    this.setState('connecting');
    const signal = this.abort.signal;
    const run = this.options.connectPerCycle ? this.runPerCycle(signal) : this.runPersistent(signal);
    this.loop = run.catch((err: unknown) => {
      this.log.error({ err: errorMessage(err) }, 'modbus poller stopped on an unexpected error');
    });
  }

  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.abort?.abort();
    await this.connection.closeForStop();
    await loop;
    await this.connection.release();
    this.loop = null;
    this.abort = null;
  }

  // ---- the loops ---------------------------------------------------------------------------------

  private async runPersistent(signal: AbortSignal): Promise<void> {
    const { connection } = this;
    while (!signal.aborted) {
      try {
        await connection.exclusive(async () => {
          await connection.connect(signal);
          if (!signal.aborted) await this.readIdentity();
        });
        if (signal.aborted) break;
        await this.pollLoop(signal);
      } catch (err) {
        if (signal.aborted) break;
        this.setState('lost', errorMessage(err));
      } finally {
        await connection.exclusive(() => connection.close());
      }
      if (signal.aborted) break;
      const wait = this.backoff.next();
      this.log.debug({ retry_in_ms: wait }, 'reconnecting');
      await sleep(wait, signal);
    }
  }

  private async pollLoop(signal: AbortSignal): Promise<void> {
    let empty = 0;
    const maxEmpty = this.options.maxEmptyCycles ?? 3;
    while (!signal.aborted) {
      const started = Date.now();
      const due = this.schedule.due(started);
      if (due.length === 0) {
        await sleep(Math.max(1, this.schedule.nextDueAt() - started), signal);
        continue;
      }
      const res = await this.connection.exclusive(() => this.reader.read('cycle', this.schedule.filter(due)));
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
    const { connection } = this;
    while (!signal.aborted) {
      const started = Date.now();
      let wait = 0;
      try {
        const res = await connection.exclusive(async () => {
          try {
            await connection.connect(signal);
            if (!this.identityRead && !signal.aborted) await this.readIdentity();
            return signal.aborted
              ? null
              : await this.reader.read('cycle', this.schedule.filter(this.schedule.enabledNames()));
          } finally {
            await connection.close();
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
      await sleep(Math.max(wait, started + this.options.intervalMs - Date.now()), signal);
    }
  }

  private async readIdentity(): Promise<void> {
    const startRows = this.options.table.rows.filter((r) => r.poll === 'start');
    if (startRows.length === 0) {
      this.identityRead = true;
      return;
    }
    const res = await this.reader.read('start');
    this.identityRead = true;
    for (const listener of this.identityListeners) listener(res.values);
  }

  private emit(res: CycleResult<F>, blocks: string[]): void {
    const values: PollValues<F> = {
      at: Date.now(),
      values: res.values,
      okRequests: res.okRequests,
      exceptionRequests: res.exceptionRequests,
      blocks,
    };
    for (const listener of this.valueListeners) listener(values);
  }

  // ---- writes (register-writer.ts) -----------------------------------------------------------------

  /** The row of `field`, or a KwartierError naming it. */
  row(field: string): RegisterRow<F> {
    return this.writer.row(field);
  }

  /**
   * Writes `value` (in the field's unit; an enum row takes its name or code) to an `access: 'rw'`
   * row — only when the device holds another value — waits settleMs, reads the row back and
   * returns what the device holds. Throws KwartierError `control_read_only` for other rows,
   * `control_value` for a value out of range, ModbusException / ModbusTransportError on failure.
   */
  write(field: F, value: number | string): Promise<WriteResult<F>> {
    return this.writer.write(field, value);
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
    for (const listener of this.stateListeners) listener(state, detail);
  }
}
