/**
 * One home cannot hurt another through the broker. A probe device holding a valid certificate (the
 * attacker: a compromised edge) tries everything its certificate lets it try while a victim home's
 * real edge (outbox + uplink) sends 60 snapshots; against both brokers, with their shipped rules:
 * - joins the ingester's old shared-subscription group, twice, and subscribes to `#`;
 * - connects with the ingester's client id and with the victim edge's, again and again;
 * - leaves retained garbage on its own data topic and a retained capacity alert;
 * - (embedded broker) connects without a certificate, and declares a 250 MB packet.
 * Every one of the victim's snapshots must be stored once and acknowledged, and nothing of the
 * victim's may reach the attacker.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/edge/outbox.js';
import { Uplink } from '../../src/edge/uplink/index.js';
import { initCertDir, issueDeviceFiles } from '../../src/lib/certs.js';
import { silentLogger } from '../../src/lib/log.js';
import { createEmbeddedBroker, type EmbeddedBroker } from '../../src/server/broker/embedded.js';
import { createIngester, type Ingester } from '../../src/server/ingest/ingester.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { makeSnapshot } from './gen.js';
import { makeStore, type TestStore } from './stores.js';
import { waitFor } from './wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'kw-isolation-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const VICTIM = 'victim';
const EVIL = 'evil';
const COUNT = 60;

interface Files {
  ca: string;
  cert: string;
  key: string;
}

/** How to reach a broker under test, and with which identity's files. */
interface Target {
  url: string;
  files(identity: string): Files;
  /** Ingester options that connect it (certificate, or the embedded broker's in-process stream). */
  ingester(): Parameters<typeof createIngester>[0] extends infer O ? Partial<O> : never;
}

function tlsOpts(f: Files): IClientOptions {
  return { ca: readFileSync(f.ca), cert: readFileSync(f.cert), key: readFileSync(f.key), rejectUnauthorized: true };
}

/** The attacker's standing subscriptions: what it receives is recorded. */
async function subscriber(t: Target, got: string[]): Promise<MqttClient> {
  const c = await mqtt.connectAsync(t.url, {
    ...tlsOpts(t.files(EVIL)),
    reconnectPeriod: 0,
    clientId: `probe-${Math.random()}`,
  });
  c.on('message', (topic) => got.push(topic));
  for (const f of [
    '$share/kwartier-ingest/energy/+/realtime',
    '$share/kwartier-ingest/energy/+/batch',
    'energy/#',
    '#',
  ]) {
    // Mosquitto's acl_file grants every subscription (delivery is checked); the embedded broker refuses.
    await c.subscribeAsync(f, { qos: 1 }).catch(() => undefined);
  }
  return c;
}

