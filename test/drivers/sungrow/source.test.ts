/**
 * The Sungrow poller against a Modbus TCP server on 127.0.0.1 holding hand-written register words
 * (register-server.ts, independent of the driver's table). Requests are counted on the server side.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import type { SourceState } from '../../../src/drivers/source.js';
import { type SungrowConfig, SungrowConfigSchema } from '../../../src/drivers/sungrow/config.js';
import { createSungrowSource, type SungrowReading, type SungrowSource } from '../../../src/drivers/sungrow/source.js';
import { waitFor } from '../../helpers/wait.js';
import { type LoggedRequest, lsw32, type RegisterServer, setDoc, startRegisterServer } from './register-server.js';

function config(port: number, over: Partial<SungrowConfig> = {}): SungrowConfig {
  return parseWithSchema(
    SungrowConfigSchema,
    {
      ip: '127.0.0.1',
      port,
      poll_interval_s: 1,
      inter_register_delay_ms: 0,
      connect_delay_ms: 0,
      timeout_ms: 500,
      reconnect_base_ms: 50,
      reconnect_max_ms: 200,
      ...over,
    },
    'test',
  );
}

function memoryLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

/** The words a real SH10RT would hold, written by hand from protocols.md §3.2 (doc numbers). */
function fillKnown(srv: RegisterServer): void {
  const i = srv.input;
  // serial "A2123456789" in 4990–4999 (UTF-8, 2 bytes per register, big-endian), type 0x0E03 = SH10RT
  const serial = Buffer.alloc(20);
  serial.write('A2123456789');
  for (let k = 0; k < 10; k++) setDoc(i, 4990 + k, serial.readUInt16BE(k * 2));
  setDoc(i, 5000, 0x0e03);
  setDoc(i, 5008, 412); // inverter 41.2 °C
  setDoc(i, 5011, 3725, 52, 3610, 47); // MPPT1 372.5 V 5.2 A, MPPT2 361.0 V 4.7 A
  setDoc(i, 5017, ...lsw32(3250)); // total DC power 3250 W
  setDoc(i, 5214, ...lsw32(-1200)); // battery −1200 on the wire = charging 1200 W
  setDoc(i, 5601, ...lsw32(-2000)); // meter: exporting 2000 W (+ = import)
  setDoc(i, 13000, 0x0040); // running
  setDoc(i, 13001, 0b10011); // PV, charging, feed-in
  setDoc(i, 13002, 123); // PV today 12.3 kWh
  setDoc(i, 13003, ...lsw32(1_234_567)); // PV total 123 456.7 kWh (0x0012D687: the high word matters)
  setDoc(i, 13008, ...lsw32(850)); // load 850 W
  setDoc(i, 13010, ...lsw32(2000)); // export power: + = export
  setDoc(i, 13017, 75); // direct consumption today 7.5 kWh
  setDoc(i, 13023, 873); // SoC 87.3 %
  setDoc(i, 13025, 0xffe7); // battery −2.5 °C
  setDoc(i, 13026, 34); // discharged today 3.4 kWh
  setDoc(i, 13027, ...lsw32(98_765)); // discharged in total 9876.5 kWh
  setDoc(i, 13040, 56); // charged today 5.6 kWh
  setDoc(i, 13041, ...lsw32(100_000)); // charged in total 10 000.0 kWh
  setDoc(srv.holding, 13050, 0); // EMS self-consumption
}

const EXPECTED_FIELDS = {
  pv_power_w: 3250,
  pv_daily_kwh: 12.3,
  pv_total_kwh: 123_456.7,
  mppt1_voltage_v: 372.5,
  mppt1_current_a: 5.2,
  mppt2_voltage_v: 361,
  mppt2_current_a: 4.7,
  battery_power_w: 1200,
  battery_soc_pct: 87.3,
  battery_temp_c: -2.5,
  battery_daily_charge_kwh: 5.6,
  battery_daily_discharge_kwh: 3.4,
  battery_total_charge_kwh: 10_000,
  battery_total_discharge_kwh: 9876.5,
  load_power_w: 850,
};

const EXPECTED_INVERTER = {
  inverter_grid_power_w: -2000,
  inverter_export_power_w: 2000,
  inverter_temp_c: 41.2,
  running_state: 0x0040,
  power_flow_bits: 0b10011,
  daily_direct_consumption_kwh: 7.5,
  ems_mode: 0,
};

interface Harness {
  srv: RegisterServer;
  source: SungrowSource;
  readings: SungrowReading[];
  states: SourceState[];
  /** Server log length at each reading (see cycle()). */
  marks: number[];
  lines: Array<Record<string, unknown>>;
}

