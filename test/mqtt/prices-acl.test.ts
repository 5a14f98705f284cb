/**
 * The `prices` topic (core/wire-prices.ts) under both brokers' rules: only the server (the ingester
 * identity) publishes `{prefix}/{id}/prices`, only that edge reads it. A probe device holding a valid
 * certificate (a compromised edge) tries to read another home's prices and to publish prices (another
 * home's and its own); the victim edge sees only the server's, and a later subscriber (an edge that
 * connects after the prices were published) gets them, retained.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCertDir, issueDeviceFiles } from '../../src/lib/certs.js';
import { silentLogger } from '../../src/lib/log.js';
import { canPublish, canReceive, canSubscribe, INGESTER } from '../../src/server/broker/acl.js';
import { createEmbeddedBroker, type EmbeddedBroker } from '../../src/server/broker/embedded.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from './wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'kw-prices-acl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const VICTIM = 'victim';
const EVIL = 'evil';

describe('the embedded broker rules (acl.ts) for the prices topic', () => {
  it('the ingester alone publishes prices; a device reads only its own', () => {
    expect(canPublish(INGESTER, 'energy/victim/prices', 'energy')).toBe(true);
    expect(canPublish(INGESTER, 'energy/+/prices', 'energy')).toBe(false);
    expect(canPublish(EVIL, 'energy/victim/prices', 'energy')).toBe(false);
    expect(canPublish(EVIL, 'energy/evil/prices', 'energy')).toBe(false);
    expect(canSubscribe(EVIL, 'energy/evil/prices', 'energy')).toBe(true);
    for (const f of ['energy/victim/prices', 'energy/+/prices', 'energy/#', '#', 'energy/evil/+'])
      expect(canSubscribe(EVIL, f, 'energy'), f).toBe(false);
    expect(canReceive(EVIL, 'energy/evil/prices', 'energy')).toBe(true);
    expect(canReceive(EVIL, 'energy/victim/prices', 'energy')).toBe(false);
  });
});

interface Setup {
  /** Connects as a device (its certificate). */
  device(id: string): Promise<MqttClient>;
  /** Connects as the server's ingester identity. */
  ingester(): Promise<MqttClient>;
  dispose(): Promise<void>;
}

type Got = Array<[string, string, boolean]>;

function record(c: MqttClient): Got {
  const got: Got = [];
  c.on('message', (t, p, packet) => got.push([t, p.toString(), packet.retain]));
  return got;
}

