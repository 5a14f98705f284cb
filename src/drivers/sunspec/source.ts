/**
 * A generic SunSpec device as an edge source: discovery and polling (device.ts, through
 * device-source.ts), the models' meaning in snapshot fields (fields.ts). One reading per poll cycle,
 * with what the device's models say; what it does not have is left out, never 0.
 */
import type { SnapshotFields } from '../source.js';
import type { SunSpecConfig } from './config.js';
import type { SunSpecCycle } from './device.js';
import { SunSpecDeviceSource, type SunSpecSourceOptions } from './device-source.js';
import { SunSpecFields, sunspecPoints } from './fields.js';
import { SUNSPEC_LAYOUTS } from './models.js';

export type { SunSpecSourceOptions };

export class SunSpecSource extends SunSpecDeviceSource {
  private readonly mapping: SunSpecFields;

  constructor(cfg: SunSpecConfig, opts: SunSpecSourceOptions = {}) {
    super(cfg, opts, { type: 'sunspec', layouts: SUNSPEC_LAYOUTS, points: sunspecPoints });
    this.mapping = new SunSpecFields({ meterSign: cfg.meter_sign, batterySign: cfg.battery_sign, log: this.log });
  }

  protected fields(cycle: SunSpecCycle): SnapshotFields {
    return this.mapping.map(cycle, this.device.identity);
  }
}

export function createSunSpecSource(cfg: SunSpecConfig, opts: SunSpecSourceOptions = {}): SunSpecSource {
  return new SunSpecSource(cfg, opts);
}
