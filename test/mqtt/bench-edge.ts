/**
 * Backlog sender for bench/mqtt.bench.ts, in its own process (`node --import tsx`): opens an outbox
 * that already holds a backlog, starts the uplink and prints `done <ms>` (uplink start → the server's
 * ack of the last seq) as JSON. Settings in KW_BENCH_EDGE (JSON).
 */
import { Outbox } from '../../src/edge/outbox.js';
import { type MqttConfig, Uplink } from '../../src/edge/uplink/index.js';
import { silentLogger } from '../../src/lib/log.js';

interface Settings {
  outboxPath: string;
  deviceId: string;
  mqtt: MqttConfig;
  nowMs: number;
}

const s = JSON.parse(process.env.KW_BENCH_EDGE ?? '{}') as Settings;
const outbox = new Outbox({ path: s.outboxPath, log: silentLogger(), now: () => s.nowMs });
outbox.start();
const last = outbox.lastSeq();
const uplink = new Uplink({
  deviceId: s.deviceId,
  outbox,
  mqtt: s.mqtt,
  log: silentLogger(),
  ackTimeoutMs: 30_000,
  ...(process.env.KW_BENCH_WINDOW ? { windowSeqs: Number(process.env.KW_BENCH_WINDOW) } : {}),
});
const t0 = performance.now();
await uplink.start();
const timer = setInterval(() => {
  if (outbox.ackedSeq >= last) {
    clearInterval(timer);
    const ms = performance.now() - t0;
    process.stdout.write(`${JSON.stringify({ done_ms: Math.round(ms), rows: last, stats: uplink.stats })}\n`);
    void uplink.stop().then(() => {
      outbox.stop();
      process.exit(0);
    });
  }
}, 20);
