/**
 * The control topics (core/wire-control.ts) under both brokers' rules: only the server (the ingester
 * identity) publishes `{prefix}/{id}/control`, only that edge reads it, and a device writes only its
 * own `control_state`. A probe device holding a valid certificate (a compromised edge) tries to read
 * another home's settings, to publish settings (another home's and its own) and to forge another
 * home's acknowledgement; the victim edge and the ingester must see none of it, and the retained
 * settings stay the server's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { canPublish, canReceive, canSubscribe, INGESTER } from '../../src/server/broker/acl.js';
import { type AclBroker, embeddedAclBroker, mosquittoAclBroker, useAclBroker } from '../helpers/acl-brokers.js';
import { waitFor } from './wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'kw-control-acl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const VICTIM = 'victim';
const EVIL = 'evil';

describe('the embedded broker rules (acl.ts) for the control topics', () => {
  it('the ingester alone publishes control; a device reads only its own and writes only its control_state', () => {
    expect(canPublish(INGESTER, 'energy/victim/control', 'energy')).toBe(true);
    expect(canPublish(EVIL, 'energy/victim/control', 'energy')).toBe(false);
    expect(canPublish(EVIL, 'energy/evil/control', 'energy')).toBe(false);
    expect(canPublish(EVIL, 'energy/evil/control_state', 'energy')).toBe(true);
    expect(canPublish(EVIL, 'energy/victim/control_state', 'energy')).toBe(false);
    expect(canSubscribe(EVIL, 'energy/evil/control', 'energy')).toBe(true);
    for (const f of ['energy/victim/control', 'energy/+/control', 'energy/#', '#', 'energy/evil/+'])
      expect(canSubscribe(EVIL, f, 'energy'), f).toBe(false);
    expect(canReceive(EVIL, 'energy/evil/control', 'energy')).toBe(true);
    expect(canReceive(EVIL, 'energy/victim/control', 'energy')).toBe(false);
    expect(canReceive(EVIL, 'energy/evil/control_state', 'energy')).toBe(false);
  });
});

type Got = Array<[string, string]>;

function record(c: MqttClient): Got {
  const got: Got = [];
  c.on('message', (t, p) => got.push([t, p.toString()]));
  return got;
}

function describeBroker(name: string, setup: () => Promise<AclBroker>): void {
  describe(`${name}: control settings only from the server, only to their edge`, () => {
    const s = useAclBroker(setup);

    it('a device cannot publish settings (another home’s or its own) nor forge another’s acknowledgement', async () => {
      const ing = await s.ingester();
      const ingGot = record(ing);
      await ing.subscribeAsync('energy/#', { qos: 1 });
      await ing.publishAsync('energy/victim/control', '{"server":"victim"}', { qos: 1, retain: true });
      await ing.publishAsync('energy/evil/control', '{"server":"evil"}', { qos: 1, retain: true });
      // One connection per attempt (the identity is the client id: each takes the last one's place).
      // The embedded broker closes a client whose publish it refuses; Mosquitto drops the message.
      for (const topic of ['energy/victim/control', 'energy/evil/control', 'energy/victim/control_state']) {
        const c = await s.device(EVIL);
        await Promise.race([
          c.publishAsync(topic, '{"forged":true}', { qos: 1, retain: true }).catch(() => undefined),
          new Promise((r) => setTimeout(r, 1000)),
        ]);
      }
      // Its own control_state is allowed, and tells when every publish before it was routed.
      const marker = await s.device(EVIL);
      await marker.publishAsync('energy/evil/control_state', 'evil-marker', { qos: 1 });
      await waitFor(() => ingGot.some(([, p]) => p === 'evil-marker'), 'the probe’s own control_state at the ingester');
      expect(ingGot.filter(([, p]) => p.includes('forged'))).toEqual([]);

      // A later subscriber (the victim edge after a restart) gets the server's settings, retained.
      const victim = await s.device(VICTIM);
      const victimGot = record(victim);
      await victim.subscribeAsync('energy/victim/control', { qos: 1 });
      await waitFor(() => victimGot.length > 0, 'the victim’s retained settings');
      await ing.publishAsync('energy/victim/control', 'victim-marker', { qos: 1 });
      await waitFor(() => victimGot.some(([, p]) => p === 'victim-marker'), 'the marker at the victim');
      expect(victimGot).toEqual([
        ['energy/victim/control', '{"server":"victim"}'],
        ['energy/victim/control', 'victim-marker'],
      ]);
    });

    it('a device reads its own settings only, whatever it subscribes to', async () => {
      const ing = await s.ingester();
      const evil = await s.device(EVIL);
      const evilGot = record(evil);
      // Mosquitto grants every subscription (delivery is checked); the embedded broker refuses.
      for (const f of ['energy/victim/control', 'energy/+/control', 'energy/#', '#', 'energy/evil/control'])
        await evil.subscribeAsync(f, { qos: 1 }).catch(() => undefined);
      await ing.publishAsync('energy/victim/control', '{"server":"victim","n":2}', { qos: 1, retain: true });
      await ing.publishAsync('energy/evil/control', 'evil-own-marker', { qos: 1 });
      await waitFor(() => evilGot.some(([, p]) => p === 'evil-own-marker'), 'the marker at the probe');
      expect(evilGot.filter(([t]) => t.includes(VICTIM))).toEqual([]);
      expect(evilGot.some(([t, p]) => t === 'energy/evil/control' && p === '{"server":"evil"}')).toBe(true);
      expect(evilGot.every(([t]) => t === 'energy/evil/control')).toBe(true);
    });

    it('the victim’s control_state reaches the ingester; the probe cannot read it', async () => {
      const ing = await s.ingester();
      const ingGot = record(ing);
      await ing.subscribeAsync('energy/+/control_state', { qos: 1 });
      const evil = await s.device(EVIL);
      const evilGot = record(evil);
      for (const f of ['energy/victim/control_state', 'energy/+/control_state', '#', 'energy/evil/control'])
        await evil.subscribeAsync(f, { qos: 1 }).catch(() => undefined);
      const victim = await s.device(VICTIM);
      await victim.publishAsync('energy/victim/control_state', '{"revision":1}', { qos: 1, retain: true });
      await waitFor(() => ingGot.some(([t]) => t === 'energy/victim/control_state'), 'the acknowledgement');
      await ing.publishAsync('energy/evil/control', 'evil-marker-2', { qos: 1 });
      await waitFor(() => evilGot.some(([, p]) => p === 'evil-marker-2'), 'the marker at the probe');
      expect(evilGot.filter(([t]) => t.includes('control_state'))).toEqual([]);
    });
  });
}

describeBroker('Mosquitto (deploy/mosquitto)', () => mosquittoAclBroker([VICTIM, EVIL]));

describeBroker('embedded broker (TLS)', () => embeddedAclBroker(tmp, [VICTIM, EVIL]));