function describeBroker(name: string, setup: () => Promise<Setup>): void {
  describe(`${name}: prices only from the server, only to their edge`, () => {
    let s: Setup;
    const clients: MqttClient[] = [];
    const connect = async (c: Promise<MqttClient>): Promise<MqttClient> => {
      const client = await c;
      clients.push(client);
      return client;
    };

    beforeAll(async () => {
      s = await setup();
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await s?.dispose();
    });

    it('a device cannot publish prices (another home’s or its own); a later edge gets the server’s, retained', async () => {
      const ing = await connect(s.ingester());
      const ingGot = record(ing);
      await ing.subscribeAsync('energy/#', { qos: 1 });
      await ing.publishAsync('energy/victim/prices', '{"server":"victim"}', { qos: 1, retain: true });
      await ing.publishAsync('energy/evil/prices', '{"server":"evil"}', { qos: 1, retain: true });
      // One connection per attempt (the identity is the client id: each takes the last one's place).
      // The embedded broker closes a client whose publish it refuses; Mosquitto drops the message.
      for (const topic of ['energy/victim/prices', 'energy/evil/prices']) {
        const c = await connect(s.device(EVIL));
        await Promise.race([
          c.publishAsync(topic, '{"forged":true}', { qos: 1, retain: true }).catch(() => undefined),
          new Promise((r) => setTimeout(r, 1000)),
        ]);
      }
      // A publish the probe may make tells when every publish before it was routed.
      const marker = await connect(s.device(EVIL));
      await marker.publishAsync('energy/evil/status', 'evil-marker', { qos: 1 });
      await waitFor(() => ingGot.some(([, p]) => p === 'evil-marker'), 'the probe’s own status at the ingester');
      expect(ingGot.filter(([, p]) => p.includes('forged'))).toEqual([]);

      // A later subscriber (the victim edge connecting after the publication) gets the server's prices.
      const victim = await connect(s.device(VICTIM));
      const victimGot = record(victim);
      await victim.subscribeAsync('energy/victim/prices', { qos: 1 });
      await waitFor(() => victimGot.length > 0, 'the victim’s retained prices');
      await ing.publishAsync('energy/victim/prices', 'victim-marker', { qos: 1 });
      await waitFor(() => victimGot.some(([, p]) => p === 'victim-marker'), 'the marker at the victim');
      expect(victimGot).toEqual([
        ['energy/victim/prices', '{"server":"victim"}', true],
        ['energy/victim/prices', 'victim-marker', false],
      ]);
    });

    it('a device reads its own prices only, whatever it subscribes to', async () => {
      const ing = await connect(s.ingester());
      const evil = await connect(s.device(EVIL));
      const evilGot = record(evil);
      // Mosquitto grants every subscription (delivery is checked); the embedded broker refuses.
      for (const f of ['energy/victim/prices', 'energy/+/prices', 'energy/#', '#', 'energy/evil/prices'])
        await evil.subscribeAsync(f, { qos: 1 }).catch(() => undefined);
      await ing.publishAsync('energy/victim/prices', '{"server":"victim","n":2}', { qos: 1, retain: true });
      await ing.publishAsync('energy/evil/prices', 'evil-own-marker', { qos: 1 });
      await waitFor(() => evilGot.some(([, p]) => p === 'evil-own-marker'), 'the marker at the probe');
      expect(evilGot.filter(([t]) => t.includes(VICTIM))).toEqual([]);
      expect(evilGot.some(([t, p]) => t === 'energy/evil/prices' && p === '{"server":"evil"}')).toBe(true);
      expect(evilGot.every(([t]) => t === 'energy/evil/prices')).toBe(true);
    });
  });
}

describeBroker('Mosquitto (deploy/mosquitto)', async () => {
  const m = await Mosquitto.start({ devices: [VICTIM, EVIL] });
  const opts = (identity: string): IClientOptions => ({
    ...m.clientOptions(identity),
    clientId: `${identity}-${Math.random().toString(36).slice(2)}`,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  return {
    device: (id) => mqtt.connectAsync(m.url, opts(id)),
    ingester: () => mqtt.connectAsync(m.url, opts('kwartier-ingester')),
    dispose: () => m.dispose(),
  };
});

describeBroker('embedded broker (TLS)', async () => {
  const certs = join(tmp, 'certs');
  await initCertDir({ dir: certs });
  for (const id of [VICTIM, EVIL]) await issueDeviceFiles({ dir: certs, id });
  const b: EmbeddedBroker = createEmbeddedBroker({
    port: 0,
    tls: {
      ca: readFileSync(join(certs, 'ca.crt')),
      cert: readFileSync(join(certs, 'server.crt')),
      key: readFileSync(join(certs, 'server.key')),
    },
    log: silentLogger(),
  });
  await b.start();
  return {
    device: (id) =>
      mqtt.connectAsync(b.url, {
        ca: readFileSync(join(certs, 'ca.crt')),
        cert: readFileSync(join(certs, `${id}.crt`)),
        key: readFileSync(join(certs, `${id}.key`)),
        reconnectPeriod: 0,
        connectTimeout: 5000,
      }),
    ingester: () =>
      new Promise<MqttClient>((resolve, reject) => {
        const c = new MqttClient(() => b.connectInProcess(), {
          ...b.ingesterCredentials,
          clientId: `ing-${Math.random()}`,
          reconnectPeriod: 0,
        });
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      }),
    dispose: () => b.stop(),
  };
});