let open: Harness[] = [];
afterEach(async () => {
  for (const h of open) {
    await h.source.stop();
    await h.srv.stop();
  }
  open = [];
});

async function harness(over: Partial<SungrowConfig> = {}, answerDelayMs = 0): Promise<Harness> {
  const srv = await startRegisterServer({ answerDelayMs });
  fillKnown(srv);
  const { log, lines } = memoryLog();
  const source = createSungrowSource(config(srv.port, over), { log });
  const h: Harness = { srv, source, readings: [], states: [], marks: [], lines };
  source.onReading((r) => {
    h.readings.push(r as SungrowReading);
    h.marks.push(h.srv.log.length);
  });
  source.onState((s) => h.states.push(s));
  open.push(h);
  await source.start();
  return h;
}

/** Requests of poll cycle k (1-based; cycle 1 includes the identity read). */
function cycle(h: Harness, k: number): LoggedRequest[] {
  return h.srv.log.slice(k >= 2 ? h.marks[k - 2] : 0, h.marks[k - 1]);
}

const covers = (r: LoggedRequest, wire: number) => wire >= r.address && wire < r.address + r.count;
const fmt = (r: LoggedRequest) => `${r.fn}:${r.address}+${r.count}`;

describe('Sungrow source against hand-set registers', () => {
  it('decodes known values: low word first, scales, battery sign flipped to + charging, both grid signs', async () => {
    const h = await harness();
    await waitFor(() => h.readings.length >= 1, 'a reading');
    const r = h.readings[0];
    expect(r?.source).toBe('sungrow');
    expect(r?.fields).toEqual(EXPECTED_FIELDS);
    expect(r?.inverter).toEqual(EXPECTED_INVERTER);
    expect(h.source.device).toEqual({ device_type_code: 0x0e03, model: 'SH10RT', serial: 'A2123456789' });
    // identity first (once), then the grouped table: 5 requests, not 24 rows
    expect(h.srv.log.slice(0, 6).map(fmt)).toEqual([
      'input:4989+11',
      'input:5007+11',
      'input:5213+2',
      'input:5600+2',
      'input:12999+43',
      'holding:13049+1',
    ]);
    expect(h.states).toEqual(['connecting', 'connected']);
    const identified = h.lines.filter((l) => l.msg === 'sungrow inverter identified');
    expect(identified).toHaveLength(1);
    expect(identified[0]).toMatchObject({ model: 'SH10RT', device_type_code: '0x0E03', serial: 'A2123456789' });
  });

  it('makes a register answering exception 2 null, keeps the others, and stops asking for it', async () => {
    const h = await harness({ retry_unsupported_s: 3600 });
    h.srv.refuse.add(13025 - 1); // battery temperature: "illegal data address"
    await waitFor(() => h.readings.length >= 3, '3 readings');
    for (const r of h.readings.slice(0, 3)) {
      expect(r.fields).toEqual({ ...EXPECTED_FIELDS, battery_temp_c: null });
      expect(r.inverter).toEqual(EXPECTED_INVERTER);
    }
    // cycle 1 found the bad register by splitting the refused request
    expect(cycle(h, 1).filter((q) => q.refused).length).toBeGreaterThanOrEqual(2);
    // later cycles never cover it: one request more than before (the 13000 block is cut in two), none refused
    for (const k of [2, 3]) {
      const reqs = cycle(h, k);
      expect(reqs.some((q) => covers(q, 13024))).toBe(false);
      expect(reqs.some((q) => q.refused)).toBe(false);
      expect(reqs.map(fmt)).toEqual([
        'input:5007+11',
        'input:5213+2',
        'input:5600+2',
        'input:12999+24',
        'input:13025+17',
        'holding:13049+1',
      ]);
    }
    expect(h.source.stats().unsupported).toEqual([{ doc: 13025, field: 'battery_temp_c', reason: 'exception' }]);
    const warned = h.lines.filter((l) => l.register === 13025 && l.level === 40);
    expect(warned).toHaveLength(1);
  });

  it('retries an unsupported register after retry_unsupported_s and takes it back when it answers', async () => {
    const h = await harness({ retry_unsupported_s: 1.5 });
    h.srv.refuse.add(13025 - 1);
    await waitFor(() => h.readings.length >= 1, 'a reading');
    expect(h.readings[0]?.fields.battery_temp_c).toBeNull();
    h.srv.refuse.clear(); // e.g. a firmware update
    await waitFor(() => h.readings.some((r) => r.fields.battery_temp_c === -2.5), 'battery temperature back');
    expect(h.source.stats().unsupported).toEqual([]);
    expect(h.lines.some((l) => l.msg === 'register answers again' && l.register === 13025)).toBe(true);
  });

  it('learns a refused hole between rows: no value lost, the hole is not requested again', async () => {
    const h = await harness();
    h.srv.refuse.add(13031 - 1); // not a table row, inside the 12999+43 request
    await waitFor(() => h.readings.length >= 3, '3 readings');
    for (const r of h.readings) {
      expect(r.fields).toEqual(EXPECTED_FIELDS);
      expect(r.inverter).toEqual(EXPECTED_INVERTER);
    }
    for (const k of [2, 3]) {
      const reqs = cycle(h, k);
      expect(reqs.some((q) => covers(q, 13030))).toBe(false);
      expect(reqs.some((q) => q.refused)).toBe(false);
      expect(reqs.length).toBe(6);
    }
    expect(h.source.stats().unsupported).toEqual([]);
  });

  it('turns not-available markers into null and stops requesting a register that only says so', async () => {
    const h = await harness({ retry_unsupported_s: 3600 });
    setDoc(h.srv.input, 5601, 0xffff, 0x7fff); // S32 marker 0x7FFFFFFF, low word first
    setDoc(h.srv.input, 13017, 0xffff); // U16 marker
    await waitFor(() => h.readings.length >= 5, '5 readings');
    for (const r of h.readings) {
      expect(r.fields).toEqual(EXPECTED_FIELDS);
      expect(r.inverter).toEqual({
        ...EXPECTED_INVERTER,
        inverter_grid_power_w: null,
        daily_direct_consumption_kwh: null,
      });
    }
    // three markers in a row: 5601 no longer gets a request of its own
    expect(cycle(h, 3).some((q) => covers(q, 5600))).toBe(true);
    for (const k of [4, 5]) {
      expect(cycle(h, k).some((q) => covers(q, 5600))).toBe(false);
      expect(cycle(h, k).length).toBe(4);
    }
    // 13017 sits inside the 13000 block, which is read anyway: it is still decoded every cycle
    expect(cycle(h, 5).some((q) => covers(q, 13016))).toBe(true);
    setDoc(h.srv.input, 13017, 80);
    await waitFor(() => h.readings.at(-1)?.inverter.daily_direct_consumption_kwh === 8, 'direct consumption back');
  });

  it('spaces requests by inter_register_delay_ms and never has two in flight', async () => {
    const h = await harness({ inter_register_delay_ms: 60 }, 5);
    await waitFor(() => h.readings.length >= 2, '2 readings');
    expect(h.srv.maxInFlight).toBe(1);
    const log = h.srv.log.slice(0, h.marks[1]);
    expect(log.length).toBe(1 + 5 + 5); // identity, then 5 per cycle
    for (let k = 1; k < log.length; k++) {
      const prev = log[k - 1];
      const cur = log[k];
      if (!prev || !cur) continue;
      expect(cur.at).toBeGreaterThanOrEqual(prev.answeredAt);
      // a lower bound only (cannot flake on a slow machine): the pause after each answer
      expect(cur.at - prev.answeredAt).toBeGreaterThanOrEqual(55);
    }
  });

  it('reports lost when the inverter goes away and comes back with values when it returns', async () => {
    const h = await harness();
    await waitFor(() => h.readings.length >= 1, 'a reading');
    const port = h.srv.port;
    const state = { input: h.srv.input, holding: h.srv.holding, refuse: h.srv.refuse, log: h.srv.log };
    await h.srv.stop();
    await waitFor(() => h.states.includes('lost'), 'lost');
    const before = h.readings.length;
    h.srv = await startRegisterServer({ port, state });
    await waitFor(() => h.readings.length > before + 1, 'values again');
    expect(h.states).toEqual(['connecting', 'connected', 'lost', 'connected']);
    expect(h.readings.at(-1)?.fields).toEqual(EXPECTED_FIELDS);
    // same inverter: identified (logged) once, re-read after the reconnect
    expect(h.lines.filter((l) => l.msg === 'sungrow inverter identified')).toHaveLength(1);
    expect(h.srv.log.filter((q) => q.address === 4989).length).toBe(2);
    expect(h.lines.filter((l) => l.msg === 'connection lost')).toHaveLength(1);
    // stop() ends polling: no request after it
    await h.source.stop();
    const n = h.srv.log.length;
    await new Promise((r) => setTimeout(r, 1200));
    expect(h.srv.log.length).toBe(n);
  });

  it('gets no answer from a server on another unit id, and says lost', async () => {
    const h = await harness({ slave_id: 2, timeout_ms: 200 });
    await waitFor(() => h.states.includes('lost'), 'lost');
    expect(h.readings).toEqual([]);
    expect(h.srv.log.length).toBe(0); // the server ignores requests for another unit
    const lost = h.lines.find((l) => l.msg === 'connection lost');
    expect(String(lost?.detail)).toMatch(/timed out/i);
  });
});
