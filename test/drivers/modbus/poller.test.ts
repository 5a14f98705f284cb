/**
 * The shared Modbus poller against a real Modbus TCP server on 127.0.0.1 (raw-server.ts): requests,
 * their spacing and connections are measured on the server side.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type FieldValue,
  ModbusPoller,
  type ModbusPollerOptions,
  type PollValues,
} from '../../../src/drivers/modbus/poller.js';
import { defineTable, MARKERS_SUNSPEC, type RegisterRow } from '../../../src/drivers/modbus/register-table.js';
import { tableProblems } from '../../../src/drivers/modbus/table-problems.js';
import type { SourceState } from '../../../src/drivers/source.js';
import { waitFor } from '../../helpers/wait.js';
import { RawModbusServer } from './raw-server.js';

function memoryLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

interface Harness<F extends string> {
  srv: RawModbusServer;
  poller: ModbusPoller<F>;
  values: PollValues<F>[];
  states: SourceState[];
  lines: Array<Record<string, unknown>>;
  identity: Map<F, FieldValue>[];
}

async function harness<F extends string>(
  table: ModbusPollerOptions<F>['table'],
  over: Partial<ModbusPollerOptions<F>> = {},
  srvOpts: ConstructorParameters<typeof RawModbusServer>[0] = {},
  fill: (srv: RawModbusServer) => void = () => undefined,
): Promise<Harness<F>> {
  const srv = new RawModbusServer(srvOpts);
  fill(srv);
  await srv.start();
  const { log, lines } = memoryLog();
  const poller = new ModbusPoller<F>({
    name: 'dev',
    host: '127.0.0.1',
    port: srv.port,
    unitId: 1,
    table,
    intervalMs: 200,
    interRequestDelayMs: 0,
    connectDelayMs: 0,
    timeoutMs: 500,
    reconnectBaseMs: 50,
    reconnectMaxMs: 200,
    settleMs: 20,
    log,
    ...over,
  });
  const h: Harness<F> = { srv, poller, values: [], states: [], lines, identity: [] };
  poller.onValues((v) => h.values.push(v));
  poller.onState((s) => h.states.push(s));
  poller.onIdentity((v) => h.identity.push(v));
  cleanups.push(async () => {
    await poller.stop();
    await srv.stop();
  });
  return h;
}

type Simple = 'a' | 'b' | 'c' | 'd' | 'far' | 'setpoint' | 'ro_setting' | 'limit32';

/** Input rows 0, 1, 2–3, 10 and 200; holding 100 (rw), 101 (r), 102–103 (rw, u32). */
const SIMPLE = defineTable<Simple>({
  addressing: 'doc',
  words: 'msw',
  markers: MARKERS_SUNSPEC,
  rows: [
    { field: 'a', fn: 'input', doc: 0, type: 'u16', scale: 1, unit: 'W' },
    { field: 'b', fn: 'input', doc: 1, type: 's16', scale: 0.1, unit: 'V' },
    { field: 'c', fn: 'input', doc: 2, type: 'u32', scale: 1, unit: 'Wh' },
    { field: 'd', fn: 'input', doc: 10, type: 's16', scale: 1, unit: 'W' },
    { field: 'far', fn: 'input', doc: 200, type: 'u16', scale: 1, unit: '' },
    { field: 'setpoint', fn: 'holding', doc: 100, type: 'u16', scale: 0.1, unit: '%', access: 'rw', min: 0, max: 100 },
    { field: 'ro_setting', fn: 'holding', doc: 101, type: 'u16', scale: 1, unit: '' },
    { field: 'limit32', fn: 'holding', doc: 102, type: 'u32', scale: 1, unit: 'W', access: 'rw' },
  ],
});

function fillSimple(srv: RawModbusServer): void {
  srv.set('input', 0, 1500, 0xffe7, 0x0012, 0xd687);
  srv.set('input', 10, 0x8000); // SunSpec int16 "not implemented"
  srv.set('input', 200, 7);
  srv.set('holding', 100, 500, 3, 0, 4000);
  srv.writable.add(100);
  srv.writable.add(102);
  srv.writable.add(103);
}

