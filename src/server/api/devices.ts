/**
 * Which devices exist: those in the store, those named in the config and those seen on the ingest
 * events. An unknown id refreshes the list from the store at most once per `refreshMs`, so random ids
 * cannot hammer the database.
 */
import type { Store } from '../store/types.js';
import { withDeadline } from './util.js';

export class KnownDevices {
  private readonly known = new Set<string>();
  private lastRefresh = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    configured: Iterable<string>,
    private readonly refreshMs = 2_000,
    private readonly timeoutMs = 5_000,
  ) {
    for (const d of configured) this.known.add(d);
  }

  add(deviceId: string): void {
    this.known.add(deviceId);
  }

  async has(deviceId: string): Promise<boolean> {
    if (this.known.has(deviceId)) return true;
    if (Date.now() - this.lastRefresh >= this.refreshMs) await this.refresh();
    return this.known.has(deviceId);
  }

  /** Every known device: configured, stored (read again when the last read is older than refreshMs). */
  async all(): Promise<string[]> {
    if (Date.now() - this.lastRefresh >= this.refreshMs) await this.refresh();
    return [...this.known];
  }

  private refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = withDeadline(this.store.devices(), this.timeoutMs, 'store.devices')
        .then((ids) => {
          for (const d of ids) this.known.add(d);
        })
        .finally(() => {
          this.lastRefresh = Date.now();
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }
}
