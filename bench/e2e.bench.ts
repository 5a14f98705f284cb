/**
 * End to end, as `npm start` runs it: a P1 telegram leaving the simulator → the edge (DSMR over TCP,
 * merger, outbox) → MQTT (embedded broker) → the ingester's commit (SQLite) → the snapshot arriving
 * on the API's WebSocket. A second TCP client on the simulator stamps each telegram as it leaves
 * (the simulator writes it to every client at once); the WebSocket client matches snapshots by
 * their meter values.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startDemo } from '../src/cli/commands/demo.js';
import { TelegramFramer } from '../src/drivers/dsmr/framer.js';
import { parseTelegram } from '../src/drivers/dsmr/parser.js';
import { silentLogger } from '../src/lib/log.js';
import type { BenchResult } from './run.js';

const SECONDS = Number(process.env.KW_BENCH_E2E_S ?? 60);
const RATE_HZ = 4;

function key(v: Array<number | null | undefined>): string {
  return v.map((x) => (x === null || x === undefined ? '-' : x.toFixed(3))).join('|');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export async function bench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-e2e-'));
  const token = 'bench-e2e-token-0123456789';
  const demo = await startDemo({
    dataDir: dir,
    deviceId: 'bench-home',
    port: 0,
    token,
    state: { device_id: 'bench-home', seed: 2, model_start: Date.now(), token },
    backfillDays: 0,
    log: silentLogger(),
    print: () => {},
    rateHz: RATE_HZ,
  });
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  const dsmrPort = demo.simulators.find((s) => s.name === 'dsmr')?.address.port;
  const apiPort = demo.server.apiAddress?.port;
  const tap = connect({ host: '127.0.0.1', port: dsmrPort ?? 0 });
  const framer = new TelegramFramer();
  tap.on('data', (chunk: Buffer) => {
    const at = performance.timeOrigin + performance.now();
    for (const ev of framer.push(chunk)) {
      if (ev.type !== 'telegram') continue;
      const t = parseTelegram(ev.telegram);
      sent.set(
        key([
          t.energy_import_t1_kwh,
          t.energy_import_t2_kwh,
          t.energy_export_t1_kwh,
          t.energy_export_t2_kwh,
          t.voltage_l1_v,
          t.voltage_l2_v,
          t.voltage_l3_v,
          t.power_l1_import_w,
          t.power_l1_export_w,
        ]),
        at,
      );
    }
  });
  const ws = new WebSocket(`ws://127.0.0.1:${apiPort}/ws/v1/realtime/bench-home?token=${token}`);
  ws.on('message', (m) => {
    const at = performance.timeOrigin + performance.now();
    const s = JSON.parse(m.toString()) as Record<string, number | null>;
    const l1 = s.power_l1_w ?? null;
    const k = key([
      s.grid_import_t1_kwh,
      s.grid_import_t2_kwh,
      s.grid_export_t1_kwh,
      s.grid_export_t2_kwh,
      s.voltage_l1_v,
      s.voltage_l2_v,
      s.voltage_l3_v,
      l1 === null ? null : Math.max(0, l1),
      l1 === null ? null : Math.max(0, -l1),
    ]);
    const t0 = sent.get(k);
    if (t0 !== undefined) {
      latencies.push(at - t0);
      sent.delete(k);
    }
  });
  try {
    await new Promise((r) => setTimeout(r, 3000)); // connections settle
    latencies.length = 0;
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
  } finally {
    ws.close();
    tap.destroy();
    await demo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (latencies.length < 10) throw new Error(`only ${latencies.length} telegrams matched on the WebSocket`);
  const sorted = [...latencies].sort((a, b) => a - b);
  return [
    {
      name: `P1 telegram -> WebSocket snapshot, p50 (${sorted.length} telegrams at ${RATE_HZ} Hz)`,
      value: Math.round(percentile(sorted, 50) * 10) / 10,
      unit: 'ms',
    },
    {
      name: 'P1 telegram -> WebSocket snapshot, p99',
      value: Math.round(percentile(sorted, 99) * 10) / 10,
      unit: 'ms',
      target: '<= 250',
    },
    {
      name: 'P1 telegram -> WebSocket snapshot, max',
      value: Math.round(sorted[sorted.length - 1]! * 10) / 10,
      unit: 'ms',
    },
  ];
}
