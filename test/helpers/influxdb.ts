/**
 * A real InfluxDB for tests: Debian's `influxd` (InfluxDB 1.x) with its own config and data in a
 * temp dir, HTTP on a free loopback port, authentication on (an admin user made at the first
 * start). `stop()` and `start()` again keep the data: a restart mid-run. The machine's own InfluxDB
 * service (if any) is never touched.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';
import { waitFor } from './wait.js';

export const INFLUXD_BIN = '/usr/bin/influxd';
export const influxdAvailable = existsSync(INFLUXD_BIN);

export class InfluxDb {
  readonly dir = mkdtempSync(join(tmpdir(), 'kw-influxd-'));
  readonly user = 'kwartier';
  readonly password = 'influx-test-password';
  port = 0;
  private child: ChildProcess | null = null;
  private stderr = '';
  private userMade = false;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) {
      this.port = await freePort();
      const rpc = await freePort();
      writeFileSync(
        join(this.dir, 'influxdb.conf'),
        [
          'reporting-enabled = false',
          `bind-address = "127.0.0.1:${rpc}"`,
          '[meta]',
          `  dir = "${join(this.dir, 'meta')}"`,
          '[data]',
          `  dir = "${join(this.dir, 'data')}"`,
          `  wal-dir = "${join(this.dir, 'wal')}"`,
          '  query-log-enabled = false',
          '[monitor]',
          '  store-enabled = false',
          '[subscriber]',
          '  enabled = false',
          '[http]',
          `  bind-address = "127.0.0.1:${this.port}"`,
          '  auth-enabled = true',
          '  log-enabled = false',
          '',
        ].join('\n'),
      );
    }
    this.stderr = '';
    const child = spawn(INFLUXD_BIN, ['run', '-config', join(this.dir, 'influxdb.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child = child;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`influxd exited with ${child.exitCode}: ${this.stderr}`);
        return fetch(`${this.url}/ping`).then(
          (r) => r.status === 204,
          () => false,
        );
      },
      'influxd to answer /ping',
      30_000,
    );
    if (!this.userMade) {
      // With authentication on and no user yet, InfluxDB 1.x lets the first admin be created.
      await this.query(`CREATE USER ${this.user} WITH PASSWORD '${this.password}' WITH ALL PRIVILEGES`, false);
      this.userMade = true;
    }
  }

  /** Runs an InfluxQL statement (POST /query), returning the parsed JSON. */
  async query(q: string, auth = true, db?: string): Promise<{ results: Array<Record<string, unknown>> }> {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (db) params.set('db', db);
    const headers: Record<string, string> = {};
    if (auth) headers.Authorization = `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`;
    const res = await fetch(`${this.url}/query`, { method: 'POST', body: params, headers });
    const body = (await res.json()) as { results: Array<Record<string, unknown>>; error?: string };
    if (!res.ok || body.error) throw new Error(`InfluxDB query ${q}: HTTP ${res.status} ${JSON.stringify(body)}`);
    return body;
  }

  /** The rows of one SELECT: column names and values. */
  async select(q: string, db: string): Promise<Array<Record<string, unknown>>> {
    const body = await this.query(q, true, db);
    const series = (body.results[0]?.series ?? []) as Array<{ columns: string[]; values: unknown[][] }>;
    const out: Array<Record<string, unknown>> = [];
    for (const s of series) for (const v of s.values) out.push(Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
    return out;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
