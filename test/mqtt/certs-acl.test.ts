/**
 * `kwartier certs` and the project's Mosquitto config (deploy/mosquitto): the real broker accepts
 * the certificates the CLI makes, and its ACL keeps every device in its own topics.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commonName } from '../../src/lib/certs.js';
import { runCli } from '../helpers/cli.js';
import { Mosquitto } from '../helpers/mosquitto.js';

const tmp = mkdtempSync(join(tmpdir(), 'kw-certs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('kwartier certs', () => {
  const dir = join(tmp, 'cli');

  it('init writes the CA, server and ingester certificates with private keys 0600', async () => {
    const r = await runCli([
      'certs',
      'init',
      '--dir',
      dir,
      '--server-name',
      'mqtt.example.org',
      '--server-name',
      '192.0.2.7',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const f of ['ca.key', 'server.key', 'kwartier-ingester.key'])
      expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    for (const f of ['ca.crt', 'server.crt', 'kwartier-ingester.crt'])
      expect(statSync(join(dir, f)).mode & 0o777).toBe(0o644);
    expect(commonName(readFileSync(join(dir, 'server.crt'), 'utf8'))).toBe('mqtt.example.org');
    expect(commonName(readFileSync(join(dir, 'kwartier-ingester.crt'), 'utf8'))).toBe('kwartier-ingester');
  });

  it('init refuses to overwrite without --force, and overwrites with it', async () => {
    const before = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const r = await runCli(['certs', 'init', '--dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to overwrite .*ca\.crt.*--force/);
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(before);
    const copy = join(tmp, 'forced');
    expect((await runCli(['certs', 'init', '--dir', copy])).code).toBe(0);
    const first = readFileSync(join(copy, 'ca.crt'), 'utf8');
    expect((await runCli(['certs', 'init', '--dir', copy, '--force'])).code).toBe(0);
    expect(readFileSync(join(copy, 'ca.crt'), 'utf8')).not.toBe(first);
  });

  it('device issues ID.crt/ID.key with CN = ID, and refuses overwrite, bad ids and reserved names', async () => {
    const r = await runCli(['certs', 'device', 'home-a', '--dir', dir]);
    expect(r.code).toBe(0);
    expect(commonName(readFileSync(join(dir, 'home-a.crt'), 'utf8'))).toBe('home-a');
    expect(statSync(join(dir, 'home-a.key')).mode & 0o777).toBe(0o600);
    expect((await runCli(['certs', 'device', 'home-a', '--dir', dir])).code).toBe(2);
    expect((await runCli(['certs', 'device', 'home-a', '--dir', dir, '--force'])).code).toBe(0);
    const bad = await runCli(['certs', 'device', 'a/b', '--dir', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/device id "a\/b": must match/);
    expect((await runCli(['certs', 'device', 'kwartier-ingester', '--dir', dir])).stderr).toMatch(/reserved/);
    const noCa = await runCli(['certs', 'device', 'x', '--dir', join(tmp, 'nothing')]);
    expect(noCa.code).toBe(2);
    expect(noCa.stderr).toMatch(/certs init/);
  });

  it('prints help and exits 2 on usage errors', async () => {
    for (const sub of ['init', 'device']) {
      const h = await runCli(['certs', sub, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: kwartier certs ${sub}`));
    }
    expect((await runCli(['certs', 'init'])).code).toBe(2);
    expect((await runCli(['certs', 'init', '--dir', join(tmp, 'x'), '--bogus'])).code).toBe(2);
    expect((await runCli(['certs', 'init', '--dir', join(tmp, 'y'), '--server-name', 'bad name!'])).code).toBe(2);
    expect((await runCli(['certs', 'device', '--dir', dir])).code).toBe(2);
    expect((await runCli(['certs', 'device', 'a', 'b', '--dir', dir])).code).toBe(2);
    expect((await runCli(['certs', 'device', 'a', '--dir', dir, '--days', '0'])).code).toBe(2);
  });
});

describe('Mosquitto with the project config and CLI-made certificates', () => {
  let broker: Mosquitto;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    // The CLI's certificates from the block above (plus a second device made the same way).
    const dir = join(tmp, 'cli');
    expect((await runCli(['certs', 'device', 'home-b', '--dir', dir])).code).toBe(0);
    broker = await Mosquitto.start({ certDir: dir });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await broker?.dispose();
  });

  async function client(
    identity: string,
    clientId = identity,
  ): Promise<{ c: MqttClient; got: Array<[string, string]> }> {
    const c = await mqtt.connectAsync(broker.url, {
      ...broker.clientOptions(identity),
      clientId,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    clients.push(c);
    const got: Array<[string, string]> = [];
    c.on('message', (t, p) => got.push([t, p.toString()]));
    return { c, got };
  }

  /** Publishes a marker through `via` and waits until `rx` sees it: everything sent before has been routed. */
  async function flush(via: MqttClient, rx: Array<[string, string]>, topic: string): Promise<void> {
    const marker = `marker-${Math.random()}`;
    await via.publishAsync(topic, marker, { qos: 1 });
    for (let i = 0; i < 200 && !rx.some(([, p]) => p === marker); i++) await new Promise((r) => setTimeout(r, 25));
    expect(rx.some(([, p]) => p === marker)).toBe(true);
  }

  it('a device publishes under its own id only; its forged topics never reach the ingester', async () => {
    const ing = await client('kwartier-ingester', 'ing-acl');
    await ing.c.subscribeAsync('energy/#', { qos: 1 });
    const a = await client('home-a');
    await a.c.publishAsync('energy/home-a/realtime', 'mine', { qos: 1 });
    await a.c.publishAsync('energy/home-b/realtime', 'forged', { qos: 1 });
    await a.c.publishAsync('energy/home-b/batch', 'forged', { qos: 1 });
    await a.c.publishAsync('energy/home-a/ack', 'self-ack', { qos: 1, retain: true });
    await a.c.publishAsync('other/topic', 'elsewhere', { qos: 1 });
    await flush(a.c, ing.got, 'energy/home-a/status');
    expect(ing.got.filter(([, p]) => !p.startsWith('marker'))).toEqual([['energy/home-a/realtime', 'mine']]);
  });

  it('a device reads its own ack only', async () => {
    const ing = await client('kwartier-ingester', 'ing-acl-2');
    const a = await client('home-a', 'home-a-2');
    await a.c.subscribeAsync(['energy/home-a/ack', 'energy/home-b/ack', 'energy/+/ack', 'energy/#'], { qos: 1 });
    await ing.c.publishAsync('energy/home-b/ack', '{"for":"b"}', { qos: 1, retain: true });
    await ing.c.publishAsync('energy/home-a/ack', '{"for":"a"}', { qos: 1, retain: true });
    for (let i = 0; i < 200 && a.got.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    // And a device subscribing later gets only its own retained ack.
    const b = await client('home-b');
    await b.c.subscribeAsync(['energy/home-a/ack', 'energy/home-b/ack'], { qos: 1 });
    await flush(ing.c, a.got, 'energy/home-a/ack');
    await flush(ing.c, b.got, 'energy/home-b/ack');
    expect(a.got.filter(([, p]) => !p.startsWith('marker'))).toEqual([['energy/home-a/ack', '{"for":"a"}']]);
    expect(b.got.filter(([, p]) => !p.startsWith('marker'))).toEqual([['energy/home-b/ack', '{"for":"b"}']]);
  });

  it('refuses clients without a certificate, and certificates from another CA', async () => {
    const ca = readFileSync(broker.tlsFiles('home-a').ca);
    await expect(mqtt.connectAsync(broker.url, { ca, reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow();
    await expect(
      mqtt.connectAsync(broker.url, {
        ca,
        username: 'kwartier-ingester',
        password: 'x',
        reconnectPeriod: 0,
        connectTimeout: 3000,
      }),
    ).rejects.toThrow();
    const other = join(tmp, 'other-ca');
    expect((await runCli(['certs', 'init', '--dir', other])).code).toBe(0);
    expect((await runCli(['certs', 'device', 'home-a', '--dir', other])).code).toBe(0);
    await expect(
      mqtt.connectAsync(broker.url, {
        ca,
        cert: readFileSync(join(other, 'home-a.crt')),
        key: readFileSync(join(other, 'home-a.key')),
        reconnectPeriod: 0,
        connectTimeout: 3000,
      }),
    ).rejects.toThrow();
  });
});
