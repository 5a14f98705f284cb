/**
 * The ingester of bench/mqtt.bench.ts in its own process, started as the server is deployed (with
 * SERVER_NODE_FLAGS): PostgreSQL store in a throwaway schema, ingester with the project's TLS identity.
 * Settings in KW_BENCH_INGEST (JSON). Protocol on stdio, one JSON object a line:
 * - prints {"ready":true} once connected;
 * - prints {"commit":{rows,inserted,durationMs},"ingested":n,"dead_letters":n} after each commit;
 * - on a line `latency` from stdin prints {"p99_ms":…,"n":…} (commit time − snapshot timestamp);
 * - on a line `stop` stops (flush, leave the shared subscription), closes the store and exits 0.
 */
import { createInterface } from 'node:readline';
import { silentLogger } from '../../src/lib/log.js';
import { createIngester, type IngesterTls } from '../../src/server/ingest/ingester.js';
import { createPostgresStore } from '../../src/server/store/postgres.js';

interface Settings {
  mqttUrl: string;
  tls: IngesterTls;
  clientId: string;
  connectionString: string;
  schema: string;
  flushConcurrency?: number;
  flushIntervalMs?: number;
  latency?: boolean;
}

const s = JSON.parse(process.env.KW_BENCH_INGEST ?? '{}') as Settings;
const out = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const store = createPostgresStore(
  { connectionString: s.connectionString, schema: s.schema },
  { timezone: 'Europe/Brussels', logger: silentLogger(), timescale: 'off', applicationName: s.schema },
);
await store.migrate();
const ingester = createIngester({
  mqttUrl: s.mqttUrl,
  tls: s.tls,
  clientId: s.clientId,
  prefix: 'energy',
  store,
  log: silentLogger(),
  ...(s.flushConcurrency ? { flushConcurrency: s.flushConcurrency } : {}),
  ...(s.flushIntervalMs ? { flushIntervalMs: s.flushIntervalMs } : {}),
});
const lat: number[] = [];
if (s.latency) ingester.on('snapshot', (e) => lat.push(e.committedAt - Date.parse(e.snapshot.timestamp)));
ingester.on('commit', (commit) => {
  const c = ingester.counters;
  out({ commit, ingested: c.ingested, dead_letters: c.dead_letters });
});
await ingester.start();
out({ ready: true });

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line === 'latency') {
    lat.sort((a, b) => a - b);
    out({ p99_ms: lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] ?? null, n: lat.length });
  } else if (line === 'stop') {
    rl.close();
    void ingester
      .stop({ leave: true })
      .then(() => store.close())
      .then(() => process.exit(0));
  }
});
