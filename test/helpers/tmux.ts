/**
 * A terminal for tests of terminal programs: a tmux server of its own (its own socket, no user
 * config), sessions of a given size, keys sent with send-keys and the screen read with
 * capture-pane, as a person at the keyboard would see it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export class Tmux {
  readonly socket = `kw-test-${process.pid}-${randomBytes(4).toString('hex')}`;

  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  /** Starts `command` (a shell command line) in a new detached session of width × height. */
  start(name: string, command: string, o: { width: number; height: number; env?: Record<string, string> }): void {
    const env = Object.entries(o.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    this.tmux(['new-session', '-d', '-s', name, '-x', String(o.width), '-y', String(o.height), ...env, command]);
  }

  /** The screen as text; with `escapes`, with its colours and attributes as SGR sequences. */
  capture(name: string, escapes = false): string {
    return this.tmux(['capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', name]);
  }

  /** Keys as tmux names them: `q`, `Right`, `Tab`, `C-c`. */
  keys(name: string, ...keys: string[]): void {
    this.tmux(['send-keys', '-t', name, ...keys]);
  }

  resize(name: string, width: number, height: number): void {
    this.tmux(['resize-window', '-t', name, '-x', String(width), '-y', String(height)]);
  }

  /** Stops the tmux server and everything running in it. */
  kill(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      // already gone
    }
  }
}

/** SGR sequences that set a colour (foreground or background), not resets or attributes. */
export function colourCodes(screen: string): string[] {
  const found: string[] = [];
  const sgr = new RegExp(`${String.fromCharCode(27)}\\[([0-9;:]*)m`, 'g');
  for (const m of screen.matchAll(sgr)) {
    const params = (m[1] ?? '').split(/[;:]/).map(Number);
    for (let i = 0; i < params.length; i++) {
      const p = params[i] ?? 0;
      if (p === 38 || p === 48) {
        found.push(m[0]);
        break;
      }
      if ((p >= 30 && p <= 37) || (p >= 40 && p <= 47) || (p >= 90 && p <= 97) || (p >= 100 && p <= 107)) {
        found.push(m[0]);
        break;
      }
    }
  }
  return found;
}
