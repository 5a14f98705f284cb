/**
 * Per-device tariffs, loaded and validated once at startup: config.devices[id].tariffs names a tariff
 * file relative to the config file (lib/tariff-file.ts reads it). Any error stops the server with the
 * file and key named.
 */
import { resolve } from 'node:path';
import { type LoadedTariff, loadTariff } from '../../lib/tariff-file.js';
import type { ServerConfig } from '../config.js';

export { type LoadedTariff, loadTariff };

/** Every configured device's tariff, keyed by device id. */
export function loadTariffs(config: ServerConfig, configDir: string): Map<string, LoadedTariff> {
  const out = new Map<string, LoadedTariff>();
  for (const [id, dev] of Object.entries(config.devices)) {
    if (!dev.tariffs) continue;
    const path = resolve(configDir, dev.tariffs);
    out.set(id, loadTariff(path, { timezone: config.timezone, country: dev.country }, `devices.${id}.tariffs`));
  }
  return out;
}
