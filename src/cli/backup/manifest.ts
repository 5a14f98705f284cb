/**
 * A backup directory: the copy (`kwartier.sqlite` or `kwartier.pgdump`) and `kwartier-backup.json`,
 * which says what it is, where it came from and how to check it (its SHA-256). `kwartier restore`
 * reads the manifest first and refuses a copy that does not match it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeCause, KwartierError, UsageError } from '../../core/errors.js';

export const MANIFEST = 'kwartier-backup.json';
export const SQLITE_FILE = 'kwartier.sqlite';
export const PG_FILE = 'kwartier.pgdump';

export interface BackupManifest {
  /** This file's format. */
  format: 1;
  kind: 'sqlite' | 'postgres';
  /** The copy's file name inside the directory. */
  file: string;
  created_at: string;
  kwartier_version: string;
  /** kw_meta's schema_version and timezone of the store when it was copied. */
  schema_version: string | null;
  timezone: string | null;
  /** PostgreSQL: the schema the dump holds (pg_restore recreates it under this name). */
  schema: string | null;
  bytes: number;
  sha256: string;
  /** Rows per table in the copy (SQLite: counted in the copy itself). */
  rows: Record<string, number> | null;
  /** The newest raw reading in the copy (SQLite), ISO 8601 UTC. */
  newest_reading: string | null;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export function writeManifest(dir: string, m: BackupManifest): void {
  const tmp = join(dir, `${MANIFEST}.partial`);
  writeFileSync(tmp, `${JSON.stringify(m, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, join(dir, MANIFEST));
}

/** The manifest of `dir` and its copy, checked against the SHA-256 it records. */
export async function readBackup(dir: string): Promise<{ manifest: BackupManifest; file: string }> {
  const path = join(dir, MANIFEST);
  if (!existsSync(path))
    throw new UsageError(
      `kwartier restore: --from: ${dir} holds no ${MANIFEST}: not a directory kwartier backup wrote`,
    );
  let m: BackupManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as BackupManifest;
  } catch (err) {
    throw new UsageError(`kwartier restore: --from: ${path}: not readable JSON: ${describeCause(err)}`);
  }
  if (m.format !== 1 || (m.kind !== 'sqlite' && m.kind !== 'postgres') || typeof m.file !== 'string')
    throw new UsageError(
      `kwartier restore: --from: ${path}: not a backup manifest this release knows (format ${m.format})`,
    );
  const file = join(dir, m.file.replace(/[/\\]/g, ''));
  if (!existsSync(file)) throw new UsageError(`kwartier restore: --from: ${file}: missing (the manifest names it)`);
  const sum = await sha256File(file);
  if (sum !== m.sha256)
    throw new KwartierError(
      'backup_damaged',
      `kwartier restore: --from: ${file} does not match its manifest (SHA-256 ${sum.slice(0, 12)}…, recorded ${String(m.sha256).slice(0, 12)}…): the copy is damaged or was changed`,
    );
  return { manifest: m, file };
}
