/**
 * The embedded broker (aedes, in process): the same rules as the Mosquitto ACL, identities from
 * client certificates (TLS) or usernames (plain loopback), and the whole MQTT path through it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import mqtt, { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorMessage } from '../../src/core/errors.js';
import { Outbox } from '../../src/edge/outbox.js';
import { Uplink } from '../../src/edge/uplink/index.js';
import { INGESTER_IDENTITY, initCertDir, issueDeviceFiles } from '../../src/lib/certs.js';
import { silentLogger } from '../../src/lib/log.js';
import { INGESTER } from '../../src/server/broker/acl.js';
import { createEmbeddedBroker, type EmbeddedBroker } from '../../src/server/broker/embedded.js';
import { createIngester, type Ingester } from '../../src/server/ingest/ingester.js';
import { makeSnapshot } from './gen.js';
import { makeStore, type TestStore } from './stores.js';
import { waitFor } from './wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'kw-embedded-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function collect(c: MqttClient): Promise<Array<[string, string]>> {
  const got: Array<[string, string]> = [];
  c.on('message', (t, p) => got.push([t, p.toString()]));
  return got;
}

it('the ACL identity of the ingester is the certificate CN that `certs init` issues', () => {
  expect(INGESTER).toBe(INGESTER_IDENTITY);
});

describe('embedded broker, plain loopback (identity = username)', () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = createEmbeddedBroker({ port: 0, log: silentLogger() });
    await broker.start();
  });
  afterAll(async () => broker?.stop());

  it('refuses clients without an identity, and the ingester identity without its password', async () => {
    await expect(mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 2000 })).rejects.toThrow(
      /Not authorized/i,
    );
    await expect(
      mqtt.connectAsync(broker.url, {
        username: INGESTER,
        password: 'guess',
        reconnectPeriod: 0,
        connectTimeout: 2000,
      }),
    ).rejects.toThrow(/Not authorized/i);
    await expect(
      mqtt.connectAsync(broker.url, { username: 'a/b', reconnectPeriod: 0, connectTimeout: 2000 }),
    ).rejects.toThrow(/Not authorized/i);
  });

  it('keeps each device in its own topics', async () => {
    const ing = await mqtt.connectAsync(broker.url, { ...broker.ingesterCredentials, reconnectPeriod: 0 });
    const ingGot = await collect(ing);
    await ing.subscribeAsync('$share/kwartier-ingest/energy/+/realtime', { qos: 1 });
    const a = await mqtt.connectAsync(broker.url, { username: 'home-a', reconnectPeriod: 0 });
    const aGot = await collect(a);
    expect((await a.subscribeAsync('energy/home-a/ack', { qos: 1 })).map((g) => g.qos)).toEqual([1]);
    // Refused subscriptions (SUBACK 0x80).
    await expect(a.subscribeAsync('energy/home-b/ack', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await expect(a.subscribeAsync('energy/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await ing.publishAsync('energy/home-b/ack', 'for-b', { qos: 1, retain: true });
    await ing.publishAsync('energy/home-a/ack', 'for-a', { qos: 1, retain: true });
    await waitFor(() => aGot.length === 1, 'home-a ack');
    await a.publishAsync('energy/home-a/realtime', 'mine', { qos: 1 });
    await waitFor(() => ingGot.length === 1, 'the ingester to get home-a data');
    // Publishing under another id: refused, the connection is dropped, nothing is delivered.
    const closed = new Promise<void>((r) => a.once('close', () => r()));
    a.publish('energy/home-b/realtime', 'forged', { qos: 1 });
    await closed;
    a.end(true);
    const a2 = await mqtt.connectAsync(broker.url, { username: 'home-a', reconnectPeriod: 0 });
    const closed2 = new Promise<void>((r) => a2.once('close', () => r()));
    a2.publish('energy/home-a/ack', 'self-ack', { qos: 1 });
    await closed2;
    a2.end(true);
    const b = await mqtt.connectAsync(broker.url, { username: 'home-b', reconnectPeriod: 0 });
    await b.publishAsync('energy/home-b/realtime', 'marker', { qos: 1 });
    await waitFor(() => ingGot.length === 2, 'the marker');
    expect(ingGot).toEqual([
      ['energy/home-a/realtime', 'mine'],
      ['energy/home-b/realtime', 'marker'],
    ]);
    expect(aGot).toEqual([['energy/home-a/ack', 'for-a']]);
    await b.endAsync();
    await ing.endAsync();
  });
});

describe('embedded broker with TLS client certificates: edge → broker → ingester → store', () => {
  const certs = join(tmp, 'certs');
  let broker: EmbeddedBroker;
  let ts: TestStore;
  let ingester: Ingester;
  let outbox: Outbox;
  let uplink: Uplink;

  beforeAll(async () => {
    await initCertDir({ dir: certs });
    await issueDeviceFiles({ dir: certs, id: 'home-tls' });
    broker = createEmbeddedBroker({
      port: 0,
      tls: {
        ca: readFileSync(join(certs, 'ca.crt')),
        cert: readFileSync(join(certs, 'server.crt')),
        key: readFileSync(join(certs, 'server.key')),
      },
      log: silentLogger(),
    });
    await broker.start();
    ts = await makeStore('sqlite');
  });
  afterAll(async () => {
    await uplink?.stop();
    await ingester?.stop();
    outbox?.stop();
    await broker?.stop();
    await ts?.dispose();
  });

  it('refuses a client without a certificate, and a username posing as the ingester', async () => {
    const ca = readFileSync(join(certs, 'ca.crt'));
    await expect(mqtt.connectAsync(broker.url, { ca, reconnectPeriod: 0, connectTimeout: 2000 })).rejects.toThrow();
    await expect(
      mqtt.connectAsync(broker.url, {
        ca,
        username: INGESTER,
        password: 'x',
        reconnectPeriod: 0,
        connectTimeout: 2000,
      }),
    ).rejects.toThrow();
  });

  /** A TLS connection the broker ends in the handshake: resolves when closed, with the client's error. */
  function refusedInHandshake(opts: { cert?: Buffer; key?: Buffer }): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = tlsConnect({
        host: '127.0.0.1',
        port: broker.port,
        ca: readFileSync(join(certs, 'ca.crt')),
        servername: 'localhost',
        ...opts,
      });
      const t = setTimeout(() => reject(new Error('the broker kept the connection')), 10_000);
      let err = '';
      sock.on('error', (e) => {
        err = errorMessage(e);
      });
      // MQTT CONNECT bytes, in case the handshake completes on the client's side (TLS 1.3).
      sock.on('secureConnect', () => sock.write(Buffer.from([0x10, 0x0c, 0, 4, 77, 81, 84, 84, 4, 2, 0, 60, 0, 0])));
      sock.on('data', () => reject(new Error('the broker answered')));
      sock.once('close', () => {
        clearTimeout(t);
        resolve(err);
      });
    });
  }

  it('refuses a certificate from another CA, or none, in the TLS handshake', async () => {
    const other = join(tmp, 'other-ca');
    await initCertDir({ dir: other });
    await issueDeviceFiles({ dir: other, id: 'home-tls' });
    // Each is closed before the broker says a word of MQTT (no CONNACK, no data at all).
    await refusedInHandshake({
      cert: readFileSync(join(other, 'home-tls.crt')),
      key: readFileSync(join(other, 'home-tls.key')),
    });
    await refusedInHandshake({});
  });

  it("lets the server's own ingester in only in process, with the broker's secret password", async () => {
    const inProcess = (password: string) =>
      new Promise<MqttClient>((resolve, reject) => {
        const c = new MqttClient(() => broker.connectInProcess(), {
          username: INGESTER,
          password,
          reconnectPeriod: 0,
          connectTimeout: 2000,
        });
        c.once('connect', () => resolve(c));
        c.once('error', (e) => {
          c.end(true);
          reject(e);
        });
      });
    const own = await inProcess(broker.ingesterCredentials.password);
    try {
      // It is the ingester: it may read every device's data.
      const granted = await own.subscribeAsync('energy/+/realtime', { qos: 1 });
      expect(granted[0]?.qos).toBe(1);
    } finally {
      await own.endAsync();
    }
    await expect(inProcess('guess')).rejects.toThrow(/Not authorized/i);
    // A device's certificate with the ingester's name and password as username is still that device.
    const ca = readFileSync(join(certs, 'ca.crt'));
    const dev = await mqtt.connectAsync(broker.url, {
      ca,
      cert: readFileSync(join(certs, 'home-tls.crt')),
      key: readFileSync(join(certs, 'home-tls.key')),
      username: INGESTER,
      password: broker.ingesterCredentials.password,
      reconnectPeriod: 0,
      connectTimeout: 2000,
    });
    try {
      await expect(dev.subscribeAsync('energy/+/realtime', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    } finally {
      await dev.endAsync();
    }
  });

  it('carries a backlog and live snapshots exactly once, acknowledged after the commit', async () => {
    ingester = createIngester({
      mqttUrl: broker.url,
      tls: {
        caCert: join(certs, 'ca.crt'),
        clientCert: join(certs, `${INGESTER}.crt`),
        clientKey: join(certs, `${INGESTER}.key`),
      },
      clientId: 'kwartier-ingester-embedded',
      prefix: 'energy',
      store: ts.store,
      log: silentLogger(),
      flushIntervalMs: 20,
    });
    await ingester.start();
    const gen = { deviceId: 'home-tls', startMs: Date.parse('2026-03-09T10:00:00Z') };
    outbox = new Outbox({ path: join(tmp, 'outbox.sqlite'), log: silentLogger(), now: () => gen.startMs });
    outbox.start();
    for (let i = 0; i < 1500; i++) outbox.append(makeSnapshot(gen, i));
    uplink = new Uplink({
      deviceId: 'home-tls',
      outbox,
      mqtt: {
        host: '127.0.0.1',
        port: broker.port,
        tls: {
          ca_cert: join(certs, 'ca.crt'),
          client_cert: join(certs, 'home-tls.crt'),
          client_key: join(certs, 'home-tls.key'),
        },
        topic_prefix: 'energy',
        qos: 1,
      },
      log: silentLogger(),
      ackTimeoutMs: 2000,
    });
    await uplink.start();
    await waitFor(() => outbox.ackedSeq === 1500, 'the backlog');
    for (let i = 1500; i < 1510; i++) outbox.append(makeSnapshot(gen, i));
    await waitFor(() => outbox.ackedSeq === 1510 && outbox.depth() === 0, 'the live ones');
    const stored = await ts.store.raw('home-tls', new Date(gen.startMs), new Date(gen.startMs + 86_400_000));
    expect(stored.map((s) => s.timestamp)).toEqual(
      Array.from({ length: 1510 }, (_, i) => makeSnapshot(gen, i).timestamp),
    );
    expect(uplink.stats.batches_published).toBeGreaterThanOrEqual(1);
    expect(ingester.counters.dead_letters).toBe(0);
  });
});
