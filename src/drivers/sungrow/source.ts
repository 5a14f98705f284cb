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
 *
 * The connection, pacing, grouping and learning live in the shared Modbus poller
 * (modbus/poller.ts). With `control: true` the battery/EMS holding registers of control.md §2.1
 * are polled too (in the reading's `settings`) and `control()` writes them (write on change,
 * read back after settle_ms); without it `control()` refuses and nothing is ever written.
 */
import { KwartierError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { type ControllableSource, type ControlResult, type ControlSpec, offeredControl } from '../control.js';
import { ModbusPoller, type PollValues } from '../modbus/poller.js';
import type { RegisterRow } from '../modbus/register-table.js';
import { PolledSource, type SourceReading, type SourceState } from '../source.js';
import { SUNGROW_DEFAULTS, type SungrowConfig } from './config.js';
import { SUNGROW_CONTROL_TABLE, SUNGROW_CONTROLS } from './controls.js';
import {
  runningStateName,
  SUNGROW_EXTRA_FIELDS,
  type SungrowControlField,
  type SungrowExtraField,
  type SungrowField,
  type SungrowSnapshotField,
  sungrowModel,
  sungrowTable,
} from './registers.js';

export type SungrowExtras = Record<SungrowExtraField, number | null>;

/** A reading with the inverter's extras besides the snapshot fields. */
export interface SungrowReading extends SourceReading {
  fields: Partial<Record<SungrowSnapshotField, number | null>>;
  inverter: SungrowExtras;
  /** With `control: true`: the writable settings as the inverter holds them. */
  settings?: Partial<Record<SungrowControlField, number | null>>;
}

export interface SungrowDeviceInfo {
  device_type_code: number | null;
  model: string | null;
  serial: string | null;
}

export interface SungrowSourceDeps {
  log?: Logger;
  /** The register table (default: sungrowTable() for the config). */
  registers?: readonly RegisterRow<SungrowField>[];
  /** The source's name (default 'sungrow'; a device in a `devices:` list has its own). */
  name?: string;
}

const EXTRA = new Set<string>(SUNGROW_EXTRA_FIELDS);
const IDENTITY = new Set<string>(['serial', 'device_type_code']);

export class SungrowSource extends PolledSource implements ControllableSource {
  readonly name: string;
  readonly intervalMs: number;

  private readonly log: Logger;
  protected readonly poller: ModbusPoller<SungrowField>;
  private readonly registers: readonly RegisterRow<SungrowField>[];
  private info: SungrowDeviceInfo | null = null;
  private lastRunningState: number | null = null;

  constructor(
    private readonly cfg: SungrowConfig,
    deps: SungrowSourceDeps = {},
  ) {
    super();
    this.name = deps.name ?? 'sungrow';
    this.intervalMs = Math.round(cfg.poll_interval_s * 1000);
    this.log = deps.log ?? createLogger('sungrow', { endpoint: `${cfg.ip}:${cfg.port}` });
    this.registers =
      deps.registers ??
      sungrowTable({
        control: cfg.control === true,
        ...(cfg.forced_power_unit ? { forcedPowerUnit: cfg.forced_power_unit } : {}),
        ...(cfg.reserved_soc_scale !== undefined ? { reservedSocScale: cfg.reserved_soc_scale } : {}),
      });
    this.poller = new ModbusPoller<SungrowField>({
      name: this.name,
      host: cfg.ip,
      port: cfg.port,
      unitId: cfg.slave_id,
      table: { rows: this.registers },
      intervalMs: this.intervalMs,
      interRequestDelayMs: cfg.inter_register_delay_ms,
      connectDelayMs: cfg.connect_delay_ms,
      timeoutMs: cfg.timeout_ms,
      maxCount: cfg.max_registers_per_request ?? SUNGROW_DEFAULTS.max_registers_per_request,
      maxGap: cfg.max_gap_registers ?? SUNGROW_DEFAULTS.max_gap_registers,
      retryUnsupportedMs: (cfg.retry_unsupported_s ?? SUNGROW_DEFAULTS.retry_unsupported_s) * 1000,
      reconnectBaseMs: cfg.reconnect_base_ms ?? SUNGROW_DEFAULTS.reconnect_base_ms,
      reconnectMaxMs: cfg.reconnect_max_ms ?? SUNGROW_DEFAULTS.reconnect_max_ms,
      settleMs: cfg.settle_ms ?? SUNGROW_DEFAULTS.settle_ms,
      log: this.log,
    });
    this.poller.onIdentity((v) => this.onIdentity(v));
    this.poller.onValues((v) => this.emit(v));
  }

  get state(): SourceState | null {
    return this.poller.state;
  }

  /** Device type, model and serial, once read (null before the first connection). */
  get device(): SungrowDeviceInfo | null {
    return this.info;
  }

  /** The controls this inverter offers (all refused unless the config says control: true). */
  get controls(): readonly ControlSpec[] {
    return SUNGROW_CONTROLS;
  }

  /** Counters for status output and benchmarks. */
  stats(): { cycles: number; requests: number; unsupported: Array<{ doc: number; field: string; reason: string }> } {
    const s = this.poller.stats();
    return { cycles: s.cycles, requests: s.requests, unsupported: s.unsupported };
  }

  /**
   * Sets one of SUNGROW_CONTROLS: refused (KwartierError control_disabled) unless the config says
   * `control: true`; written only when the inverter holds another value; read back after
   * settle_ms. `readBack` is what the inverter holds (enum controls: the name, or the raw code
   * when it is not one of the names).
   */
  async control(name: string, value: unknown): Promise<ControlResult> {
    const c = offeredControl(this.name, name, SUNGROW_CONTROL_TABLE, this.cfg.control === true);
    if (!this.registers.some((r) => r.field === c.field && r.access === 'rw')) {
      throw new KwartierError('control_unavailable', `${this.name}.${name}: not available: ${c.spec.description}`);
    }
    let raw: number;
    if (c.codes) {
      const code = typeof value === 'string' ? c.codes[value] : undefined;
      if (code === undefined) {
        throw new KwartierError(
          'control_value',
          `${this.name}.${name}: ${JSON.stringify(value)} is not one of ${Object.keys(c.codes).join(', ')}`,
        );
      }
      raw = code;
    } else {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new KwartierError('control_value', `${this.name}.${name}: ${JSON.stringify(value)} is not a number`);
      }
      raw = value;
    }
    const res = await this.poller.write(c.field, raw);
    let readBack: unknown = res.readBack;
    if (c.codes && typeof res.readBack === 'number') {
      const hit = Object.entries(c.codes).find(([, code]) => code === res.readBack);
      readBack = hit ? hit[0] : res.readBack;
    }
    return { control: name, requested: value, readBack, at: res.at };
  }

  private onIdentity(values: Map<SungrowField, number | string | null>): void {
    const code = values.get('device_type_code');
    const serial = values.get('serial');
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

  private emit(res: PollValues<SungrowField>): void {
    const fields: Partial<Record<SungrowSnapshotField, number | null>> = {};
    const inverter = Object.fromEntries(SUNGROW_EXTRA_FIELDS.map((f) => [f, null])) as SungrowExtras;
    let settings: Partial<Record<SungrowControlField, number | null>> | undefined;
    for (const [field, v] of res.values) {
      if (IDENTITY.has(field)) continue;
      const n = typeof v === 'number' ? v : null;
      if (EXTRA.has(field)) inverter[field as SungrowExtraField] = n;
      else if (this.isControlOnly(field)) {
        settings ??= {};
        settings[field as SungrowControlField] = n;
      } else fields[field as SungrowSnapshotField] = n;
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
    const reading: SungrowReading = { source: this.name, at: res.at, fields, inverter };
    if (settings) reading.settings = settings;
    this.publish(reading);
  }

  private isControlOnly(field: string): boolean {
    return SUNGROW_CONTROL_TABLE.some((c) => c.field === field && c.field !== 'ems_mode');
  }
}

export function createSungrowSource(cfg: SungrowConfig, deps: SungrowSourceDeps = {}): SungrowSource {
  return new SungrowSource(cfg, deps);
}
