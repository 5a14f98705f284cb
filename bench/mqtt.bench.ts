/**
 * The MQTT path's throughput: publishers → Mosquitto (the project config: TLS with client
 * certificates, ACL; own instance on a free port) → ingester → PostgreSQL (throwaway schema in the
 * local `test` database). Publishers and the backlog edge run in child processes (the second core);
 * the ingester runs here.
 *   npm run bench -- mqtt
 * Figures:
 * - snapshots/s, one per message (20 devices × 3000 `realtime` messages, QoS 1);
 * - snapshots/s batched (20 devices × 10 000 snapshots in `batch` messages of 700);
 * - p99 publish → commit latency at a steady 5000 messages/s (timestamps = publish time);
 * - a 7-day backlog (604 800 snapshots at 1 Hz) from a real outbox through the uplink, until the
 *   server's ack of the last seq.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Outbox } from '../src/edge/outbox.js';
import { silentLogger } from '../src/lib/log.js';
import { createIngester, type Ingester } from '../src/server/ingest/ingester.js';
import { createPostgresStore } from '../src/server/store/postgres.js';
import type { Store } from '../src/server/store/types.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { makeSnapshot } from '../test/mqtt/gen.js';
import { dropSchema, PG_URL } from '../test/mqtt/stores.js';
import type { BenchResult } from './run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TESTS = fileURLToPath(new URL('../test/mqtt/', import.meta.url));
const DEVICES = Array.from({ length: 20 }, (_, i) => `bench-${String(i).padStart(2, '0')}`);
const BACKLOG_DEVICE = 'bench-backlog';
const WEEK = 604_800;

function child(script: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(TESTS, script)], {
    cwd: ROOT,
    env: { ...process.env, KWARTIER_LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

function nextLine(c: ChildProcess, match: (l: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: c.stdout! });
    const t = setTimeout(() => {
      rl.close();
      reject(new Error('child timed out'));
    }, timeoutMs);
    rl.on('line', (l) => {
      if (match(l)) {
        clearTimeout(t);
        rl.close();
        resolve(l);
      }
    });
    c.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`child exited with ${code}`));
    });
  });
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN when it is gone. */
function procCpuS(pid: number | null | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds used so far by the PostgreSQL backends of the given application_name. */
async function backendsCpuS(app: string): Promise<number> {
  const q = new pg.Client({ connectionString: PG_URL });
  await q.connect();
  try {
    const r = await q.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app]);
    return r.rows.reduce((n, { pid }) => n + procCpuS(pid), 0);
  } finally {
    await q.end();
  }
}

interface Phase {
  store: Store;
  ingester: Ingester;
  schema: string;
}

async function phase(broker: Mosquitto, name: string): Promise<Phase> {
  const schema = `kw_bench_${name}_${process.pid}`;
  await dropSchema(PG_URL, schema);
  const store = createPostgresStore(
    { connectionString: PG_URL, schema },
    { timezone: 'Europe/Brussels', logger: silentLogger(), timescale: 'off', applicationName: schema },
  );
  await store.migrate();
  const f = broker.tlsFiles('kwartier-ingester');
  const ingester = createIngester({
    mqttUrl: broker.url,
    tls: { caCert: f.ca, clientCert: f.cert, clientKey: f.key },
    clientId: `kwartier-ingester-bench-${name}`,
    prefix: 'energy',
    store,
    log: silentLogger(),
    ...(process.env.KW_BENCH_CONC ? { flushConcurrency: Number(process.env.KW_BENCH_CONC) } : {}),
    ...(process.env.KW_BENCH_INTERVAL ? { flushIntervalMs: Number(process.env.KW_BENCH_INTERVAL) } : {}),
  });
  await ingester.start();
  return { store, ingester, schema };
}

async function endPhase(p: Phase): Promise<void> {
  await p.ingester.stop({ leave: true });
  await p.store.close();
  await dropSchema(PG_URL, p.schema);
}

