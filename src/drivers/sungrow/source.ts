/**
 * The Sungrow SH poller: one Modbus TCP connection to the inverter (WiNet-S dongle or LAN port),
 * the register table (registers.ts) read in few grouped requests every poll_interval_s, spaced by
 * inter_register_delay_ms. Identity (device type, serial) is read after connecting and logged once.
 * Registers the firmware does not support are learned and left out (modbus/table-reader.ts).
 * On a transport failure: state 'lost', close, reconnect with exponential backoff and full jitter.
 *
 * Readings carry the snapshot fields (pv_*, mppt*, battery_* with + = charging, load_power_w) and,
 * in `inverter`, the inverter's own extras (its grid estimate with both signs stated, running
 * state, EMS mode…) which are not snapshot fields: the snapshot's grid comes from the P1 meter.
 */
import { Backoff } from '../../core/backoff.js';
import { errorMessage } from '../../core/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { sleep } from '../../lib/sleep.js';
import type { RegisterRow } from '../modbus/register-table.js';
import { type CycleResult, type RowStatusEvent, TableReader } from '../modbus/table-reader.js';
import { ModbusTcpClient, ModbusTransportError, type RegisterTransport } from '../modbus/tcp-client.js';
import type { Source, SourceReading, SourceState } from '../source.js';
import { SUNGROW_DEFAULTS, type SungrowConfig } from './config.js';
import {
  runningStateName,
  SUNGROW_EXTRA_FIELDS,
  SUNGROW_REGISTERS,
  type SungrowExtraField,
  type SungrowField,
  type SungrowSnapshotField,
  sungrowModel,
} from './registers.js';

export type SungrowExtras = Record<SungrowExtraField, number | null>;

/** A reading with the inverter's extras besides the snapshot fields. */
export interface SungrowReading extends SourceReading {
  fields: Partial<Record<SungrowSnapshotField, number | null>>;
  inverter: SungrowExtras;
}

export interface SungrowDeviceInfo {
  device_type_code: number | null;
  model: string | null;
  serial: string | null;
}

export interface SungrowSourceDeps {
  log?: Logger;
  /** The register table (default SUNGROW_REGISTERS). */
  registers?: readonly RegisterRow<SungrowField>[];
}

/** Cycles without a single answered request before the connection is dropped and reopened. */
const MAX_EMPTY_CYCLES = 3;

const EXTRA = new Set<string>(SUNGROW_EXTRA_FIELDS);
const IDENTITY = new Set<string>(['serial', 'device_type_code']);

export class SungrowSource implements Source {
  readonly name = 'sungrow';
  readonly kind = 'inverter' as const;
  readonly intervalMs: number;

  private readonly log: Logger;
  private readonly readingListeners: Array<(r: SourceReading) => void> = [];
  private readonly stateListeners: Array<(s: SourceState, detail?: string) => void> = [];
  private readonly backoff: Backoff;
  private readonly reader: TableReader<SungrowField>;
  private readonly registers: readonly RegisterRow<SungrowField>[];
  private client: ModbusTcpClient | null = null;
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private currentState: SourceState | null = null;
  private info: SungrowDeviceInfo | null = null;
  private lastRunningState: number | null = null;
  private readonly warned = new Set<string>();
  private cycles = 0;
  private requestsTotal = 0;

  constructor(
    private readonly cfg: SungrowConfig,
    deps: SungrowSourceDeps = {},
  ) {
    this.intervalMs = Math.round(cfg.poll_interval_s * 1000);
    this.log = deps.log ?? createLogger('sungrow', { endpoint: `${cfg.ip}:${cfg.port}` });
    this.registers = deps.registers ?? SUNGROW_REGISTERS;
    this.backoff = new Backoff({
      baseMs: cfg.reconnect_base_ms ?? SUNGROW_DEFAULTS.reconnect_base_ms,
      maxMs: cfg.reconnect_max_ms ?? SUNGROW_DEFAULTS.reconnect_max_ms,
    });
    const transport: RegisterTransport = {
      readRegisters: (fn, address, count) => {
        const c = this.client;
        if (!c) return Promise.reject(new ModbusTransportError('sungrow: not connected'));
        return c.readRegisters(fn, address, count);
      },
    };
    this.reader = new TableReader(this.registers, transport, {
      maxCount: cfg.max_registers_per_request ?? SUNGROW_DEFAULTS.max_registers_per_request,
      maxGap: cfg.max_gap_registers ?? SUNGROW_DEFAULTS.max_gap_registers,
      retryUnsupportedMs: (cfg.retry_unsupported_s ?? SUNGROW_DEFAULTS.retry_unsupported_s) * 1000,
      onRowStatus: (e) => this.onRowStatus(e),
    });
  }

  onReading(listener: (reading: SourceReading) => void): void {
    this.readingListeners.push(listener);
  }

  onState(listener: (state: SourceState, detail?: string) => void): void {
    this.stateListeners.push(listener);
  }

