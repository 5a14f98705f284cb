/**
 * An OutBack MATE3/MATE3s or AXS Port as an edge source: the SunSpec discovery and poller
 * (../sunspec/device.ts, through ../sunspec/device-source.ts) on OutBack's own blocks (blocks.ts),
 * mapped by fields.ts. The AXS Port ends its chain with zeros instead of an end model, and block
 * lengths vary by firmware: the walk stops at the zeros and every block is read within the length
 * the hub reports.
 */
import type { SnapshotFields } from '../source.js';
import type { SunSpecCycle } from '../sunspec/device.js';
import { SunSpecDeviceSource, type SunSpecSourceOptions } from '../sunspec/device-source.js';
import { MODEL_1, MODEL_101 } from '../sunspec/models.js';
import { OUTBACK_LAYOUTS } from './blocks.js';
import type { OutBackConfig } from './config.js';
import { outbackFields, outbackPoints } from './fields.js';

export type OutBackSourceOptions = SunSpecSourceOptions;

export class OutBackSource extends SunSpecDeviceSource {
  constructor(cfg: OutBackConfig, opts: OutBackSourceOptions = {}) {
    super(cfg, opts, { type: 'outback', layouts: [MODEL_1, MODEL_101, ...OUTBACK_LAYOUTS], points: outbackPoints });
    this.device.onChain((_, instances) => {
      const ports = instances.filter((i) => i.id >= 64111).map((i) => i.id);
      if (ports.length === 0)
        this.log.warn('the OutBack hub reports no charge controller, inverter or battery monitor');
    });
  }

  protected fields(cycle: SunSpecCycle): SnapshotFields {
    return outbackFields(cycle, this.device.identity);
  }
}

export function createOutBackSource(cfg: OutBackConfig, opts: OutBackSourceOptions = {}): OutBackSource {
  return new OutBackSource(cfg, opts);
}
