/**
 * A SunSpec device as an edge source: what the generic SunSpec driver (source.ts) and the OutBack
 * driver (../outback/source.ts) share. The config's keys become the device's options (device.ts:
 * discovery, then the shared poller), and each poll cycle becomes one reading of the fields the
 * driver makes of it (`fields`).
 */
import { createLogger, type Logger } from '../../lib/log.js';
import { PolledSource, type SnapshotFields } from '../source.js';
import type { SunSpecDeviceConfig } from './config.js';
import { type SunSpecCycle, SunSpecDevice } from './device.js';
import type { ModelLayout } from './models.js';
import type { PointSelector } from './table.js';

export interface SunSpecSourceOptions {
  log?: Logger;
  /** The source's name (default the type; a device in a `devices:` list has its own). */
  name?: string;
  /** Reconnect backoff (tests make it short). */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
}

/** What a driver reads of the device. */
export interface SunSpecDriver {
  /** Its type: the source's default name and its logger's. */
  type: string;
  /** The layouts it understands (models without one are walked over, not read). */
  layouts: readonly ModelLayout[];
  /** The points it reads of each layout. */
  points: PointSelector;
}

export abstract class SunSpecDeviceSource extends PolledSource {
  readonly name: string;
  readonly intervalMs: number;
  protected readonly poller: SunSpecDevice;
  protected readonly log: Logger;

  constructor(cfg: SunSpecDeviceConfig, opts: SunSpecSourceOptions, driver: SunSpecDriver) {
    super();
    this.name = opts.name ?? driver.type;
    this.intervalMs = Math.round(cfg.poll_interval_s * 1000);
    this.log = opts.log ?? createLogger(driver.type, { endpoint: `${cfg.host}:${cfg.port}`, unit: cfg.unit_id });
    this.poller = new SunSpecDevice({
      name: this.name,
      host: cfg.host,
      port: cfg.port,
      unitId: cfg.unit_id,
      intervalMs: this.intervalMs,
      timeoutMs: cfg.timeout_ms,
      connectDelayMs: cfg.connect_delay_ms,
      interRequestDelayMs: cfg.inter_register_delay_ms,
      maxCount: cfg.max_registers_per_request,
      retryUnsupportedMs: cfg.retry_unsupported_s * 1000,
      busyRetries: cfg.busy_retries,
      layouts: driver.layouts,
      points: driver.points,
      ...(opts.reconnectBaseMs === undefined ? {} : { reconnectBaseMs: opts.reconnectBaseMs }),
      ...(opts.reconnectMaxMs === undefined ? {} : { reconnectMaxMs: opts.reconnectMaxMs }),
      log: this.log,
    });
    this.poller.onValues((c) => this.publish({ source: this.name, at: c.at, fields: this.fields(c) }));
  }

  /** The discovery and the poller (its chain, identity, walks). */
  get device(): SunSpecDevice {
    return this.poller;
  }

  /** The snapshot fields of one poll cycle (the device's identity is `this.device.identity`). */
  protected abstract fields(cycle: SunSpecCycle): SnapshotFields;
}
