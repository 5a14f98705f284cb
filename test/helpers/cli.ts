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