describe('modbus poller: reads', () => {
  it('reads the table in grouped requests, paced, after the connect wait; markers are null', async () => {
    const h = await harness(SIMPLE, { interRequestDelayMs: 60, connectDelayMs: 150, maxGap: 16 }, {}, fillSimple);
    await h.poller.start();
    await waitFor(() => h.values.length >= 2, 'two cycles');
    const v = h.values[0]?.values;
    expect(v?.get('a')).toBe(1500);
    expect(v?.get('b')).toBe(-2.5);
    expect(v?.get('c')).toBe(1_234_567);
    expect(v?.get('d')).toBeNull(); // 0x8000 in a SunSpec table: null, never −32768 or 0
    expect(v?.get('far')).toBe(7);
    expect(v?.get('setpoint')).toBe(50);
    expect(typeof h.values[0]?.at).toBe('number');
    // per cycle: input 0..10 (one request), input 200, holding 100..103
    const firstCycle = h.srv.log.slice(0, 3);
    expect(firstCycle.map((r) => [r.fc, r.address, r.count])).toEqual([
      [4, 0, 11],
      [4, 200, 1],
      [3, 100, 4],
    ]);
    // pacing, measured on the server: ≥ 60 ms between requests (minus a little clock slack)
    for (let i = 1; i < 3; i++) {
      const gap = (h.srv.log[i]?.at ?? 0) - (h.srv.log[i - 1]?.at ?? 0);
      expect(gap).toBeGreaterThanOrEqual(55);
    }
    // the wait after connecting
    expect((h.srv.log[0]?.at ?? 0) - (h.srv.acceptedAt[0] ?? 0)).toBeGreaterThanOrEqual(140);
    expect(h.srv.connections).toBe(1);
    expect(h.states).toEqual(['connecting', 'connected']);
  });

  it('drops a row answering exception 2, logs it once, keeps reading the others', async () => {
    const h = await harness(SIMPLE, { retryUnsupportedMs: 3_600_000 }, {}, (srv) => {
      fillSimple(srv);
      srv.refuse.input.add(10);
    });
    await h.poller.start();
    await waitFor(() => h.values.length >= 4, 'four cycles');
    for (const c of h.values) {
      expect(c.values.get('d')).toBeNull();
      expect(c.values.get('a')).toBe(1500);
      expect(c.values.get('c')).toBe(1_234_567);
      expect(c.values.get('far')).toBe(7);
    }
    expect(h.poller.stats().unsupported).toEqual([{ doc: 10, field: 'd', reason: 'exception' }]);
    // learnt: after the first cycle no request covers address 10
    const firstOk = h.srv.log.findIndex((r, i) => i > 0 && r.fc === 3);
    const later = h.srv.log.slice(firstOk + 1);
    expect(later.length).toBeGreaterThan(3);
    expect(later.some((r) => r.fc === 4 && r.address <= 10 && r.address + r.count > 10)).toBe(false);
    const warned = h.lines.filter((l) => l.field === 'd' && l.level === 40);
    expect(warned).toHaveLength(1);
  });

  it('decodes SunSpec rows: wire = doc − 1, value × 10^SF, 64-bit, enums, strings; SF 0x8000 → null', async () => {
    type F = 'name' | 'w' | 'w_sf' | 'wh' | 'delta' | 'st' | 'a' | 'a_sf';
    const table = defineTable<F>({
      addressing: 'doc-1',
      words: 'msw',
      markers: MARKERS_SUNSPEC,
      rows: [
        { field: 'name', fn: 'holding', doc: 40005, type: 'utf8', count: 4, scale: 1, unit: '', poll: 'start' },
        { field: 'w', fn: 'holding', doc: 40084, type: 's16', scale: 1, unit: 'W', scaleFrom: 'w_sf' },
        { field: 'w_sf', fn: 'holding', doc: 40085, type: 's16', scale: 1, unit: '' },
        { field: 'wh', fn: 'holding', doc: 40094, type: 'u64', scale: 1, unit: 'Wh' },
        { field: 'delta', fn: 'holding', doc: 40098, type: 's64', scale: 1, unit: 'Wh' },
        { field: 'st', fn: 'holding', doc: 40108, type: 'u16', scale: 1, unit: '', enum: { 1: 'off', 4: 'mppt' } },
        { field: 'a', fn: 'holding', doc: 40110, type: 'u16', scale: 1, unit: 'A', scaleFrom: 'a_sf' },
        { field: 'a_sf', fn: 'holding', doc: 40111, type: 's16', scale: 1, unit: '' },
      ],
    });
    expect(tableProblems(table.rows, 1)).toEqual([]);
    expect(table.rows.find((r) => r.field === 'w')?.wire).toBe(40083);
    const big = 2n ** 40n + 12345n; // needs more than 32 bits
    const h = await harness(table, { maxGap: 20 }, {}, (srv) => {
      srv.set('holding', 40004, 0x4b41, 0x434f, 0x0000, 0x0000); // "KACO"
      srv.set('holding', 40083, 259, 1); // W 259, W_SF +1 → 2590 W (KACO, devices.md §3.3)
      const w = (x: bigint) => [0, 1, 2, 3].map((i) => Number((x >> BigInt(16 * (3 - i))) & 0xffffn));
      srv.set('holding', 40093, ...w(big));
      srv.set('holding', 40097, ...w(BigInt.asUintN(64, -5n)));
      srv.set('holding', 40107, 4);
      srv.set('holding', 40109, 1234, 0x8000); // A_SF not implemented → A null
    });
    await h.poller.start();
    await waitFor(() => h.values.length >= 1, 'a cycle');
    const v = h.values[0]?.values;
    expect(v?.get('w')).toBe(2590);
    expect(v?.get('wh')).toBe(Number(big));
    expect(v?.get('delta')).toBe(-5);
    expect(v?.get('st')).toBe('mppt');
    expect(v?.get('a')).toBeNull();
    expect(h.identity[0]?.get('name')).toBe('KACO');
    expect(h.srv.log.some((r) => r.address === 40083)).toBe(true);
  });
});

