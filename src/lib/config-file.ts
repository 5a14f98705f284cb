import { readFileSync } from 'node:fs';
import type { Static, TSchema } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage } from '../core/errors.js';
import { parseWithSchema } from '../core/validate.js';

/** Reads a YAML (or JSON) config file and validates it; every error names the file and the key. */
export function loadConfigFile<T extends TSchema>(schema: T, path: string): Static<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read config file: ${errorMessage(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${errorMessage(err)}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`${path}: expected a mapping of keys at the top level`);
  }
  return parseWithSchema(schema, doc, path);
}
