/**
 * History API latency under load: 20 concurrent clients over real HTTP (keep-alive) to a server
 * listening on 127.0.0.1, one year of data in the store (one reading every 15 minutes).
 *   npm run bench -- api
 * Scenarios: a year at daily resolution (365 points) and a month at 15 minutes (2 976 points).
 * Clients send Accept-Encoding: gzip, as browsers do (the bytes reported are those on the wire).
 * The clients run in a worker thread so they do not share the server's event loop.
 * Each runs three times: as configured (the history answer cache on: identical requests are served
 * from it until an ingest event can change them); with the cache off (every request reads the
 * store: the cold path of a server with many homes whose answers seldom repeat; whole ended days are
 * joined from their day blocks, made by the first request); and with the cache and the day blocks
 * off (every request reads and renders every bucket). The first answer's time (the blocks made) is
 * reported too.
 * Stores: SQLite (a temp file) and PostgreSQL at 127.0.0.1:5432 database `test` (a throwaway schema,
 * dropped afterwards; skipped when PostgreSQL does not answer).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { emptySnapshot, type Snapshot } from '../src/core/snapshot.js';
import { parseWithSchema } from '../src/core/validate.js';
import { silentLogger } from '../src/lib/log.js';
import { createApi } from '../src/server/api/index.js';
import { ServerBus } from '../src/server/bus.js';
import { ServerConfigSchema } from '../src/server/config.js';
import { createPostgresStore } from '../src/server/store/postgres.js';
import { createSqliteStore } from '../src/server/store/sqlite.js';
import type { Store } from '../src/server/store/types.js';
import type { BenchResult } from './run.js';

const PG_URL = process.env.KWARTIER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const TZ = 'Europe/Brussels';
const DEVICE = 'bench-1';
const TOKEN = 'bench-token-0123456789abcdef';
const START = Date.parse('2025-02-28T23:00:00Z'); // 2025-03-01 00:00 local
const END = Date.parse('2026-02-28T23:00:00Z'); // 2026-03-01 00:00 local
const STEP = 15 * 60_000;
const CLIENTS = 20;
type Mode = 'cached' | 'uncached' | 'whole';
/** Requests measured per scenario (after a warm-up of a tenth), with and without the answer cache. */
const REQUESTS: Record<Mode, number> = { cached: 2_000, uncached: 1_000, whole: 1_000 };
const MODE_LABEL: Record<Mode, string> = { cached: 'cached', uncached: 'uncached', whole: 'uncached, no day blocks' };

/** One reading per quarter for a year: a load and solar profile with counters that follow them. */
function yearOfSnapshots(): Snapshot[] {
  const out: Snapshot[] = [];
  const imp = [3_000, 2_000];
  const exp = [1_000, 200];
  let pvTotal = 10_000;
  let batIn = 1_000;
  let batOut = 900;
  let gas = 2_000;
  let water = 300;
  for (let t = START; t < END; t += STEP) {
    const hour = ((t / 3_600_000) % 24) + 1;
    const doy = (t - START) / 86_400_000;
    const season = 0.55 + 0.45 * Math.sin(((doy - 80) / 365) * 2 * Math.PI);
    const load =
      250 +
      400 * Math.exp(-((hour - 19) ** 2) / 6) +
      150 * Math.exp(-((hour - 7.5) ** 2) / 2) +
      (t % 7 === 0 ? 1500 : 0);
    const pv = Math.max(0, 5500 * season * Math.sin(((hour - 6) / 14) * Math.PI));
    const bat = pv > load ? Math.min(2500, pv - load) * 0.6 : -Math.min(1500, load - pv) * 0.5;
    const grid = load - pv + bat;
    const kwh = (w: number) => (w * STEP) / 3_600_000_000;
    const tariff = hour >= 7 && hour < 22 ? 0 : 1;
    if (grid > 0) imp[tariff]! += kwh(grid);
    else exp[tariff]! += kwh(-grid);
    pvTotal += kwh(pv);
    if (bat > 0) batIn += kwh(bat);
    else batOut += kwh(-bat);
    gas += kwh(1200 * (1.2 - season));
    water += 0.01;
    const s = emptySnapshot(DEVICE, new Date(t).toISOString());
    s.country = 'be';
    s.grid_power_w = Math.round(grid);
    s.grid_import_t1_kwh = imp[0]!;
    s.grid_import_t2_kwh = imp[1]!;
    s.grid_export_t1_kwh = exp[0]!;
    s.grid_export_t2_kwh = exp[1]!;
    s.grid_tariff = tariff + 1;
    s.pv_power_w = Math.round(pv);
    s.pv_total_kwh = pvTotal;
    s.battery_power_w = Math.round(bat);
    s.battery_soc_pct = 50 + 40 * Math.sin(hour / 4);
    s.battery_total_charge_kwh = batIn;
    s.battery_total_discharge_kwh = batOut;
    s.load_power_w = Math.round(load);
    s.gas_total_m3 = gas;
    s.water_total_m3 = water;
    out.push(s);
  }
  return out;
}

