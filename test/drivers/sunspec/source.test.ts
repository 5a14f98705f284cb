/**
 * The SunSpec driver against SunSpec register servers on 127.0.0.1: discovery at each base, the
 * ways a chain ends, scale factors (a positive one too), "not implemented" values, exception 2 on a
 * point, the meter and battery signs and their checks, a device that goes away and comes back (with
 * the same chain, and with another one), bad configs. Registers are the recorded devices' or built
 * from the model layouts (models.ts, the SunSpec JSON's offsets); what the server saw is checked
 * on the server's side.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import { ModbusTcpClient } from '../../../src/drivers/modbus/tcp-client.js';
import type { SourceReading, SourceState } from '../../../src/drivers/source.js';
import { describeChain, discover, NotSunSpecError } from '../../../src/drivers/sunspec/chain.js';
import { type SunSpecConfig, SunSpecConfigSchema } from '../../../src/drivers/sunspec/config.js';
import { sunspec } from '../../../src/drivers/sunspec/definition.js';
import { MeterSignCheck } from '../../../src/drivers/sunspec/fields.js';
import { MODEL_1, MODEL_101, MODEL_201, MODEL_802, type ModelLayout } from '../../../src/drivers/sunspec/models.js';
import {
  encodeDecodedDump,
  intWords,
  parseDecodedDump,
  parseRegisterDump,
  type RegisterMap,
  stringWords,
} from '../../../src/drivers/sunspec/recorded.js';
import { SUNSPEC_RECORDINGS } from '../../../src/drivers/sunspec/recordings.js';
import {
  startRegisterServer,
  startSunSpecSimulator,
  sunspecRecording,
} from '../../../src/drivers/sunspec/simulator.js';
import { SunSpecSource } from '../../../src/drivers/sunspec/source.js';
import { float32 } from '../../../src/drivers/sunspec/table.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { waitFor } from '../../helpers/wait.js';

const quiet = pino({ level: 'silent' });

function memoryLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function server(registers: RegisterMap, over: { port?: number; refresh?: (r: RegisterMap) => void } = {}) {
  const s = await startRegisterServer({ host: '127.0.0.1', port: over.port ?? 0, registers, log: quiet, ...over });
  cleanups.push(() => s.stop());
  return s;
}

function config(port: number, over: Partial<SunSpecConfig> = {}): SunSpecConfig {
  return parseWithSchema(
    SunSpecConfigSchema,
    { host: '127.0.0.1', port, poll_interval_s: 1, timeout_ms: 1000, inter_register_delay_ms: 0, ...over },
    'test',
  ) as SunSpecConfig;
}

async function source(cfg: SunSpecConfig, log = quiet) {
  const s = new SunSpecSource(cfg, { log, reconnectBaseMs: 100, reconnectMaxMs: 300 });
  const readings: SourceReading[] = [];
  const states: SourceState[] = [];
  s.onReading((r) => readings.push(r));
  s.onState((st) => states.push(st));
  await s.start();
  cleanups.push(() => s.stop());
  return { s, readings, states };
}

/** A chain from `base + 2` of [layout, id, point → raw words], ending with the end model (or not). */
function chainMap(
  base: number,
  models: Array<{ layout: ModelLayout; id: number; set?: Record<string, number[]> }>,
  end: 'end_model' | 'none' = 'end_model',
): RegisterMap {
  const m: RegisterMap = new Map([
    [base, 0x5375],
    [base + 1, 0x6e53],
  ]);
  let at = base + 2;
  for (const { layout, id, set } of models) {
    m.set(at, id);
    m.set(at + 1, layout.length);
    for (let i = 2; i < 2 + layout.length; i++) m.set(at + i, 0);
    for (const [name, words] of Object.entries(set ?? {})) {
      const p = layout.points.find((x) => x[0] === name);
      if (!p) throw new Error(`no point ${name}`);
      words.forEach((w, i) => {
        m.set(at + p[1] + i, w & 0xffff);
      });
    }
    at += 2 + layout.length;
  }
  if (end === 'end_model') {
    m.set(at, 0xffff);
    m.set(at + 1, 0);
  }
  return m;
}

