/**
 * The ingester of bench/mqtt.bench.ts in its own process, started as the server is deployed (with
 * SERVER_NODE_FLAGS): PostgreSQL store in a throwaway schema, ingester with the project's TLS identity.
 * Settings in KW_BENCH_INGEST (JSON). Protocol on stdio, one JSON object a line:
 * - prints {"ready":true} once connected;
 * - prints {"commit":{rows,inserted,durationMs},"ingested":n,"dead_letters":n,"lag_ms":n} after each commit;
 * - on a line `latency [SINCE_MS]` from stdin prints {"p50_ms":…,"p99_ms":…,"max_ms":…,"n":…} (commit time − snapshot
 *   timestamp, of the snapshots with timestamps from SINCE_MS on);
 * - with `histogram` set, latencies go into a bounded histogram (1 ms buckets up to 10 min) instead
 *   of a list, for runs of millions of snapshots: a line `window FROM_MS TO_MS` sets which snapshot
 *   timestamps are counted, and `latency` reports from it;
 * - on a line `stop` stops (flush, unsubscribe), closes the store and exits 0; `stop keep` stops
 *   without unsubscribing, so the broker queues for the persistent session while the ingester is away.
 */
import { createInterface } from 'node:readline';
import { createLogger, silentLogger } from '../../src/lib/log.js';
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
  histogram?: boolean;
  /** Log the ingester's warnings and errors (KWARTIER_LOG_LEVEL) to stderr instead of nothing. */
  log?: boolean;
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
  log: s.log ? createLogger('bench-ingester') : silentLogger(),
  ...(s.flushConcurrency ? { flushConcurrency: s.flushConcurrency } : {}),
  ...(s.flushIntervalMs ? { flushIntervalMs: s.flushIntervalMs } : {}),
});
/** Per committed snapshot: its timestamp (= publish time in the paced run) and commit − timestamp. */
const lat: Array<[number, number]> = [];
if (s.latency)
  ingester.on('snapshot', (e) => {
    const t = Date.parse(e.snapshot.timestamp);
    lat.push([t, e.committedAt - t]);
  });
/** The histogram: count per whole ms of commit − timestamp, the last bucket holding everything later. */
const HIST_MS = 600_000;
const hist = s.histogram ? new Uint32Array(HIST_MS + 1) : null;
let win: [number, number] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
let histMax: number | null = null;
if (hist)
  ingester.on('snapshot', (e) => {
    const t = Date.parse(e.snapshot.timestamp);
    if (t < win[0] || t >= win[1]) return;
    const ms = Math.max(0, e.committedAt - t);
    hist[Math.min(HIST_MS, ms)]!++;
    if (histMax === null || ms > histMax) histMax = ms;
  });
function histLatency(): { p50_ms: number | null; p99_ms: number | null; max_ms: number | null; n: number } {
  const h = hist!;
  let n = 0;
  for (const c of h) n += c;
  const q = (f: number): number | null => {
    if (n === 0) return null;
    const rank = Math.min(n - 1, Math.floor(n * f));
    let seen = 0;
    for (let ms = 0; ms < h.length; ms++) {
      seen += h[ms]!;
      if (seen > rank) return ms;
    }
    return null;
  };
  return { p50_ms: q(0.5), p99_ms: q(0.99), max_ms: histMax, n };
}
ingester.on('commit', (commit) => {
  const c = ingester.counters;
  out({ commit, ingested: c.ingested, dead_letters: c.dead_letters, lag_ms: c.lag_ms });
});
await ingester.start();
out({ ready: true });

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.startsWith('window ')) {
    const [, from, to] = line.split(' ');
    win = [Number(from), Number(to)];
  } else if (hist && line.startsWith('latency')) {
    out(histLatency());
  } else if (line.startsWith('latency')) {
    // `latency [SINCE_MS]`: the snapshots published from SINCE_MS on (what came before warmed up).
    const since = Number(line.split(' ')[1] ?? 0);
    const l = lat.filter(([t]) => t >= since).map(([, ms]) => ms);
    l.sort((a, b) => a - b);
    const q = (f: number): number | null => l[Math.min(l.length - 1, Math.floor(l.length * f))] ?? null;
    out({ p50_ms: q(0.5), p99_ms: q(0.99), max_ms: l[l.length - 1] ?? null, n: l.length });
  } else if (line === 'stop' || line === 'stop keep') {
    rl.close();
    void ingester
      .stop({ leave: line === 'stop' })
      .then(() => store.close())
      .then(() => process.exit(0));
  }
});
