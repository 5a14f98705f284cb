/**
 * Store write throughput: realistic 1 Hz snapshots (every field set, counters moving), batched.
 *   npm run bench -- store
 * PostgreSQL at 127.0.0.1:5432 (database `test`), in a throwaway schema dropped afterwards; SQLite in
 * a temporary file. Times cover the store calls only (generating the snapshots is not counted).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** Inserts `total` snapshots of one home in batches; returns the seconds spent in the store. */
async function load(store: Store, home: Home, total: number, batchSize: number): Promise<number> {
  let spent = 0;
  for (let done = 0; done < total; done += batchSize) {
    const readings = home.batch(Math.min(batchSize, total - done));
    const t0 = process.hrtime.bigint();
    const r = await store.insert({ deviceId: home.deviceId, outboxId: 'bench-outbox', floorSeq: home.floor, readings });
    spent += Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.inserted !== readings.length) throw new Error(`bench: inserted ${r.inserted} of ${readings.length}`);
  }
  return spent;
}

async function withPg<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const schema = `kw_bench_${process.pid}_${Date.now().toString(36)}`;
  const store = createPostgresStore(
    { connectionString: PG_URL, schema },
    { timezone: TZ, logger: silentLogger(), timescale: 'off' },
  );
  try {
    await store.migrate();
    return await fn(store);
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
  await withPg(async (store) => {
    const home = new Home('bench-pg', START);
    await load(store, home, 20_000, 1000);
    const n = 200_000;
    const s = await load(store, home, n, 1000);
    out.push({
      name: 'postgres insert, batches of 1000',
      value: Math.round(n / s),
      unit: 'snapshots/s',
      target: '>= 50000',
    });
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
