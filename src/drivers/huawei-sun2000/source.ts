/**
 * A Huawei SUN2000 inverter (and the DTSU666 power meter and LUNA2000 battery it may have) as an
 * edge source, over Modbus TCP through an SDongle or the inverter's access point.
 *
 * - One connection per gateway, shared by every inverter behind it (unit ids 1, 2, …): an SDongle
 *   takes one client (modbus/shared-link.ts). After connecting it waits connect_delay_ms (1.5 s,
 *   huawei-solar-lib's WAIT_ON_CONNECT); requests go one at a time, inter_register_delay_ms
 *   apart; a "busy" answer (exception 6) is asked again after a growing, jittered wait and widens
 *   the pause (modbus/poller.ts).
 * - The inverter's rows every poll_interval_s; the meter block every meter_interval_s (never
 *   faster than twice what a read takes), only while 37100 says the meter is online: reading an
 *   offline meter can make the inverter drop the connection (huawei-solar-lib bridge.py). The
 *   battery block every poll_interval_s, only when 47000/47089 name a battery, or (when those
 *   registers are not there) while the SoC register 37760 answers. What it finds is logged.
 * - Each cycle is a reading, sent once every block the device has was read once: the values of
 *   the blocks read this cycle and those carried from earlier cycles while younger than 3 × their
 *   interval, each block's age in seconds beside them (`inverter_age_s`, `meter_age_s`,
 *   `battery_age_s`). Older values are left out, never carried on.
 * - Signs: the meter says + export; the reading says + import (registers.ts negates). The battery
 *   says + charging, as the snapshot. 37119 (export) is taken as its absolute value.
 */
import { createLogger, type Logger } from '../../lib/log.js';
import { DEFAULT_BLOCK, type FieldValue, ModbusPoller, type PollValues } from '../modbus/poller.js';
import { PolledSource, type SourceReading, type SourceState } from '../source.js';
import type { HuaweiConfig } from './config.js';
import {
  BATTERY_BLOCK,
  BATTERY_MODEL,
  BATTERY_STATUS,
  codeName,
  DEVICE_STATUS,
  HUAWEI_TABLE,
  type HuaweiField,
  METER_BLOCK,
  METER_TYPE,
} from './registers.js';

/** Values of a block older than this many of its intervals are left out of a reading. */
const MAX_AGE_INTERVALS = 3;
/** The pause between requests may grow to this while the device answers "busy". */
const MAX_PAUSE_MS = 2000;

/** Fields used to decide and name things, not sent as they are. */
const INTERNAL = new Set<HuaweiField>([
  'meter_status',
  'inverter_status_code',
  'meter_type_code',
  'battery_status_code',
  'battery_soc_pct',
  'grid_export_kwh',
]);

export type HuaweiFields = Record<string, number | string | null>;

export interface HuaweiReading extends SourceReading {
  fields: HuaweiFields;
}

export interface HuaweiDeviceInfo {
  model: string | null;
  serial: string | null;
  rated_power_w: number | null;
  /** 47000 / 47089 storage unit product models (null: the registers are not there). */
  battery_models: [number | null, number | null];
}

export interface HuaweiSourceOptions {
  log?: Logger;
  /** The source's name (default 'huawei-sun2000'; a device in a `devices:` list has its own). */
  name?: string;
}

/** Which block each row belongs to. */
const BLOCK_OF = new Map<HuaweiField, string>(HUAWEI_TABLE.rows.map((r) => [r.field, r.block ?? DEFAULT_BLOCK]));

export class HuaweiSource extends PolledSource {
  readonly name: string;
  readonly intervalMs: number;

  private readonly log: Logger;
  protected readonly poller: ModbusPoller<HuaweiField>;
  private readonly intervals: Record<string, number>;
  /** The latest value of every row read, and when each block was last read. */
  private readonly latest = new Map<HuaweiField, FieldValue>();
  private readonly readAt = new Map<string, number>();
  private info: HuaweiDeviceInfo | null = null;
  private meter: boolean | null = null;
  private battery: boolean | null = null;
  private meterType: string | null = null;
  private inverterState: string | null = null;

