/**
 * Load generator for bench/mqtt.bench.ts, in its own process (`node --import tsx`): one MQTT
 * connection per device (its own certificate, as the ACL requires), publishing `realtime` messages
 * or `batch` messages. Settings in KW_PUB (JSON). Protocol on stdio: prints `ready` once connected,
 * starts on a line `go` from stdin, prints `published <ms>` when every PUBACK is in, then waits to be
 * killed. In `paced` mode each snapshot's timestamp is its publish time (for publish→commit latency),
 * and a line `counts` (any time after `go`) prints `counts {"sent":n,"acked":n,"by_second":{…}}`: the
 * messages sent so far, PUBACKed, and sent per second of their timestamp (Unix seconds), so a bench
 * can compare what was published in a time window with what was stored for it.
 *
 * The publishers are the load, not the system under test, and they share the machine's two cores
 * with it: instead of a full client per device they write MQTT 3.1.1 packets encoded beforehand
 * (with mqtt-packet, mqtt.js's own encoder) to one TLS connection per device, and read back the
 * CONNACK and one PUBACK per publish. Mosquitto and the ingester see ordinary QoS 1 clients.
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { batchColumnsHead, batchColumnsRow } from '../../src/core/wire.js';
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
  /** How many connections are opened at once (TLS handshakes); 1 when absent. */
  connectConcurrency?: number;
  startMs: number;
}

const s = JSON.parse(process.env.KW_PUB ?? '{}') as PubSettings;
const OUTBOX = 'bench0000-0000-4000-8000-000000000000';