/** Connects with another client's id, over and over, until stopped. */
function takeoverLoop(t: Target, clientId: string): { stop(): Promise<void>; connects: () => number } {
  let stopped = false;
  let connects = 0;
  const run = (async () => {
    while (!stopped) {
      try {
        const c = await mqtt.connectAsync(t.url, {
          ...tlsOpts(t.files(EVIL)),
          clientId,
          clean: false,
          reconnectPeriod: 0,
          connectTimeout: 2000,
        });
        connects++;
        await new Promise((r) => setTimeout(r, 150));
        c.end(true);
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await run;
    },
    connects: () => connects,
  };
}

function describeBroker(name: string, setup: () => Promise<{ target: Target; dispose(): Promise<void> }>): void {
  describe(`${name}: a device with a valid certificate attacks while another home sends`, () => {
    let target: Target;
    let dispose: () => Promise<void>;
    let ts: TestStore;
    let ingester: Ingester;
    let outbox: Outbox;
    let uplink: Uplink;
    const gen = { deviceId: VICTIM, startMs: Date.now() - 120_000 };

    beforeAll(async () => {
      ({ target, dispose } = await setup());
      ts = await makeStore('sqlite');
      ingester = createIngester({
        mqttUrl: target.url,
        clientId: 'kwartier-ingester',
        prefix: 'energy',
        store: ts.store,
        log: silentLogger(),
        flushIntervalMs: 20,
        ...target.ingester(),
      });
      await ingester.start();
      outbox = new Outbox({ path: join(tmp, `${name}-outbox.sqlite`), log: silentLogger() });
      outbox.start();
      const f = target.files(VICTIM);
      const port = Number(new URL(target.url).port);
      uplink = new Uplink({
        deviceId: VICTIM,
        outbox,
        mqtt: {
          host: '127.0.0.1',
          port,
          tls: { ca_cert: f.ca, client_cert: f.cert, client_key: f.key },
          topic_prefix: 'energy',
          qos: 1,
        },
        log: silentLogger(),
        ackTimeoutMs: 1000,
        maxAckTimeoutMs: 2000,
        backoff: { baseMs: 100, maxMs: 500 },
      });
      await uplink.start();
    });
    afterAll(async () => {
      await uplink?.stop();
      await ingester?.stop();
      outbox?.stop();
      await ts?.dispose();
      await dispose?.();
    });

    it('stores and acknowledges every snapshot of the victim; the attacker receives none of them', async () => {
      const got: string[] = [];
      const shared1 = await subscriber(target, got);
      const shared2 = await subscriber(target, got);
      const asIngester = takeoverLoop(target, 'kwartier-ingester');
      const asVictim = takeoverLoop(target, `kwartier-edge-${VICTIM}`);
      try {
        for (let i = 0; i < COUNT; i++) {
          outbox.append(makeSnapshot(gen, i));
          await new Promise((r) => setTimeout(r, 25));
        }
        await waitFor(() => outbox.ackedSeq === COUNT, `the ack of all ${COUNT} snapshots`, 30_000);
        expect(asIngester.connects() + asVictim.connects()).toBeGreaterThan(0);
      } finally {
        await asIngester.stop();
        await asVictim.stop();
        shared1.end(true);
        shared2.end(true);
      }
      const stored = await ts.store.raw(VICTIM, new Date(gen.startMs - 1000), new Date(gen.startMs + 3_600_000));
      expect(stored.map((s) => s.timestamp)).toEqual(
        Array.from({ length: COUNT }, (_, i) => makeSnapshot(gen, i).timestamp),
      );
      expect(got.filter((t) => t.includes(VICTIM))).toEqual([]);
      expect(ingester.counters.connected).toBe(true);
    });

    it('retained garbage and a retained capacity alert are not replayed to the ingester', async () => {
      const evil = await mqtt.connectAsync(target.url, { ...tlsOpts(target.files(EVIL)), reconnectPeriod: 0 });
      const alerts: unknown[] = [];
      ingester.on('capacity', (m) => alerts.push(m));
      await evil.publishAsync('energy/evil/realtime', 'garbage, retained', { qos: 1, retain: true });
      await evil.publishAsync('energy/evil/capacity', JSON.stringify({ kind: 'alert', stale: true }), {
        qos: 1,
        retain: true,
      });
      await evil.endAsync();
      await waitFor(async () => (await ts.store.deadLetterCount()) >= 1, 'the garbage to be dead-lettered once');
      const deadBefore = await ts.store.deadLetterCount();
      const alertsBefore = alerts.length;
      // Restart: the ingester subscribes again, which is when a broker replays retained messages.
      await ingester.stop();
      await ingester.start();
      await ingester.stop();
      await ingester.start();
      // A marker from the victim, after the re-subscriptions: when it is stored, any replay came first.
      outbox.append(makeSnapshot(gen, COUNT));
      await waitFor(() => outbox.ackedSeq === COUNT + 1, 'the marker');
      expect(await ts.store.deadLetterCount()).toBe(deadBefore);
      expect(alerts.length).toBe(alertsBefore);
    });
  });
}

describeBroker('Mosquitto (deploy/mosquitto)', async () => {
  const m = await Mosquitto.start({ devices: [VICTIM, EVIL] });
  const target: Target = {
    url: m.url,
    files: (id) => m.tlsFiles(id),
    ingester: () => {
      const f = m.tlsFiles('kwartier-ingester');
      return { tls: { caCert: f.ca, clientCert: f.cert, clientKey: f.key } };
    },
  };
  return { target, dispose: () => m.dispose() };
});

const certs = join(tmp, 'certs');

async function startEmbedded(): Promise<EmbeddedBroker> {
  if (!existsSync(join(certs, 'ca.crt'))) {
    await initCertDir({ dir: certs });
    for (const id of [VICTIM, EVIL]) await issueDeviceFiles({ dir: certs, id });
  }
  const b = createEmbeddedBroker({
    port: 0,
    tls: {
      ca: readFileSync(join(certs, 'ca.crt')),
      cert: readFileSync(join(certs, 'server.crt')),
      key: readFileSync(join(certs, 'server.key')),
    },
    maxConnectionsPerAddress: 16,
    log: silentLogger(),
  });
  await b.start();
  return b;
}

describeBroker('embedded broker (TLS)', async () => {
  const b = await startEmbedded();
  const target: Target = {
    url: b.url,
    files: (id) => ({ ca: join(certs, 'ca.crt'), cert: join(certs, `${id}.crt`), key: join(certs, `${id}.key`) }),
    ingester: () => ({ ...b.ingesterCredentials, stream: () => b.connectInProcess() }),
  };
  return { target, dispose: () => b.stop() };
});

/** Resolves when the server closes the socket; `written` is how much it took before that. */
function closedAfter(sock: import('node:net').Socket, send: (s: import('node:net').Socket) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the server kept the connection open')), 10_000);
    sock.on('error', () => undefined);
    sock.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    send(sock);
  });
}

