/**
 * An OutBack MATE3/MATE3s or AXS Port as an edge source: the SunSpec discovery and poller
 * (../sunspec/device.ts) on OutBack's own blocks (blocks.ts), mapped by fields.ts. The AXS Port ends
 * its chain with zeros instead of an end model, and block lengths vary by firmware: the walk stops
 * at the zeros and every block is read within the length the hub reports.
 */
import { createLogger, type Logger } from '../../lib/log.js';
import type { Source, SourceReading, SourceState } from '../source.js';
import { SunSpecDevice } from '../sunspec/device.js';
import { MODEL_1, MODEL_101 } from '../sunspec/models.js';
import { OUTBACK_LAYOUTS } from './blocks.js';
import type { OutBackConfig } from './config.js';
import { outbackFields, outbackPoints } from './fields.js';

export interface OutBackSourceOptions {
  log?: Logger;
  /** The source's name (default 'outback'; a device in a `devices:` list has its own). */
  name?: string;
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
}

export class OutBackSource implements Source {
  readonly name: string;
  readonly kind = 'inverter' as const;
  readonly intervalMs: number;
  readonly device: SunSpecDevice;
  private readonly listeners: Array<(r: SourceReading) => void> = [];

  constructor(cfg: OutBackConfig, opts: OutBackSourceOptions = {}) {
    this.name = opts.name ?? 'outback';
    this.intervalMs = Math.round(cfg.poll_interval_s * 1000);
    const log = opts.log ?? createLogger('outback', { endpoint: `${cfg.host}:${cfg.port}`, unit: cfg.unit_id });
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
      layouts: [MODEL_1, MODEL_101, ...OUTBACK_LAYOUTS],
      points: outbackPoints,
      ...(opts.reconnectBaseMs === undefined ? {} : { reconnectBaseMs: opts.reconnectBaseMs }),
      ...(opts.reconnectMaxMs === undefined ? {} : { reconnectMaxMs: opts.reconnectMaxMs }),
      log,
    });
    this.device.onChain((_, instances) => {
      const ports = instances.filter((i) => i.id >= 64111).map((i) => i.id);
      if (ports.length === 0) log.warn('the OutBack hub reports no charge controller, inverter or battery monitor');
    });
    this.device.onValues((c) => {
      const reading: SourceReading = { source: this.name, at: c.at, fields: outbackFields(c, this.device.identity) };
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

export function createOutBackSource(cfg: OutBackConfig, opts: OutBackSourceOptions = {}): OutBackSource {
  return new OutBackSource(cfg, opts);
}