/** One device's connection: writes pre-encoded packets, counts PUBACKs. */
class RawClient {
  acked = 0;
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });

  private constructor(private readonly sock: Socket) {
    this.parser.on('packet', (p) => {
      if (p.cmd === 'puback') {
        this.acked++;
        const due = this.waiters.filter((w) => this.acked >= w.n);
        if (due.length === 0) return;
        this.waiters = this.waiters.filter((w) => this.acked < w.n);
        for (const w of due) w.resolve();
      }
    });
    this.parser.on('error', (err) => {
      throw err;
    });
    sock.on('data', (b) => this.parser.parse(b));
  }

  static async open(id: string): Promise<RawClient> {
    const u = new URL(s.url);
    const port = Number(u.port);
    const sock = s.certDir
      ? tlsConnect({
          host: u.hostname,
          port,
          ca: readFileSync(`${s.certDir}/ca.crt`),
          cert: readFileSync(`${s.certDir}/${id}.crt`),
          key: readFileSync(`${s.certDir}/${id}.key`),
        })
      : netConnect({ host: u.hostname, port });
    sock.setNoDelay(true);
    const c = new RawClient(sock);
    const connack = new Promise<void>((resolve, reject) => {
      c.parser.once('packet', (p) => {
        if (p.cmd === 'connack' && p.returnCode === 0) resolve();
        else reject(new Error(`${id}: refused (${JSON.stringify(p)})`));
      });
      sock.once('error', reject);
    });
    sock.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: `bench-${id}`,
        clean: true,
        keepalive: 0,
        ...(s.certDir ? {} : { username: id, password: Buffer.from(id) }),
      }),
    );
    await connack;
    return c;
  }

  /** Writes packets; resolves when the socket took them (buffered writes are fine). */
  write(packets: Buffer): void {
    this.sock.write(packets);
  }

  /** Resolves when `n` PUBACKs in all have come back. */
  acks(n: number): Promise<void> {
    if (this.acked >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

let nextId = 0;
/** A QoS 1 PUBLISH, encoded. Message ids cycle through 1..65535 (far more than are ever in flight). */
function publishPacket(topic: string, payload: string): Buffer {
  nextId = (nextId % 65_535) + 1;
  return mqttPacket.generate({
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos: 1,
    messageId: nextId,
    retain: false,
    dup: false,
  });
}

/** A QoS 1 PUBLISH (MQTT 3.1.1), encoded by hand: what publishPacket makes, without mqtt-packet's overhead. */
function publishQos1(topic: Buffer, payload: Buffer): Buffer {
  nextId = (nextId % 65_535) + 1;
  let len = 2 + topic.length + 2 + payload.length;
  const head: number[] = [0x32];
  do {
    let byte = len % 128;
    len = Math.floor(len / 128);
    if (len > 0) byte |= 0x80;
    head.push(byte);
  } while (len > 0);
  const out = Buffer.allocUnsafe(head.length + 2 + topic.length + 2 + payload.length);
  let o = 0;
  for (const h of head) out[o++] = h;
  o = out.writeUInt16BE(topic.length, o);
  o += topic.copy(out, o);
  o = out.writeUInt16BE(nextId, o);
  payload.copy(out, o);
  return out;
}

const clients: RawClient[] = new Array<RawClient>(s.devices.length);
{
  // Connections are opened `connectConcurrency` at a time (10 000 one after the other take a while).
  let next = 0;
  const opener = async (): Promise<void> => {
    while (next < s.devices.length) {
      const d = next++;
      clients[d] = await RawClient.open(s.devices[d]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, s.connectConcurrency ?? 1) }, opener));
}
// Payloads are built before `ready`, so the measured run is the MQTT path, not JSON generation.
const planned: Array<[number, Buffer]> = [];
if (s.mode === 'realtime') {
  for (let i = 0; i < s.perDevice; i++) {
    for (let d = 0; d < s.devices.length; d++) {
      const id = s.devices[d]!;
      const snap = makeSnapshot({ deviceId: id, startMs: s.startMs }, i);
      planned.push([
        d,
        publishPacket(
          `energy/${id}/realtime`,
          JSON.stringify({ ...snap, seq: i + 1, outbox_id: OUTBOX, floor_seq: 1 }),
        ),
      ]);
    }
  }
} else if (s.mode === 'batch') {
  const size = s.batchSize ?? 700;
  for (let i = 0; i < s.perDevice; i += size) {
    for (let d = 0; d < s.devices.length; d++) {
      const id = s.devices[d]!;
      // The edge's own encoding of a backlog (core/wire.ts: the compact batch).
      const rows: string[] = [];
      for (let k = i; k < Math.min(i + size, s.perDevice); k++) {
        rows.push(batchColumnsRow(makeSnapshot({ deviceId: id, startMs: s.startMs }, k), k + 1));
      }
      planned.push([d, publishPacket(`energy/${id}/batch`, `${batchColumnsHead(OUTBOX, 1, id)}${rows.join(',')}]}`)]);
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
const sent = new Array<number>(clients.length).fill(0);

if (s.mode !== 'paced') {
  // Packets go out in the planned (round-robin) order, each device's in chunks of about 64 KiB.
  const chunks: Buffer[][] = clients.map(() => []);
  const size = new Array<number>(clients.length).fill(0);
  const flush = (d: number): void => {
    if (chunks[d]!.length === 0) return;
    clients[d]!.write(Buffer.concat(chunks[d]!));
    chunks[d] = [];
    size[d] = 0;
  };
  for (let n = 0; n < planned.length; n++) {
    const [d, packet] = planned[n]!;
    chunks[d]!.push(packet);
    size[d]! += packet.length;
    sent[d]!++;
    if (size[d]! >= 65_536) flush(d);
    if (n % 200 === 0) await new Promise((r) => setImmediate(r));
  }
  for (let d = 0; d < clients.length; d++) flush(d);
} else {
  // Paced: `rate` messages a second in total, timestamps = publish time (strictly increasing per device).
  const rate = s.rate ?? 1000;
  const total = s.perDevice * s.devices.length;
  const last = new Array<number>(s.devices.length).fill(0);
  const seq = new Array<number>(s.devices.length).fill(0);
  /** Messages sent per Unix second of their timestamp (one entry per second of the run). */
  const bySecond = new Map<number, number>();
  createInterface({ input: process.stdin }).on('line', (l) => {
    if (l.trim() !== 'counts') return;
    const sentAll = sent.reduce((a, b) => a + b, 0);
    const acked = clients.reduce((a, c) => a + c.acked, 0);
    process.stdout.write(
      `counts ${JSON.stringify({ sent: sentAll, acked, by_second: Object.fromEntries(bySecond) })}\n`,
    );
  });
  // Each device's payload is made from a template (the snapshot's JSON cut at its timestamp and
  // seq) and its PUBLISH packet by hand: the same bytes as makeSnapshot + JSON.stringify +
  // mqtt-packet, at a fraction of the CPU (10 000 homes at 1 Hz share the two cores with what
  // they measure).
  const TS = '@@timestamp@@';
  const SEQ = 987_654_321_012;
  const templates = s.devices.map((id) => {
    const json = JSON.stringify({
      ...makeSnapshot({ deviceId: id, startMs: 0 }, 0),
      timestamp: TS,
      seq: SEQ,
      outbox_id: OUTBOX,
      floor_seq: 1,
    });
    const [a, rest] = json.split(TS) as [string, string];
    const [b, c] = rest.split(String(SEQ)) as [string, string];
    return { topic: Buffer.from(`energy/${id}/realtime`), a, b, c };
  });
  // The run lasts total / rate seconds: a generator that cannot keep up (its share of the cores)
  // stops on time all the same, having sent fewer; `counts` and the bench say how many.
  const endMs = (total / rate) * 1000;
  for (let n = 0; n < total && performance.now() - t0 < endMs + 1000; ) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    // At most 2000 at a time: a generator that fell behind still answers `counts`.
    for (const stop = Math.min(due, n + 2000); n < stop; n++) {
      const d = n % s.devices.length;
      const t = Math.max(Date.now(), last[d]! + 1);
      last[d] = t;
      seq[d]!++;
      const sec = Math.floor(t / 1000);
      bySecond.set(sec, (bySecond.get(sec) ?? 0) + 1);
      const tpl = templates[d]!;
      const payload = Buffer.from(`${tpl.a}${new Date(t).toISOString()}${tpl.b}${seq[d]}${tpl.c}`);
      clients[d]!.write(publishQos1(tpl.topic, payload));
      sent[d]!++;
    }
    if (n < due) await new Promise((r) => setImmediate(r));
    else await new Promise((r) => setTimeout(r, 2));
  }
}
await Promise.all(clients.map((c, d) => c.acks(sent[d]!)));
process.stdout.write(`published ${Math.round(performance.now() - t0)}\n`);
process.stdin.resume();
