/**
 * What every edge source (a P1 meter, an inverter) gives the edge: readings of snapshot fields.
 * A driver maps its device's data onto these names (units and signs as in core/snapshot.ts) and
 * leaves out what it does not know; the merger fills the rest with null. A driver that polls its
 * device extends `PolledSource` (the listeners, state, start and stop of its poller).
 */
import type { Snapshot } from '../core/snapshot.js';

/** The snapshot fields a source may set. */
export type SnapshotFields = Partial<Omit<Snapshot, 'device_id' | 'timestamp' | 'stale_sources'>>;

export interface SourceReading {
  /** Source name as in the config: 'dsmr' | 'homewizard' | 'sungrow' | … */
  source: string;
  /** Edge clock (ms since epoch) when the reading was taken. */
  at: number;
  fields: SnapshotFields;
}

export type SourceState = 'connecting' | 'connected' | 'lost';

export interface Source {
  readonly name: string;
  /** 'p1' sources tick the merger; 'inverter' sources are carried forward until stale. */
  readonly kind: 'p1' | 'inverter';
  /** How often new readings are expected, in ms (staleness is a multiple of this). */
  readonly intervalMs: number;
  onReading(listener: (reading: SourceReading) => void): void;
  onState?(listener: (state: SourceState, detail?: string) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What a polled source reads its device with (a ModbusPoller, a SunSpecDevice, a JsonPoller). */
export interface SourcePoller {
  onState(listener: (state: SourceState, detail?: string) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The plumbing of a source that polls its device (kind `inverter`: carried forward until stale):
 * its state, start and stop are its poller's, and `publish` gives a reading to every listener. A
 * driver extends it with what it makes of the poller's values.
 */
export abstract class PolledSource implements Source {
  abstract readonly name: string;
  readonly kind = 'inverter' as const;
  abstract readonly intervalMs: number;
  protected abstract readonly poller: SourcePoller;
  private readonly listeners: Array<(reading: SourceReading) => void> = [];

  onReading(listener: (reading: SourceReading) => void): void {
    this.listeners.push(listener);
  }

  onState(listener: (state: SourceState, detail?: string) => void): void {
    this.poller.onState(listener);
  }

  /** Starts polling in the background; never throws for an unreachable device (the poller retries). */
  start(): Promise<void> {
    return this.poller.start();
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }

  protected publish(reading: SourceReading): void {
    for (const l of this.listeners) l(reading);
  }
}
