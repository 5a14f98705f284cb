/**
 * A real SQLite store in a temp dir, filled through store.insert with the simulated home's snapshots,
 * and a server config with three tokens. Shared by the API tests.
 *
 * Data: home-1 from 2026-03-28 00:00 local (23:00Z) every 30 s until NOW (2026-03-30 12:07:30 +02:00),
 * so it spans the 23-hour DST day 2026-03-29; home-2 has a few readings so that it exists.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Snapshot } from '../../../src/core/snapshot.js';
import { parseWithSchema } from '../../../src/core/validate.js';
import { HomeModel } from '../../../src/drivers/sim/home-model.js';
import { silentLogger } from '../../../src/lib/log.js';
import { type ApiDeps, createApi } from '../../../src/server/api/index.js';
import { ServerBus } from '../../../src/server/bus.js';
import { type ServerConfig, ServerConfigSchema } from '../../../src/server/config.js';
import { createSqliteStore, type Store } from '../../../src/server/store/index.js';
import { sampleHome } from '../../helpers/snapshots.js';

export const START = Date.parse('2026-03-27T23:00:00Z');
export const NOW = Date.parse('2026-03-30T10:07:30Z');
export const STEP_MS = 30_000;

export const TOKENS = {
  admin: 'admin-token-0123456789abcdef',
  home1: 'home1-token-0123456789abcdef',
  home2: 'home2-token-0123456789abcdef',
} as const;

export const auth = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

export function testConfig(over: Record<string, unknown> = {}, api: Record<string, unknown> = {}): ServerConfig {
  return parseWithSchema(
    ServerConfigSchema,
    {
      timezone: 'Europe/Brussels',
      store: { type: 'sqlite', path: 'unused.db' },
      api: {
        tokens: [
          { name: 'admin', token: TOKENS.admin, devices: ['*'] },
          { name: 'home1', token: TOKENS.home1, devices: ['home-1'] },
          { name: 'home2', token: TOKENS.home2, devices: ['home-2'] },
        ],
        ...api,
      },
      ...over,
    },
    'test config',
  );
}

export interface Seeded {
  dir: string;
  store: Store;
  /** home-1's snapshots, oldest first. */
  snaps: Snapshot[];
  cleanup(): Promise<void>;
}

let cached: Snapshot[] | null = null;

/** home-1's snapshots (computed once per test file). */
export function homeSnapshots(): Snapshot[] {
  if (!cached) {
    // A modest installation (3 kW PV, 2 kWh battery) so the home imports by day and by night.
    const model = new HomeModel({ start: START, seed: 7, pvPeakW: 3000, batteryCapacityKwh: 2 });
    cached = sampleHome(model, 'home-1', NOW, STEP_MS);
  }
  return cached;
}

export async function seededStore(): Promise<Seeded> {
  const dir = mkdtempSync(join(tmpdir(), 'kwartier-api-'));
  const store = createSqliteStore(join(dir, 'store.db'), { timezone: 'Europe/Brussels' });
  await store.migrate();
  const snaps = homeSnapshots();
  for (let i = 0; i < snaps.length; i += 2000) {
    await store.insert({
      deviceId: 'home-1',
      outboxId: null,
      floorSeq: null,
      readings: snaps.slice(i, i + 2000).map((snapshot) => ({ snapshot, seq: null })),
    });
  }
  const other = sampleHome(new HomeModel({ start: NOW - 600_000, seed: 9 }), 'home-2', NOW, 60_000);
  await store.insert({
    deviceId: 'home-2',
    outboxId: null,
    floorSeq: null,
    readings: other.map((snapshot) => ({ snapshot, seq: null })),
  });
  return {
    dir,
    store,
    snaps,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Commits as the ingester announces them on the server's bus (server/bus.ts `committed`). */
export interface TestEvents {
  emit(event: 'snapshot', s: Snapshot): void;
}

export async function testApi(store: Store, over: Partial<ApiDeps> = {}) {
  const bus = new ServerBus({ log: silentLogger() });
  let seq = 0;
  const events: TestEvents = {
    emit: (_event, snapshot) =>
      bus.publish('committed', {
        deviceId: snapshot.device_id,
        outboxId: 'test-outbox',
        seq: ++seq,
        snapshot,
        live: true,
        committedAt: NOW,
      }),
  };
  const app = await createApi({ store, config: testConfig(), bus, now: () => NOW, ...over });
  return { app, events, bus };
}

/** The last snapshot strictly before `ms`. */
export function lastBefore(snaps: readonly Snapshot[], ms: number): Snapshot {
  let found: Snapshot | undefined;
  for (const s of snaps) {
    if (Date.parse(s.timestamp) < ms) found = s;
    else break;
  }
  if (!found) throw new Error(`no snapshot before ${new Date(ms).toISOString()}`);
  return found;
}
