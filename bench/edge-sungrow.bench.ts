/**
 * CPU time of one Sungrow poll cycle on the edge: the grouped table read (5 Modbus requests over
 * one TCP connection) and its decoding, measured in this process while the simulated inverter runs
 * in a child process (so its CPU is not counted). The wall time per cycle is on loopback with no
 * inter-request delay: a real WiNet-S is much slower, which costs time, not CPU.
 *   npm run bench -- edge-sungrow
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TableReader } from '../src/drivers/modbus/table-reader.js';
import { ModbusTcpClient } from '../src/drivers/modbus/tcp-client.js';
import { HomeModel } from '../src/drivers/sim/home-model.js';
import { SUNGROW_REGISTERS } from '../src/drivers/sungrow/registers.js';
import { startSungrowSimulator } from '../src/drivers/sungrow/simulator.js';
import { silentLogger } from '../src/lib/log.js';
import type { BenchResult } from './run.js';

const CHILD_ENV = 'KWARTIER_BENCH_SUNGROW_SIM';
const T = Date.parse('2026-06-15T10:00:00Z');

if (process.env[CHILD_ENV] === '1') {
  // Child: serve the simulated inverter until the parent closes stdin.
  const model = new HomeModel({ start: T - 3_600_000, seed: 1 });
  const sim = await startSungrowSimulator({ host: '127.0.0.1', port: 0, model, now: () => T, log: silentLogger() });
  process.stdout.write(`${JSON.stringify({ port: sim.port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void sim.stop().then(() => process.exit(0));
  });
}

async function startChild(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, [CHILD_ENV]: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('simulator child did not start in 20 s')), 20_000);
    lines.once('line', (l) => {
      clearTimeout(t);
      resolve((JSON.parse(l) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`simulator child exited with ${code}`)));
  });
  return {
    port,
    stop: () => {
      child.stdin.end();
      setTimeout(() => child.kill(), 2000).unref();
    },
  };
}

export async function bench(): Promise<BenchResult[]> {
  const child = await startChild();
  const client = new ModbusTcpClient({
    host: '127.0.0.1',
    port: child.port,
    unitId: 1,
    timeoutMs: 3000,
    interRequestDelayMs: 0,
  });
  try {
    await client.connect();
    const reader = new TableReader(SUNGROW_REGISTERS, client, {
      maxCount: 100,
      maxGap: 16,
      retryUnsupportedMs: 3_600_000,
    });
    for (let i = 0; i < 50; i++) await reader.read('cycle'); // warm up (JIT, sockets)
    const cycles = 1000;
    const req0 = client.requests;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < cycles; i++) {
      const r = await reader.read('cycle');
      if (r.okRequests === 0) throw new Error('a cycle read nothing');
    }
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    return [
      { name: 'sungrow poll cycle CPU (poller side)', value: cpuMs / cycles, unit: 'ms/poll', target: '<= 5' },
      { name: 'sungrow poll cycle wall time (loopback, no delay)', value: wallMs / cycles, unit: 'ms/poll' },
      { name: 'sungrow requests per poll', value: (client.requests - req0) / cycles, unit: 'requests' },
      {
        name: 'sungrow poller CPU at the default 5 s interval',
        value: (cpuMs / cycles / 5000) * 100,
        unit: '% of a core',
      },
    ];
  } finally {
    await client.close();
    child.stop();
  }
}