  get state(): SourceState | null {
    return this.currentState;
  }

  /** Device type, model and serial, once read (null before the first connection). */
  get device(): SungrowDeviceInfo | null {
    return this.info;
  }

  /** Counters for status output and benchmarks. */
  stats(): { cycles: number; requests: number; unsupported: Array<{ doc: number; field: string; reason: string }> } {
    return {
      cycles: this.cycles,
      requests: this.requestsTotal + (this.client?.requests ?? 0),
      unsupported: this.reader.excludedRows().map((e) => ({ doc: e.row.doc, field: e.row.field, reason: e.reason })),
    };
  }

  /** Starts polling in the background; never throws for an unreachable inverter (it retries). */
  async start(): Promise<void> {
    if (this.loop) return;
    this.abort = new AbortController();
    this.setState('connecting');
    this.loop = this.run(this.abort.signal).catch((err: unknown) => {
      this.log.error({ err: errorMessage(err) }, 'sungrow poller stopped on an unexpected error');
    });
  }

  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.abort?.abort();
    await this.client?.close();
    await loop;
    this.loop = null;
    this.abort = null;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const cfg = this.cfg;
    while (!signal.aborted) {
      const client = new ModbusTcpClient({
        host: cfg.ip,
        port: cfg.port,
        unitId: cfg.slave_id,
        timeoutMs: cfg.timeout_ms,
        interRequestDelayMs: cfg.inter_register_delay_ms,
        signal,
      });
      this.client = client;
      try {
        await client.connect();
        this.log.debug('tcp connected');
        await sleep(cfg.connect_delay_ms, signal);
        if (signal.aborted) break;
        await this.readIdentity();
        await this.pollLoop(signal);
      } catch (err) {
        if (signal.aborted) break;
        this.setState('lost', errorMessage(err));
      } finally {
        this.requestsTotal += client.requests;
        this.client = null;
        await client.close();
      }
      if (signal.aborted) break;
      const wait = this.backoff.next();
      this.log.debug({ retry_in_ms: wait }, 'reconnecting');
      await sleep(wait, signal);
    }
  }

  private async pollLoop(signal: AbortSignal): Promise<void> {
    let empty = 0;
    while (!signal.aborted) {
      const started = Date.now();
      const res = await this.reader.read('cycle');
      if (signal.aborted) return;
      this.cycles++;
      if (res.okRequests === 0 && res.exceptionRequests > 0) {
        empty++;
        if (empty >= MAX_EMPTY_CYCLES) {
          throw new ModbusTransportError(`no request answered with data in ${MAX_EMPTY_CYCLES} cycles`);
        }
      } else {
        empty = 0;
        this.backoff.reset();
        this.setState('connected');
        this.emit(res);
      }
      await sleep(Math.max(0, started + this.intervalMs - Date.now()), signal);
    }
  }

  private async readIdentity(): Promise<void> {
    const res = await this.reader.read('start');
    const code = res.values.get('device_type_code');
    const serial = res.values.get('serial');
    const info: SungrowDeviceInfo = {
      device_type_code: typeof code === 'number' ? code : null,
      model: sungrowModel(typeof code === 'number' ? code : null),
      serial: typeof serial === 'string' ? serial : null,
    };
    const prev = this.info;
    this.info = info;
    if (!prev || prev.device_type_code !== info.device_type_code || prev.serial !== info.serial) {
      this.log.info(
        {
          model: info.model,
          device_type_code:
            info.device_type_code === null
              ? null
              : `0x${info.device_type_code.toString(16).padStart(4, '0').toUpperCase()}`,
          serial: info.serial,
        },
        prev ? 'sungrow inverter changed' : 'sungrow inverter identified',
      );
    }
  }

  private emit(res: CycleResult<SungrowField>): void {
    const fields: Partial<Record<SungrowSnapshotField, number | null>> = {};
    const inverter = Object.fromEntries(SUNGROW_EXTRA_FIELDS.map((f) => [f, null])) as SungrowExtras;
    for (const [field, v] of res.values) {
      if (IDENTITY.has(field)) continue;
      const n = typeof v === 'number' ? v : null;
      if (EXTRA.has(field)) inverter[field as SungrowExtraField] = n;
      else fields[field as SungrowSnapshotField] = n;
    }
    const rs = inverter.running_state;
    if (rs !== null && rs !== this.lastRunningState) {
      this.log.info(
        {
          running_state: runningStateName(rs),
          was: this.lastRunningState === null ? null : runningStateName(this.lastRunningState),
        },
        'inverter running state',
      );
      this.lastRunningState = rs;
    }
    const reading: SungrowReading = { source: this.name, at: Date.now(), fields, inverter };
    for (const l of this.readingListeners) l(reading);
  }

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

export function createSungrowSource(cfg: SungrowConfig, deps: SungrowSourceDeps = {}): SungrowSource {
  return new SungrowSource(cfg, deps);
}
