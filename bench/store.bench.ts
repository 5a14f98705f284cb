/**
 * Store write throughput: realistic 1 Hz snapshots (every field set, counters moving), batched.
 *   npm run bench -- store
 * PostgreSQL at 127.0.0.1:5432 (database `test`), in a throwaway schema dropped afterwards; SQLite in
 * a temporary file. Times cover the store calls only (generating the snapshots is not counted).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { emptySnapshot, type Snapshot } from '../src/core/snapshot.js';
import { silentLogger } from '../src/lib/log.js';
import { createPostgresStore } from '../src/server/store/postgres.js';
import { createSqliteStore } from '../src/server/store/sqlite.js';
import type { IncomingReading, Store } from '../src/server/store/types.js';
import type { BenchResult } from './run.js';

const PG_URL = process.env.KWARTIER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const TZ = 'Europe/Brussels';
const START = Date.parse('2026-03-23T00:00:00Z');

/** A home at 1 Hz: a deterministic load, a solar day curve, a battery, and counters that follow them. */
export class Home {
  private t: number;
  private seq = 0;
  private imp = [12_345.678, 9_876.543];
  private exp = [2_345.6, 1_234.5];
  private pvTotal = 15_000;
  private pvDaily = 0;
  private batIn = 3_000;
  private batOut = 2_800;
  private gas = 4_321.123;
  private water = 987.654;
  private day = -1;

  constructor(
    readonly deviceId: string,
    start: number,
  ) {
    this.t = start;
  }

  next(): IncomingReading {
    const t = this.t;
    this.t += 1000;
    const sec = (t / 1000) % 86_400;
    const day = Math.floor(t / 86_400_000);
    if (day !== this.day) {
      this.day = day;
      this.pvDaily = 0;
    }
    const load = 300 + 200 * Math.sin(t / 600_000) + (sec % 97 === 0 ? 2000 : 0);
    const pv = Math.max(0, 5000 * Math.sin(((sec - 21_600) / 43_200) * Math.PI));
    const bat = pv > load ? Math.min(2500, pv - load) : -Math.min(2500, load - pv) * 0.5;
    const grid = load - pv + bat;
    const h = 1 / 3_600_000; // kWh per W·s
    const tariff = sec >= 21_600 && sec < 79_200 ? 0 : 1;
    if (grid > 0) this.imp[tariff]! += grid * h;
    else this.exp[tariff]! += -grid * h;
    this.pvTotal += pv * h;
    this.pvDaily += pv * h;
    if (bat > 0) this.batIn += bat * h;
    else this.batOut += -bat * h;
    if (sec % 300 === 0) this.gas += 0.01;
    if (sec % 60 === 0) this.water += 0.001;
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    const s: Snapshot = emptySnapshot(this.deviceId, new Date(t).toISOString());
    s.country = 'be';
    s.meter_timestamp = s.timestamp;
    s.grid_power_w = Math.round(grid);
    s.grid_import_t1_kwh = r3(this.imp[0]!);
    s.grid_import_t2_kwh = r3(this.imp[1]!);
    s.grid_export_t1_kwh = r3(this.exp[0]!);
    s.grid_export_t2_kwh = r3(this.exp[1]!);
    s.grid_avg_15m_w = Math.round(load);
    s.grid_monthly_peak_w = 4200;
    s.grid_monthly_peak_timestamp = '2026-03-12T18:15:00Z';
    s.grid_tariff = tariff + 1;
    s.power_l1_w = Math.round(grid / 3);
    s.power_l2_w = Math.round(grid / 3);
    s.power_l3_w = Math.round(grid / 3);
    s.voltage_l1_v = 231.2;
    s.voltage_l2_v = 230.8;
    s.voltage_l3_v = 232.1;
    s.current_l1_a = 1.4;
    s.current_l2_a = 1.3;
    s.current_l3_a = 1.5;
    s.gas_total_m3 = r3(this.gas);
    s.water_total_m3 = r3(this.water);
    s.pv_power_w = Math.round(pv);
    s.pv_daily_kwh = Math.round(this.pvDaily * 10) / 10;
    s.pv_total_kwh = Math.round(this.pvTotal * 10) / 10;
    s.mppt1_voltage_v = 380.5;
    s.mppt1_current_a = Math.round((pv / 760) * 100) / 100;
    s.mppt2_voltage_v = 379.9;
    s.mppt2_current_a = Math.round((pv / 760) * 100) / 100;
    s.battery_power_w = Math.round(bat);
    s.battery_soc_pct = 55.5;
    s.battery_temp_c = 24.1;
    s.battery_daily_charge_kwh = 3.2;
    s.battery_daily_discharge_kwh = 2.9;
    s.battery_total_charge_kwh = Math.round(this.batIn * 10) / 10;
    s.battery_total_discharge_kwh = Math.round(this.batOut * 10) / 10;
    s.load_power_w = Math.round(load);
    s.self_consumption_w = Math.round(Math.min(pv, load));
    s.self_sufficiency_pct = Math.round(Math.min(100, (Math.min(pv, load) / load) * 100) * 10) / 10;
    this.seq++;
    return { snapshot: s, seq: this.seq };
  }

