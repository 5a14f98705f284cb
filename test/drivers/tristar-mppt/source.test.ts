/**
 * The TriStar MPPT driver against its simulator on 127.0.0.1 (recorded answers of a real
 * controller): connect → read → close per poll with the socket closed by the controller's side,
 * both encodings told apart or forced, values changing (charge state), what is not available, a
 * register the firmware refuses, a unit that does not answer, a controller that goes away and
 * comes back, bad configs. What the server saw is checked on the server's side.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import type { SourceState } from '../../../src/drivers/source.js';
import { type TristarConfig, TristarConfigSchema } from '../../../src/drivers/tristar-mppt/config.js';
import { tristarMppt } from '../../../src/drivers/tristar-mppt/definition.js';
import { encodeHalf } from '../../../src/drivers/tristar-mppt/half-float.js';
import {
  parseRecorded,
  RECORDED,
  type RecordedName,
  recordedUnit,
  simulatorUnits,
} from '../../../src/drivers/tristar-mppt/recorded.js';
import { startTristarSimulator, type TristarSimulator } from '../../../src/drivers/tristar-mppt/simulator.js';
import { type TristarReading, TristarSource } from '../../../src/drivers/tristar-mppt/source.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait.js';

function memoryLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function simulator(over: Partial<Parameters<typeof startTristarSimulator>[0]> = {}): Promise<TristarSimulator> {
  const sim = await startTristarSimulator({ host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }), ...over });
  cleanups.push(() => sim.stop());
  return sim;
}

/**
 * The ioBroker recording with every other register of 0x0000–0x0044 filled in, so the block answers
 * whole as on a real controller (the fill values are the test's, not recorded: firmware 0x0012,
 * target 0, kWh total 321).
 */
function wholeBlock(): Map<number, ReadonlyMap<number, number>> {
  const rec = recordedUnit('iobroker-night-12v').registers;
  const fill = new Map<number, number>([
    [0x04, 0x0012],
    [0x33, 0],
    [0x39, 321],
  ]);
  const regs = new Map<number, number>();
  for (let a = 0; a <= 0x44; a++) regs.set(a, rec.get(a) ?? fill.get(a) ?? 0);
  return new Map([[1, regs]]);
}

function config(port: number, over: Partial<TristarConfig> = {}): TristarConfig {
  return parseWithSchema(
    TristarConfigSchema,
    { host: '127.0.0.1', port, poll_interval_s: 1, timeout_ms: 500, ...over },
    'tristar-mppt',
  );
}

interface Harness {
  source: TristarSource;
  readings: TristarReading[];
  states: SourceState[];
  lines: Array<Record<string, unknown>>;
}

async function source(cfg: TristarConfig): Promise<Harness> {
  const { log, lines } = memoryLog();
  const s = new TristarSource(cfg, { log });
  const h: Harness = { source: s, readings: [], states: [], lines };
  s.onReading((r) => h.readings.push(r as TristarReading));
  s.onState((st) => h.states.push(st));
  await s.start();
  cleanups.push(() => s.stop());
  return h;
}

const messages = (h: Harness) => h.lines.map((l) => String(l.msg));
const NIGHT = {
  battery_voltage_v: 13.43,
  pv_power_w: 0,
  pv_daily_kwh: 0,
  mppt1_voltage_v: 0.33,
  mppt1_current_a: 0,
  battery_temp_c: 5,
  charge_state: 'night',
  charge_current_a: 0,
  heatsink_temp_c: 4,
};

describe('the recorded answers', () => {
  it('are the fixture files, word for word', () => {
    for (const name of Object.keys(RECORDED) as RecordedName[]) {
      expect(RECORDED[name], name).toBe(readFileSync(fixturePath(`tristar-mppt/${name}.txt`), 'utf8'));
    }
  });

  it('refuse what is not an answer to its read, naming the line', () => {
    expect(() => parseRecorded('unit 1\nread 0x26 1\ncsv 2,4,2,17,160\n', 'x.txt')).toThrow(
      'x.txt:3: the answer is from unit 2, the file says unit 1',
    );
    expect(() => parseRecorded('unit 1\nread 0x26 2\ncsv 1,4,2,17,160\n', 'x.txt')).toThrow(
      'x.txt:3: not an FC03/FC04 answer of 2 registers',
    );
    expect(() => parseRecorded('unit 1\nread 24 1\nwords 2445\nread 24 1\nwords 2446\n', 'x.txt')).toThrow(
      'x.txt:5: register 24 is 2445 in an earlier answer, 2446 here',
    );
    expect(() => parseRecorded('read 24 1\nwords 1\n', 'x.txt')).toThrow('x.txt:2: no unit line before it');
  });

  it('serve the MBCSV bytes as words: dodo5522’s 0x0027 "255,168" is 0xFFA8', () => {
    expect(recordedUnit('dodo-night-24v').registers.get(0x27)).toBe(0xffa8);
    expect(recordedUnit('dodo-night-24v').registers.get(0x34)).toBe(2);
    expect(recordedUnit('dodo-night-24v').registers.get(0x35)).toBe(0xe786);
  });
});

