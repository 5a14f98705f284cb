/**
 * RemoteStartTransaction for a charger that waits for authorization (an RFID card) before it
 * charges: with `remote_start_id_tag` (and `control: true`), a car plugged in with no transaction
 * (status Preparing) is started with that idTag, again at most once a minute while it keeps
 * waiting; the charging profiles then decide when it draws. A refusal is logged once per kind.
 */
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../lib/log.js';
import type { OcppConfig } from './config.js';
import { type ChargerLink, statusOf } from './profiles.js';
import type { ChargerState } from './state.js';

/** Least time between two RemoteStartTransaction calls while a car keeps waiting. */
const RETRY_MS = 60_000;

export class RemoteStarter {
  /** When RemoteStartTransaction was last sent (ms; 0: not during this wait). */
  private sentAt = 0;

  constructor(
    private readonly cfg: OcppConfig,
    private readonly log: Logger,
    private readonly warnOnce: (key: string, obj: Record<string, unknown>, msg: string) => void,
  ) {}

  /** Called on each message from the charger: starts a waiting car (in the background). */
  check(link: ChargerLink | null, state: ChargerState, now = Date.now()): void {
    const tag = this.cfg.remote_start_id_tag;
    if (tag === undefined || !this.cfg.control || !link) return;
    if (state.status !== 'Preparing' || state.tx !== null) {
      this.sentAt = 0; // the next wait is answered at once
      return;
    }
    if (now - this.sentAt < RETRY_MS) return;
    this.sentAt = now;
    setTimeout(() => void this.start(link, tag), 0);
  }

  private async start(link: ChargerLink, idTag: string): Promise<void> {
    try {
      const r = await link.call('RemoteStartTransaction', { connectorId: this.cfg.connector, idTag });
      const status = statusOf(r);
      if (status === 'Accepted') this.log.info({ id_tag: idTag }, 'remote start: the charger accepted');
      else this.warnOnce(`remote-start:${status}`, { status }, 'remote start refused by the charger');
    } catch (err) {
      this.warnOnce('remote-start:error', { err: errorMessage(err) }, 'remote start failed');
    }
  }
}