  constructor(cfg: HuaweiConfig, opts: HuaweiSourceOptions = {}) {
    super();
    this.name = opts.name ?? 'huawei-sun2000';
    this.intervalMs = Math.round(cfg.poll_interval_s * 1000);
    this.log = opts.log ?? createLogger('huawei-sun2000', { endpoint: `${cfg.host}:${cfg.port}`, unit: cfg.unit_id });
    const meterMs = Math.round(Math.min(cfg.meter_interval_s, cfg.poll_interval_s) * 1000);
    this.intervals = { [DEFAULT_BLOCK]: this.intervalMs, [METER_BLOCK]: meterMs, [BATTERY_BLOCK]: this.intervalMs };
    this.poller = new ModbusPoller<HuaweiField>({
      name: this.name,
      host: cfg.host,
      port: cfg.port,
      unitId: cfg.unit_id,
      table: HUAWEI_TABLE,
      intervalMs: this.intervalMs,
      interRequestDelayMs: cfg.inter_register_delay_ms,
      maxInterRequestDelayMs: Math.max(MAX_PAUSE_MS, cfg.inter_register_delay_ms),
      connectDelayMs: cfg.connect_delay_ms,
      timeoutMs: cfg.timeout_ms,
      maxCount: cfg.max_registers_per_request,
      maxGap: 16,
      retryUnsupportedMs: cfg.retry_unsupported_s * 1000,
      busyRetries: cfg.busy_retries,
      blocks: {
        [METER_BLOCK]: { intervalMs: meterMs, enabled: false },
        [BATTERY_BLOCK]: { intervalMs: this.intervalMs, enabled: false },
      },
      shareConnection: true,
      log: this.log,
    });
    this.poller.onIdentity((v) => this.onIdentity(v));
    this.poller.onValues((v) => this.onValues(v));
  }

  get state(): SourceState | null {
    return this.poller.state;
  }

  /** Model, serial, rated power and battery models, once read (null before the first connection). */
  get device(): HuaweiDeviceInfo | null {
    return this.info;
  }

  /** Whether a meter / battery was found (null: not known yet). */
  get has(): { meter: boolean | null; battery: boolean | null } {
    return { meter: this.meter, battery: this.battery };
  }

  stats(): ReturnType<ModbusPoller<HuaweiField>['stats']> {
    return this.poller.stats();
  }

  private onIdentity(v: Map<HuaweiField, FieldValue>): void {
    const num = (f: HuaweiField) => {
      const x = v.get(f);
      return typeof x === 'number' ? x : null;
    };
    const str = (f: HuaweiField) => {
      const x = v.get(f);
      return typeof x === 'string' ? x : null;
    };
    const info: HuaweiDeviceInfo = {
      model: str('model_name'),
      serial: str('serial'),
      rated_power_w: num('rated_power_w'),
      battery_models: [num('battery_1_model_code'), num('battery_2_model_code')],
    };
    const prev = this.info;
    this.info = info;
    if (JSON.stringify(prev) !== JSON.stringify(info)) {
      this.log.info(
        {
          model: info.model,
          serial: info.serial,
          rated_power_w: info.rated_power_w,
          batteries: info.battery_models.map((m) => (m === null ? null : codeName(BATTERY_MODEL, m))),
        },
        prev ? 'huawei inverter changed' : 'huawei inverter identified',
      );
    }
  }

  private onValues(v: PollValues<HuaweiField>): void {
    for (const [field, value] of v.values) this.latest.set(field, value);
    for (const b of v.blocks) this.readAt.set(b, v.at);
    if (v.blocks.includes(DEFAULT_BLOCK)) {
      this.detectMeter();
      this.detectBattery();
      this.logStates();
    }
    // Wait until every block the device has was read once: the first reading is a whole one.
    for (const b of [DEFAULT_BLOCK, METER_BLOCK, BATTERY_BLOCK]) {
      if (this.poller.blockEnabled(b) && !this.readAt.has(b)) return;
    }
    this.emit(v.at);
  }

  /** The meter block is read only while 37100 says the meter is online. */
  private detectMeter(): void {
    const status = this.latest.get('meter_status');
    const online = status === 1;
    if (online === this.meter) return;
    const first = this.meter === null;
    this.meter = online;
    this.poller.setBlockEnabled(METER_BLOCK, online);
    if (online) {
      this.log.info('power meter found (37100: normal): grid values from it, every meter_interval_s');
    } else {
      this.readAt.delete(METER_BLOCK);
      const why = status === null || status === undefined ? 'not available' : `${status}, offline`;
      this.log[first ? 'info' : 'warn'](
        { meter_status: status ?? null },
        `no power meter (37100: ${why}): the device's grid values stay null`,
      );
    }
  }

