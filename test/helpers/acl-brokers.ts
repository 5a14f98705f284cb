/**
 * The two brokers a topic's access rules are tested on, each with clients of two identities: a
 * device (its own certificate) and the server's ingester. Mosquitto runs the shipped configuration
 * (deploy/mosquitto, its acl_file) in a process of its own; the embedded broker listens with TLS and
 * the ingester connects in process, as in `kwartier server`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll } from 'vitest';
import { initCertDir, issueDeviceFiles } from '../../src/lib/certs.js';
import { silentLogger } from '../../src/lib/log.js';
import { createEmbeddedBroker, type EmbeddedBroker } from '../../src/server/broker/embedded.js';
import { Mosquitto } from './mosquitto.js';

export interface AclBroker {
  /** Connects as a device (its certificate). */
  device(id: string): Promise<MqttClient>;
  /** Connects as the server's ingester identity. */
  ingester(): Promise<MqttClient>;
  dispose(): Promise<void>;
}

/** Mosquitto with the project's configuration, knowing `devices`. */
export async function mosquittoAclBroker(devices: readonly string[]): Promise<AclBroker> {
  const m = await Mosquitto.start({ devices: [...devices] });
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
}

/** The embedded broker on TLS, with a CA and a certificate per device made in `dir`. */
export async function embeddedAclBroker(dir: string, devices: readonly string[]): Promise<AclBroker> {
  const certs = join(dir, 'certs');
  await initCertDir({ dir: certs });
  for (const id of devices) await issueDeviceFiles({ dir: certs, id });
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
}

/**
 * A broker for one describe block: started before its tests, stopped after them with every client
 * they connected (through these two calls).
 */
export function useAclBroker(setup: () => Promise<AclBroker>): Pick<AclBroker, 'device' | 'ingester'> {
  let broker: AclBroker | undefined;
  const clients: MqttClient[] = [];
  const track = async (c: Promise<MqttClient>): Promise<MqttClient> => {
    const client = await c;
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    broker = await setup();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await broker?.dispose();
  });
  return {
    device: (id) => track((broker as AclBroker).device(id)),
    ingester: () => track((broker as AclBroker).ingester()),
  };
}
