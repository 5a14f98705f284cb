/**
 * The Huawei SUN2000 driver against its simulator on 127.0.0.1 (recorded answers of real
 * installations): values and signs of both units of the simulated SDongle over one shared
 * connection, not-available markers, exceptions 2 and 6, the wait after connecting, the pause
 * between requests, a meter that goes offline, a device that goes away and comes back, bad configs.
 * What the server saw (requests, connections, busy answers) is checked on the server's side.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import {
  checkHuaweiConfig,
  type HuaweiConfig,
  HuaweiConfigSchema,
} from '../../../src/drivers/huawei-sun2000/config.js';
import { huaweiSun2000 } from '../../../src/drivers/huawei-sun2000/definition.js';
import { parseRecorded, RECORDED, type RecordedName } from '../../../src/drivers/huawei-sun2000/recorded.js';
import { HUAWEI_TABLE } from '../../../src/drivers/huawei-sun2000/registers.js';
import { type HuaweiSimulator, startHuaweiSimulator } from '../../../src/drivers/huawei-sun2000/simulator.js';
import {
  type HuaweiReading,
  HuaweiSource,
  type HuaweiSourceOptions,
} from '../../../src/drivers/huawei-sun2000/source.js';
import { tableProblems } from '../../../src/drivers/modbus/table-problems.js';
import type { SourceState } from '../../../src/drivers/source.js';
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

async function simulator(over: Partial<Parameters<typeof startHuaweiSimulator>[0]> = {}): Promise<HuaweiSimulator> {
  const sim = await startHuaweiSimulator({ host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }), ...over });
  cleanups.push(() => sim.stop());
  return sim;
}

function config(port: number, over: Partial<HuaweiConfig> = {}): HuaweiConfig {
  return parseWithSchema(
    HuaweiConfigSchema,
    {
      host: '127.0.0.1',
      port,
      poll_interval_s: 1,
      meter_interval_s: 1,
      connect_delay_ms: 0,
      inter_register_delay_ms: 0,
      timeout_ms: 1000,
      ...over,
    },
    'huawei-sun2000',
  );
}

interface Harness {
  source: HuaweiSource;
  readings: HuaweiReading[];
  states: SourceState[];
  lines: Array<Record<string, unknown>>;
}

async function source(cfg: HuaweiConfig, opts: HuaweiSourceOptions = {}): Promise<Harness> {
  const { log, lines } = memoryLog();
  const s = new HuaweiSource(cfg, { log, ...opts });
  const h: Harness = { source: s, readings: [], states: [], lines };
  s.onReading((r) => h.readings.push(r as HuaweiReading));
  s.onState((st) => h.states.push(st));
  await s.start();
  cleanups.push(() => s.stop());
  return h;
}

const messages = (h: Harness) => h.lines.map((l) => String(l.msg));

describe('the Huawei SUN2000 register table', () => {
  it('is sound: wire = documented number, 32-bit rows high word first, no overlaps', () => {
    expect(tableProblems(HUAWEI_TABLE.rows, 0)).toEqual([]);
    expect(HUAWEI_TABLE.rows.every((r) => r.fn === 'holding')).toBe(true);
    const grid = HUAWEI_TABLE.rows.find((r) => r.field === 'grid_power_w');
    expect(grid).toMatchObject({ doc: 37113, wire: 37113, words: 'msw', negate: true });
    const battery = HUAWEI_TABLE.rows.find((r) => r.field === 'battery_power_w');
    expect(battery).toMatchObject({ wire: 37765, words: 'msw' });
    expect(battery?.negate).toBeUndefined(); // + charging on the wire, as in the snapshot
  });
});

describe('the recorded answers', () => {
  it('are the fixture files, word for word', () => {
    for (const name of Object.keys(RECORDED) as RecordedName[]) {
      expect(RECORDED[name], name).toBe(readFileSync(fixturePath(`huawei-sun2000/${name}.txt`), 'utf8'));
    }
  });

  it('refuse a frame that is not the answer to its read, naming the line', () => {
    expect(() =>
      parseRecorded('unit 1\nread 30073 4\nanswer 0A 6C 00 00 00 0B 01 03 08 00 00 1F 40\n', 'x.txt'),
    ).toThrow('x.txt:3: not a Modbus TCP answer to an FC03 read of 4 registers');
    expect(() =>
      parseRecorded('unit 2\nread 30073 4\nanswer 0A 6C 00 00 00 0B 01 03 08 00 00 1F 40 00 00 22 60\n', 'x.txt'),
    ).toThrow('x.txt:3: the answer is from unit 1, the file says unit 2');
  });

  it('are served byte for byte: the logged request gets the logged answer', async () => {
    const sim = await simulator();
    const ask = (hex: string) =>
      new Promise<string>((resolve, reject) => {
        const sock = connect(sim.port, '127.0.0.1', () => sock.write(Buffer.from(hex.replace(/ /g, ''), 'hex')));
        sock.once('data', (d: Buffer) => {
          sock.destroy();
          resolve(
            d
              .toString('hex')
              .toUpperCase()
              .replace(/(..)(?!$)/g, '$1 '),
          );
        });
        sock.once('error', reject);
      });
    // huawei_solar#1371: "TCP sent: 0A 6C 00 00 00 06 01 03 75 79 00 04" (30073 as 0x7579, no − 1).
    expect(await ask('0A6C 0000 0006 01 03 7579 0004')).toBe('0A 6C 00 00 00 0B 01 03 08 00 00 1F 40 00 00 22 60');
    // The 38-register meter read of the same log (37100 = 0x90EC), answered with its recorded frame.
    const meter = readFileSync(fixturePath('huawei-sun2000/meter-dtsu666.txt'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('answer 0A 6B'))
      ?.slice('answer '.length);
    expect(await ask('0A6B 0000 0006 01 03 90EC 0026')).toBe(meter);
  });
});

describe('HuaweiSource against the simulated SDongle', () => {
  it('reads two inverters behind one dongle over ONE connection, each with its own values and signs', async () => {
    const sim = await simulator();
    const hybrid = await source(config(sim.port, { unit_id: 1 }), { name: 'roof' });
    const night = await source(config(sim.port, { unit_id: 2 }), { name: 'garage' });
    await waitFor(() => hybrid.readings.length > 0 && night.readings.length > 0, 'a reading from each unit');

    const h = hybrid.readings[0]?.fields ?? {};
    // The meter (37113 = +995 W, feed-in) as the snapshot's grid: − export.
    expect(h).toMatchObject({ grid_power_w: -995, power_l1_w: -1014, power_l2_w: 994, power_l3_w: -975 });
    expect(h).toMatchObject({ current_l1_a: -4.23, current_l2_a: 4.18, voltage_l1_v: 241, voltage_l3_v: 242 });
    expect(h).toMatchObject({ grid_import_kwh: 232.49, grid_export_kwh: 396.45, meter_type: 'three-phase' });
    // The inverter block (5119 W DC in, 303 W AC out) and the battery (+3334 W charging, 79 %).
    expect(h).toMatchObject({ pv_power_w: 5119, inverter_ac_power_w: 303, pv_total_kwh: 1227.99, pv_daily_kwh: 5.38 });
    expect(h).toMatchObject({ battery_power_w: 3334, battery_soc_pct: 79, battery_total_charge_kwh: 1852.51 });
    expect(h).toMatchObject({ inverter_state: 'On-grid', battery_state: 'running', inverter_age_s: 0, meter_age_s: 0 });
    expect(hybrid.source.has).toEqual({ meter: true, battery: true });
    expect(hybrid.source.device).toMatchObject({ rated_power_w: 8000, model: null });

    const n = night.readings[0]?.fields ?? {};
    expect(n).toMatchObject({ pv_power_w: 0, pv_total_kwh: 207.34, inverter_state: 'Standby: no irradiation' });
    // Neither a meter nor a battery on unit 2: their fields are absent (null), never 0.
    expect(n.grid_power_w ?? null).toBeNull();
    expect(n.battery_soc_pct ?? null).toBeNull();
    expect(n.battery_power_w ?? null).toBeNull();
    expect(night.source.has).toEqual({ meter: false, battery: false });
    expect(night.source.device).toMatchObject({
      model: 'SUN2000-3KTL-L1',
      serial: 'HV3021621085',
      rated_power_w: 3000,
    });
    expect(messages(night)).toContain("no power meter (37100: not available): the device's grid values stay null");
    expect(messages(night)).toContain("no battery: the device's battery values stay null");
    expect(messages(hybrid)).toContain('battery found: its values every poll_interval_s');

    // One client only: both devices share the dongle's one connection; each request named its unit.
    expect(sim.connections).toBe(1);
    const units = new Set(sim.requests.map((r) => r.unit));
    expect(units).toEqual(new Set([1, 2]));
    expect(sim.requests.every((r) => r.fc === 3)).toBe(true);

    // One of them stops: the other goes on over the same connection; the last one closes it.
    await night.source.stop();
    const count = hybrid.readings.length;
    await waitFor(() => hybrid.readings.length >= count + 2, 'two more readings from unit 1');
    expect(sim.connections).toBe(1);
    expect(sim.open).toBe(1);
    await hybrid.source.stop();
    await waitFor(() => sim.open === 0, 'the connection closed');
  }, 30_000);

  it('reads the meter block faster than the inverter, and only while 37100 says the meter is online', async () => {
    const sim = await simulator();
    const h = await source(config(sim.port, { poll_interval_s: 3, meter_interval_s: 1 }));
    await waitFor(() => h.readings.length >= 4, 'four readings');
    const meterReads = sim.requests.filter((r) => r.address === 37101).length;
    const inverterReads = sim.requests.filter((r) => r.address === 32064).length;
    expect(meterReads).toBeGreaterThan(inverterReads);
    // Values carried between inverter reads say how old they are.
    expect(h.readings.some((r) => (r.fields.inverter_age_s as number) >= 1)).toBe(true);
    expect(h.readings.every((r) => r.fields.pv_power_w === 5119)).toBe(true);

    // The meter goes offline: its block is no longer read and its values go away.
    sim.set(1, 37100, 0);
    await waitFor(() => h.source.has.meter === false, 'the meter seen offline');
    const before = sim.requests.filter((r) => r.address === 37101).length;
    const n = h.readings.length;
    await waitFor(() => h.readings.length >= n + 2, 'two more readings');
    expect(h.readings.at(-1)?.fields.grid_power_w ?? null).toBeNull();
    expect(sim.requests.filter((r) => r.address === 37101).length).toBe(before);
    expect(messages(h)).toContain("no power meter (37100: 0, offline): the device's grid values stay null");
  }, 30_000);

  it('turns not-available markers into null: 0x7FFFFFFF and 0x80000000 (I32), 0xFFFF (U16)', async () => {
    const sim = await simulator();
    sim.set(1, 37113, 0x7fff, 0xffff); // meter power: the library's marker
    sim.set(1, 32064, 0x8000, 0x0000); // input power: evcc's int32nan
    sim.set(1, 37765, 0x7fff, 0xffff); // battery power
    const h = await source(config(sim.port));
    await waitFor(() => h.readings.length > 0, 'a reading');
    const f = h.readings[0]?.fields ?? {};
    expect(f.grid_power_w).toBeNull();
    expect(f.pv_power_w).toBeNull();
    expect(f.battery_power_w).toBeNull();
    // The rest of the same blocks is kept.
    expect(f).toMatchObject({ power_l1_w: -1014, inverter_ac_power_w: 303, battery_soc_pct: 79 });
    sim.set(1, 37760, 0xffff); // the SoC now says "not available"
    await waitFor(() => (h.readings.at(-1)?.fields.battery_soc_pct ?? null) === null, 'SoC null');
  }, 30_000);

  it('leaves registers the unit lacks (exception 2) null and keeps the rest', async () => {
    const sim = await simulator();
    const h = await source(config(sim.port, { unit_id: 2 }));
    await waitFor(() => h.readings.length > 0, 'a reading');
    // 32108 is not in the night recording: the 52-register read was refused, split, and 32108 left out.
    expect(h.readings[0]?.fields).toMatchObject({
      pv_total_kwh: 207.34,
      pv_daily_kwh: 0.65,
      inverter_dc_input_total_kwh: null,
    });
    expect(h.source.stats().unsupported.map((u) => u.doc)).toContain(32108);
    expect(sim.requests.some((r) => r.answer === 'exception 2')).toBe(true);
  }, 30_000);

  it('asks again, slower, when the dongle answers busy (exception 6)', async () => {
    const sim = await simulator();
    sim.busyNext(3);
    const h = await source(config(sim.port, { busy_retries: 5 }));
    await waitFor(() => h.readings.length > 0, 'a reading');
    expect(sim.requests.slice(0, 3).map((r) => r.answer)).toEqual(['exception 6', 'exception 6', 'exception 6']);
    // The request that was refused is the one asked again, and then answered (here: exception 2,
    // the hybrid unit's recording has no model name).
    expect(sim.requests[3]?.address).toBe(sim.requests[0]?.address);
    expect(sim.requests[3]?.answer).not.toBe('exception 6');
    expect(h.source.stats().busy).toBe(3);
    expect(h.readings[0]?.fields.grid_power_w).toBe(-995);
    expect(messages(h)).toContain('device busy (Modbus exception 6): asking again later, slower');
  }, 30_000);

  it('waits after connecting and between requests, so a strict dongle never says busy', async () => {
    // The simulator answers "busy" to requests within 400 ms of the connect or 80 ms of an answer.
    const sim = await simulator({ busyAfterConnectMs: 400, busyGapMs: 80 });
    const h = await source(config(sim.port, { connect_delay_ms: 500, inter_register_delay_ms: 100, busy_retries: 0 }));
    await waitFor(() => h.readings.length >= 2, 'two readings');
    expect(sim.requests.length).toBeGreaterThan(5);
    expect(sim.requests.filter((r) => r.answer === 'exception 6')).toEqual([]);
    expect(h.source.stats().busy).toBe(0);
  }, 30_000);

  it('is lost when the dongle goes away and reads again when it comes back', async () => {
    const sim = await simulator();
    const port = sim.port;
    const h = await source(config(port, { timeout_ms: 500 }));
    await waitFor(() => h.readings.length > 0, 'a first reading');
    await sim.stop();
    await waitFor(() => h.states.includes('lost'), 'lost');
    const n = h.readings.length;
    const back = await simulator({ port });
    await waitFor(() => h.readings.length > n, 'a reading after the dongle came back', 30_000);
    expect(h.states.at(-1)).toBe('connected');
    expect(h.readings.at(-1)?.fields).toMatchObject({ grid_power_w: -995, battery_power_w: 3334 });
    expect(back.connections).toBe(1);
  }, 60_000);
});

describe('a huawei-sun2000 device config', () => {
  const parse = (c: Record<string, unknown>) => {
    const cfg = parseWithSchema(huaweiSun2000.configSchema, c, 'edge.yaml', 'devices[1]') as HuaweiConfig;
    checkHuaweiConfig(cfg, 'devices[1]');
    return cfg;
  };

  it('takes the documented defaults', () => {
    expect(parse({ host: '192.168.1.80' })).toMatchObject({
      port: 502,
      unit_id: 1,
      poll_interval_s: 5,
      meter_interval_s: 2,
      connect_delay_ms: 1500,
      inter_register_delay_ms: 50,
      timeout_ms: 10_000,
    });
  });

  it('refuses what is wrong, naming the key', () => {
    expect(() => parse({})).toThrow('devices[1].host');
    expect(() => parse({ host: 'x', port: 70000 })).toThrow('devices[1].port');
    expect(() => parse({ host: 'x', unit_id: 300 })).toThrow('devices[1].unit_id');
    expect(() => parse({ host: 'x', poll_interval_s: 0.5 })).toThrow('devices[1].poll_interval_s');
    expect(() => parse({ host: 'x', slave_id: 1 })).toThrow('devices[1].slave_id: unknown key');
    expect(() => parse({ host: 'x', unit_id: 100 })).toThrow(
      "devices[1].unit_id: 100 is the SDongle itself (the plant's totals), not an inverter",
    );
  });
});