describe('the simulated controller', () => {
  it('answers FC03 and FC04 alike, then closes the socket as the TS-MPPT does', async () => {
    const sim = await simulator();
    const ask = (fc: number) =>
      new Promise<{ answer: string; closedByServer: boolean }>((resolve, reject) => {
        const sock = connect(sim.port, '127.0.0.1', () =>
          sock.write(Buffer.from(`000100000006010${fc}00180001`, 'hex')),
        );
        let answer = '';
        sock.on('data', (d: Buffer) => {
          answer += d.toString('hex');
        });
        sock.once('end', () => resolve({ answer, closedByServer: true }));
        sock.once('error', reject);
      });
    // Unit 1, wire 0x0018 (logical 25): 2445 = 0x098D.
    expect(await ask(3)).toEqual({ answer: '000100000005010302098d', closedByServer: true });
    expect(await ask(4)).toEqual({ answer: '000100000005010402098d', closedByServer: true });
    expect(sim.connections).toBe(2);
  });
});

describe('the TriStar MPPT driver', () => {
  it('reads both of the simulator’s controllers: the same night in V_PU/I_PU and in half-floats', async () => {
    const sim = await simulator();
    const legacy = await source(config(sim.port, { unit_id: 1 }));
    const f16 = await source(config(sim.port, { unit_id: 2 }));
    await waitFor(() => legacy.readings.length > 0 && f16.readings.length > 0, 'a reading of each');
    expect(legacy.readings[0]?.fields).toMatchObject({ ...NIGHT, encoding: 'vpu' });
    expect(f16.readings[0]?.fields).toMatchObject({ ...NIGHT, encoding: 'f16' });
    // Not recorded: null, never 0.
    expect(legacy.readings[0]?.fields.pv_total_kwh).toBeNull();
    expect(legacy.readings[0]?.fields.target_voltage_v).toBeNull();
    for (const h of [legacy, f16]) {
      expect(h.readings[0]?.fields).not.toHaveProperty('grid_power_w');
      expect(h.readings[0]?.fields).not.toHaveProperty('battery_power_w');
      expect(h.readings[0]?.fields).not.toHaveProperty('battery_current_a');
    }
    // The choice is logged once, with the other reading for comparison.
    expect(legacy.lines.filter((l) => l.msg === 'values are scaled by V_PU/I_PU')).toHaveLength(1);
    expect(f16.lines.find((l) => l.msg === 'values are half-floats (newer firmware)')).toMatchObject({
      encoding: 'f16',
      f16_v: 13.43,
      vpu_v: 105.07,
    });
  }, 30_000);

  it('connects, reads the block in one request and the controller closes, every poll', async () => {
    const sim = await simulator({ units: wholeBlock() });
    const h = await source(config(sim.port));
    await waitFor(() => h.readings.length >= 3, 'three readings');
    await h.source.stop();
    // One read of 0x0000–0x0044 per connection, each connection closed by the server after it.
    expect(sim.requests.length).toBeGreaterThanOrEqual(3);
    for (const r of sim.requests) expect(r).toMatchObject({ fc: 3, unit: 1, address: 0, count: 0x45, answer: 'words' });
    expect(sim.connections).toBe(sim.requests.length);
    expect(new Set(sim.requests.map((r) => r.connection)).size).toBe(sim.requests.length);
    expect(h.readings[0]?.fields).toMatchObject({ ...NIGHT, pv_total_kwh: 321, target_voltage_v: 0 });
    expect(messages(h)).toContain('tristar controller firmware');
  }, 30_000);

  it('follows the charge state and logs it once per change; names an unknown code', async () => {
    const sim = await simulator({ units: wholeBlock() });
    const h = await source(config(sim.port));
    await waitFor(() => h.readings.length > 0, 'a reading');
    sim.set(1, 0x32, 7);
    await waitFor(() => h.readings.at(-1)?.fields.charge_state === 'float', 'float');
    sim.set(1, 0x32, 12);
    await waitFor(() => h.readings.at(-1)?.fields.charge_state === 'unknown_12', 'an unknown state');
    const changes = h.lines.filter((l) => l.msg === 'charge state').map((l) => l.charge_state);
    expect(changes).toEqual(['night', 'float', 'unknown_12']);
  }, 30_000);

  it('obeys a forced encoding, even where auto would choose the other', async () => {
    const sim = await simulator();
    const forced = await source(config(sim.port, { unit_id: 1, encoding: 'f16' }));
    await waitFor(() => forced.readings.length > 0, 'a reading');
    // 2445 read as a half-float is 0.00017 V: forced, so reported as such, and nothing logged about it.
    expect(forced.readings[0]?.fields).toMatchObject({ battery_voltage_v: 0, encoding: 'f16', charge_state: 'night' });
    expect(messages(forced)).not.toContain('values are half-floats (newer firmware)');
  }, 30_000);

  it('leaves out what is not available: a disconnected RTS, a NaN half-float', async () => {
    const sim = await simulator();
    sim.set(1, 0x24, 0x80);
    sim.set(2, 0x24, 0x80);
    sim.set(2, 0x1b, encodeHalf(Number.NaN));
    const legacy = await source(config(sim.port, { unit_id: 1 }));
    const f16 = await source(config(sim.port, { unit_id: 2, encoding: 'f16' }));
    await waitFor(() => legacy.readings.length > 0 && f16.readings.length > 0, 'a reading of each');
    expect(legacy.readings[0]?.fields.battery_temp_c).toBeNull();
    expect(f16.readings[0]?.fields).toMatchObject({
      battery_temp_c: null,
      mppt1_voltage_v: null,
      battery_voltage_v: 13.43,
    });
  }, 30_000);

  it('cannot tell the encoding without the battery voltage: says so once, scaled values null', async () => {
    const units = simulatorUnits();
    const regs = new Map(units.get(1));
    regs.delete(0x18);
    const sim = await simulator({ units: new Map([[1, regs]]) });
    const h = await source(config(sim.port));
    await waitFor(() => h.readings.length >= 2, 'two readings');
    expect(h.readings[1]?.fields).toMatchObject({
      battery_voltage_v: null,
      mppt1_voltage_v: null,
      pv_power_w: null,
      charge_state: 'night',
      pv_daily_kwh: 0,
      encoding: null,
    });
    const warned = h.lines.filter((l) => String(l.msg).startsWith('cannot tell the controller’s encoding'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ why: 'battery voltage (0x0018) not read' });
  }, 30_000);

  it('leaves out a register the firmware refuses (exception 2) and keeps reading the rest', async () => {
    const sim = await simulator({ units: wholeBlock() });
    sim.remove(1, 0x39);
    const h = await source(config(sim.port));
    await waitFor(() => h.readings.length >= 2, 'two readings');
    expect(h.readings[0]?.fields).toMatchObject({ ...NIGHT, pv_total_kwh: null });
    expect(h.lines.find((l) => String(l.msg).startsWith('register not supported'))).toMatchObject({ wire: 0x39 });
    // Learnt: later polls no longer ask for it (no request spans 0x39 once it is known).
    const last = sim.requests.slice(-2);
    for (const r of last) expect(r.address > 0x39 || r.address + r.count <= 0x39).toBe(true);
    expect(h.source.stats().unsupported).toEqual([{ doc: 0x39, field: 'kwhc_t', reason: 'exception' }]);
  }, 30_000);

  it('a unit id the controller does not have gets no answer: lost, no readings', async () => {
    const sim = await simulator();
    const h = await source(config(sim.port, { unit_id: 9, timeout_ms: 200 }));
    await waitFor(() => h.states.includes('lost'), 'lost');
    expect(h.readings).toHaveLength(0);
    expect(sim.requests.every((r) => r.answer === 'none')).toBe(true);
  }, 30_000);

  it('is lost when the controller goes away and reads again when it comes back', async () => {
    const sim = await simulator();
    const port = sim.port;
    const h = await source(config(port, { unit_id: 2 }));
    await waitFor(() => h.readings.length > 0, 'a first reading');
    await sim.stop();
    await waitFor(() => h.states.includes('lost'), 'lost');
    const n = h.readings.length;
    const back = await simulator({ port });
    await waitFor(() => h.readings.length > n, 'a reading after it came back', 30_000);
    expect(h.states.at(-1)).toBe('connected');
    expect(h.readings.at(-1)?.fields).toMatchObject({ ...NIGHT, encoding: 'f16' });
    expect(back.connections).toBeGreaterThan(0);
  }, 60_000);
});

describe('a tristar-mppt device config', () => {
  const parse = (c: Record<string, unknown>) =>
    parseWithSchema(tristarMppt.configSchema, c, 'edge.yaml', 'devices[1]') as TristarConfig;

  it('takes the documented defaults', () => {
    expect(parse({ host: '192.168.1.101' })).toEqual({
      host: '192.168.1.101',
      port: 502,
      unit_id: 1,
      poll_interval_s: 5,
      timeout_ms: 2000,
      encoding: 'auto',
      retry_unsupported_s: 3600,
    });
    expect(parse({ host: 'sc1', port: 1025, encoding: 'f16' })).toMatchObject({ port: 1025, encoding: 'f16' });
  });

  it('refuses a bad config, naming the key', () => {
    expect(() => parse({ host: 'sc1', encoding: 'float16' })).toThrow('devices[1].encoding');
    expect(() => parse({ host: 'sc1', unit_id: 0 })).toThrow('devices[1].unit_id');
    expect(() => parse({ host: 'sc1', port: 70000 })).toThrow('devices[1].port');
    expect(() => parse({ port: 502 })).toThrow('devices[1].host');
    expect(() => parse({ host: 'sc1', scaling: 'vpu' })).toThrow('devices[1].scaling: unknown key');
  });
});
