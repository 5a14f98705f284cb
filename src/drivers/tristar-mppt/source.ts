/**
 * A Morningstar TriStar MPPT charge controller as an edge source, over Modbus TCP.
 *
 * - Connect → read → close every poll_interval_s (5 s): the controller closes the socket after
 *   each answer (devices.md §5.1), so the shared poller's `connectPerCycle` mode opens one
 *   connection per cycle, sends one read of wire 0x0000–0x0044, and closes. A register the
 *   firmware refuses (exception 2) is learnt and left out (modbus/table-reader.ts), its value null.
 * - The words are decoded in the encoding the config names, or the one `auto` tells from the
 *   reading (decode.ts); the choice, and any change of it, is logged once.
 * - What the controller gives maps onto the snapshot: battery voltage, PV power (its output power
 *   to the battery), today's and total PV energy, the array's voltage and current (mppt1), the
 *   battery temperature when a remote sensor is connected, and the charge state by name. Its own
 *   values: charge current, target voltage, heatsink temperature and the encoding. It has no grid
 *   meter, no SoC and does not know the battery's net power or current: those are left out.
 */
import { createLogger, type Logger } from '../../lib/log.js';
import { ModbusPoller, type PollValues } from '../modbus/poller.js';
import { PolledSource, type SourceReading } from '../source.js';
import type { TristarConfig } from './config.js';
import { decodeReading, detectEncoding, type Encoding, type RawWords, type TristarValues } from './decode.js';
import { chargeStateName, faultNames, TRISTAR_TABLE, type TristarField } from './registers.js';

export interface TristarReading extends SourceReading {
  fields: Record<string, number | string | null> & Partial<TristarValues>;
}

export interface TristarSourceOptions {
  log?: Logger;
  /** The source's name (default 'tristar-mppt'; a device in a `devices:` list has its own). */
  name?: string;
}

/** Registers answered by the whole block: one request (the table spans 69 registers). */
const MAX_REGISTERS = 125;
const MAX_GAP = 32;

export class TristarSource extends PolledSource {
  readonly name: string;
  readonly intervalMs: number;

  private readonly log: Logger;
  protected readonly poller: ModbusPoller<TristarField>;
  private readonly setting: TristarConfig['encoding'];
  private encoding: Encoding | null;
  private undecidedLogged = false;
  private firmware: number | null = null;
  private faults = 0;
  private state: string | null = null;

  constructor(cfg: TristarConfig, opts: TristarSourceOptions = {}) {
    super();
    this.name = opts.name ?? 'tristar-mppt';
    this.intervalMs = Math.round(cfg.poll_interval_s * 1000);
    this.log = opts.log ?? createLogger('tristar-mppt', { endpoint: `${cfg.host}:${cfg.port}`, unit: cfg.unit_id });
    this.setting = cfg.encoding;
    this.encoding = cfg.encoding === 'auto' ? null : cfg.encoding;
    this.poller = new ModbusPoller<TristarField>({
      name: this.name,
      host: cfg.host,
      port: cfg.port,
      unitId: cfg.unit_id,
      table: TRISTAR_TABLE,
      intervalMs: this.intervalMs,
      interRequestDelayMs: 0,
      connectDelayMs: 0,
      timeoutMs: cfg.timeout_ms,
      maxCount: MAX_REGISTERS,
      maxGap: MAX_GAP,
      retryUnsupportedMs: cfg.retry_unsupported_s * 1000,
      connectPerCycle: true,
      log: this.log,
    });
    this.poller.onValues((v) => this.onValues(v));
  }

  /** The encoding in use (null: not told yet). */
  get currentEncoding(): Encoding | null {
    return this.encoding;
  }

  stats(): ReturnType<ModbusPoller<TristarField>['stats']> {
    return this.poller.stats();
  }

  private onValues(v: PollValues<TristarField>): void {
    const raw = new Map<TristarField, number | null>();
    for (const [field, value] of v.values) raw.set(field, typeof value === 'number' ? value : null);
    if (this.setting === 'auto') this.detect(raw);
    this.logChanges(raw);
    const values = decodeReading(raw, this.encoding);
    // Fields the controller has but did not give this time are null, as the snapshot says.
    const reading: TristarReading = { source: this.name, at: v.at, fields: { ...values } };
    this.publish(reading);
  }

  private detect(raw: RawWords): void {
    const d = detectEncoding(raw, this.encoding);
    const battery = { vpu_v: round2(d.battery.vpu), f16_v: round2(d.battery.f16) };
    if (d.encoding === null) {
      // Keep nothing we cannot read: the scaled values stay null until the encoding is clear.
      if (!this.undecidedLogged) {
        this.log.warn(
          { ...battery, why: d.reason },
          'cannot tell the controller’s encoding: voltages, currents and power stay null (set encoding: vpu or f16)',
        );
        this.undecidedLogged = true;
      }
      this.encoding = null;
      return;
    }
    if (d.encoding !== this.encoding) {
      const was = this.encoding;
      this.encoding = d.encoding;
      this.undecidedLogged = false;
      this.log[was === null ? 'info' : 'warn'](
        { encoding: d.encoding, was, ...battery, why: d.reason },
        d.encoding === 'f16' ? 'values are half-floats (newer firmware)' : 'values are scaled by V_PU/I_PU',
      );
    }
  }

  /** Firmware, faults and the charge state, logged when they change. */
  private logChanges(raw: RawWords): void {
    const fw = raw.get('ver_sw') ?? null;
    if (fw !== null && fw !== this.firmware) {
      this.firmware = fw;
      // BCD: version 12 is 0x0012.
      this.log.info({ firmware: fw.toString(16) }, 'tristar controller firmware');
    }
    const faults = raw.get('fault_all') ?? null;
    if (faults !== null && faults !== this.faults) {
      if (faults === 0) this.log.info('faults cleared');
      else this.log.warn({ faults: faultNames(faults) }, 'controller reports faults');
      this.faults = faults;
    }
    const code = raw.get('charge_state') ?? null;
    const state = code === null ? null : chargeStateName(code);
    if (state !== null && state !== this.state) {
      this.log.info({ charge_state: state, was: this.state }, 'charge state');
      this.state = state;
    }
  }
}

function round2(x: number | null): number | null {
  return x === null || !Number.isFinite(x) ? null : Math.round(x * 100) / 100;
}

export function createTristarSource(cfg: TristarConfig, opts: TristarSourceOptions = {}): TristarSource {
  return new TristarSource(cfg, opts);
}
