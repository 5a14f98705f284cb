/** `kwartier homewizard pair` against the v2 simulator (the real CLI, through tsx). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, requestJson } from '../../../src/drivers/homewizard/http.js';
import { startHomeWizardSimulator } from '../../../src/drivers/homewizard/simulator.js';
import { DeviceIdentity, tlsOptions } from '../../../src/drivers/homewizard/tls.js';
import { HomeModel } from '../../../src/drivers/sim/home-model.js';
import { silentLogger } from '../../../src/lib/log.js';
import { runCli } from '../../helpers/cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kw-hw-pair-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function sim(pressAfterAttempts: number) {
  const s = await startHomeWizardSimulator({
    api: 'v2',
    model: new HomeModel({ start: Date.now() - 60_000, seed: 9 }),
    log: silentLogger(),
    pressAfterAttempts,
  });
  cleanups.push(() => s.stop());
  const ca = join(dir, `ca-${s.port}.pem`);
  writeFileSync(ca, s.caCertPem ?? '');
  return { s, ca };
}

describe('kwartier homewizard pair', () => {
  it('asks for the button, retries while the device answers 403, prints the token alone on stdout', async () => {
    const { s, ca } = await sim(2);
    const r = await runCli([
      'homewizard',
      'pair',
      '127.0.0.1',
      '--port',
      String(s.port),
      '--ca',
      ca,
      '--name',
      'edge 1',
    ]);
    expect(r.stderr).toContain('Press the button on the P1 meter');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9A-F]{32}\n$/);
    expect(s.requests['POST /api/user']).toBe(3); // 403, 403, 200
    expect(r.stderr).toContain(`Device identity (homewizard.identity): ${s.identity}`);
    expect(r.stderr).toContain('as local/edge 1');
    // the token works
    const agent = createAgent('https');
    cleanups.push(async () => agent.destroy());
    const res = await requestJson(
      {
        scheme: 'https',
        host: '127.0.0.1',
        port: s.port,
        agent,
        timeoutMs: 3000,
        tls: tlsOptions(s.caCertPem ?? '', new DeviceIdentity(s.identity)),
      },
      '/api/measurement',
      { headers: { Authorization: `Bearer ${r.stdout.trim()}`, 'X-Api-Version': '2' } },
    );
    expect(res.status).toBe(200);
  });

  it('gives up after --timeout without a button press: exit 1 with a message', async () => {
    const { s, ca } = await sim(Number.POSITIVE_INFINITY);
    const r = await runCli(['homewizard', 'pair', `127.0.0.1:${s.port}`, '--ca', ca, '--timeout', '3']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Press the button on the P1 meter');
    expect(r.stderr).toMatch(/the button was not pressed within 3 s/);
    expect(s.requests['POST /api/user']).toBeGreaterThanOrEqual(2);
  });

  it('refuses a device whose certificate does not verify (the built-in HomeWizard CA): exit 1', async () => {
    const { s } = await sim(0);
    const r = await runCli(['homewizard', 'pair', '127.0.0.1', '--port', String(s.port), '--timeout', '5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not signed by the trusted CA .*Appliance Access CA/);
    expect(r.stdout).toBe('');
    expect(s.requests['POST /api/user']).toBeUndefined();
  });

  it('usage errors exit 2; --help exits 0', async () => {
    const missing = await runCli(['homewizard', 'pair']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing HOST/);
    const badName = await runCli(['homewizard', 'pair', '127.0.0.1', '--name', 'no!']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/--name/);
    const badPort = await runCli(['homewizard', 'pair', '127.0.0.1', '--port', '70000']);
    expect(badPort.code).toBe(2);
    const badTimeout = await runCli(['homewizard', 'pair', '127.0.0.1', '--timeout', '-1']);
    expect(badTimeout.code).toBe(2);
    const unknown = await runCli(['homewizard', 'pair', '127.0.0.1', '--frob']);
    expect(unknown.code).toBe(2);
    const help = await runCli(['homewizard', 'pair', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: kwartier homewizard pair HOST/);
  });
});
