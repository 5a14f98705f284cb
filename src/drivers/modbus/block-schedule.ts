/**
 * When each block of a register table is due (modbus/poller.ts): the rows without a block on the
 * poller's interval, named blocks (`RegisterRow.block`) on their own, each switched on and off by
 * its driver (a meter or battery the device does not have). Pure bookkeeping, no I/O.
 */
import type { RegisterRow } from './register-table.js';

/** The block of rows that have none (read every interval of the poller). */
export const DEFAULT_BLOCK = '';

interface Block {
  enabled: boolean;
  intervalMs: number;
  dueAt: number;
}

export class BlockSchedule {
  private readonly blocks = new Map<string, Block>();

  constructor(
    owner: string,
    intervalMs: number,
    named: Readonly<Record<string, { intervalMs: number; enabled?: boolean }>>,
    rows: readonly RegisterRow[],
  ) {
    this.blocks.set(DEFAULT_BLOCK, { enabled: true, intervalMs, dueAt: 0 });
    for (const [name, b] of Object.entries(named)) {
      this.blocks.set(name, { enabled: b.enabled ?? true, intervalMs: b.intervalMs, dueAt: 0 });
    }
    for (const r of rows) {
      if (r.block !== undefined && !this.blocks.has(r.block)) {
        throw new Error(`${owner}: row ${r.field} names block ${JSON.stringify(r.block)}, which is not in blocks`);
      }
    }
  }

  /** Switches a block on (due at once) or off. Unknown names throw. */
  setEnabled(name: string, enabled: boolean): void {
    const b = this.blocks.get(name);
    if (!b) throw new Error(`no block ${JSON.stringify(name)}`);
    if (b.enabled === enabled) return;
    b.enabled = enabled;
    if (enabled) b.dueAt = 0;
  }

  enabled(name: string): boolean {
    return this.blocks.get(name)?.enabled ?? false;
  }

  /** Every block due at once (a new connection). */
  reset(): void {
    for (const b of this.blocks.values()) b.dueAt = 0;
  }

  /** The enabled blocks due at `now`. */
  due(now: number): string[] {
    const out: string[] = [];
    for (const [name, b] of this.blocks) if (b.enabled && b.dueAt <= now) out.push(name);
    return out;
  }

  /**
   * Marks blocks read by a cycle that started at `started` and took `tookMs`. A named block is read
   * no faster than the device answers: never sooner than twice the time the cycle took (an old
   * SDongle needs seconds for one block, devices.md §1.2).
   */
  read(names: readonly string[], started: number, tookMs: number): void {
    for (const name of names) {
      const b = this.blocks.get(name);
      if (b) b.dueAt = started + (name === DEFAULT_BLOCK ? b.intervalMs : Math.max(b.intervalMs, 2 * tookMs));
    }
  }

  /** When the next enabled block is due (the default block is always enabled). */
  nextDueAt(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const b of this.blocks.values()) if (b.enabled) next = Math.min(next, b.dueAt);
    return next;
  }

  enabledNames(): string[] {
    return [...this.blocks].filter(([, b]) => b.enabled).map(([name]) => name);
  }

  /** The table reader's row filter for these blocks (none when the table has no named blocks). */
  filter(names: readonly string[]): ReadonlySet<string> | undefined {
    return this.blocks.size === 1 ? undefined : new Set(names);
  }
}
