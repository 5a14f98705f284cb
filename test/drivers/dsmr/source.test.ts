import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createDsmrSource, type DsmrSource } from '../../../src/drivers/dsmr/source.js';
import type { SourceReading, SourceState } from '../../../src/drivers/source.js';
import { fixtureBytes } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait.js';

const mt382 = fixtureBytes('p1/dsmr50-iskra-mt382.txt');
const alt = fixtureBytes('p1/fluvius-v171-3phase-alt.txt');
const badCrc = Buffer.from(alt.toString('latin1').replace('(00.338*kW)', '(00.339*kW)'), 'latin1');

/** A real pino logger whose lines are kept for assertions. */
function captureLogger() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** A P1-to-network bridge on loopback: streams `telegram` every `everyMs` to each client. */
class FakeBridge {
  readonly server: Server;
  readonly sockets = new Set<Socket>();
  private timers = new Set<NodeJS.Timeout>();
  accepted = 0;
  constructor(
    private chunks: () => Buffer[],
    everyMs: number,
  ) {
    this.server = createServer((sock) => {
      this.accepted++;
      this.sockets.add(sock);
      sock.on('error', () => {});
      const t = setInterval(() => {
        for (const c of this.chunks()) sock.write(c);
      }, everyMs);
      this.timers.add(t);
      sock.on('close', () => {
        clearInterval(t);
        this.timers.delete(t);
        this.sockets.delete(sock);
      });
    });
  }
  listen(port = 0): Promise<number> {
    return new Promise((resolve) =>
      this.server.listen(port, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port)),
    );
  }
  dropClients(): void {
    for (const s of this.sockets) s.destroy();
  }
  close(): Promise<void> {
    this.dropClients();
    for (const t of this.timers) clearInterval(t);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function collect(src: DsmrSource) {
  const readings: SourceReading[] = [];
  const states: SourceState[] = [];
  src.onReading((r) => readings.push(r));
  src.onState?.((s) => states.push(s));
  return { readings, states };
}

describe('DSMR source over TCP', () => {
  it('reads telegrams, survives a dropped connection and a restarted bridge, and goes on', async () => {
    const bridge = new FakeBridge(() => [mt382.subarray(0, 100), mt382.subarray(100)], 30);
    const port = await bridge.listen();
    const { log, lines } = captureLogger();
    const src = createDsmrSource(
      { tcp: `127.0.0.1:${port}`, baudrate: 115200, parity: 'none', data_bits: 8, stop_bits: 1 },
      {
        log,
        backoff: { baseMs: 20, maxMs: 100 },
      },
    );
    cleanups.push(
      () => bridge.close(),
      () => src.stop(),
    );
    const { readings, states } = collect(src);
    await src.start();
    expect(src.kind).toBe('p1');
    expect(src.name).toBe('dsmr');
    expect(src.intervalMs).toBe(1000);
    await waitFor(() => readings.length >= 3, '3 readings');
    expect(readings[0]?.source).toBe('dsmr');
    expect(readings[0]?.fields).toMatchObject({
      grid_power_w: 244,
      grid_import_t1_kwh: 4.426,
      country: 'nl',
      gas_total_m3: 0.107,
    });

    // The bridge drops the connection: the source reconnects by itself.
    bridge.dropClients();
    const before = readings.length;
    await waitFor(() => bridge.accepted >= 2 && readings.length >= before + 3, 'readings after the reconnect');

    // The bridge goes away entirely, then comes back on the same port.
    await bridge.close();
    await waitFor(() => states.at(-1) === 'lost', 'lost state');
    const bridge2 = new FakeBridge(() => [alt], 30);
    cleanups.push(() => bridge2.close());
    await bridge2.listen(port);
    await waitFor(() => readings.some((r) => r.fields.country === 'be'), 'readings from the restarted bridge');
    expect(readings.at(-1)?.fields).toMatchObject({ grid_power_w: 338, grid_avg_15m_w: 52, water_total_m3: 8.579 });

    expect(states[0]).toBe('connected');
    expect(states.filter((s) => s === 'lost').length).toBeGreaterThanOrEqual(2);
    expect(states.at(-1)).toBe('connected');
    expect(src.stats().connects).toBeGreaterThanOrEqual(3);
    // One line per change of state, not one per failed attempt.
    const msgs = lines.map((l) => l.msg);
    expect(msgs.filter((m) => m === 'P1 source connected')).toHaveLength(1);
    expect(msgs.filter((m) => m === 'P1 source back').length).toBe(states.filter((s) => s === 'connected').length - 1);
    expect(msgs.filter((m) => m.startsWith('P1 source lost')).length).toBe(states.filter((s) => s === 'lost').length);
  });

  it('counts bad telegrams without crashing and logs them rate-limited', async () => {
    const bridge = new FakeBridge(() => [badCrc, Buffer.from('\x00garbage\xff'), mt382], 20);
    const port = await bridge.listen();
    const { log, lines } = captureLogger();
    const src = createDsmrSource(
      { tcp: `127.0.0.1:${port}`, baudrate: 115200, parity: 'none', data_bits: 8, stop_bits: 1 },
      { log },
    );
    cleanups.push(
      () => bridge.close(),
      () => src.stop(),
    );
    const { readings } = collect(src);
    await src.start();
    await waitFor(() => src.stats().crcErrors >= 5 && readings.length >= 5, '5 CRC errors and 5 readings');
    const rejected = lines.filter((l) => l.msg.startsWith('P1 telegram rejected'));
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.msg).toMatch(/expected [0-9A-F]{4}, received C4B0/);
    expect(readings.every((r) => r.fields.grid_power_w === 244)).toBe(true);
  });

  it('reconnects when the stream goes quiet (read-idle timeout)', async () => {
    let talk = true;
    const bridge = new FakeBridge(() => (talk ? [mt382] : []), 20);
    const port = await bridge.listen();
    const { log, lines } = captureLogger();
    const src = createDsmrSource(
      { tcp: `127.0.0.1:${port}`, baudrate: 115200, parity: 'none', data_bits: 8, stop_bits: 1 },
      {
        log,
        idleTimeoutMs: 300,
        backoff: { baseMs: 20, maxMs: 50 },
      },
    );
    cleanups.push(
      () => bridge.close(),
      () => src.stop(),
    );
    const { readings, states } = collect(src);
    await src.start();
    await waitFor(() => readings.length >= 1, 'a reading');
    talk = false;
    await waitFor(() => states.includes('lost'), 'lost after going quiet');
    expect(lines.some((l) => typeof l.reason === 'string' && l.reason.startsWith('no valid telegram for'))).toBe(true);
    talk = true;
    const n = readings.length;
    await waitFor(() => readings.length > n && states.at(-1) === 'connected', 'readings again');
    expect(bridge.accepted).toBeGreaterThanOrEqual(2);
  });

  it('stops cleanly while it cannot connect', async () => {
    const closed = new FakeBridge(() => [], 1000);
    const port = await closed.listen();
    await closed.close(); // nothing listens on this port now
    const { log } = captureLogger();
    const src = createDsmrSource(
      { tcp: `127.0.0.1:${port}`, baudrate: 115200, parity: 'none', data_bits: 8, stop_bits: 1 },
      {
        log,
        backoff: { baseMs: 20, maxMs: 40 },
      },
    );
    const { states } = collect(src);
    await src.start();
    await waitFor(() => states.includes('lost'), 'lost');
    await src.stop();
    expect(src.stats().connects).toBe(0);
  });
});