describe('modbus poller: connections', () => {
  it('connect-per-cycle: reads every group from a server that closes after each answer', async () => {
    const h = await harness(SIMPLE, { connectPerCycle: true }, { closeAfterAnswer: true }, fillSimple);
    await h.poller.start();
    await waitFor(() => h.values.length >= 3, 'three cycles');
    for (const c of h.values) {
      expect(c.values.get('a')).toBe(1500);
      expect(c.values.get('far')).toBe(7);
      expect(c.values.get('setpoint')).toBe(50);
    }
    // every request answered, none lost to a closed socket, one connection per request
    expect(h.srv.connections).toBeGreaterThanOrEqual(h.values.length * 3);
    expect(h.states).toEqual(['connecting', 'connected']);
  });

  it('connect-per-cycle against a normal server: one connection per cycle, closed after it', async () => {
    const h = await harness(SIMPLE, { connectPerCycle: true }, {}, fillSimple);
    await h.poller.start();
    await waitFor(() => h.values.length >= 3, 'three cycles');
    await h.poller.stop();
    const byConn = new Map<number, number>();
    for (const r of h.srv.log) byConn.set(r.connection, (byConn.get(r.connection) ?? 0) + 1);
    expect([...byConn.values()].every((n) => n === 3)).toBe(true);
    expect(h.srv.connections).toBe(h.values.length);
  });

  it('reconnects with backoff after the server goes away and comes back', async () => {
    const h = await harness(SIMPLE, {}, {}, fillSimple);
    await h.poller.start();
    await waitFor(() => h.values.length >= 1, 'a cycle');
    const port = h.srv.port;
    await h.srv.stop();
    await waitFor(() => h.states.includes('lost'), 'lost');
    const before = h.values.length;
    await h.srv.start(port);
    await waitFor(() => h.values.length > before + 1, 'values again');
    expect(h.states).toEqual(['connecting', 'connected', 'lost', 'connected']);
    expect(h.values.at(-1)?.values.get('a')).toBe(1500);
    expect(h.srv.connections).toBeGreaterThanOrEqual(2);
  });
});

