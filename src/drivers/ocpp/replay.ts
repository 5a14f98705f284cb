/**
 * Replays recorded OCPP-J frames as the charge point that sent them: connects to the central
 * system (retrying until it listens) and sends each recorded CALL `[2, id, action, payload]` in
 * order, waiting for each answer, then stays connected until stopped. What the central system
 * calls back is answered as a quiet charger would (Accepted / NotSupported). Used by the fixture
 * replay (test/fixtures/ocpp, definition.ts `replay`).
 */
import { RPCClient } from 'ocpp-rpc';
import type { Logger } from '../../lib/log.js';

export interface OcppReplayOptions {
  url: string;
  identity: string;
  /** The recorded frames: CALLs `[2, id, action, payload]` (other frames are skipped). */
  frames: unknown[];
  log: Logger;
}

export interface OcppReplay {
  /** Resolves when every frame was sent and answered. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** The CALLs of a recorded frame list. */
export function recordedCalls(frames: unknown[]): Array<{ action: string; payload: unknown }> {
  return frames
    .filter((f): f is [number, string, string, unknown] => Array.isArray(f) && f[0] === 2 && typeof f[2] === 'string')
    .map((f) => ({ action: f[2], payload: f[3] }));
}

export function startOcppReplay(o: OcppReplayOptions): OcppReplay {
  let stopped = false;
  let client: RPCClient | null = null;
  const done = (async () => {
    for (;;) {
      if (stopped) return;
      const c = new RPCClient({
        endpoint: o.url.replace(/\/+$/, ''),
        identity: o.identity,
        protocols: ['ocpp1.6'],
        strictMode: false,
        reconnect: false,
      } as ConstructorParameters<typeof RPCClient>[0]);
      c.handle('ChangeConfiguration', () => Promise.resolve({ status: 'NotSupported' }));
      c.handle('GetConfiguration', () => Promise.resolve({ configurationKey: [], unknownKey: [] }));
      c.handle(() => Promise.resolve({ status: 'NotSupported' }));
      try {
        await c.connect();
        client = c;
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (const { action, payload } of recordedCalls(o.frames)) {
      if (stopped || !client) return;
      await client.call(action, payload);
    }
    o.log.debug({ frames: o.frames.length }, 'OCPP frames replayed');
  })();
  return {
    done,
    async stop() {
      stopped = true;
      await client?.close({ force: true }).catch(() => undefined);
      await done.catch(() => undefined);
    },
  };
}
