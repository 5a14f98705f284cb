/**
 * /metrics with per-home series (exporters.prometheus.per_home) at the default bound of 10 000 homes:
 *   npm run bench -- metrics
 * - the cost a committed snapshot adds to the bus's `metrics` consumer (ApiMetrics.onSnapshot), in
 *   snapshots a second of CPU time (the ingester's target is 20 000 a second in all);
 * - one scrape (prom-client's registry.metrics(): collect every family, render the text), median of
 *   7 after a warm-up, in ms of wall time on an idle event loop, and the size of its text;
 * - the heap the home table holds for 10 000 homes.
 * Each home's snapshot is the simulated home's, under its own device id.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { HomeModel } from '../src/drivers/sim/home-model.js';
import { snapshotFromState } from '../src/drivers/sim/snapshot.js';
import { silentLogger } from '../src/lib/log.js';
import { ApiMetrics } from '../src/server/api/metrics.js';
import { createSqliteStore } from '../src/server/store/index.js';
import type { BenchResult } from './run.js';

const HOMES = 10_000;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

export async function bench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-metrics-'));
  const store = createSqliteStore(join(dir, 's.db'), { timezone: 'Europe/Brussels' });
  await store.migrate();
  try {
    const start = Date.parse('2026-03-29T10:00:00Z');
    const model = new HomeModel({ start, seed: 3 });
    const base = snapshotFromState('home', model.advanceTo(start + 3_600_000));
    const snapshots = Array.from({ length: HOMES }, (_, i) => ({ ...base, device_id: `home-${i}` }));
    const now = Date.now();

    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const registry = new Registry();
    const metrics = new ApiMetrics(
      { registry },
      store,
      silentLogger(),
      { per_home: true, max_homes: HOMES, expire_after_s: 86_400 },
      () => now,
    );
    for (const s of snapshots) metrics.onSnapshot(s, now);
    for (let i = 0; i < HOMES; i++) metrics.onStatus(`home-${i}`, i % 7, now);
    global.gc?.();
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1_048_576;

    // The consumer's cost: every home again, round after round.
    const rates: number[] = [];
    for (let round = 0; round < 7; round++) {
      const t0 = cpuMs();
      let n = 0;
      while (cpuMs() - t0 < 300) {
        for (const s of snapshots) metrics.onSnapshot(s, now);
        n += HOMES;
      }
      rates.push((n * 1000) / (cpuMs() - t0));
    }

    await registry.metrics(); // warm-up
    const scrapes: number[] = [];
    let bytes = 0;
    for (let round = 0; round < 7; round++) {
      const t0 = performance.now();
      const text = await registry.metrics();
      scrapes.push(performance.now() - t0);
      bytes = Buffer.byteLength(text);
    }
    const series = (await registry.getMetricsAsJSON()).reduce((n, m) => n + m.values.length, 0);
    return [
      {
        name: `the metrics consumer, per committed snapshot (${HOMES.toLocaleString('en-US')} homes)`,
        value: Math.round(median(rates)),
        unit: 'snapshots/s of CPU',
        target: '>= 200000',
      },
      {
        name: `one scrape of /metrics, ${HOMES.toLocaleString('en-US')} homes, ${series.toLocaleString('en-US')} series, ${(bytes / 1_048_576).toFixed(1)} MiB of text`,
        value: Math.round(median(scrapes)),
        unit: 'ms',
        target: '<= 2000',
      },
      {
        name: `heap of the home table, ${HOMES.toLocaleString('en-US')} homes${global.gc ? '' : ' (no --expose-gc: rough)'}`,
        value: Math.round(heapMb * 10) / 10,
        unit: 'MB',
      },
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
