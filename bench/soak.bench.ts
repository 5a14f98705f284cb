/**
 * Soak: 10 000 simulated homes, each its own MQTT connection with its own TLS client certificate
 * (CN = device id), each publishing one `realtime` snapshot a second on `energy/<id>/realtime`,
 * spread evenly over the second (10 000 messages/s in all), for 10 minutes, through Mosquitto with
 * the shipped configuration (deploy/mosquitto/mosquitto.conf, test/helpers/mosquitto.ts) into
 * PostgreSQL (throwaway schema in the local `test` database) by the ingester in its own process, as
 * deployed. Everything shares this machine's two cores.
 *   npm run bench -- soak
 *   KW_BENCH_SOAK_S=60 npm run bench -- soak     # a short run
 * Settings: KW_BENCH_SOAK_S (soak seconds, 600), KW_BENCH_SOAK_HOMES (10 000), KW_BENCH_SOAK_PAUSE_S
 * (60; 0 = no pause phase), KW_BENCH_SOAK_DRAIN_S (120).
 *
 * Figures, for the soak window (every message published from `go` to the end of the soak):
 * - messages published, and of them stored in PostgreSQL: exactly once (count vs distinct
 *   (device_id, time)), none missing;
 * - p50/p99/max publish → commit (snapshot timestamp = publish time), after a warm-up;
 * - RSS of the ingester and of Mosquitto sampled every 10 s: first/min/max/last and the slope over
 *   the second half of the run (MB per minute; flat = |slope| < 1 MB/min);
 * - CPU of each process (share of one core) and Mosquitto's "messages are being dropped" notices.
 * Then the pause phase, which sizes Mosquitto's queue: the ingester is stopped (SIGSTOP) for
 * KW_BENCH_SOAK_PAUSE_S while the homes keep publishing; Mosquitto queues for it. Its RSS against the
 * number queued gives the memory per queued message; the resumed ingester's drain time and what
 * was lost (published in the pause but never stored = dropped by the broker past
 * max_queued_messages/max_queued_bytes) show what the limits hold.
 *
 * The 10 000 certificates are made once into /tmp/kw-soak-certs-<homes>/ and reused.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { initCertDir, issueClientCert, loadCa } from '../src/lib/certs.js';
import { SERVER_NODE_FLAGS } from '../src/server/node-flags.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { dropSchema, PG_URL } from '../test/mqtt/stores.js';
import { backendsCpuS, backendsDeltaS, procCpuS } from './mqtt.bench.js';
import type { BenchResult } from './run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TESTS = fileURLToPath(new URL('../test/mqtt/', import.meta.url));
const HOMES = Number(process.env.KW_BENCH_SOAK_HOMES ?? 10_000);
const SOAK_S = Number(process.env.KW_BENCH_SOAK_S ?? 600);
const PAUSE_S = Number(process.env.KW_BENCH_SOAK_PAUSE_S ?? 60);
const DRAIN_S = PAUSE_S > 0 ? Number(process.env.KW_BENCH_SOAK_DRAIN_S ?? 120) : 0;
/** Load generator processes (each one TLS connection per home it plays). */
const GENERATORS = 2;
const SAMPLE_S = 10;
/** Latency is measured after this many seconds (V8's compiler, the store's prepared statements). */
const WARMUP_S = Math.min(30, Math.floor(SOAK_S / 10));
/** After the last publish, how long the store may take to catch up before what is missing is counted. */
const SETTLE_S = 120;
const INGESTER_CLIENT_ID = 'kwartier-ingester-soak';

