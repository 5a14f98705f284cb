/**
 * The driver registry: the one list of device types. The edge config's `devices:` entries,
 * `kwartier devices`, `kwartier simulate --device` and the device table of docs/configuration.md
 * are derived from it. Adding a device type = a folder under src/drivers/ with its definition,
 * its fixtures, and one line here (docs/drivers.md).
 */

import type { Logger } from '../lib/log.js';
import type { DriverDefinition } from './definition.js';
import { DeviceSource } from './definition.js';
import { dsmr } from './dsmr/definition.js';
import { fronius } from './fronius/definition.js';
import { homewizard } from './homewizard/definition.js';
import { huaweiSun2000 } from './huawei-sun2000/definition.js';
import { nrgkick } from './nrgkick/definition.js';
import { ocpp } from './ocpp/definition.js';
import { outback } from './outback/definition.js';
import type { Source } from './source.js';
import { sungrow } from './sungrow/definition.js';
import { sunspec } from './sunspec/definition.js';
import { tristarMppt } from './tristar-mppt/definition.js';

export const DRIVERS: readonly DriverDefinition[] = [
  dsmr,
  homewizard,
  sungrow,
  fronius,
  huaweiSun2000,
  sunspec,
  outback,
  tristarMppt,
  nrgkick,
  ocpp,
];

export function driverOf(type: string): DriverDefinition | undefined {
  return DRIVERS.find((d) => d.type === type);
}

/** One device of a site: its name, its type's definition and its checked config (defaults filled). */
export interface SiteDevice {
  name: string;
  definition: DriverDefinition;
  config: unknown;
}

/** Builds the site's sources, each under its device name. */
export async function createSources(devices: readonly SiteDevice[], timezone: string, log: Logger): Promise<Source[]> {
  const sources: Source[] = [];
  for (const d of devices) {
    await d.definition.load?.();
    const devLog = log.child({ source: d.name });
    const inner = d.definition.create(d.config, { name: d.name, timezone, log: devLog });
    sources.push(
      new DeviceSource(d.name, d.definition.type, d.definition.roles, inner, {
        controls: d.definition.controls ?? [],
        controlEnabled: (d.config as { control?: unknown }).control === true,
        log: devLog,
      }),
    );
  }
  return sources;
}
