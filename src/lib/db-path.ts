/**
 * A SQLite file named in a config file (the server's `store.path`, the edge's `buffer.db_path`),
 * checked before it is opened, and the errors of opening it, each naming the key, the file and the
 * cause. What the config gets wrong is a ConfigError (exit 2): a directory that cannot be made or
 * written, a path that is a directory, a file that is not a SQLite database. What the machine runs
 * into is a runtime error (exit 1, `retriable`): a full disk, an I/O error, a locked or corrupt file.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, describeCause, KwartierError } from '../core/errors.js';

/** Makes the file's directory (as the stores and the outbox do) and checks it can be written. */
export function prepareDbPath(key: string, path: string): void {
  if (path === ':memory:') return;
  const file = resolve(path);
  const fail = (cause: string) => new ConfigError(`${key}: ${file}: ${cause}`, { key });
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST') throw fail(`cannot create the directory: ${dir} is a file`);
    throw fail(`cannot create the directory: ${describeCause(err)}`);
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw fail(`cannot write the directory ${dir}: ${describeCause(err)}`);
  }
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch {
    return; // not there yet: SQLite creates it
  }
  if (isDir) throw fail('is a directory');
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw fail(`cannot write: ${describeCause(err)}`);
  }
}

/** SQLite result codes that say the config names the wrong file (exit 2). */
const CONFIG_CODES = /^SQLITE_(NOTADB|CANTOPEN|READONLY|PERM|AUTH)/;

/**
 * An error opening or preparing the SQLite file, named: a ConfigError for the wrong file, a
 * KwartierError (`store_open`, retriable) for a full disk and the like; other errors unchanged.
 */
export function describeDbError(key: string, path: string, err: unknown): unknown {
  if (err instanceof KwartierError) return err;
  const code = err !== null && typeof err === 'object' && 'code' in err ? (err as { code: unknown }).code : undefined;
  if (typeof code !== 'string') return err;
  const file = resolve(path);
  if (code.startsWith('SQLITE_')) {
    const what = code === 'SQLITE_NOTADB' ? 'not a SQLite database' : describeCause(err);
    const message = `${key}: ${file}: ${what} (${code})`;
    if (CONFIG_CODES.test(code)) return new ConfigError(message, { key, cause: err });
    return new KwartierError('store_open', message, { key, cause: err, retriable: true });
  }
  if (/^E[A-Z]+$/.test(code)) {
    const message = `${key}: ${file}: ${describeCause(err)}`;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO' || code === 'EMFILE')
      return new KwartierError('store_open', message, { key, cause: err, retriable: true });
    return new ConfigError(message, { key, cause: err });
  }
  return err;
}