async function fill(store: Store, snaps: Snapshot[]): Promise<void> {
  for (let i = 0; i < snaps.length; i += 5_000) {
    await store.insert({
      deviceId: DEVICE,
      outboxId: null,
      floorSeq: null,
      readings: snaps.slice(i, i + 5_000).map((snapshot) => ({ snapshot, seq: null })),
    });
  }
}

/** The load generator, in plain JS for a worker thread: `clients` keep-alive loops, one request at a time each. */
const CLIENT_JS = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { port, path, token, clients, requests, warmup } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
function once() {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: { authorization: 'Bearer ' + token, 'accept-encoding': 'gzip' }, timeout: 60000 }, (res) => {
      let n = 0;
      res.on('data', (d) => { n += d.length; });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(path + ': HTTP ' + res.statusCode));
        else resolve({ ms: performance.now() - t0, bytes: n });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
async function run(total) {
  let left = total;
  const out = [];
  let bytes = 0;
  const loop = async () => { while (left-- > 0) { const r = await once(); out.push(r.ms); bytes = r.bytes; } };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, loop));
  return { latencies: out, wallMs: performance.now() - t0, bytes };
}
(async () => {
  await run(warmup);
  parentPort.postMessage(await run(requests));
  agent.destroy();
})().catch((e) => { parentPort.postMessage({ error: String(e && e.stack || e) }); });
`;

interface LoadResult {
  latencies: number[];
  wallMs: number;
  bytes: number;
  error?: string;
}

function load(port: number, path: string, requests: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CLIENT_JS, {
      eval: true,
      workerData: { port, path, token: TOKEN, clients: CLIENTS, requests, warmup: Math.round(requests / 10) },
    });
    w.once('message', (m: LoadResult) => {
      void w.terminate();
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    });
    w.once('error', reject);
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(kind: string, store: Store, snaps: Snapshot[], mode: Mode): Promise<BenchResult[]> {
  const config = parseWithSchema(
    ServerConfigSchema,
    {
      timezone: TZ,
      store: { path: 'unused' },
      api: { tokens: [{ name: 'bench', token: TOKEN, devices: ['*'] }], rate_limit: { max: 1_000_000, window_s: 60 } },
    },
    'bench config',
  );
  const app = await createApi({
    store,
    config,
    bus: new ServerBus({ log: silentLogger() }),
    log: silentLogger(),
    historyCache: { ttlMs: mode === 'cached' ? 60_000 : 0 },
    historyDayBlocks: mode !== 'whole',
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const out: BenchResult[] = [];
  try {
    const scenarios = [
      {
        name: 'year daily',
        path: `/api/v1/history/${DEVICE}?start=2025-03-01&end=2026-03-01&resolution=daily`,
        points: 365,
        target: '<= 20',
        coldTarget: undefined,
      },
      {
        name: 'month 15min',
        path: `/api/v1/history/${DEVICE}?start=2026-01-01&end=2026-02-01&resolution=15min`,
        points: 2976,
        target: '<= 50',
        coldTarget: '<= 100',
      },
    ];
    for (const sc of scenarios) {
      const t0 = performance.now();
      const check = await app.inject({ url: sc.path, headers: { authorization: `Bearer ${TOKEN}` } });
      const firstMs = performance.now() - t0;
      const n = (check.json() as { points: unknown[] }).points.length;
      if (n !== sc.points)
        throw new Error(`${kind} ${sc.name}: expected ${sc.points} points, got ${n} (of ${snaps.length} readings)`);
      const r = await load(port, sc.path, REQUESTS[mode]);
      const sorted = [...r.latencies].sort((a, b) => a - b);
      const label = `api history ${sc.name} (${kind}, ${MODE_LABEL[mode]}, ${CLIENTS} clients, ${sc.points} points, ${Math.round(r.bytes / 1024)} KiB gzip)`;
      if (mode === 'uncached' && sc.coldTarget)
        out.push({
          name: `api history ${sc.name} (${kind}, first answer: day blocks made)`,
          value: firstMs,
          unit: 'ms',
        });
      out.push({ name: `${label} p50`, value: pct(sorted, 50), unit: 'ms' });
      // Targets: the server as configured (cache on), and the cold path's p95 ≤ 100 ms (issue 19).
      out.push({
        name: `${label} p95`,
        value: pct(sorted, 95),
        unit: 'ms',
        ...(mode === 'cached'
          ? { target: sc.target }
          : mode === 'uncached' && sc.coldTarget
            ? { target: sc.coldTarget }
            : {}),
      });
      out.push({ name: `${label} p99`, value: pct(sorted, 99), unit: 'ms' });
      out.push({
        name: `${label} throughput`,
        value: Math.round((r.latencies.length / r.wallMs) * 1000),
        unit: 'req/s',
      });
    }
  } finally {
    await app.close();
  }
  return out;
}

/**
 * After the bulk fill, the vacuum and analyze autovacuum would start anyway, and a checkpoint: done
 * here, so the reads are timed on a settled database, not against the fill's aftermath.
 */
async function settle(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const tables = await c.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, relname) AS t FROM pg_stat_user_tables WHERE schemaname = $1`,
      [schema],
    );
    for (const { t } of tables.rows) await c.query(`VACUUM (ANALYZE) ${t}`);
    await c.query('CHECKPOINT');
  } finally {
    await c.end();
  }
}

async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

export async function bench(): Promise<BenchResult[]> {
  const snaps = yearOfSnapshots();
  const results: BenchResult[] = [];

  const dir = mkdtempSync(join(tmpdir(), 'kw-api-bench-'));
  const sqlite = createSqliteStore(join(dir, 'bench.sqlite'), { timezone: TZ, logger: silentLogger() });
  try {
    await sqlite.migrate();
    await fill(sqlite, snaps);
    results.push(...(await measure('sqlite', sqlite, snaps, 'cached')));
    results.push(...(await measure('sqlite', sqlite, snaps, 'uncached')));
    results.push(...(await measure('sqlite', sqlite, snaps, 'whole')));
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }

  if (await pgReachable()) {
    const schema = `kw_api_bench_${randomBytes(4).toString('hex')}`;
    const store = createPostgresStore({ connectionString: PG_URL, schema }, { timezone: TZ, logger: silentLogger() });
    try {
      await store.migrate();
      await fill(store, snaps);
      await settle(schema);
      results.push(...(await measure('postgres', store, snaps, 'cached')));
      results.push(...(await measure('postgres', store, snaps, 'uncached')));
      results.push(...(await measure('postgres', store, snaps, 'whole')));
    } finally {
      await store.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  }
  return results;
}
