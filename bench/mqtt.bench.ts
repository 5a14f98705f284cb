/**
 * The MQTT path's throughput: publishers → Mosquitto (the project config: TLS with client
 * certificates, ACL; own instance on a free port) → ingester → PostgreSQL (throwaway schema in the
 * local `test` database), all on this machine's two cores. The ingester runs in its own process as
 * the server is deployed (SERVER_NODE_FLAGS; test/mqtt/bench-ingester.ts); the publishers (pre-encoded
 * packets, see test/mqtt/bench-publisher.ts) and the backlog edge in others.
 *   npm run bench -- mqtt
 * Figures (throughputs: median of 3 runs, KW_BENCH_MQTT_RUNS):
 * - snapshots/s, one per message (20 devices × 3000 `realtime` messages, QoS 1);
 * - snapshots/s batched (20 devices × 10 000 snapshots in compact `batch` messages of 700);
 * - p99 publish → commit latency at a steady 5000 messages/s for 10 s, after 3 s of the same to warm
 *   up (timestamps = publish time);
 * - the same at a steady 20 000 messages/s from 100 devices for 20 s (KW_BENCH_MQTT=sustained):
 *   every message must be committed, so the pipeline keeps up with the one-per-message target;
 * - a 7-day backlog (604 800 snapshots at 1 Hz) from a real outbox through the uplink, until the
 *   server's ack of the last seq (median of 3 runs).
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
import { SERVER_NODE_FLAGS } from '../src/server/node-flags.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { makeSnapshot } from '../test/mqtt/gen.js';
import { dropSchema, PG_URL } from '../test/mqtt/stores.js';
import type { BenchResult } from './run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TESTS = fileURLToPath(new URL('../test/mqtt/', import.meta.url));
const DEVICES = Array.from({ length: 20 }, (_, i) => `bench-${String(i).padStart(2, '0')}`);
/**
 * The sustained run's devices: at 20 000 messages/s, 200 a second each. (Snapshot timestamps are
 * whole ms and strictly increase per device: at 1000/s a device's timestamps would run ahead of the
 * clock whenever the publisher lags a little, and the latency read as less than it is.)
 */
const SUSTAINED_DEVICES = Array.from({ length: 100 }, (_, i) => `bench-s${String(i).padStart(3, '0')}`);
const BACKLOG_DEVICE = 'bench-backlog';
const WEEK = 604_800;
const LATENCY_WARMUP_S = 3;

/** Every load process started; killed when the bench ends, also when a run failed. */
const children = new Set<ChildProcess>();

function child(script: string, env: Record<string, string>): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', join(TESTS, script)], {
    cwd: ROOT,
    env: { ...process.env, KWARTIER_LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
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
export function procCpuS(pid: number | null | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds used so far by each PostgreSQL backend of the given application_name, by pid. */
export async function backendsCpuS(app: string): Promise<Map<number, number>> {
  const q = new pg.Client({ connectionString: PG_URL });
  await q.connect();
  try {
    const r = await q.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app]);
    return new Map(r.rows.map(({ pid }) => [pid, procCpuS(pid)]));
  } finally {
    await q.end();
  }
}

/**
 * CPU seconds the backends used between two readings: per backend alive at the end (one that
 * connected meanwhile counts whole). A backend gone by then (the pool closed an idle connection)
 * is left out rather than subtracted.
 */
export function backendsDeltaS(before: Map<number, number>, after: Map<number, number>): number {
  let s = 0;
  for (const [pid, cpu] of after) if (Number.isFinite(cpu)) s += cpu - (before.get(pid) ?? 0);
  return s;
}

/** One ingester process (test/mqtt/bench-ingester.ts, run as the server is deployed) and its schema. */
interface Phase {
  proc: ChildProcess;
  schema: string;
  ingested: number;
  deadLetters: number;
  commits: number;
  storeMs: number;
  /** The next JSON line that is not a commit report. */
  reply(): Promise<Record<string, unknown>>;
}

