/**
 * deploy/grafana: the provisioning files parse, every dashboard is valid JSON whose panels use the
 * provisioned data sources, every SQL query runs against the tables the project's own migrations
 * create (PostgreSQL, a throwaway schema: EXPLAIN fails on any table or column that does not exist),
 * and every Prometheus query names metrics the server serves at /metrics.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseWithSchema } from '../../src/core/validate.js';
import { silentLogger } from '../../src/lib/log.js';
import { ServerApp } from '../../src/server/app.js';
import { ServerConfigSchema } from '../../src/server/config.js';
import { freePort } from '../helpers/net.js';
import { makeStore, type TestStore } from '../mqtt/stores.js';

const ROOT = fileURLToPath(new URL('../../deploy/grafana/', import.meta.url));
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

interface Target {
  refId: string;
  datasource?: { uid?: string };
  rawSql?: string;
  expr?: string;
}
interface Panel {
  id: number;
  title: string;
  type: string;
  datasource?: { uid?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query?: unknown; datasource?: { uid?: string } }> };
}

const dashboards: Array<{ file: string; dash: Dashboard }> = readdirSync(join(ROOT, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, dash: JSON.parse(read(join('dashboards', file))) as Dashboard }));

const datasources = (
  parseYaml(read('provisioning/datasources/kwartier.yaml')) as {
    datasources: Array<{ uid: string; type: string }>;
  }
).datasources;
const PG_UID = datasources.find((d) => d.type === 'postgres')?.uid;
const PROM_UID = datasources.find((d) => d.type === 'prometheus')?.uid;

/** Every SQL of a dashboard: panel targets and query variables. */
function sqlOf(dash: Dashboard): Array<{ where: string; sql: string }> {
  const out: Array<{ where: string; sql: string }> = [];
  for (const p of dash.panels)
    for (const t of p.targets ?? []) if (t.rawSql) out.push({ where: `${dash.uid} / ${p.title}`, sql: t.rawSql });
  for (const v of dash.templating.list)
    if (v.datasource?.uid === PG_UID && typeof v.query === 'string')
      out.push({ where: `${dash.uid} / $${v.name}`, sql: v.query });
  return out;
}