const common = { layout: MODEL_1, id: 1, set: { Mn: stringWords('Kwartier test', 16), SN: stringWords('T1', 16) } };

async function walk(port: number) {
  const c = new ModbusTcpClient({ host: '127.0.0.1', port, unitId: 1, timeoutMs: 1000, interRequestDelayMs: 0 });
  await c.connect();
  try {
    return await discover(c);
  } finally {
    await c.close();
  }
}

describe('sunspec discovery', () => {
  it('finds SunS at 40000, 0 or 50000 and walks by the reported lengths', async () => {
    for (const base of [40000, 0, 50000]) {
      const s = await server(chainMap(base, [common, { layout: MODEL_101, id: 103 }]));
      const chain = await walk(s.port);
      expect(chain.base).toBe(base);
      expect(describeChain(chain)).toBe(`1(66) 103(50) end_model@${base + 2 + 68 + 52}`);
    }
  });

  it('ends at zeros (the AXS Port), at exception 2, and at an end model without a length', async () => {
    const axs = await server(parseRegisterDump(readFileSync(fixturePath('outback/axs-port-empty.csv'), 'utf8')));
    expect(describeChain(await walk(axs.port))).toBe('1(65) 64110(420) zeros@40491');
    // No request went past the zeros: pysunspec2 walked on to 43008 there (its issue #83).
    expect(Math.max(...axs.requests.map((r) => r.address + r.count))).toBeLessThanOrEqual(40493);

    const cut = await server(sunspecRecording('kostal-plenticore-plus8'));
    expect(describeChain(await walk(cut.port))).toBe('1(66) 103(50) exception@40122');

    const noLength = chainMap(40000, [common], 'none');
    noLength.set(40070, 0xffff);
    expect(describeChain(await walk((await server(noLength)).port))).toBe('1(66) end_model@40070');
  });

  it('says so when a device has no SunS marker', async () => {
    const s = await server(new Map([[40000, 1]]));
    await expect(walk(s.port)).rejects.toBeInstanceOf(NotSunSpecError);
  });
});