const children = new Set<ChildProcess>();
const note = (what: string, v: unknown): void => void process.stderr.write(`  ${what}: ${JSON.stringify(v)}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resident set size of a process in MB (from /proc), NaN when it is gone. */
function rssMb(pid: number | null | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The machine's busy CPU seconds so far, all cores (user + nice + system + irq + softirq + steal). */
function machineBusyS(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** The device certificates, made once per count and kept under /tmp between runs. */
async function certCache(ids: string[]): Promise<string> {
  const dir = `/tmp/kw-soak-certs-${ids.length}`;
  if (existsSync(join(dir, 'complete'))) return dir;
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true });
  await initCertDir({ dir, force: true });
  const ca = await loadCa(dir);
  for (const id of ids) {
    const pair = await issueClientCert(ca, id);
    writeFileSync(join(dir, `${id}.crt`), pair.cert, { mode: 0o644 });
    writeFileSync(join(dir, `${id}.key`), pair.key, { mode: 0o600 });
  }
  writeFileSync(join(dir, 'complete'), '');
  note('certificates made', { count: ids.length, dir, s: round((performance.now() - t0) / 1000) });
  return dir;
}

/** A child process speaking lines on stdout; `wait(match)` resolves with the next matching line. */
interface Lines {
  proc: ChildProcess;
  wait(match: (l: string) => boolean, timeoutMs: number, what: string): Promise<string>;
}

function lines(proc: ChildProcess, onLine?: (l: string) => void): Lines {
  const waiters: Array<{ match: (l: string) => boolean; resolve: (l: string) => void }> = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    onLine?.(l);
    const i = waiters.findIndex((w) => w.match(l));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(l);
  });
  return {
    proc,
    wait: (match, timeoutMs, what) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out: ${what}`)), timeoutMs);
        const exit = (code: number | null): void => {
          clearTimeout(t);
          reject(new Error(`${what}: process exited with ${code}`));
        };
        proc.once('exit', exit);
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(t);
            proc.off('exit', exit);
            resolve(l);
          },
        });
      }),
  };
}