describe('modbus poller: writes', () => {
  it('writes an rw row once on change and reports the value read back', async () => {
    const h = await harness(SIMPLE, { intervalMs: 1000 }, {}, fillSimple);
    await h.poller.start();
    await waitFor(() => h.values.length >= 1, 'connected');
    const r1 = await h.poller.write('setpoint', 80);
    expect(r1).toMatchObject({ field: 'setpoint', requested: 80, readBack: 80, written: true });
    const r2 = await h.poller.write('setpoint', 80);
    expect(r2).toMatchObject({ readBack: 80, written: false });
    const writes = h.srv.log.filter((r) => r.fc === 6 || r.fc === 16);
    expect(writes).toEqual([expect.objectContaining({ fc: 6, address: 100, words: [800] })]);
    const logged = h.lines.find((l) => l.msg === 'register written');
    expect(logged).toMatchObject({ field: 'setpoint', requested: 80, read_back: 80, was: 50 });
    expect(h.poller.stats().writes).toBe(1);
  });

  it('reports what the device holds when it does not take the value as asked', async () => {
    const h = await harness(SIMPLE, { intervalMs: 1000 }, {}, fillSimple);
    h.srv.onWrite = (_a, w) => Math.min(w, 900); // the device caps at 90 %
    await h.poller.start();
    await waitFor(() => h.values.length >= 1, 'connected');
    const r = await h.poller.write('setpoint', 95);
    expect(r).toMatchObject({ requested: 95, readBack: 90, written: true });
    expect(h.lines.some((l) => l.msg === 'register written but reads back another value' && l.read_back === 90)).toBe(
      true,
    );
  });

  it('writes a 32-bit row with FC16 in the table’s word order', async () => {
    const h = await harness(SIMPLE, { intervalMs: 1000 }, {}, fillSimple);
    await h.poller.start();
    await waitFor(() => h.values.length >= 1, 'connected');
    const r = await h.poller.write('limit32', 70_000);
    expect(r.readBack).toBe(70_000);
    expect(h.srv.log.find((q) => q.fc === 16)).toMatchObject({ address: 102, words: [1, 4464] });
  });

  it('refuses read-only rows, unknown fields and out-of-range values without sending anything', async () => {
    const h = await harness(SIMPLE, { intervalMs: 1000 }, {}, fillSimple);
    await h.poller.start();
    await waitFor(() => h.values.length >= 1, 'connected');
    await expect(h.poller.write('ro_setting', 1)).rejects.toMatchObject({ code: 'control_read_only' });
    await expect(h.poller.write('a', 1)).rejects.toThrow(/dev\.a \(register 0\): read-only/);
    await expect(h.poller.write('setpoint', 150)).rejects.toMatchObject({ code: 'control_value' });
    await expect(h.poller.write('nope' as Simple, 1)).rejects.toThrow(/dev\.nope/);
    expect(h.srv.log.some((r) => r.fc === 6 || r.fc === 16)).toBe(false);
  });

  it('writes in connect-per-cycle mode on a connection of its own', async () => {
    const h = await harness(
      SIMPLE,
      { connectPerCycle: true, intervalMs: 1000 },
      { closeAfterAnswer: true },
      fillSimple,
    );
    await h.poller.start();
    await waitFor(() => h.values.length >= 1, 'a cycle');
    const r = await h.poller.write('setpoint', 12.5);
    expect(r).toMatchObject({ readBack: 12.5, written: true });
  });

  it('a table row marked rw on an input register is a table problem', () => {
    const bad: RegisterRow[] = [
      { field: 'x', fn: 'input', doc: 1, wire: 1, type: 'u16', scale: 1, unit: '', access: 'rw' },
    ];
    expect(tableProblems(bad, 0)).toEqual(['x: only holding registers can be written']);
  });
});