describe('sunspec values', () => {
  it('scales by the SF read with the value, a positive one too (KACO: W_SF 1, raw 259 = 2590 W)', async () => {
    const s = await server(
      chainMap(40000, [
        common,
        {
          layout: MODEL_101,
          id: 103,
          set: {
            W: [259],
            W_SF: [1],
            WH: intWords(123456, 2),
            WH_SF: [1],
            DCV: [6123],
            DCV_SF: intWords(-1, 1),
            St: [4],
          },
        },
      ]),
    );
    const h = await source(config(s.port));
    await waitFor(() => h.readings.length > 0, 'a reading');
    expect(h.readings[0]?.fields).toMatchObject({
      pv_power_w: 2590,
      pv_total_kwh: 1234.56,
      inverter_dc_voltage_v: 612.3,
      inverter_state: 'mppt',
      manufacturer: 'Kwartier test',
      serial: 'T1',
    });
  });

  it('reads "not implemented" as null, never 0: int16 0x8000, uint16 0xFFFF, acc32 0, SF 0x8000, float NaN', async () => {
    const s = await server(
      chainMap(40000, [
        common,
        {
          layout: MODEL_101,
          id: 101,
          set: { W: [0x8000], W_SF: [0], WH: [0, 0], WH_SF: [0], DCV: [300], DCV_SF: [0x8000], St: [0xffff] },
        },
      ]),
    );
    const h = await source(config(s.port));
    await waitFor(() => h.readings.length > 0, 'a reading');
    const f = h.readings[0]?.fields as Record<string, unknown>;
    for (const k of ['pv_power_w', 'pv_total_kwh', 'inverter_dc_voltage_v', 'inverter_state']) expect(f[k]).toBeNull();
    expect(float32(0x7fc00000)).toBeNull();
    expect(float32(0x43310000)).toBe(177);
  });

  it('makes a point the device refuses (exception 2) null and keeps reading the others', async () => {
    const { log, lines } = memoryLog();
    const s = await server(sunspecRecording('kostal-plenticore-plus8'));
    const h = await source(config(s.port), log);
    await waitFor(() => h.readings.length > 1, 'two readings');
    expect(h.readings[1]?.fields).toMatchObject({ pv_power_w: 940, pv_total_kwh: 56985.67, inverter_state: null });
    expect(h.states.at(-1)).toBe('connected');
    const refused = lines.filter((l) => String(l.msg).includes('not supported')).map((l) => l.field);
    expect(refused).toEqual(expect.arrayContaining(['1:St', '1:DCV', '1:DCW']));
    expect(s.requests.some((r) => r.answer === 'exception 2')).toBe(true);
  });

  it('gives the meter in the snapshot sign (+ import) for either meter_sign, and the battery + charging', async () => {
    // 800 W imported, as a Fronius meter says it (+) and as a SolarEdge meter says it (−); a battery
    // charging at 1200 W as + (battery_sign: charge) and as − (discharge, evcc's reading of 802).
    for (const [meterSign, w, batterySign, bw] of [
      ['import', 800, 'charge', 1200],
      ['export', -800, 'discharge', -1200],
    ] as const) {
      const regs = chainMap(40000, [
        common,
        {
          layout: MODEL_201,
          id: 203,
          set: {
            W: intWords(w, 1),
            WphA: intWords(w, 1),
            W_SF: [0],
            AphA: intWords(w / 2, 1),
            A_SF: intWords(-1, 1),
            PhVphA: [2301],
            V_SF: intWords(-1, 1),
            TotWhImp: intWords(12_345_678, 2),
            TotWhExp: intWords(2_000_000, 2),
            TotWh_SF: [0],
          },
        },
        {
          layout: MODEL_802,
          id: 802,
          set: {
            W: intWords(bw, 1),
            W_SF: [0],
            A: intWords(bw / 40, 1),
            A_SF: [0],
            ChaSt: [4],
            WHRtg: [9600],
            WHRtg_SF: [0],
          },
        },
      ]);
      const h = await source(config((await server(regs)).port, { meter_sign: meterSign, battery_sign: batterySign }));
      await waitFor(() => h.readings.length > 0, 'a reading');
      expect(h.readings[0]?.fields, meterSign).toMatchObject({
        grid_power_w: 800,
        power_l1_w: 800,
        current_l1_a: 40,
        voltage_l1_v: 230.1,
        grid_import_kwh: 12345.678,
        grid_export_kwh: 2000,
        battery_power_w: 1200,
        battery_current_a: 30,
        battery_state: 'charging',
        battery_capacity_kwh: 9.6,
      });
    }
  });

  it('simulates a coherent meter and battery from the simulated home', async () => {
    const sim = await startSunSpecSimulator({ host: '127.0.0.1', port: 0, log: quiet });
    cleanups.push(() => sim.stop());
    const h = await source(config(sim.port));
    await waitFor(() => h.readings.length > 0, 'a reading');
    const f = h.readings[0]?.fields as Record<string, number>;
    // W and the phase powers come from one request, so from one instant of the home.
    expect((f.power_l1_w ?? 0) + (f.power_l2_w ?? 0) + (f.power_l3_w ?? 0)).toBeCloseTo(
      f.grid_power_w ?? Number.NaN,
      -1,
    );
    expect(f.grid_import_kwh).toBeGreaterThan(0);
    expect(f.battery_capacity_kwh).toBe(10);
    expect(f.pv_power_w).toBe(940);
    expect(Math.sign(f.battery_power_w ?? 0)).toBe(
      ({ charging: 1, discharging: -1 } as Record<string, number>)[String(f.battery_state)] ?? 0,
    );
  });

  it('warns when the counters show the meter sign is the wrong way round', async () => {
    const { log, lines } = memoryLog();
    // A SolarEdge-like meter: +1500 W while exporting, and only TotWhExp rises.
    let exported = 1000;
    const regs = chainMap(40000, [
      common,
      {
        layout: MODEL_201,
        id: 203,
        set: { W: [1500], W_SF: [0], TotWh_SF: [0], TotWhImp: intWords(5000, 2), TotWhExp: intWords(exported, 2) },
      },
    ]);
    const meterAt = 40002 + 68;
    const s = await server(regs, {
      refresh: (r) => {
        exported += 1;
        intWords(exported, 2).forEach((w, i) => {
          r.set(meterAt + 38 + i, w);
        });
      },
    });
    const h = await source(config(s.port, { meter_sign: 'import' }), log);
    await waitFor(
      () => lines.some((l) => String(l.msg).includes('meter sign looks the wrong way round')),
      'the warning',
    );
    const warning = lines.find((l) => String(l.msg).includes('meter sign looks the wrong way round'));
    expect(warning).toMatchObject({ level: 40, rising_counter: 'TotWhExp', meter_sign: 'import' });
    expect(String(warning?.msg)).toContain('set meter_sign: export');
    expect(h.readings.at(-1)?.fields.grid_power_w).toBe(1500);
    // Once: not on every reading.
    await waitFor(() => h.readings.length > 4, 'more readings');
    expect(lines.filter((l) => String(l.msg).includes('wrong way round')).length).toBe(1);
  });

  it('warns when 802 says charging while its power says discharging', async () => {
    const { log, lines } = memoryLog();
    const regs = chainMap(40000, [
      common,
      { layout: MODEL_802, id: 802, set: { W: [2000], W_SF: [0], ChaSt: [4], SoC: [555], SoC_SF: intWords(-1, 1) } },
    ]);
    const h = await source(config((await server(regs)).port, { battery_sign: 'discharge' }), log);
    await waitFor(() => h.readings.length > 0, 'a reading');
    expect(h.readings[0]?.fields).toMatchObject({
      battery_power_w: -2000,
      battery_soc_pct: 55.5,
      battery_state: 'charging',
    });
    expect(lines.find((l) => String(l.msg).includes('battery sign looks the wrong way round'))).toMatchObject({
      battery_sign: 'discharge',
    });
  });
});

