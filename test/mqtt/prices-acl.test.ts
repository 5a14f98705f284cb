/**
 * The `prices` topic (core/wire-prices.ts) under both brokers' rules: only the server (the ingester
 * identity) publishes `{prefix}/{id}/prices`, only that edge reads it. A probe device holding a valid
 * certificate (a compromised edge) tries to read another home's prices and to publish prices (another
 * home's and its own); the victim edge sees only the server's, and a later subscriber (an edge that
 * connects after the prices were published) gets them, retained.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { canPublish, canReceive, canSubscribe, INGESTER } from '../../src/server/broker/acl.js';
import { type AclBroker, embeddedAclBroker, mosquittoAclBroker, useAclBroker } from '../helpers/acl-brokers.js';
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

type Got = Array<[string, string, boolean]>;

function record(c: MqttClient): Got {
  const got: Got = [];
  c.on('message', (t, p, packet) => got.push([t, p.toString(), packet.retain]));
  return got;
}

function describeBroker(name: string, setup: () => Promise<AclBroker>): void {
  describe(`${name}: prices only from the server, only to their edge`, () => {
    const s = useAclBroker(setup);

    it('a device cannot publish prices (another home’s or its own); a later edge gets the server’s, retained', async () => {
      const ing = await s.ingester();
      const ingGot = record(ing);
      await ing.subscribeAsync('energy/#', { qos: 1 });
      await ing.publishAsync('energy/victim/prices', '{"server":"victim"}', { qos: 1, retain: true });
      await ing.publishAsync('energy/evil/prices', '{"server":"evil"}', { qos: 1, retain: true });
      // One connection per attempt (the identity is the client id: each takes the last one's place).
      // The embedded broker closes a client whose publish it refuses; Mosquitto drops the message.
      for (const topic of ['energy/victim/prices', 'energy/evil/prices']) {
        const c = await s.device(EVIL);
        await Promise.race([
          c.publishAsync(topic, '{"forged":true}', { qos: 1, retain: true }).catch(() => undefined),
          new Promise((r) => setTimeout(r, 1000)),
        ]);
      }
      // A publish the probe may make tells when every publish before it was routed.
      const marker = await s.device(EVIL);
      await marker.publishAsync('energy/evil/status', 'evil-marker', { qos: 1 });
      await waitFor(() => ingGot.some(([, p]) => p === 'evil-marker'), 'the probe’s own status at the ingester');
      expect(ingGot.filter(([, p]) => p.includes('forged'))).toEqual([]);

      // A later subscriber (the victim edge connecting after the publication) gets the server's prices.
      const victim = await s.device(VICTIM);
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
      const ing = await s.ingester();
      const evil = await s.device(EVIL);
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

describeBroker('Mosquitto (deploy/mosquitto)', () => mosquittoAclBroker([VICTIM, EVIL]));

describeBroker('embedded broker (TLS)', () => embeddedAclBroker(tmp, [VICTIM, EVIL]));