describe('DSMR source over a serial port (socat pseudo-terminal pair)', () => {
  function startSocat(dir: string): ChildProcess {
    const p = spawn(
      '/usr/bin/socat',
      [`pty,raw,echo=0,link=${join(dir, 'meter')}`, `pty,raw,echo=0,link=${join(dir, 'ttyP1')}`],
      {
        stdio: 'ignore',
      },
    );
    return p;
  }

  it('reads telegrams at 115200 8N1, and reopens the port after it disappears', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-dsmr-serial-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    let socat = startSocat(dir);
    cleanups.push(() => {
      socat.kill('SIGTERM');
    });
    await waitFor(() => existsSync(join(dir, 'meter')) && existsSync(join(dir, 'ttyP1')), 'socat ptys');
    const { log, lines } = captureLogger();
    const src = createDsmrSource(
      { serial: join(dir, 'ttyP1'), baudrate: 115200, parity: 'none', data_bits: 8, stop_bits: 1 },
      { log, backoff: { baseMs: 20, maxMs: 100 } },
    );
    cleanups.push(() => src.stop());
    const { readings, states } = collect(src);
    await src.start();
    await waitFor(() => states.includes('connected'), 'serial port open');
    // The "meter": write telegrams into the other end of the pty pair.
    const meter = join(dir, 'meter');
    let feeding = true;
    const feed = async () => {
      while (feeding) {
        try {
          if (existsSync(meter)) writeFileSync(meter, alt);
        } catch {
          // the pty pair is being torn down or recreated
        }
        await new Promise((r) => setTimeout(r, 30));
      }
    };
    const feeder = feed();
    cleanups.push(async () => {
      feeding = false;
      await feeder;
    });
    await waitFor(() => readings.length >= 3, '3 readings over serial');
    expect(readings[0]?.fields).toMatchObject({ grid_power_w: 338, grid_import_t1_kwh: 301.548, country: 'be' });
    expect(lines.find((l) => l.msg === 'P1 source connected')?.target).toBe(`serial ${join(dir, 'ttyP1')} 115200 8N1`);

    // Unplug: the pty pair goes away. Plug back in: a new pair at the same path.
    socat.kill('SIGTERM');
    await waitFor(() => states.at(-1) === 'lost', 'lost after unplugging');
    socat = startSocat(dir);
    await waitFor(() => existsSync(join(dir, 'ttyP1')), 'socat ptys again');
    const n = readings.length;
    await waitFor(() => readings.length >= n + 3 && states.at(-1) === 'connected', 'readings after replugging');
    expect(lines.some((l) => l.msg === 'P1 source back')).toBe(true);
  }, 60_000); // a real pty pair torn down and recreated: socat and the back-off take seconds on a busy machine
});