describe('the meter sign check', () => {
  it('stays quiet while the rising counter matches the power, warns once on two mismatches, says when it agrees again', () => {
    const { log, lines } = memoryLog();
    const check = new MeterSignCheck('import', log);
    // Importing 2 kW, the import counter rises: right.
    check.observe(2000, 100.0, 50.0);
    check.observe(2000, 100.5, 50.0);
    check.observe(2000, 101.0, 50.0);
    // Below the noise, or with both or neither counter moving: no evidence either way.
    check.observe(10, 101.0, 50.5);
    check.observe(-900, 101.5, 51.0);
    check.observe(-900, 101.5, 51.0);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(0);
    // The power says import while only the export counter rises: twice in a row → one warning.
    check.observe(1500, 101.5, 51.5);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(0);
    check.observe(1500, 101.5, 52.0);
    check.observe(1500, 101.5, 52.5);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    check.observe(1500, 102.0, 52.5);
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'meter sign agrees with its counters again' });
  });
});

describe('a sunspec device that goes away', () => {
  it('is lost, then reads again when it comes back; a changed chain is walked again', async () => {
    const first = chainMap(40000, [common, { layout: MODEL_101, id: 101, set: { W: [500], W_SF: [0] } }]);
    const s1 = await server(first);
    const port = s1.port;
    const h = await source(config(port, { timeout_ms: 500 }));
    await waitFor(() => h.readings.length > 0, 'a first reading');
    expect(h.readings[0]?.fields.pv_power_w).toBe(500);
    const walks = h.s.device.walkCount;
    await s1.stop();
    await waitFor(() => h.states.includes('lost'), 'lost');

    // Back with the same chain: no new walk needed.
    const s2 = await server(chainMap(40000, [common, { layout: MODEL_101, id: 101, set: { W: [600], W_SF: [0] } }]), {
      port,
    });
    await waitFor(() => h.readings.at(-1)?.fields.pv_power_w === 600, 'a reading after it came back');
    expect(h.states.at(-1)).toBe('connected');
    expect(h.s.device.walkCount).toBe(walks);
    await s2.stop();
    await waitFor(() => h.states.filter((x) => x === 'lost').length >= 1 && h.s.device.state === 'lost', 'lost again');

    // Back after a firmware update: a meter before the inverter. The identity read sees it.
    await server(
      chainMap(40000, [
        common,
        { layout: MODEL_201, id: 203, set: { W: intWords(-700, 1), W_SF: [0] } },
        { layout: MODEL_101, id: 101, set: { W: [650], W_SF: [0] } },
      ]),
      { port },
    );
    await waitFor(() => h.readings.at(-1)?.fields.grid_power_w === -700, 'the new chain read');
    expect(h.readings.at(-1)?.fields.pv_power_w).toBe(650);
    expect(h.s.device.walkCount).toBeGreaterThan(walks);
  }, 60_000);
});