  batch(n: number): IncomingReading[] {
    return Array.from({ length: n }, () => this.next());
  }

  get floor(): number {
    return 1;
  }
}

/**
 * Inserts `total` snapshots of one home in batches; returns the seconds spent in the store. Batches
 * are generated 50 at a time before the clock runs, so generating them is not counted.
 */
async function load(store: Store, home: Home, total: number, batchSize: number): Promise<number> {
  return (await loadCpu(store, home, total, batchSize)).wall;
}

/** As `load`, also returning this process's CPU seconds spent in the timed part. */
async function loadCpu(
  store: Store,
  home: Home,
  total: number,
  batchSize: number,
): Promise<{ wall: number; cpu: number }> {
  let spent = 0;
  let cpu = 0;
  for (let done = 0; done < total; ) {
    const chunk: IncomingReading[][] = [];
    for (let k = 0; k < 50 && done < total; k++) {
      const n = Math.min(batchSize, total - done);
      chunk.push(home.batch(n));
      done += n;
    }
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const readings of chunk) {
      const r = await store.insert({
        deviceId: home.deviceId,
        outboxId: 'bench-outbox',
        floorSeq: home.floor,
        readings,
      });
      if (r.inserted !== readings.length) throw new Error(`bench: inserted ${r.inserted} of ${readings.length}`);
    }
    spent += Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1e6;
  }
  return { wall: spent, cpu };
}

/**
 * CPU seconds used so far by the PostgreSQL backends serving connections named `app` (Linux /proc;
 * utime + stime in clock ticks of 1/100 s). Null where /proc is not readable.
 */
async function backendCpu(app: string): Promise<number | null> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const r = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app]);
    let ticks = 0;
    for (const { pid } of r.rows) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks / 100;
  } catch {
    return null;
  } finally {
    await c.end();
  }
}

async function withPg<T>(fn: (store: Store, app: string) => Promise<T>): Promise<T> {
  const schema = `kw_bench_${process.pid}_${Date.now().toString(36)}`;
  const app = `kwartier-${schema}`;
  const store = createPostgresStore(
    { connectionString: PG_URL, schema },
    { timezone: TZ, logger: silentLogger(), timescale: 'off', poolSize: 2, applicationName: app },
  );
  try {
    await store.migrate();
    return await fn(store, app);
  } finally {
    await store.close();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  }
}