async function publishRun(
  broker: Mosquitto,
  mode: 'realtime' | 'batch',
  perDevice: number,
): Promise<{
  perSecond: number;
  ms: number;
  storeShare: number;
  commits: number;
  rowsPerCommit: number;
  msPerCommit: number;
  publishedMs: number;
  ingesterCpuUsPerSnapshot: number;
  /** CPU µs per snapshot of each process on the path (for the notes: where the two cores go). */
  cpuUsPerSnapshot: Record<string, number>;
}> {
  const p = await phase(broker, mode);
  let storeMs = 0;
  let commits = 0;
  p.ingester.on('commit', (c) => {
    storeMs += c.durationMs;
    commits++;
  });
  try {
    const c = child('bench-publisher.ts', {
      KW_PUB: JSON.stringify({
        url: broker.url,
        certDir: join(broker.dir, 'certs'),
        devices: DEVICES,
        perDevice,
        mode,
        batchSize: 700,
        startMs: Date.parse('2026-03-01T00:00:00Z'),
      }),
    });
    await nextLine(c, (l) => l === 'ready', 60_000);
    const total = perDevice * DEVICES.length;
    const cpu0 = process.cpuUsage();
    const other0 = { broker: procCpuS(broker.pid), publisher: procCpuS(c.pid), postgres: await backendsCpuS(p.schema) };
    const t0 = performance.now();
    // When the publisher has every PUBACK: how long the MQTT leg alone took (broker + ingester reading).
    let publishedMs = Number.NaN;
    const published = nextLine(c, (l) => l.startsWith('published '), 300_000).then(
      () => {
        publishedMs = Math.round(performance.now() - t0);
      },
      () => undefined,
    );
    c.stdin!.write('go\n');
    await until(() => p.ingester.counters.ingested >= total, 300_000, `${mode}: ${total} snapshots`);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const other1 = { broker: procCpuS(broker.pid), publisher: procCpuS(c.pid), postgres: await backendsCpuS(p.schema) };
    const per = (a: number, b: number): number => Math.round(((b - a) * 1e6 * 10) / total) / 10;
    await Promise.race([published, new Promise((r) => setTimeout(r, 1000))]);
    c.kill('SIGKILL');
    if (p.ingester.counters.dead_letters > 0)
      throw new Error(`${mode}: ${p.ingester.counters.dead_letters} dead letters`);
    // Where the time goes: the share of the run spent inside store.insertMany.
    return {
      perSecond: Math.round(total / (ms / 1000)),
      ms: Math.round(ms),
      storeShare: Math.round((storeMs / ms) * 100) / 100,
      commits,
      rowsPerCommit: Math.round(total / Math.max(1, commits)),
      msPerCommit: Math.round(storeMs / Math.max(1, commits)),
      publishedMs,
      // This process is the ingester (and its store client): its CPU per snapshot, both threads' worth.
      ingesterCpuUsPerSnapshot: Math.round(((cpu.user + cpu.system) / total) * 10) / 10,
      cpuUsPerSnapshot: {
        mosquitto: per(other0.broker, other1.broker),
        publisher: per(other0.publisher, other1.publisher),
        postgres_backends: per(other0.postgres, other1.postgres),
      },
    };
  } finally {
    await endPhase(p);
  }
}

async function latencyRun(broker: Mosquitto, rate: number, seconds: number): Promise<number> {
  const p = await phase(broker, 'latency');
  const lat: number[] = [];
  p.ingester.on('snapshot', (e) => lat.push(e.committedAt - Date.parse(e.snapshot.timestamp)));
  try {
    const perDevice = Math.round((rate * seconds) / DEVICES.length);
    const c = child('bench-publisher.ts', {
      KW_PUB: JSON.stringify({
        url: broker.url,
        certDir: join(broker.dir, 'certs'),
        devices: DEVICES,
        perDevice,
        mode: 'paced',
        rate,
        startMs: 0,
      }),
    });
    await nextLine(c, (l) => l === 'ready', 60_000);
    c.stdin!.write('go\n');
    const total = perDevice * DEVICES.length;
    await until(() => lat.length >= total, seconds * 1000 + 60_000, 'latency run');
    c.kill('SIGKILL');
    lat.sort((a, b) => a - b);
    return lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] ?? Number.NaN;
  } finally {
    await endPhase(p);
  }
}

