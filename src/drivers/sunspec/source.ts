/**
 * A generic SunSpec device as an edge source: discovery and polling (device.ts), the models' meaning
 * in snapshot fields (fields.ts). One reading per poll cycle, with what the device's models say;
 * what it does not have is left out, never 0.
 */
import { createLogger, type Logger } from '../../lib/log.js';
import type { Source, SourceReading, SourceState } from '../source.js';
import type { SunSpecConfig } from './config.js';
import { SunSpecDevice } from './device.js';
import { SunSpecFields, sunspecPoints } from './fields.js';
import { SUNSPEC_LAYOUTS } from './models.js';

export interface SunSpecSourceOptions {
  log?: Logger;
  /** The source's name (default 'sunspec'; a device in a `devices:` list has its own). */
  name?: string;
  /** Reconnect backoff (tests make it short). */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
}

export class SunSpecSource implements Source {
  readonly name: string;
  readonly kind = 'inverter' as const;
  readonly intervalMs: number;
  readonly device: SunSpecDevice;
  private readonly fields: SunSpecFields;
  private readonly listeners: Array<(r: SourceReading) => void> = [];

  constructor(cfg: SunSpecConfig, opts: SunSpecSourceOptions = {}) {
    this.name = opts.name ?? 'sunspec';
    this.intervalMs = Math.round(cfg.poll_interval_s * 1000);
    const log = opts.log ?? createLogger('sunspec', { endpoint: `${cfg.host}:${cfg.port}`, unit: cfg.unit_id });
    this.device = new SunSpecDevice({
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
      layouts: SUNSPEC_LAYOUTS,
      points: sunspecPoints,
      ...(opts.reconnectBaseMs === undefined ? {} : { reconnectBaseMs: opts.reconnectBaseMs }),
      ...(opts.reconnectMaxMs === undefined ? {} : { reconnectMaxMs: opts.reconnectMaxMs }),
      log,
    });
    this.fields = new SunSpecFields({ meterSign: cfg.meter_sign, batterySign: cfg.battery_sign, log });
    this.device.onValues((c) => {
      const reading: SourceReading = { source: this.name, at: c.at, fields: this.fields.map(c, this.device.identity) };
      for (const l of this.listeners) l(reading);
    });
  }

  onReading(listener: (reading: SourceReading) => void): void {
    this.listeners.push(listener);
  }

  onState(listener: (state: SourceState, detail?: string) => void): void {
    this.device.onState(listener);
  }

  start(): Promise<void> {
    return this.device.start();
  }

  stop(): Promise<void> {
    return this.device.stop();
  }
}

export function createSunSpecSource(cfg: SunSpecConfig, opts: SunSpecSourceOptions = {}): SunSpecSource {
  return new SunSpecSource(cfg, opts);
}
