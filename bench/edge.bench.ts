/**
 * The edge's footprint at 1 Hz with both sources: the built edge (`node bin/kwartier.js edge`, as
 * systemd runs it) reads a HomeWizard P1 meter (API v1, every 1 s) and a Sungrow inverter (Modbus,
 * every 5 s) — both simulated in this process — commits every snapshot to its outbox and forwards
 * it over MQTT with TLS client certificates (as deployed; `kwartier certs` made them) to a real
 * server (embedded broker, ingester, SQLite) that acknowledges each commit.
 * RSS and CPU are read from /proc for the edge process only, after a warm-up.
 *
 * Runs: the home of the releases before `devices:` (the `homewizard:` and `sungrow:` sections,
 * the ≤ 60 MB target), a site of four devices in a `devices:` list (the HomeWizard meter and three
 * Sungrow inverters, each with its own simulator; the snapshots carry every device's reading), and
 * one run per newer device type beside the HomeWizard meter at that type's default poll rates
 * (`fronius`, `huawei-sun2000`, `sunspec`), and off-grid sites (`tristar-mppt`: two TriStar MPPT
 * charge controllers; `outback`: an OutBack hub alone; no meter, the edge ticks on its own clock).
 * Each device's simulator is its type's from the registry. KW_BENCH_EDGE_SITES=legacy, =site,
 * =fronius, =huawei-sun2000, =sunspec, =outback or =tristar-mppt runs one of them (a
 * comma-separated list runs several).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWithSchema } from '../src/core/validate.js';
import type { RunningDeviceSimulator } from '../src/drivers/definition.js';
import { startHomeWizardSimulator } from '../src/drivers/homewizard/simulator.js';
import { driverOf } from '../src/drivers/registry.js';
import { HomeModel } from '../src/drivers/sim/home-model.js';
import { initCertDir, issueDeviceFiles } from '../src/lib/certs.js';
import { silentLogger } from '../src/lib/log.js';
import { ServerApp } from '../src/server/app.js';
import { ServerConfigSchema } from '../src/server/config.js';
import type { BenchResult } from './run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WARMUP_S = Number(process.env.KW_BENCH_EDGE_WARMUP_S ?? 15);
// Five minutes: long enough for V8 to run at least one full collection of the old space, whose
// garbage builds up by ~2 MB between them (a one-minute window saw only the low part of that saw).
const MEASURE_S = Number(process.env.KW_BENCH_EDGE_MEASURE_S ?? 300);
const CLK_TCK = 100; // Linux USER_HZ

/**
 * The edge as deploy/systemd/kwartier-edge.service runs it: the Node flags of its ExecStart (the
 * words between the node binary and bin/kwartier.js) and its Environment= variables. Read from the
 * unit, so the bench measures what is deployed. KW_BENCH_EDGE_FLAGS overrides the flags ('' for none).
 */