/** Grafana's macros and the dashboards' variables, as PostgreSQL would get them. */
function expand(sql: string, schema: string): string {
  return sql
    .replace(/\$__timeFilter\((\w+)\)/g, "$1 BETWEEN now() - interval '1 day' AND now()")
    .replace(/\$__timeGroupAlias\((\w+),\s*'[^']+'\)/g, `date_trunc('minute', $1) AS "time"`)
    .replace(/\$\{schema\}/g, schema)
    .replace(/\$\{device\}/g, 'home-01')
    .replace(/\$\{timezone\}/g, 'Europe/Brussels');
}

describe('Grafana provisioning files', () => {
  it('the data sources and the dashboard provider are what Grafana reads', () => {
    expect(PG_UID).toBe('kwartier-postgres');
    expect(PROM_UID).toBe('kwartier-prometheus');
    const providers = (
      parseYaml(read('provisioning/dashboards/kwartier.yaml')) as {
        apiVersion: number;
        providers: Array<{ type: string; options: { path: string } }>;
      }
    ).providers;
    expect(providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards/kwartier' } });
  });

  it('the six dashboards: unique uids, panels on the provisioned data sources, on the grid', () => {
    expect(dashboards.map((d) => d.dash.uid).sort()).toEqual([
      'kwartier-capacity',
      'kwartier-day',
      'kwartier-edge-health',
      'kwartier-live',
      'kwartier-month',
      'kwartier-server',
    ]);
    for (const { file, dash } of dashboards) {
      expect(file).toBe(`${dash.uid}.json`);
      expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
      for (const p of dash.panels) {
        expect([PG_UID, PROM_UID]).toContain(p.datasource?.uid);
        expect(p.targets?.length).toBeGreaterThan(0);
        for (const t of p.targets ?? []) expect(t.datasource?.uid).toBe(p.datasource?.uid);
        expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      }
    }
  });
});

describe('Grafana SQL against the PostgreSQL store', () => {
  let store: TestStore;
  let client: pg.Client;
  let schema: string;

  beforeAll(async () => {
    store = await makeStore('postgres');
    schema = store.location.schema!;
    client = new pg.Client({ connectionString: store.location.connectionString });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await store?.dispose();
  });

  it('every query names tables and columns that exist (EXPLAIN, and information_schema)', async () => {
    const { rows } = await client.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    );
    const tables = new Set(rows.map((r) => r.table_name));
    const queries = dashboards.flatMap(({ dash }) => sqlOf(dash));
    expect(queries.length).toBeGreaterThanOrEqual(20);
    for (const { where, sql } of queries) {
      const expanded = expand(sql, schema);
      expect(expanded, `${where}: a macro or variable left`).not.toMatch(/\$/);
      for (const m of sql.matchAll(/\$\{schema\}\.(\w+)/g)) expect(tables, `${where}: table ${m[1]}`).toContain(m[1]);
      await client.query(`EXPLAIN ${expanded}`).catch((err: Error) => {
        throw new Error(`${where}: ${err.message}\n${expanded}`);
      });
    }
  });

  it('the queries return the stored values (the day and capacity panels on real readings)', async () => {
    const { HomeModel } = await import('../../src/drivers/sim/home-model.js');
    const { sampleHome } = await import('../helpers/snapshots.js');
    const start = Date.now() - 2 * 3_600_000;
    const model = new HomeModel({ start });
    const snaps = sampleHome(model, 'home-01', Date.now() - 60_000, 30_000);
    await store.store.insert({
      deviceId: 'home-01',
      outboxId: null,
      floorSeq: null,
      readings: snaps.map((s) => ({ snapshot: s, seq: null })),
    });
    const capacity = dashboards.find((d) => d.dash.uid === 'kwartier-capacity')!.dash;
    const quarterSql = capacity.panels.find((p) => p.title === 'Quarter-hour average import')!.targets![0]!.rawSql!;
    const quarters = await client.query<{ time: Date; 'quarter average': number }>(expand(quarterSql, schema));
    const buckets = await store.store.buckets('home-01', '15min', new Date(start - 3_600_000), new Date());
    expect(quarters.rows.length).toBe(buckets.length);
    quarters.rows.forEach((r, i) => {
      expect(r.time.getTime()).toBe(buckets[i]!.start.getTime());
      expect(r['quarter average']).toBeCloseTo((buckets[i]!.import_kwh ?? 0) * 4000, 6);
    });
  });
});

describe('Grafana Prometheus queries against the server’s /metrics', () => {
  let app: ServerApp;
  const TOKEN = 'grafana-test-metrics-token-0123';

  beforeAll(async () => {
    app = new ServerApp({
      config: parseWithSchema(
        ServerConfigSchema,
        {
          store: { type: 'sqlite', path: ':memory:' },
          broker: { enabled: true, port: 0 },
          api: { port: 0, dashboard: false, tokens: [{ name: 'prometheus', token: TOKEN, devices: ['*'] }] },
          // An exporter so its metrics are there too (nothing listens at that port: it only retries).
          exporters: { influxdb: { url: `http://127.0.0.1:${await freePort()}`, database: 'k' } },
        },
        'test',
      ),
      log: silentLogger(),
    });
    await app.start();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('every metric a panel queries is served', async () => {
    const text = await fetch(`http://127.0.0.1:${app.apiAddress?.port}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    }).then((r) => r.text());
    const served = new Set<string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      served.add(m[1]!);
      if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) served.add(`${m[1]}${s}`);
    }
    const dash = dashboards.find((d) => d.dash.uid === 'kwartier-server')!.dash;
    const exprs = [
      ...dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')),
      ...dash.templating.list.map((v) => JSON.stringify(v.query ?? '')),
    ];
    let names = 0;
    for (const e of exprs)
      for (const m of e.matchAll(/\b((?:kwartier|process|nodejs)_[a-z0-9_]+)\b/g)) {
        names++;
        expect(served, `metric ${m[1]}`).toContain(m[1]);
      }
    expect(names).toBeGreaterThanOrEqual(12);
  });
});
