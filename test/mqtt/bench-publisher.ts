/**
 * Load generator for bench/mqtt.bench.ts, in its own process (`node --import tsx`): one MQTT
 * connection per device (its own certificate, as the ACL requires), publishing `realtime` messages
 * or `batch` messages. Settings in KW_PUB (JSON). Protocol on stdio: prints `ready` once connected,
 * starts on a line `go` from stdin, prints `published <ms>` when every PUBACK is in, then waits to be
 * killed. In `paced` mode each snapshot's timestamp is its publish time (for publish→commit latency).
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import mqtt, { type MqttClient } from 'mqtt';
import { makeSnapshot } from './gen.js';

interface PubSettings {
  url: string;
  certDir: string | null;
  devices: string[];
  perDevice: number;
  mode: 'realtime' | 'batch' | 'paced';
  batchSize?: number;
  /** paced: messages per second over all devices. */
  rate?: number;
  startMs: number;
}

const s = JSON.parse(process.env.KW_PUB ?? '{}') as PubSettings;
const OUTBOX = 'bench0000-0000-4000-8000-000000000000';

const clients: MqttClient[] = [];
for (const id of s.devices) {
  const opts = s.certDir
    ? {
        ca: readFileSync(`${s.certDir}/ca.crt`),
        cert: readFileSync(`${s.certDir}/${id}.crt`),
        key: readFileSync(`${s.certDir}/${id}.key`),
      }
    : { username: id, password: id };
  clients.push(await mqtt.connectAsync(s.url, { ...opts, clientId: `bench-${id}`, reconnectPeriod: 0, clean: true }));
}
// Payloads are built before `ready`, so the measured run is the MQTT path, not JSON generation.
const planned: Array<[number, string, string]> = [];
if (s.mode === 'realtime') {
  for (let i = 0; i < s.perDevice; i++) {
    for (let d = 0; d < s.devices.length; d++) {
      const id = s.devices[d]!;
      const snap = makeSnapshot({ deviceId: id, startMs: s.startMs }, i);
      planned.push([
        d,
        `energy/${id}/realtime`,
        JSON.stringify({ ...snap, seq: i + 1, outbox_id: OUTBOX, floor_seq: 1 }),
      ]);
    }
  }
} else if (s.mode === 'batch') {
  const size = s.batchSize ?? 700;
  for (let i = 0; i < s.perDevice; i += size) {
    for (let d = 0; d < s.devices.length; d++) {
      const id = s.devices[d]!;
      const snaps: string[] = [];
      for (let k = i; k < Math.min(i + size, s.perDevice); k++) {
        snaps.push(JSON.stringify({ ...makeSnapshot({ deviceId: id, startMs: s.startMs }, k), seq: k + 1 }));
      }
      planned.push([
        d,
        `energy/${id}/batch`,
        `{"outbox_id":"${OUTBOX}","floor_seq":1,"snapshots":[${snaps.join(',')}]}`,
      ]);
    }
  }
}
process.stdout.write('ready\n');
await new Promise<void>((resolve) => {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (l) => {
    if (l.trim() === 'go') {
      rl.close();
      resolve();
    }
  });
});

const t0 = performance.now();
const pending: Array<Promise<unknown>> = [];
function pub(c: MqttClient, topic: string, payload: string): void {
  pending.push(
    new Promise<void>((resolve, reject) =>
      c.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
    ),
  );
}

if (s.mode !== 'paced') {
  for (let n = 0; n < planned.length; n++) {
    const [d, topic, payload] = planned[n]!;
    pub(clients[d]!, topic, payload);
    if (n % 200 === 0) await new Promise((r) => setImmediate(r));
  }
} else {
  // Paced: `rate` messages a second in total, timestamps = publish time (strictly increasing per device).
  const rate = s.rate ?? 1000;
  const total = s.perDevice * s.devices.length;
  const last = new Array<number>(s.devices.length).fill(0);
  const seq = new Array<number>(s.devices.length).fill(0);
  for (let n = 0; n < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    for (; n < due; n++) {
      const d = n % s.devices.length;
      const id = s.devices[d]!;
      const t = Math.max(Date.now(), last[d]! + 1);
      last[d] = t;
      seq[d]!++;
      const snap = makeSnapshot({ deviceId: id, startMs: t }, 0);
      pub(
        clients[d]!,
        `energy/${id}/realtime`,
        JSON.stringify({ ...snap, seq: seq[d], outbox_id: OUTBOX, floor_seq: 1 }),
      );
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}
await Promise.all(pending);
process.stdout.write(`published ${Math.round(performance.now() - t0)}\n`);
process.stdin.resume();