async function phase(broker: Mosquitto, name: string, opts: { latency?: boolean } = {}): Promise<Phase> {
  const schema = `kw_bench_${name}_${process.pid}`;
  await dropSchema(PG_URL, schema);
  const f = broker.tlsFiles('kwartier-ingester');
  // KW_BENCH_INGEST_FLAGS: more Node flags for the ingester (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof').
  const extra = (process.env.KW_BENCH_INGEST_FLAGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(
    process.execPath,
    [...SERVER_NODE_FLAGS, ...extra, '--import', 'tsx', join(TESTS, 'bench-ingester.ts')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        KW_BENCH_INGEST: JSON.stringify({
          mqttUrl: broker.url,
          tls: { caCert: f.ca, clientCert: f.cert, clientKey: f.key },
          clientId: `kwartier-ingester-bench-${name}`,
          connectionString: PG_URL,
          schema,
          latency: opts.latency ?? false,
          ...(process.env.KW_BENCH_CONC ? { flushConcurrency: Number(process.env.KW_BENCH_CONC) } : {}),
          ...(process.env.KW_BENCH_INTERVAL ? { flushIntervalMs: Number(process.env.KW_BENCH_INTERVAL) } : {}),
        }),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const replies: Array<Record<string, unknown>> = [];
  let wake: (() => void) | null = null;
  const p: Phase = {
    proc,
    schema,
    ingested: 0,
    deadLetters: 0,
    commits: 0,
    storeMs: 0,
    reply: async () => {
      const end = Date.now() + 120_000;
      while (replies.length === 0) {
        if (Date.now() > end || proc.exitCode !== null) throw new Error('bench ingester: no reply');
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
      return replies.shift()!;
    },
  };
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    const m = JSON.parse(l) as Record<string, unknown>;
    if (m.commit) {
      const c = m.commit as { durationMs: number };
      p.commits++;
      p.storeMs += c.durationMs;
      p.ingested = m.ingested as number;
      p.deadLetters = m.dead_letters as number;
    } else {
      replies.push(m);
      wake?.();
    }
  });
  const ready = await p.reply();
  if (!ready.ready) throw new Error(`bench ingester: ${JSON.stringify(ready)}`);
  return p;
}

async function endPhase(p: Phase): Promise<void> {
  const exited = new Promise((r) => p.proc.once('exit', r));
  p.proc.stdin!.write('stop\n');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  p.proc.kill('SIGKILL');
  await dropSchema(PG_URL, p.schema);
}

/**
 * One run of `perDevice` snapshots per device through the phase's (warm) ingester; run `k` starts
 * a day after run k − 1, so each run's snapshots are new to the store.
 */
async function publishRun(
  broker: Mosquitto,
  p: Phase,
  mode: 'realtime' | 'batch',
  perDevice: number,
  k: number,
): Promise<{
  perSecond: number;
  ms: number;
  storeShare: number;
  commits: number;
  rowsPerCommit: number;
  msPerCommit: number;
  publishedMs: number;
  /** CPU µs per snapshot of each process on the path (for the notes: where the two cores go). */
  cpuUsPerSnapshot: Record<string, number>;
}> {
  const ingested0 = p.ingested;
  const commits0 = p.commits;
  const storeMs0 = p.storeMs;
  {
    const c = child('bench-publisher.ts', {
      KW_PUB: JSON.stringify({
        url: broker.url,
        certDir: join(broker.dir, 'certs'),
        devices: DEVICES,
        perDevice,
        mode,
        batchSize: 700,
        startMs: Date.parse('2026-03-01T00:00:00Z') + k * 86_400_000,
      }),
    });
    await nextLine(c, (l) => l === 'ready', 60_000);
    const total = perDevice * DEVICES.length;
    const cpu0 = {
      ingester: procCpuS(p.proc.pid),
      broker: procCpuS(broker.pid),
      publisher: procCpuS(c.pid),
      postgres: await backendsCpuS(p.schema),
    };
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
    await until(() => p.ingested - ingested0 >= total, 300_000, `${mode}: ${total} snapshots`);
    const ms = performance.now() - t0;
    const cpu1 = {
      ingester: procCpuS(p.proc.pid),
      broker: procCpuS(broker.pid),
      publisher: procCpuS(c.pid),
      postgres: await backendsCpuS(p.schema),
    };
    const per = (a: number, b: number): number => Math.round(((b - a) * 1e6 * 10) / total) / 10;
    await Promise.race([published, new Promise((r) => setTimeout(r, 1000))]);
    c.kill('SIGKILL');
    if (p.deadLetters > 0) throw new Error(`${mode}: ${p.deadLetters} dead letters`);
    // Where the time goes: the share of the run spent inside store.insertMany.
    return {
      perSecond: Math.round(total / (ms / 1000)),
      ms: Math.round(ms),
      storeShare: Math.round(((p.storeMs - storeMs0) / ms) * 100) / 100,
      commits: p.commits - commits0,
      rowsPerCommit: Math.round(total / Math.max(1, p.commits - commits0)),
      msPerCommit: Math.round((p.storeMs - storeMs0) / Math.max(1, p.commits - commits0)),
      publishedMs,
      cpuUsPerSnapshot: {
        ingester: per(cpu0.ingester, cpu1.ingester),
        mosquitto: per(cpu0.broker, cpu1.broker),
        publisher: per(cpu0.publisher, cpu1.publisher),
        postgres_backends: per(0, backendsDeltaS(cpu0.postgres, cpu1.postgres)),
      },
    };
  }
}

async function latencyRun(
  broker: Mosquitto,
  rate: number,
  seconds: number,
  devices: string[] = DEVICES,
): Promise<number> {
  const p = await phase(broker, `latency${rate}`, { latency: true });
  try {
    // The first seconds warm the ingester up (V8's compiler, the store's prepared statements), as
    // the throughput runs' warm-up run does; only what is published after them is measured.
    const warmS = LATENCY_WARMUP_S;
    const perDevice = Math.round((rate * (warmS + seconds)) / devices.length);
    const c = child('bench-publisher.ts', {
      KW_PUB: JSON.stringify({
        url: broker.url,
        certDir: join(broker.dir, 'certs'),
        devices,
        perDevice,
        mode: 'paced',
        rate,
        startMs: 0,
      }),
    });
    await nextLine(c, (l) => l === 'ready', 60_000);
    const since = Date.now() + warmS * 1000;
    c.stdin!.write('go\n');
    const total = perDevice * devices.length;
    await until(() => p.ingested >= total, (warmS + seconds) * 1000 + 60_000, 'latency run');
    c.kill('SIGKILL');
    p.proc.stdin!.write(`latency ${since}\n`);
    const r = (await p.reply()) as { p50_ms: number | null; p99_ms: number | null; max_ms: number | null; n: number };
    process.stderr.write(`  latency at ${rate}/s: ${JSON.stringify(r)}\n`);
    if (r.n < rate * seconds * 0.9) throw new Error(`latency run: ${r.n} of ~${rate * seconds} snapshots measured`);
    return r.p99_ms ?? Number.NaN;
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
  const broker = await Mosquitto.start({ devices: [...DEVICES, ...SUSTAINED_DEVICES, BACKLOG_DEVICE] });
  try {
    const note = (what: string, v: unknown): void => void process.stderr.write(`  ${what}: ${JSON.stringify(v)}\n`);
    // KW_BENCH_MQTT=realtime,batch,latency,sustained,backlog runs only those (for profiling).
    const only = new Set((process.env.KW_BENCH_MQTT ?? 'realtime,batch,latency,sustained,backlog').split(','));
    const skipped = {
      perSecond: Number.NaN,
      ms: 0,
      storeShare: 0,
      commits: 0,
      rowsPerCommit: 0,
      msPerCommit: 0,
      publishedMs: 0,
      cpuUsPerSnapshot: {},
    };
    // Each throughput is the median of RUNS runs after a warm-up run (a deployed server is warm; a
    // run lasts a few seconds, and the machine's other processes and Mosquitto's scheduling move a
    // single run by ±20 %).
    const runs = Number(process.env.KW_BENCH_MQTT_RUNS ?? 3);
    const median = async (mode: 'realtime' | 'batch', perDevice: number, what: string) => {
      const p = await phase(broker, mode);
      try {
        note(`${what}, warm-up`, await publishRun(broker, p, mode, perDevice, 0));
        const all: Array<Awaited<ReturnType<typeof publishRun>>> = [];
        for (let i = 1; i <= runs; i++) {
          all.push(await publishRun(broker, p, mode, perDevice, i));
          note(`${what}, run ${i}`, all[i - 1]);
        }
        all.sort((a, b) => a.perSecond - b.perSecond);
        note(
          `${what}: runs`,
          all.map((r) => r.perSecond),
        );
        return all[Math.floor((all.length - 1) / 2)]!;
      } finally {
        await endPhase(p);
      }
    };
    // KW_BENCH_MQTT_PER_DEVICE: longer one-per-message runs (20 × this many messages).
    const perDevice = Number(process.env.KW_BENCH_MQTT_PER_DEVICE ?? 3000);
    const one = only.has('realtime') ? await median('realtime', perDevice, 'one per message') : skipped;
    const batched = only.has('batch') ? await median('batch', 10_000, 'batched') : skipped;
    const p99 = only.has('latency') ? await latencyRun(broker, 5000, 10) : Number.NaN;
    note('p99 ms', p99);
    // The one-per-message rate held for 20 s: every message committed (a pipeline that could not
    // keep up would fall ever further behind, past the broker's queue), and how late.
    const p99Sustained = only.has('sustained') ? await latencyRun(broker, 20_000, 20, SUSTAINED_DEVICES) : Number.NaN;
    note('sustained p99 ms', p99Sustained);
    // The backlog too: the median of RUNS runs (the shared PostgreSQL's checkpoints, which come
    // every ~1 GB of WAL here, make single runs vary by a third).
    const backlogs: Array<{ seconds: number; stored: number }> = [];
    if (only.has('backlog'))
      for (let i = 0; i < runs; i++) {
        backlogs.push(await backlogRun(broker));
        note(`backlog, run ${i + 1}`, backlogs[i]);
      }
    backlogs.sort((a, b) => a.seconds - b.seconds);
    const backlog = backlogs[Math.floor((backlogs.length - 1) / 2)] ?? { seconds: Number.NaN, stored: WEEK };
    return [
      {
        name: 'mqtt+tls → postgres: snapshots/s, one per message (60 000; median of 3 runs)',
        value: one.perSecond,
        unit: 'snapshots/s',
        target: '>= 20000',
      },
      {
        name: 'mqtt+tls → postgres: snapshots/s, batched (200 000 in compact batches of 700; median of 3 runs)',
        value: batched.perSecond,
        unit: 'snapshots/s',
        target: '>= 50000',
      },
      {
        name: 'mqtt+tls → postgres: p99 publish → commit at 5000 messages/s (10 s, after 3 s of warm-up)',
        value: p99,
        unit: 'ms',
        target: '<= 1000',
      },
      {
        name: 'mqtt+tls → postgres: p99 publish → commit at a steady 20 000 messages/s (100 devices, 20 s, after 3 s of warm-up)',
        value: p99Sustained,
        unit: 'ms',
        target: '<= 1000',
      },
      {
        name: 'outbox → mqtt+tls → postgres: 7-day backlog (604 800 snapshots) until acknowledged (median of 3 runs)',
        value: Math.round(backlog.seconds * 10) / 10,
        unit: 's',
        target: '<= 30',
      },
    ];
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await broker.dispose();
  }
}
