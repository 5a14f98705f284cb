/**
 * The built edge as systemd runs it: `node <the unit's flags> bin/kwartier.js edge` goes to the edge's
 * bundle (dist/edge-bundle/edge.mjs, scripts/bundle-edge.mjs), which reads a simulated HomeWizard P1 meter and
 * Sungrow inverter, commits each snapshot to its outbox and forwards it over MQTT with TLS client
 * certificates (from `kwartier certs`) to a real server with the embedded broker on TLS.
 * Needs the build (`npm ci` runs it; `npm run build` after a change).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command as edgeCommand } from '../../src/cli/commands/edge.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import { parseWithSchema } from '../../src/core/validate.js';
import { startHomeWizardSimulator } from '../../src/drivers/homewizard/simulator.js';
import { HomeModel } from '../../src/drivers/sim/home-model.js';
import { startSungrowSimulator } from '../../src/drivers/sungrow/simulator.js';
import { initCertDir, issueDeviceFiles } from '../../src/lib/certs.js';
import { silentLogger } from '../../src/lib/log.js';
import { ServerApp } from '../../src/server/app.js';
import { ServerConfigSchema } from '../../src/server/config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin/kwartier.js');
const BUNDLE = join(ROOT, 'dist/edge-bundle/edge.mjs');

/** The Node flags of the unit's ExecStart (between the node binary and bin/kwartier.js). */
function unitFlags(): string[] {
  const unit = readFileSync(join(ROOT, 'deploy/systemd/kwartier-edge.service'), 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
  return exec.slice(
    1,
    exec.findIndex((w) => w.endsWith('/bin/kwartier.js')),
  );
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.on('error', reject);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  if (!existsSync(BUNDLE)) throw new Error('dist/edge-bundle/edge.mjs is missing: run `npm run build` first');
});

describe('the edge bundle (dist/edge-bundle/edge.mjs)', () => {
  it('is what `kwartier edge` runs, and holds the edge command only', async () => {
    const help = await run([BIN, 'edge', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(edgeCommand.usage);
    const direct = await run([BUNDLE, 'edge', '--help']);
    expect(direct.stdout).toBe(edgeCommand.usage);
    const other = await run([BUNDLE, 'server', '--help']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('unknown command "server"');
    const noConfig = await run([BIN, 'edge', '--config', join(tmpdir(), 'kw-no-such-edge.yaml')]);
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toContain('cannot read config file');
  }, 60_000);

  describe('with the flags of the systemd unit, against simulated devices and a real server', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-edge-bundle-'));
    const log = silentLogger();
    let stop: () => Promise<void> = async () => {};
    afterAll(async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('merges the P1 meter and the inverter and the server stores the snapshots', async () => {
      const model = new HomeModel({ start: Date.now(), seed: 5 });
      const hw = await startHomeWizardSimulator({ host: '127.0.0.1', port: 0, api: 'v1', model, log });
      const sg = await startSungrowSimulator({ host: '127.0.0.1', port: 0, model, log });
      const certs = join(dir, 'certs');
      await initCertDir({ dir: certs });
      await issueDeviceFiles({ dir: certs, id: 'bundle-home' });
      const server = new ServerApp({
        config: parseWithSchema(
          ServerConfigSchema,
          {
            store: { type: 'sqlite', path: join(dir, 'server.sqlite') },
            broker: {
              enabled: true,
              port: 0,
              tls: { ca_cert: join(certs, 'ca.crt'), cert: join(certs, 'server.crt'), key: join(certs, 'server.key') },
            },
            api: { port: 0, tokens: [{ name: 't', token: 'bundle-test-token-0123', devices: ['*'] }] },
          },
          'test',
        ),
        log,
      });
      await server.start();
      let edge: ChildProcess | null = null;
      stop = async () => {
        if (edge && edge.exitCode === null) {
          const e = edge;
          await new Promise((r) => {
            e.once('exit', r);
            e.kill('SIGTERM');
          });
        }
        await server.stop();
        await hw.stop();
        await sg.stop();
      };
      const cfg = join(dir, 'edge.yaml');
      writeFileSync(
        cfg,
        [
          'device_id: bundle-home',
          `homewizard: {ip: 127.0.0.1, port: ${hw.port}, poll_interval_s: 1.0, api_version: v1}`,
          `sungrow: {ip: 127.0.0.1, port: ${sg.port}, poll_interval_s: 1, inter_register_delay_ms: 5, connect_delay_ms: 50}`,
          `buffer: {db_path: ${join(dir, 'outbox.sqlite')}}`,
          `mqtt: {host: 127.0.0.1, port: ${new URL(server.brokerUrl ?? '').port}, tls: {ca_cert: ${join(certs, 'ca.crt')}, client_cert: ${join(certs, 'bundle-home.crt')}, client_key: ${join(certs, 'bundle-home.key')}}}`,
          '',
        ].join('\n'),
      );
      const stored: Snapshot[] = [];
      const full = new Promise<Snapshot>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no merged snapshot in 30 s (${stored.length} stored)`)), 30_000);
        server.bus.subscribe('test', 'committed', ({ snapshot: s }) => {
          stored.push(s);
          if (s.pv_power_w !== null && s.grid_power_w !== null) {
            clearTimeout(t);
            resolve(s);
          }
        });
      });
      let stderr = '';
      edge = spawn(process.execPath, [...unitFlags(), BIN, 'edge', '--config', cfg], {
        cwd: ROOT,
        env: { ...process.env, KWARTIER_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      edge.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const s = await full.catch((err: Error) => {
        throw new Error(`${err.message}; edge stderr: ${stderr}`);
      });
      expect(s.device_id).toBe('bundle-home');
      expect(s.grid_import_t1_kwh).toBeGreaterThan(0);
      expect(s.battery_soc_pct).toBeGreaterThanOrEqual(0);
      expect(s.battery_soc_pct).toBeLessThanOrEqual(100);
      expect(s.pv_power_w).toBeGreaterThanOrEqual(0);
      expect(s.stale_sources).toEqual([]);
      expect(s.voltage_l1_v).toBeGreaterThan(200);
      expect(s.gas_total_m3).toBeGreaterThan(0);
      expect(typeof s.load_power_w).toBe('number');
      // Nothing on stderr at warn level. The unit's --lite-mode turns WebAssembly off, and V8 of
      // Node 20 says so once (Node 24 refuses the --no-expose-wasm that silenced it): that line only.
      const V8_LITE_WASM = 'Warning: disabling flag --expose_wasm due to conflicting flags';
      expect(stderr.split('\n').filter((l) => l !== '' && l !== V8_LITE_WASM)).toEqual([]);
    }, 60_000);
  });
});
