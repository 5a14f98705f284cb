/**
 * A test edge in its own process (run with `node --import tsx`): appends snapshots 0..total-1 to
 * its outbox at `intervalMs`, continuing after a restart from what the outbox already holds, and
 * forwards them with the uplink until killed. Settings in KW_EDGE (JSON).
 */
import { Outbox } from '../../src/edge/outbox.js';
import { type MqttConfig, Uplink } from '../../src/edge/uplink/index.js';
import { createLogger } from '../../src/lib/log.js';
import { makeSnapshot } from './gen.js';

interface EdgeSettings {
  outboxPath: string;
  deviceId: string;
  startMs: number;
  total: number;
  intervalMs: number;
  mqtt: MqttConfig;
  ackTimeoutMs?: number;
}

const s = JSON.parse(process.env.KW_EDGE ?? '{}') as EdgeSettings;
const log = createLogger('edge-entry');
const outbox = new Outbox({ path: s.outboxPath, now: () => s.startMs + s.total * 1000 });
outbox.start();
const uplink = new Uplink({
  deviceId: s.deviceId,
  outbox,
  mqtt: s.mqtt,
  ackTimeoutMs: s.ackTimeoutMs ?? 1500,
  maxAckTimeoutMs: 4000,
  backoff: { baseMs: 100, maxMs: 1000 },
  statusIntervalMs: 2000,
});
await uplink.start();

// Snapshot i has seq i + 1 (nothing is evicted here): resume after the last committed one.
let next = outbox.lastSeq();
log.info({ resume_at: next }, 'edge entry started');
const timer = setInterval(() => {
  if (next >= s.total) {
    clearInterval(timer);
    return;
  }
  outbox.append(makeSnapshot({ deviceId: s.deviceId, startMs: s.startMs }, next));
  next++;
}, s.intervalMs);

process.on('SIGTERM', () => {
  clearInterval(timer);
  void uplink.stop().finally(() => {
    outbox.stop();
    process.exit(0);
  });
});
