/**
 * Runs the real CLI in a child process from the TypeScript sources (through tsx), so tests need no
 * build step. `runCli` waits for exit; `spawnCli` returns the child for long-running commands.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = fileURLToPath(new URL('../../src/cli/run.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function spawnCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, KWARTIER_LOG_LEVEL: process.env.KWARTIER_LOG_LEVEL ?? 'info', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function runCli(
  args: string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kwartier ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Collects stdout lines of a running child until `predicate` is satisfied or the timeout passes. */
export function waitForLines(
  child: ChildProcess,
  predicate: (lines: string[]) => boolean,
  timeoutMs = 15_000,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let buf = '';
    const timer = setTimeout(() => {
      child.stdout?.off('data', onData);
      reject(new Error(`timed out after ${timeoutMs} ms with ${lines.length} lines`));
    }, timeoutMs);
    function onData(d: Buffer): void {
      buf += d.toString();
      let i = buf.indexOf('\n');
      while (i >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
      if (predicate(lines)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(lines);
      }
    }
    child.stdout?.on('data', onData);
  });
}

/** Children a test file starts with the real CLI; `stopAll` (after each test) stops every one. */
export function childProcesses(env: NodeJS.ProcessEnv = {}): {
  start(args: string[]): ChildProcess;
  stopAll(): Promise<void>;
} {
  const children: ChildProcess[] = [];
  return {
    start(args) {
      const c = spawnCli(args, { env });
      children.push(c);
      return c;
    },
    async stopAll() {
      for (const c of children.splice(0)) await stopChild(c);
    },
  };
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the child has exited. */
export function stopChild(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), 5000).unref();
  });
}

/** Waits until a simulator logs that it listens (it prints its addresses on stderr). */
export function childListening(c: ChildProcess, what: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`simulator did not start: ${buf}`)), 20_000);
    c.stderr?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (what.test(buf)) {
        clearTimeout(t);
        resolve();
      }
    });
    c.once('exit', (code) => reject(new Error(`simulator exited with ${code}: ${buf}`)));
  });
}