  /**
   * The battery block is read when 47000/47089 name a battery; when neither register is there,
   * while the SoC register answers.
   */
  private detectBattery(): void {
    const models = this.info?.battery_models ?? [null, null];
    const known = models.filter((m): m is number => m !== null);
    const soc = this.latest.get('battery_soc_pct');
    let present: boolean;
    let why: string;
    if (known.some((m) => m !== 0)) {
      present = true;
      why = `47000/47089: ${known.map((m) => codeName(BATTERY_MODEL, m)).join(', ')}`;
    } else if (known.length > 0) {
      present = false;
      why = '47000/47089: none';
    } else {
      present = typeof soc === 'number';
      why = present ? '47000/47089 not available, 37760 (SoC) answers' : '47000/47089 and 37760 not available';
    }
    if (present === this.battery) return;
    const first = this.battery === null;
    this.battery = present;
    this.poller.setBlockEnabled(BATTERY_BLOCK, present);
    if (present) this.log.info({ why }, 'battery found: its values every poll_interval_s');
    else {
      this.readAt.delete(BATTERY_BLOCK);
      this.log[first ? 'info' : 'warn']({ why }, "no battery: the device's battery values stay null");
    }
  }

  private logStates(): void {
    const code = this.latest.get('inverter_status_code');
    const state = typeof code === 'number' ? codeName(DEVICE_STATUS, code) : null;
    if (state !== null && state !== this.inverterState) {
      this.log.info({ state, was: this.inverterState }, 'inverter state');
      this.inverterState = state;
    }
  }

  private fresh(block: string, at: number): boolean {
    const t = this.readAt.get(block);
    const interval = this.intervals[block] ?? this.intervalMs;
    return t !== undefined && at - t <= MAX_AGE_INTERVALS * interval && this.poller.blockEnabled(block);
  }

  private emit(at: number): void {
    const fields: HuaweiFields = {};
    const freshBlocks = new Set([DEFAULT_BLOCK, METER_BLOCK, BATTERY_BLOCK].filter((b) => this.fresh(b, at)));
    const get = (f: HuaweiField): FieldValue =>
      freshBlocks.has(BLOCK_OF.get(f) ?? DEFAULT_BLOCK) ? (this.latest.get(f) ?? null) : null;
    for (const row of HUAWEI_TABLE.rows) {
      if (row.poll === 'start' || INTERNAL.has(row.field)) continue;
      if (!freshBlocks.has(row.block ?? DEFAULT_BLOCK)) continue;
      fields[row.field] = get(row.field);
    }
    const num = (f: HuaweiField) => {
      const x = get(f);
      return typeof x === 'number' ? x : null;
    };
    const status = num('inverter_status_code');
    if (freshBlocks.has(DEFAULT_BLOCK)) {
      fields.inverter_state = status === null ? null : codeName(DEVICE_STATUS, status);
      fields.inverter_age_s = age(at, this.readAt.get(DEFAULT_BLOCK));
    }
    if (freshBlocks.has(METER_BLOCK)) {
      const exported = num('grid_export_kwh');
      fields.grid_export_kwh = exported === null ? null : Math.abs(exported);
      const type = num('meter_type_code');
      fields.meter_type = type === null ? null : codeName(METER_TYPE, type);
      if (fields.meter_type !== this.meterType) {
        this.log.info({ meter_type: fields.meter_type }, 'power meter type');
        this.meterType = fields.meter_type;
      }
      fields.meter_age_s = age(at, this.readAt.get(METER_BLOCK));
    }
    if (this.battery && freshBlocks.has(DEFAULT_BLOCK)) fields.battery_soc_pct = num('battery_soc_pct');
    if (freshBlocks.has(BATTERY_BLOCK)) {
      const s = num('battery_status_code');
      fields.battery_state = s === null ? null : codeName(BATTERY_STATUS, s);
      fields.battery_age_s = age(at, this.readAt.get(BATTERY_BLOCK));
    }
    const reading: HuaweiReading = { source: this.name, at, fields };
    this.publish(reading);
  }
}

/** Whole seconds since a block was read. */
function age(now: number, at: number | undefined): number | null {
  return at === undefined ? null : Math.floor((now - at) / 1000);
}

export function createHuaweiSource(cfg: HuaweiConfig, opts: HuaweiSourceOptions = {}): HuaweiSource {
  return new HuaweiSource(cfg, opts);
}