describe('sunspec recordings', () => {
  it('carry the fixture files verbatim', () => {
    for (const [name, text] of Object.entries(SUNSPEC_RECORDINGS)) {
      expect(text, name).toBe(readFileSync(fixturePath(`sunspec/${name}.txt`), 'utf8'));
    }
  });

  it('end where a print was cut: a lone name, a line without its type, a type cut short', () => {
    // The last lines of fronius-symo-5-int-sf (`DCV_SF  n/a`) and fronius-smart-meter-float
    // (`Hz  49.9  float3`): neither is a point, so DCV_SF is not served as SF 0.
    const cut = parseDecodedDump(
      '--------- Model 103 inverter ---------\nW  0.00  int16\nDCV_SF  n/a\nHz  49.9  float3\nSt\n',
    );
    expect(cut).toEqual([{ id: 103, points: [{ name: 'W', value: '0.00', type: 'int16' }] }]);
    const meter = parseDecodedDump(SUNSPEC_RECORDINGS['fronius-smart-meter-float']);
    expect(meter.map((m) => m.id)).toEqual([1, 213]);
    expect(meter[1]?.points.at(-1)).toEqual({ name: 'PPVphCA', value: '406.2', type: 'float32' });
  });

  it('refuse a print with a point its model does not have', () => {
    const bad = parseDecodedDump('--------- Model 101 inverter ---------\nWatts  5  int16\n');
    expect(() => encodeDecodedDump(bad, [MODEL_101], 40000, 'x.txt')).toThrow('x.txt: model 101 has no point Watts');
  });
});

describe('a sunspec device config', () => {
  const parse = (c: Record<string, unknown>) =>
    parseWithSchema(sunspec.configSchema, c, 'edge.yaml', 'devices[1]') as SunSpecConfig;

  it('takes the documented defaults', () => {
    expect(parse({ host: '192.168.1.20' })).toMatchObject({
      port: 502,
      unit_id: 1,
      poll_interval_s: 5,
      meter_sign: 'import',
      battery_sign: 'discharge',
      max_registers_per_request: 125,
    });
  });

  it('refuses what is wrong, naming the key', () => {
    expect(() => parse({})).toThrow('devices[1].host');
    expect(() => parse({ host: 'x', meter_sign: 'plus' })).toThrow('devices[1].meter_sign');
    expect(() => parse({ host: 'x', battery_sign: 1 })).toThrow('devices[1].battery_sign');
    expect(() => parse({ host: 'x', unit_id: 300 })).toThrow('devices[1].unit_id');
    expect(() => parse({ host: 'x', max_registers_per_request: 126 })).toThrow('devices[1].max_registers_per_request');
    expect(() => parse({ host: 'x', base: 40000 })).toThrow('devices[1].base: unknown key');
  });
});