function spawnTracked(args: string[], env: Record<string, string>): ChildProcess {
  const c = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, KWARTIER_LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

/** The ingester process: commit reports tallied; replies (latency) awaited with `lines.wait`. */
interface Ingester extends Lines {
  ingested: number;
  rows: number;
  inserted: number;
  deadLetters: number;
  lagMs: number | null;
  /** Time of the first commit with lag < 1 s after `caughtUpAfter` (the pause's end). */
  caughtUpAt: number | null;
  caughtUpAfter: number;
}

async function startIngester(broker: Mosquitto, schema: string, histogram: boolean): Promise<Ingester> {
  const f = broker.tlsFiles('kwartier-ingester');
  const proc = spawnTracked([...SERVER_NODE_FLAGS, '--import', 'tsx', join(TESTS, 'bench-ingester.ts')], {
    KW_BENCH_INGEST: JSON.stringify({
      mqttUrl: broker.url,
      tls: { caCert: f.ca, clientCert: f.cert, clientKey: f.key },
      clientId: INGESTER_CLIENT_ID,
      connectionString: PG_URL,
      schema,
      histogram,
      // Its warnings on stderr: a soak that goes wrong should say why.
      log: true,
    }),
  });
  const ing: Ingester = {
    ...lines(proc, (l) => {
      const m = JSON.parse(l) as {
        commit?: { rows: number; inserted: number };
        ingested: number;
        dead_letters: number;
        lag_ms: number | null;
      };
      if (!m.commit) return;
      ing.ingested = m.ingested;
      ing.deadLetters = m.dead_letters;
      ing.rows += m.commit.rows;
      ing.inserted += m.commit.inserted;
      ing.lagMs = m.lag_ms;
      if (ing.caughtUpAt === null && m.lag_ms !== null && m.lag_ms < 1000 && Date.now() > ing.caughtUpAfter)
        ing.caughtUpAt = Date.now();
    }),
    ingested: 0,
    rows: 0,
    inserted: 0,
    deadLetters: 0,
    lagMs: null,
    caughtUpAt: null,
    caughtUpAfter: 0,
  };
  await ing.wait((l) => l.includes('"ready"'), 60_000, 'ingester ready');
  return ing;
}

interface Counts {
  sent: number;
  acked: number;
  by_second: Record<string, number>;
}

/** The generators' counts; a generator short of CPU may take long to answer. */
async function counts(gens: Lines[], timeoutMs = 300_000): Promise<Counts> {
  const all = await Promise.all(
    gens.map(async (g) => {
      const w = g.wait((l) => l.startsWith('counts '), timeoutMs, 'publisher counts');
      g.proc.stdin!.write('counts\n');
      return JSON.parse((await w).slice('counts '.length)) as Counts;
    }),
  );
  const by: Record<string, number> = {};
  for (const c of all) for (const [k, v] of Object.entries(c.by_second)) by[k] = (by[k] ?? 0) + v;
  return { sent: all.reduce((a, c) => a + c.sent, 0), acked: all.reduce((a, c) => a + c.acked, 0), by_second: by };
}

/** Messages published with timestamps in Unix seconds [from, to). */
function publishedIn(c: Counts, from: number, to: number): number {
  let n = 0;
  for (const [k, v] of Object.entries(c.by_second)) if (Number(k) >= from && Number(k) < to) n += v;
  return n;
}

async function storedIn(
  q: pg.Client,
  schema: string,
  from: number,
  to: number,
): Promise<{ rows: number; distinct: number }> {
  const r = await q.query<{ rows: number; distinct: number }>(
    `SELECT count(*)::int AS rows, count(DISTINCT (device_id, time))::int AS distinct FROM ${schema}.energy_readings
      WHERE time >= to_timestamp($1) AND time < to_timestamp($2)`,
    [from, to],
  );
  return r.rows[0]!;
}

/** first/min/max/last of a series and its slope (MB/min) over the second half. */
function series(points: Array<[number, number]>): {
  first: number;
  min: number;
  max: number;
  last: number;
  slopeMbPerMin: number;
} {
  const ys = points.map(([, y]) => y);
  const half = points[points.length - 1]![0] / 2;
  return {
    first: round(ys[0]!),
    min: round(Math.min(...ys)),
    max: round(Math.max(...ys)),
    last: round(ys[ys.length - 1]!),
    slopeMbPerMin: round(slope(points.filter(([t]) => t >= half)) * 60, 2),
  };
}

export async function bench(): Promise<BenchResult[]> {
  const ids = Array.from({ length: HOMES }, (_, i) => `soak-${String(i).padStart(5, '0')}`);
  const certDir = await certCache(ids);
  const broker = await Mosquitto.start({ certDir });
  let dropNotices = 0;
  let partial = '';
  broker.onLog((chunk) => {
    const text = partial + chunk;
    const cut = text.lastIndexOf('\n');
    partial = text.slice(cut + 1);
    for (const l of text.slice(0, cut + 1).split('\n')) if (l.includes('are being dropped')) dropNotices++;
  });
  const schema = `kw_bench_soak_${process.pid}`;
  await dropSchema(PG_URL, schema);
  const q = new pg.Client({ connectionString: PG_URL });
  await q.connect();
  try {
    const ing = await startIngester(broker, schema, true);
    const brokerIdleMb = rssMb(broker.pid);
    // The load: GENERATORS processes, each playing HOMES / GENERATORS homes at 1 Hz, spread evenly.
    const seconds = SOAK_S + PAUSE_S + DRAIN_S;
    const t0Connect = performance.now();
    const gens: Lines[] = [];
    for (let g = 0; g < GENERATORS; g++) {
      const devices = ids.filter((_, i) => i % GENERATORS === g);
      const proc = spawnTracked(['--import', 'tsx', join(TESTS, 'bench-publisher.ts')], {
        KW_PUB: JSON.stringify({
          url: broker.url,
          certDir: join(broker.dir, 'certs'),
          devices,
          perDevice: seconds,
          mode: 'paced',
          rate: devices.length,
          startMs: 0,
          connectConcurrency: 20,
        }),
      });
      gens.push(lines(proc));
    }
    await Promise.all(gens.map((g) => g.wait((l) => l === 'ready', 600_000, 'publisher connected')));
    const brokerConnectedMb = rssMb(broker.pid);
    note('connected', {
      homes: HOMES,
      s: round((performance.now() - t0Connect) / 1000),
      mosquitto_rss_mb: round(brokerConnectedMb),
      mosquitto_kb_per_connection: round(((brokerConnectedMb - brokerIdleMb) * 1024) / HOMES),
    });

    const tGo = Date.now();
    const tEnd = tGo + SOAK_S * 1000;
    ing.proc.stdin!.write(`window ${tGo + WARMUP_S * 1000} ${tEnd}\n`);
    const cpu = async () => ({
      machine: machineBusyS(),
      ingester: procCpuS(ing.proc.pid),
      broker: procCpuS(broker.pid),
      publishers: gens.reduce((a, g) => a + procCpuS(g.proc.pid), 0),
      postgres: await backendsCpuS(schema),
    });
    for (const g of gens) g.proc.stdin!.write('go\n');
    const cpu0 = await cpu();
    const rssIngester: Array<[number, number]> = [[0, rssMb(ing.proc.pid)]];
    const rssBroker: Array<[number, number]> = [[0, rssMb(broker.pid)]];
    for (let k = 1; k * SAMPLE_S <= SOAK_S; k++) {
      await sleep(tGo + k * SAMPLE_S * 1000 - Date.now());
      rssIngester.push([k * SAMPLE_S, rssMb(ing.proc.pid)]);
      rssBroker.push([k * SAMPLE_S, rssMb(broker.pid)]);
      process.stderr.write(
        `  t=${k * SAMPLE_S}s ingested=${ing.ingested} lag_ms=${ing.lagMs} rss ingester=${round(rssIngester[k]![1])} MB mosquitto=${round(rssBroker[k]![1])} MB\n`,
      );
      if (ing.deadLetters > 0) throw new Error(`${ing.deadLetters} dead letters`);
    }
    await sleep(tEnd - Date.now());
    const cpu1 = await cpu();
    const wallS = (Date.now() - tGo) / 1000;
    const cores = (a: number, b: number): number => round(((b - a) / wallS) * 100);
    const ours = {
      ingester: cores(cpu0.ingester, cpu1.ingester),
      mosquitto: cores(cpu0.broker, cpu1.broker),
      publishers: cores(cpu0.publishers, cpu1.publishers),
      postgres_backends: round((backendsDeltaS(cpu0.postgres, cpu1.postgres) / wallS) * 100),
    };
    // The machine is shared: whatever else ran in the window took its share of the two cores.
    const machine = cores(cpu0.machine, cpu1.machine);
    const cpuShare = {
      ...ours,
      everything_else: round(machine - Object.values(ours).reduce((a, b) => a + b, 0)),
      machine,
      load_average: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    };
    note('cpu, % of one core (200 = both cores)', cpuShare);

    // Let the last seconds commit, then read the latency of the window.
    await sleep(5000);
    const latW = ing.wait((l) => l.includes('"p99_ms"'), 30_000, 'latency');
    ing.proc.stdin!.write('latency\n');
    const lat = JSON.parse(await latW) as {
      p50_ms: number | null;
      p99_ms: number | null;
      max_ms: number | null;
      n: number;
    };
    note('latency', lat);
    const dropNoticesSoak = dropNotices;
    const soakSecEnd = Math.ceil(tEnd / 1000);
    const rowsSoak = { rows: ing.rows, inserted: ing.inserted };

    // The pause: the ingester away, its session kept; Mosquitto queues for it.
    let pause: {
      published: number;
      lost: number;
      queuedPeakMb: number;
      bytesPerMessage: number;
      drainS: number | null;
      rssAfterDrainMb: number;
    } | null = null;
    let pauseSec: [number, number] = [soakSecEnd, soakSecEnd];
    if (PAUSE_S > 0) {
      // SIGSTOP: the ingester's connection stays, it reads and acknowledges nothing; once its 1000
      // in-flight messages are out, Mosquitto queues for it (max_queued_messages/bytes), as for an
      // ingester that is slow, or away with its persistent session.
      ing.proc.kill('SIGSTOP');
      const tPause = Date.now();
      // Generators short of CPU may not answer in time: such a point is left out.
      const base = await counts(gens, 5000).catch(() => null);
      const rss0 = rssMb(broker.pid);
      const points: Array<[number, number]> = [];
      while (Date.now() < tPause + PAUSE_S * 1000) {
        await sleep(1000);
        const c = await counts(gens, 5000).catch(() => null);
        if (c && base) points.push([c.acked - base.acked, rssMb(broker.pid)]);
      }
      const queuedPeakMb = Math.max(rss0, ...points.map(([, r]) => r)) - rss0;
      // Below the limit every acknowledged message is queued: bytes per message from those points.
      const limit = Number(
        /max_queued_messages\s+(\d+)/.exec(readFileSync(join(broker.dir, 'mosquitto.conf'), 'utf8'))?.[1],
      );
      const below = points.filter(([n]) => n < limit * 0.95);
      const bytesPerMessage = Math.round(slope(below) * 1024 * 1024);
      note(
        'pause: mosquitto rss vs queued',
        points.filter((_, i) => i % 5 === 4).map(([n, r]) => [n, round(r)]),
      );
      ing.caughtUpAt = null;
      ing.caughtUpAfter = Date.now();
      ing.proc.kill('SIGCONT');
      const tResume = ing.caughtUpAfter;
      pauseSec = [Math.floor(tPause / 1000), Math.floor(tResume / 1000)];
      await Promise.all(gens.map((g) => g.wait((l) => l.startsWith('published'), (seconds + 300) * 1000, 'published')));
      const all = await counts(gens);
      // Everything queued is in once the store stops growing (or what is not in after
      // SETTLE_S more is reported as not stored).
      let last = -1;
      const settleEnd = Date.now() + SETTLE_S * 1000;
      while (ing.ingested !== last && Date.now() < settleEnd) {
        last = ing.ingested;
        await sleep(5000);
      }
      const published = publishedIn(all, pauseSec[0], pauseSec[1]);
      const stored = (await storedIn(q, schema, pauseSec[0], pauseSec[1])).rows;
      pause = {
        published,
        lost: published - stored,
        queuedPeakMb: round(queuedPeakMb),
        bytesPerMessage,
        drainS: ing.caughtUpAt === null ? null : round((ing.caughtUpAt - tResume) / 1000),
        rssAfterDrainMb: round(rssMb(broker.pid)),
      };
      note('pause', { ...pause, seconds: pauseSec, drop_notices: dropNotices - dropNoticesSoak });
    }

    // The soak window: every second from `go` to the end of the soak.
    if (PAUSE_S === 0) {
      await Promise.all(gens.map((g) => g.wait((l) => l.startsWith('published'), 300_000, 'published')));
      let last = -1;
      const settleEnd = Date.now() + SETTLE_S * 1000;
      while (ing.ingested !== last && Date.now() < settleEnd) {
        last = ing.ingested;
        await sleep(5000);
      }
    }
    const final = await counts(gens);
    const s0 = Math.floor(tGo / 1000);
    const published = publishedIn(final, s0, soakSecEnd);
    const rate = published / ((soakSecEnd * 1000 - tGo) / 1000);
    const perMsg = (share: number): number => round((share * 10_000) / Math.max(1, rate));
    note('cpu µs per message published', {
      ingester: perMsg(ours.ingester),
      mosquitto: perMsg(ours.mosquitto),
      publishers: perMsg(ours.publishers),
      postgres_backends: perMsg(ours.postgres_backends),
    });
    const stored = await storedIn(q, schema, s0, soakSecEnd);
    const allStored = await storedIn(q, schema, s0, soakSecEnd + seconds + 60);
    note('soak window', {
      seconds: [s0, soakSecEnd],
      published,
      stored,
      publish_rate: round(rate),
      ingester_rows_inserted: rowsSoak,
      whole_run: { published: final.sent, acked: final.acked, stored: allStored },
    });
    const ri = series(rssIngester);
    const rb = series(rssBroker);
    note('rss ingester MB', ri);
    note('rss mosquitto MB', rb);
    const out: BenchResult[] = [
      { name: `soak: homes connected (own TLS certificate each)`, value: HOMES, unit: 'connections' },
      {
        name: `soak: messages published in ${SOAK_S} s (1 Hz per home)`,
        value: published,
        unit: 'messages',
      },
      { name: 'soak: publish rate', value: round(rate), unit: 'messages/s', target: '>= 9990' },
      {
        name: `soak: published but not stored (${SETTLE_S} s after the last publish at most)`,
        value: published - stored.rows,
        unit: 'snapshots',
        target: '<= 0',
      },
      { name: 'soak: stored more than once', value: stored.rows - stored.distinct, unit: 'snapshots', target: '<= 0' },
      { name: `soak: p50 publish → commit (after ${WARMUP_S} s)`, value: lat.p50_ms ?? Number.NaN, unit: 'ms' },
      {
        name: `soak: p99 publish → commit (after ${WARMUP_S} s)`,
        value: lat.p99_ms ?? Number.NaN,
        unit: 'ms',
        target: '<= 1000',
      },
      { name: 'soak: max publish → commit', value: lat.max_ms ?? Number.NaN, unit: 'ms' },
      {
        name: `soak: ingester RSS first/min/max/last ${ri.first}/${ri.min}/${ri.max}/${ri.last} MB; slope, second half`,
        value: ri.slopeMbPerMin,
        unit: 'MB/min',
        target: '<= 1',
      },
      {
        name: `soak: Mosquitto RSS first/min/max/last ${rb.first}/${rb.min}/${rb.max}/${rb.last} MB; slope, second half`,
        value: rb.slopeMbPerMin,
        unit: 'MB/min',
        target: '<= 1',
      },
      {
        name: 'soak: Mosquitto RSS per connection (TLS)',
        value: round(((brokerConnectedMb - brokerIdleMb) * 1024) / HOMES),
        unit: 'kB',
      },
      { name: 'soak: CPU ingester', value: cpuShare.ingester, unit: '% of a core' },
      { name: 'soak: CPU Mosquitto', value: cpuShare.mosquitto, unit: '% of a core' },
      { name: 'soak: CPU PostgreSQL backends', value: cpuShare.postgres_backends, unit: '% of a core' },
      { name: `soak: CPU load generators (${GENERATORS})`, value: cpuShare.publishers, unit: '% of a core' },
      { name: 'soak: CPU of everything else on the machine', value: cpuShare.everything_else, unit: '% of a core' },
      {
        name: 'soak: Mosquitto "messages are being dropped" notices',
        value: dropNoticesSoak,
        unit: 'notices',
        target: '<= 0',
      },
    ];
    if (pause)
      out.push(
        { name: `pause: published while the ingester was away ${PAUSE_S} s`, value: pause.published, unit: 'messages' },
        {
          name: 'pause: lost (dropped by Mosquitto past its queue limits)',
          value: pause.lost,
          unit: 'messages',
          target: '<= 0',
        },
        { name: 'pause: Mosquitto RSS per queued message', value: pause.bytesPerMessage, unit: 'bytes' },
        { name: 'pause: Mosquitto RSS growth, peak', value: pause.queuedPeakMb, unit: 'MB' },
        {
          name: 'pause: drain, ingester resumed → lag < 1 s',
          value: pause.drainS ?? Number.NaN,
          unit: 's',
        },
        { name: 'pause: Mosquitto RSS after the drain', value: pause.rssAfterDrainMb, unit: 'MB' },
      );
    return out;
  } finally {
    for (const c of children) c.kill('SIGKILL');
    // The broker's last log lines (connections, drops) are kept for a look after the run.
    const logFile = `/tmp/kw-soak-mosquitto-${process.pid}.log`;
    writeFileSync(logFile, broker.logText);
    note('mosquitto log (last lines)', logFile);
    await q.end();
    await dropSchema(PG_URL, schema);
    await broker.dispose();
  }
}
