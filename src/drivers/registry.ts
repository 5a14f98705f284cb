/**
 * The driver registry: config section → Source. The edge never branches on vendor beyond this
 * file. Adding a device = one driver folder + one line here.
 */
import type { Logger } from '../lib/log.js';
import type { DsmrConfig } from './dsmr/config.js';
import type { HomeWizardConfig } from './homewizard/config.js';
import type { Source } from './source.js';
import type { SungrowConfig } from './sungrow/config.js';

export interface SourcesConfig {
  timezone: string;
  dsmr?: DsmrConfig | undefined;
  homewizard?: HomeWizardConfig | undefined;
  sungrow?: SungrowConfig | undefined;
}

export async function createSources(cfg: SourcesConfig, log: Logger): Promise<Source[]> {
  const sources: Source[] = [];
  if (cfg.dsmr) {
    const { createDsmrSource } = await import('./dsmr/source.js');
    sources.push(createDsmrSource(cfg.dsmr, { log: log.child({ source: 'dsmr' }) }));
  }
  if (cfg.homewizard) {
    const { createHomeWizardSource } = await import('./homewizard/source.js');
    sources.push(
      createHomeWizardSource(cfg.homewizard, { log: log.child({ source: 'homewizard' }), timezone: cfg.timezone }),
    );
  }
  if (cfg.sungrow) {
    const { createSungrowSource } = await import('./sungrow/source.js');
    sources.push(createSungrowSource(cfg.sungrow, { log: log.child({ source: 'sungrow' }) }));
  }
  return sources;
}