/** An MQTT fixed header declaring `length` bytes to follow. */
function header(type: number, length: number): Buffer {
  const out = [type];
  let n = length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

describe('embedded broker (TLS): nothing is held for a client before it is who it says', () => {
  let embedded: EmbeddedBroker;
  beforeAll(async () => {
    embedded = await startEmbedded();
  });
  afterAll(async () => embedded?.stop());

  it('refuses a client without a certificate in the TLS handshake', async () => {
    await expect(
      mqtt.connectAsync(embedded.url, {
        ca: readFileSync(join(certs, 'ca.crt')),
        username: 'kwartier-ingester',
        password: 'guess',
        reconnectPeriod: 0,
        connectTimeout: 3000,
      }),
    ).rejects.toThrow();
  });

  it('closes a connection whose CONNECT declares 250 MB, on the header, and a device publishing one', async () => {
    const port = embedded.port;
    // Without a certificate there is no TLS session at all; with one, the CONNECT is judged by size.
    const f = (id: string) => ({
      ca: readFileSync(join(certs, 'ca.crt')),
      cert: readFileSync(join(certs, `${id}.crt`)),
      key: readFileSync(join(certs, `${id}.key`)),
    });
    const s1 = tlsConnect({ host: '127.0.0.1', port, ...f(EVIL), servername: 'localhost' });
    await new Promise<void>((r) => s1.once('secureConnect', () => r()));
    await closedAfter(s1, (s) => {
      s.write(header(0x10, 250 * 1024 * 1024));
      s.write(Buffer.alloc(64 * 1024, 1));
    });
    // A valid CONNECT, then a PUBLISH declaring 250 MB.
    const c = await mqtt.connectAsync(embedded.url, { ...f(EVIL), reconnectPeriod: 0 });
    const raw = (c.stream as unknown as import('node:net').Socket) ?? null;
    expect(raw).not.toBeNull();
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    raw.write(header(0x32, 250 * 1024 * 1024));
    await closed;
    c.end(true);
  });

  it('limits connections per address', async () => {
    const socks: import('node:net').Socket[] = [];
    const closedEarly: number[] = [];
    for (let i = 0; i < 24; i++) {
      const s = netConnect({ host: '127.0.0.1', port: embedded.port });
      s.on('error', () => undefined);
      const idx = i;
      s.once('close', () => closedEarly.push(idx));
      socks.push(s);
    }
    await waitFor(() => closedEarly.length >= 24 - 16, 'the connections over the limit to be closed', 10_000);
    // Those within the limit are still open (their TLS handshake has up to its timeout).
    expect(socks.filter((s) => !s.destroyed).length).toBe(16);
    for (const s of socks) s.destroy();
    // The places are given back once the server has seen the sockets close.
    await waitFor(
      () =>
        mqtt
          .connectAsync(embedded.url, {
            ca: readFileSync(join(certs, 'ca.crt')),
            cert: readFileSync(join(certs, `${VICTIM}.crt`)),
            key: readFileSync(join(certs, `${VICTIM}.key`)),
            reconnectPeriod: 0,
            connectTimeout: 2000,
          })
          .then(async (c) => {
            await c.endAsync();
            return true;
          })
          .catch(() => false),
      'a connection after the others closed',
      10_000,
    );
  });
});
