/**
 * A throwaway PostgreSQL cluster for tests that restart PostgreSQL (the shared one on 5432 must
 * never be restarted): initdb into a temp dir, pg_ctl on a free loopback port. initdb refuses to
 * run as root, so as root it runs as the `postgres` user (runuser) in a dir that user owns.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/net.js';

const run = promisify(execFile);

function pgBin(): string {
  for (const v of ['17', '16', '15', '14']) {
    const d = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(join(d, 'initdb'))) return d;
  }
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin');
}

export class PgCluster {
  readonly dir: string;
  readonly port: number;
  private readonly bin = pgBin();
  private readonly asRoot = process.getuid?.() === 0;

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
  }

  static async create(): Promise<PgCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'kw-pg-'));
    const c = new PgCluster(dir, await freePort());
    if (c.asRoot) {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      chownSync(dir, uid, gid);
    }
    await c.as(join(c.bin, 'initdb'), [
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    await c.start();
    return c;
  }

  private async as(cmd: string, args: string[]): Promise<string> {
    const [file, argv] = this.asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    const r = await run(file as string, argv as string[], { timeout: 60_000 });
    return r.stdout;
  }

  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private pgCtl(action: string, extra: string[] = []): Promise<string> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    return this.as(join(this.bin, 'pg_ctl'), [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-o',
      opts,
      '-w',
      '-t',
      '60',
      action,
      ...extra,
    ]);
  }

  async start(): Promise<void> {
    await this.pgCtl('start');
  }

  /** A crash-like restart: `-m immediate` (no checkpoint; recovery on start). */
  async restart(): Promise<void> {
    await this.pgCtl('restart', ['-m', 'immediate']);
  }

  async stop(): Promise<void> {
    await this.pgCtl('stop', ['-m', 'fast']).catch(() => undefined);
  }

  get log(): string {
    try {
      return readFileSync(join(this.dir, 'log'), 'utf8');
    } catch {
      return '';
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