async function backlogRun(broker: Mosquitto): Promise<{ seconds: number; stored: number }> {
  const tmp = mkdtempSync(join(tmpdir(), 'kw-bench-'));
  const p = await phase(broker, 'backlog');
  try {
    // A week at 1 Hz, committed straight into a real outbox file. It starts 5 minutes inside the
    // store's 7-day raw retention (older rows would be dropped as expired while the run goes on),
    // so it ends a few minutes ahead of the clock.
    const nowMs = Date.now();
    const startMs = Math.floor(nowMs / 1000) * 1000 - WEEK * 1000 + 300_000;
    const path = join(tmp, 'outbox.sqlite');
    const ob = new Outbox({ path, log: silentLogger() });
    ob.open();
    ob.stop();
    const db = new Database(path);
    const ins = db.prepare('INSERT INTO readings(timestamp, payload) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < WEEK; i++) {
        const s = makeSnapshot({ deviceId: BACKLOG_DEVICE, startMs }, i);
        ins.run(s.timestamp, JSON.stringify(s));
      }
    })();
    db.close();
    const f = broker.tlsFiles(BACKLOG_DEVICE);
    const c = child('bench-edge.ts', {
      KW_BENCH_EDGE: JSON.stringify({
        outboxPath: path,
        deviceId: BACKLOG_DEVICE,
        nowMs,
        mqtt: {
          host: '127.0.0.1',
          port: broker.port,
          tls: { ca_cert: f.ca, client_cert: f.cert, client_key: f.key },
          topic_prefix: 'energy',
          qos: 1,
        },
      }),
    });
    const line = await nextLine(c, (l) => l.startsWith('{'), 600_000);
    const r = JSON.parse(line) as { done_ms: number; rows: number };
    const q = new pg.Client({ connectionString: PG_URL });
    await q.connect();
    const n = (
      await q.query(`SELECT count(*)::int AS n FROM ${p.schema}.energy_readings WHERE device_id = $1`, [BACKLOG_DEVICE])
    ).rows[0] as { n: number };
    await q.end();
    return { seconds: r.done_ms / 1000, stored: n.n };
  } finally {
    await endPhase(p);
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function bench(): Promise<BenchResult[]> {
  const broker = await Mosquitto.start({ devices: [...DEVICES, BACKLOG_DEVICE] });
  try {
    const note = (what: string, v: unknown): void => void process.stderr.write(`  ${what}: ${JSON.stringify(v)}\n`);
    // KW_BENCH_MQTT=realtime,batch,latency,backlog runs only those (for profiling).
    const only = new Set((process.env.KW_BENCH_MQTT ?? 'realtime,batch,latency,backlog').split(','));
    const skipped = {
      perSecond: Number.NaN,
      ms: 0,
      storeShare: 0,
      commits: 0,
      rowsPerCommit: 0,
      msPerCommit: 0,
      publishedMs: 0,
      ingesterCpuUsPerSnapshot: 0,
      cpuUsPerSnapshot: {},
    };
    const one = only.has('realtime') ? await publishRun(broker, 'realtime', 3000) : skipped;
    note('one per message', one);
    const batched = only.has('batch') ? await publishRun(broker, 'batch', 10_000) : skipped;
    note('batched', batched);
    const p99 = only.has('latency') ? await latencyRun(broker, 5000, 10) : Number.NaN;
    note('p99 ms', p99);
    const backlog = only.has('backlog') ? await backlogRun(broker) : { seconds: Number.NaN, stored: WEEK };
    note('backlog', backlog);
    return [
      {
        name: 'mqtt+tls → postgres: snapshots/s, one per message (60 000)',
        value: one.perSecond,
        unit: 'snapshots/s',
        target: '>= 20000',
      },
      {
        name: 'mqtt+tls → postgres: snapshots/s, batched (200 000 in batches of 700)',
        value: batched.perSecond,
        unit: 'snapshots/s',
        target: '>= 50000',
      },
      {
        name: 'mqtt+tls → postgres: p99 publish → commit at 5000 messages/s',
        value: p99,
        unit: 'ms',
        target: '<= 1000',
      },
      {
        name: 'outbox → mqtt+tls → postgres: 7-day backlog (604 800 snapshots) until acknowledged',
        value: Math.round(backlog.seconds * 10) / 10,
        unit: 's',
        target: '<= 30',
      },
    ];
  } finally {
    await broker.dispose();
  }
}