function deployedEdge(): { flags: string[]; env: Record<string, string> } {
  const unit = readFileSync(join(ROOT, 'deploy/systemd/kwartier-edge.service'), 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
  const script = exec.findIndex((w) => w.endsWith('/bin/kwartier.js'));
  if (script < 1 || exec[script + 1] !== 'edge')
    throw new Error('kwartier-edge.service: no ExecStart=node … kwartier.js edge');
  const env: Record<string, string> = {};
  for (const m of unit.matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)) env[m[1] as string] = m[2] as string;
  const override = process.env.KW_BENCH_EDGE_FLAGS;
  return { flags: override === undefined ? exec.slice(1, script) : override.split(' ').filter(Boolean), env };
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of /proc/pid/stat (indexes 11 and 12 after the command).
  return Number(fields[11]) + Number(fields[12]);
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Private (dirty) memory and PSS from smaps_rollup: what the edge costs beyond the shared Node binary. */
function privateMb(pid: number): { privateDirty: number; pss: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { privateDirty: kb('Private_Dirty') / 1024, pss: kb('Pss') / 1024 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Scenario {
  key: string;
  label: string;
  target?: string;
  /** The config's device lines, given the simulators' ports (HomeWizard first, then `types`'). */
  devices(ports: number[]): string[];
  /** The device types besides the HomeWizard meter, one simulator each (from the registry). */
  types: string[];
}

const SCENARIOS: Scenario[] = [
  {
    key: 'legacy',
    label: 'HomeWizard 1 Hz + Sungrow 5 s, sections',
    target: '<= 60',
    types: ['sungrow'],
    devices: ([hw, sg]) => [
      `homewizard: {ip: 127.0.0.1, port: ${hw}, poll_interval_s: 1.0, api_version: v1}`,
      `sungrow: {ip: 127.0.0.1, port: ${sg}, poll_interval_s: 5.0}`,
    ],
  },
  {
    key: 'site',
    label: 'a site of four devices: HomeWizard 1 Hz + 3 Sungrow 5 s, devices: list',
    types: ['sungrow', 'sungrow', 'sungrow'],
    devices: ([hw, ...sg]) => [
      'devices:',
      `  - {name: p1, type: homewizard, host: 127.0.0.1, port: ${hw}, poll_interval_s: 1.0, api_version: v1}`,
      ...sg.map(
        (port, i) =>
          `  - {name: inverter-${i + 1}, type: sungrow, host: 127.0.0.1, port: ${port}, poll_interval_s: 5.0}`,
      ),
    ],
  },
  {
    key: 'fronius',
    label: 'HomeWizard 1 Hz + Fronius at its defaults (power flow 2 s, meter and inverter 10 s), devices: list',
    types: ['fronius'],
    devices: ([hw, fr]) => [
      'devices:',
      `  - {name: p1, type: homewizard, host: 127.0.0.1, port: ${hw}, poll_interval_s: 1.0, api_version: v1}`,
      `  - {name: roof, type: fronius, host: 127.0.0.1, port: ${fr}}`,
    ],
  },
  {
    key: 'huawei-sun2000',
    label:
      'HomeWizard 1 Hz + Huawei SUN2000 with meter and battery at its defaults (inverter and battery 5 s, meter 2 s), devices: list',
    types: ['huawei-sun2000'],
    devices: ([hw, hu]) => [
      'devices:',
      `  - {name: p1, type: homewizard, host: 127.0.0.1, port: ${hw}, poll_interval_s: 1.0, api_version: v1}`,
      `  - {name: roof, type: huawei-sun2000, host: 127.0.0.1, port: ${hu}, unit_id: 1}`,
    ],
  },
  {
    key: 'tristar-mppt',
    label:
      'off-grid: 2 TriStar MPPT at their defaults (connect, read, close every 5 s; one V_PU-scaled, one half-float), no grid meter, devices: list',
    types: ['tristar-mppt'],
    // The HomeWizard simulator runs but is not in the config: an off-grid site has no meter.
    devices: ([, ts]) => [
      'devices:',
      `  - {name: sc1, type: tristar-mppt, host: 127.0.0.1, port: ${ts}, unit_id: 1}`,
      `  - {name: sc2, type: tristar-mppt, host: 127.0.0.1, port: ${ts}, unit_id: 2}`,
    ],
  },
  {
    key: 'sunspec',
    label:
      'HomeWizard 1 Hz + a SunSpec inverter with 203 meter and 802 battery at its defaults (5 s, all models), devices: list',
    types: ['sunspec'],
    devices: ([hw, ss]) => [
      'devices:',
      `  - {name: p1, type: homewizard, host: 127.0.0.1, port: ${hw}, poll_interval_s: 1.0, api_version: v1}`,
      `  - {name: roof, type: sunspec, host: 127.0.0.1, port: ${ss}}`,
    ],
  },
  {
    key: 'outback',
    label:
      'off-grid: an OutBack MATE3S (2 Radians, 2 FLEXmax, FLEXnet DC) at its defaults (5 s), no meter, devices: list',
    types: ['outback'],
    devices: ([, ob]) => ['devices:', `  - {name: cabin, type: outback, host: 127.0.0.1, port: ${ob}}`],
  },
];

export async function bench(): Promise<BenchResult[]> {
  if (!existsSync(join(ROOT, 'dist/cli/run.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const only = process.env.KW_BENCH_EDGE_SITES?.split(',');
  const out: BenchResult[] = [];
  for (const sc of SCENARIOS) if (!only || only.includes(sc.key)) out.push(...(await run(sc)));
  return out;
}

async function run(sc: Scenario): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-edge-'));
  const log = silentLogger();
  const model = new HomeModel({ start: Date.now(), seed: 4 });
  const hw = await startHomeWizardSimulator({ host: '127.0.0.1', port: 0, api: 'v1', model, log });
  const sims: RunningDeviceSimulator[] = [];
  for (const type of sc.types) {
    const sim = driverOf(type)?.simulator;
    if (!sim) throw new Error(`no simulator for device type ${type}`);
    sims.push(await sim.create({ host: '127.0.0.1', port: 0, model, log }));
  }
  const certs = join(dir, 'certs');
  await initCertDir({ dir: certs });
  await issueDeviceFiles({ dir: certs, id: 'bench-home' });
  const server = new ServerApp({
    config: parseWithSchema(
      ServerConfigSchema,
      {
        store: { type: 'sqlite', path: join(dir, 'server.sqlite') },
        broker: {
          enabled: true,
          port: 0,
          tls: { ca_cert: join(certs, 'ca.crt'), cert: join(certs, 'server.crt'), key: join(certs, 'server.key') },
        },
        api: { port: 0, tokens: [{ name: 'b', token: 'bench-token-0123456789', devices: ['*'] }] },
      },
      'bench',
    ),
    log,
  });
  await server.start();
  const brokerPort = Number(new URL(server.brokerUrl ?? '').port);
  const cfg = join(dir, 'edge.yaml');
  writeFileSync(
    cfg,
    [
      'device_id: bench-home',
      ...sc.devices([hw.port, ...sims.map((s) => s.port)]),
      `buffer: {db_path: ${join(dir, 'outbox.sqlite')}}`,
      `mqtt: {host: 127.0.0.1, port: ${brokerPort}, tls: {ca_cert: ${join(certs, 'ca.crt')}, client_cert: ${join(certs, 'bench-home.crt')}, client_key: ${join(certs, 'bench-home.key')}}}`,
      '',
    ].join('\n'),
  );
  let ingested = 0;
  server.bus.subscribe('bench', 'committed', () => {
    ingested++;
  });
  process.stderr.write(`edge: ${sc.label}\n`);
  const deployed = deployedEdge();
  const bundled = existsSync(join(ROOT, 'dist/edge-bundle/edge.mjs'))
    ? ' (dist/edge-bundle/edge.mjs)'
    : ' (dist/cli/run.js: no edge bundle)';
  process.stderr.write(`edge: node ${deployed.flags.join(' ')} bin/kwartier.js edge${bundled}\n`);
  const edge: ChildProcess = spawn(
    process.execPath,
    [...deployed.flags, join(ROOT, 'bin/kwartier.js'), 'edge', '--config', cfg],
    {
      // The unit's environment; only the log level is lowered (warnings still show here).
      env: { ...process.env, ...deployed.env, KWARTIER_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    const pid = edge.pid;
    if (pid === undefined) throw new Error('edge did not start');
    await sleep(WARMUP_S * 1000);
    const t0 = Date.now();
    const c0 = cpuTicks(pid);
    const n0 = ingested;
    let maxRss = 0;
    let maxPrivate = 0;
    let maxPss = 0;
    for (let i = 0; i < MEASURE_S; i++) {
      await sleep(1000);
      maxRss = Math.max(maxRss, rssMb(pid));
      const m = privateMb(pid);
      maxPrivate = Math.max(maxPrivate, m.privateDirty);
      maxPss = Math.max(maxPss, m.pss);
    }
    const cpuS = (cpuTicks(pid) - c0) / CLK_TCK;
    const wallS = (Date.now() - t0) / 1000;
    const rate = (ingested - n0) / wallS;
    return [
      {
        name: `edge RSS (max over the run, ${sc.label}, outbox + MQTT/TLS, Node ${process.version})`,
        value: Math.round(maxRss * 10) / 10,
        unit: 'MB',
        ...(sc.target ? { target: sc.target } : {}),
      },
      {
        name: `edge private dirty memory (max: RSS without the shared, file-backed pages of the node binary; ${sc.key})`,
        value: Math.round(maxPrivate * 10) / 10,
        unit: 'MB',
      },
      { name: `edge PSS (max; ${sc.key})`, value: Math.round(maxPss * 10) / 10, unit: 'MB' },
      {
        name: `edge CPU (user + system) of one core (${sc.key})`,
        value: Math.round((cpuS / wallS) * 10000) / 100,
        unit: '%',
        target: '<= 1',
      },
      {
        name: `snapshots committed by the server during the measurement (${sc.key})`,
        value: Math.round(rate * 100) / 100,
        unit: 'snapshots/s',
      },
    ];
  } finally {
    edge.kill('SIGTERM');
    await new Promise((r) => edge.once('exit', r));
    await server.stop();
    await hw.stop();
    for (const sim of sims) await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
