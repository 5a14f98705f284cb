/**
 * `kwartier demo` as a child process on a free port with a known token, for tests that need a
 * running server with live, simulated data (the CLI's `top`, backups).
 */
import type { ChildProcess } from 'node:child_process';
import { spawnCli, stopChild } from './cli.js';
import { freePort } from './net.js';

export interface RunningDemo {
  child: ChildProcess;
  port: number;
  base: string;
  token: string;
  stop(): Promise<void>;
  /** GET an API path with the token; the parsed JSON body. */
  get<T>(path: string): Promise<{ status: number; body: T }>;
}

export async function startDemoChild(o: {
  dataDir: string;
  token: string;
  args?: string[];
  port?: number;
}): Promise<RunningDemo> {
  const port = o.port ?? (await freePort());
  const child = spawnCli(['demo', '--port', String(port), '--data-dir', o.dataDir, ...(o.args ?? [])], {
    env: { KWARTIER_API_TOKEN: o.token, KWARTIER_LOG_LEVEL: 'warn' },
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`demo did not start: ${out} ${err}`)), 90_000);
    const check = setInterval(() => {
      if (out.includes('kwartier demo: running')) {
        clearTimeout(t);
        clearInterval(check);
        resolve();
      }
    }, 100);
    child.once('exit', (code) => {
      clearTimeout(t);
      clearInterval(check);
      reject(new Error(`demo exited with ${code}: ${out} ${err}`));
    });
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    child,
    port,
    base,
    token: o.token,
    stop: () => stopChild(child),
    async get<T>(path: string) {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${o.token}` } });
      return { status: res.status, body: (await res.json().catch(() => null)) as T };
    },
  };
}

/** Polls `fn` every 250 ms until it returns something truthy. */
export async function until<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
