/**
 * v2 TLS against the simulator: the chain must verify against the configured CA and the certificate's
 * CN must be the device's identity `appliance/<type>/<serial>`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent, requestJson } from '../../../src/drivers/homewizard/http.js';
import { startHomeWizardSimulator } from '../../../src/drivers/homewizard/simulator.js';
import { DeviceIdentity, HomeWizardTlsError, tlsOptions } from '../../../src/drivers/homewizard/tls.js';
import { HomeModel } from '../../../src/drivers/sim/home-model.js';
import { silentLogger } from '../../../src/lib/log.js';
import { runSource } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function sim(opts: { certificateCn?: string; certificateLoopbackSans?: boolean } = {}) {
  const s = await startHomeWizardSimulator({
    api: 'v2',
    model: new HomeModel({ start: Date.now() - 60_000, seed: 42 }),
    log: silentLogger(),
    ...opts,
  });
  cleanups.push(() => s.stop());
  return s;
}

describe('HomeWizard v2 TLS', () => {
  it('accepts the device when given its CA, and learns and pins its identity', async () => {
    const s = await sim();
    expect(s.identity).toBe(`appliance/p1dongle/${s.serial}`);
    const run = runSource(
      {
        ip: '127.0.0.1',
        port: s.port,
        api_version: 'v2',
        token: s.token ?? null,
        ca_cert: s.caCertPem ?? null,
        transport: 'rest',
      },
      cleanups,
    );
    const r = await run.next();
    expect(typeof r.fields.grid_power_w).toBe('number');
    expect(run.source.tlsIdentity).toBe(s.identity);
  });

  it('accepts the configured identity', async () => {
    const s = await sim();
    const run = runSource(
      {
        ip: '127.0.0.1',
        port: s.port,
        api_version: 'v2',
        token: s.token ?? null,
        ca_cert: s.caCertPem ?? null,
        identity: s.identity ?? '',
        transport: 'rest',
      },
      cleanups,
    );
    await run.next();
    expect(run.source.tlsIdentity).toBe(s.identity);
  });

  it('rejects a certificate signed by another CA', async () => {
    const s = await sim();
    const other = await sim();
    const run = runSource(
      {
        ip: '127.0.0.1',
        port: s.port,
        api_version: 'v2',
        token: s.token ?? null,
        ca_cert: other.caCertPem ?? null,
        transport: 'rest',
      },
      cleanups,
    );
    expect(await run.state('lost')).toMatch(/not signed by the trusted CA .*Simulated Appliance Access CA/);
    expect(run.readings).toHaveLength(0);
    expect(s.requests['GET /api']).toBeUndefined(); // no request got through the handshake
  });

  it('rejects the simulator with the bundled HomeWizard CA (it holds no HomeWizard-signed certificate)', async () => {
    const s = await sim();
    const run = runSource(
      { ip: '127.0.0.1', port: s.port, api_version: 'v2', token: s.token ?? null, transport: 'rest' },
      cleanups,
    );
    expect(await run.state('lost')).toMatch(
      /not signed by the trusted CA \(C=NL, ST=ZH, O=HomeWizard, CN=Appliance Access CA\)/,
    );
    expect(run.readings).toHaveLength(0);
  });

  it('rejects a CN that is not appliance/<type>/<serial>, even with SANs that match the address', async () => {
    const s = await sim({ certificateCn: 'evil.example', certificateLoopbackSans: true });
    // Node's default check would accept this certificate for 127.0.0.1 (SAN IP:127.0.0.1) ...
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: s.port, path: '/api', ca: s.caCertPem }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    expect(status).toBe(401);
    // ... ours does not.
    const run = runSource(
      {
        ip: '127.0.0.1',
        port: s.port,
        api_version: 'v2',
        token: s.token ?? null,
        ca_cert: s.caCertPem ?? null,
        transport: 'rest',
      },
      cleanups,
    );
    expect(await run.state('lost')).toMatch(/CN is "evil\.example", not of the form appliance\/<type>\/<serial>/);
    expect(run.readings).toHaveLength(0);
  });

  it("rejects a certificate for another device's serial", async () => {
    const s = await sim({ certificateCn: 'appliance/p1dongle/000000000000' });
    const run = runSource(
      {
        ip: '127.0.0.1',
        port: s.port,
        api_version: 'v2',
        token: s.token ?? null,
        ca_cert: s.caCertPem ?? null,
        transport: 'rest',
      },
      cleanups,
    );
    expect(await run.state('lost')).toMatch(/certificate is for serial 000000000000 .* device reports serial/);
    expect(run.readings).toHaveLength(0);
  });

  it('rejects a device whose CN differs from the configured identity', async () => {
    const s = await sim();
    const run = runSource(
      {
        ip: '127.0.0.1',
        port: s.port,
        api_version: 'v2',
        token: s.token ?? null,
        ca_cert: s.caCertPem ?? null,
        identity: 'appliance/p1dongle/aabbccddeeff',
        transport: 'rest',
      },
      cleanups,
    );
    expect(await run.state('lost')).toMatch(/expected "appliance\/p1dongle\/aabbccddeeff"/);
    expect(run.readings).toHaveLength(0);
  });

  it("accepts an X.509 v1 CA and device certificate without extensions, the shape of HomeWizard's CA", async (ctx) => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
    } catch {
      ctx.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), 'kw-hw-v1ca-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ossl('genrsa', '-out', 'ca.key', '2048');
    ossl('req', '-new', '-key', 'ca.key', '-subj', '/C=NL/ST=ZH/O=HomeWizard/CN=Appliance Access CA', '-out', 'ca.csr');
    ossl('x509', '-req', '-in', 'ca.csr', '-signkey', 'ca.key', '-days', '2', '-out', 'ca.pem');
    ossl('genrsa', '-out', 'dev.key', '2048');
    ossl('req', '-new', '-key', 'dev.key', '-subj', '/CN=appliance\\/p1dongle\\/5c2fafaabbcc', '-out', 'dev.csr');
    ossl(
      'x509',
      '-req',
      '-in',
      'dev.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      '7',
      '-days',
      '2',
      '-out',
      'dev.pem',
    );
    const text = ossl('x509', '-in', 'ca.pem', '-noout', '-text').toString();
    expect(text).toMatch(/Version: 1 \(0x0\)/);
    const server = https.createServer(
      { key: readFileSync(join(dir, 'dev.key')), cert: readFileSync(join(dir, 'dev.pem')) },
      (_q, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"ok":true}');
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const identity = new DeviceIdentity('appliance/p1dongle/5c2fafaabbcc');
    const agent = createAgent('https');
    cleanups.push(async () => agent.destroy());
    const ep = {
      scheme: 'https' as const,
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      agent,
      timeoutMs: 3000,
      tls: tlsOptions(readFileSync(join(dir, 'ca.pem'), 'utf8'), identity),
    };
    const res = await requestJson(ep, '/api');
    expect(res.body).toEqual({ ok: true });
    expect(res.peerCn).toBe('appliance/p1dongle/5c2fafaabbcc');
    // and the same server with another expected identity is refused (a new connection: its own agent)
    const agent2 = createAgent('https');
    cleanups.push(async () => agent2.destroy());
    const wrong = {
      ...ep,
      agent: agent2,
      tls: tlsOptions(ep.tls.ca, new DeviceIdentity('appliance/p1dongle/5c2fafaabbcd')),
    };
    await expect(requestJson(wrong, '/api')).rejects.toBeInstanceOf(HomeWizardTlsError);
  });
});