export async function bench(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];

  // PostgreSQL: steady batched throughput (warm-up day excluded).
  await withPg(async (store, app) => {
    const home = new Home('bench-pg', START);
    await load(store, home, 20_000, 1000);
    const n = 200_000;
    const pg0 = await backendCpu(app);
    const { wall, cpu } = await loadCpu(store, home, n, 1000);
    const pg1 = await backendCpu(app);
    out.push({
      name: 'postgres insert, batches of 1000',
      value: Math.round(n / wall),
      unit: 'snapshots/s',
      target: '>= 50000',
    });
    // What it costs, whatever else runs on the machine: CPU per 1000 snapshots, and the rate that
    // would fill every core (with writers enough to overlap Node.js and PostgreSQL).
    if (pg0 !== null && pg1 !== null) {
      const perK = ((cpu + (pg1 - pg0)) / n) * 1000;
      out.push({ name: '  CPU per 1000 snapshots: Node.js', value: (cpu / n) * 1e6, unit: 'ms' });
      out.push({ name: '  CPU per 1000 snapshots: PostgreSQL backend', value: ((pg1 - pg0) / n) * 1e6, unit: 'ms' });
      out.push({
        name: `  CPU-bound capacity on ${availableParallelism()} cores`,
        value: Math.round((availableParallelism() / perK) * 1000),
        unit: 'snapshots/s',
      });
    }
  });

  // PostgreSQL: two writers at once (two homes; the ingester may have several batches in flight).
  await withPg(async (store) => {
    const homes = [new Home('bench-pg-1', START), new Home('bench-pg-2', START)];
    await Promise.all(homes.map((h) => load(store, h, 10_000, 1000)));
    const n = 60_000;
    // Generated before the clock starts: this figure is wall time.
    const batches = homes.map((h) => Array.from({ length: n / 1000 }, () => h.batch(1000)));
    const t0 = process.hrtime.bigint();
    await Promise.all(
      homes.map(async (h, i) => {
        for (const readings of batches[i]!)
          await store.insert({ deviceId: h.deviceId, outboxId: 'bench-outbox', floorSeq: 1, readings });
      }),
    );
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    out.push({
      name: 'postgres insert, 2 writers, batches of 1000',
      value: Math.round((2 * n) / s),
      unit: 'snapshots/s',
      target: '>= 50000',
    });
  });

  // PostgreSQL: the ingester's flush of many homes, one insertMany of 25 devices × 60 snapshots (a
  // lane's share of 100 homes, as in the MQTT bench's steady run). Wall time per flush.
  await withPg(async (store) => {
    const homes = Array.from({ length: 25 }, (_, i) => new Home(`bench-flush-${i}`, START));
    const flush = () =>
      homes.map((h) => ({ deviceId: h.deviceId, outboxId: 'bench-outbox', floorSeq: 1, readings: h.batch(60) }));
    for (let k = 0; k < 5; k++) await store.insertMany(flush());
    const flushes = Array.from({ length: 40 }, flush);
    const t0 = process.hrtime.bigint();
    for (const f of flushes) {
      const r = await store.insertMany(f);
      if (r.some((x) => x.inserted !== 60)) throw new Error('bench: a flush stored less than it was given');
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6 / flushes.length;
    out.push({ name: 'postgres flush of 25 devices × 60 snapshots (one insertMany)', value: ms, unit: 'ms' });
  });

  // PostgreSQL: a 7-day backlog at 1 Hz into an empty store.
  await withPg(async (store) => {
    const home = new Home('bench-backlog', START);
    const s = await load(store, home, 7 * 86_400, 1000);
    out.push({ name: 'postgres 7-day backlog (604,800 snapshots)', value: s, unit: 's', target: '<= 30' });
  });

  // SQLite: batched throughput into a file (WAL).
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-'));
  const store = createSqliteStore(join(dir, 'store.db'), { timezone: TZ, logger: silentLogger() });
  try {
    await store.migrate();
    const home = new Home('bench-sqlite', START);
    await load(store, home, 20_000, 1000);
    const n = 200_000;
    const s = await load(store, home, n, 1000);
    out.push({ name: 'sqlite insert, batches of 1000', value: Math.round(n / s), unit: 'snapshots/s' });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
