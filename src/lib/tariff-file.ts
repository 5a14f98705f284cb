/**
 * A tariff file (YAML, or the earlier system's rates.json) and its optional price_file (dynamic
 * prices, CSV or JSON, relative to the tariff file), read and validated: the server's cost pages
 * and the edge's control use the same file. Any error is a ConfigError naming the file and key.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage } from '../core/errors.js';
import { type PriceSeries, parsePriceFile, parseTariffFile, type Tariff } from '../core/tariff/index.js';

export interface LoadedTariff {
  tariff: Tariff;
  /** Dynamic prices, when the tariff file names a price_file. */
  prices: PriceSeries | null;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path}: ${errorMessage(err)}`);
  }
}

export function loadTariff(
  path: string,
  defaults: { timezone: string; country: 'be' | 'nl' },
  what: string,
): LoadedTariff {
  const text = readText(path, what);
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML or JSON: ${errorMessage(err)}`);
  }
  const tariff = parseTariffFile(doc, path, defaults);
  let prices: PriceSeries | null = null;
  if (tariff.priceFile) {
    const pricePath = resolve(dirname(path), tariff.priceFile);
    prices = parsePriceFile(readText(pricePath, `${path}: price_file`), pricePath);
  }
  return { tariff, prices };
}
