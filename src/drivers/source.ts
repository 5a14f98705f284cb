/**
 * What every edge source (a P1 meter, an inverter) gives the edge: readings of snapshot fields.
 * A driver maps its device's data onto these names (units and signs as in core/snapshot.ts) and
 * leaves out what it does not know; the merger fills the rest with null.
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
