/**
 * Simulated SunSpec devices on loopback: a Modbus TCP server answering FC03 reads from a register
 * map (wire address → word), as a device with that map would (../modbus/register-server.ts). A read that touches an address the
 * map lacks answers exception 2 (illegal data address), FC04 and writes exception 1. The OutBack
 * simulator serves its recorded hubs with it (../outback/simulator.ts).
 *
 * `kwartier simulate --device sunspec` serves a recorded Kostal Plenticore (its common model and
 * model 103 as evcc printed them; recordings.ts) followed by a 203 meter and an 802 battery driven
 * by the simulated home (no public recording has them): the meter's W in the convention of
 * `meterSign`, its counters rising with the home's import and export; the battery's W in the
 * convention of `batterySign`, its charge state from the flow. Then the end model.
 */
import { createLogger, type Logger } from '../../lib/log.js';
import { defaultHomeModel, type ReplayOptions, type RunningReplay, running } from '../definition.js';
import { type RegisterMapServer, setWords, startRegisterMapServer } from '../modbus/register-server.js';
import type { HomeModel } from '../sim/home-model.js';
import type { BatterySign, MeterSign } from './fields.js';
import { MODEL_201, MODEL_802, type ModelLayout, SUNSPEC_LAYOUTS } from './models.js';
import {
  encodeDecodedDump,
  intWords,
  notImplemented,
  parseDecodedDump,
  parseRegisterDump,
  type RegisterMap,
} from './recorded.js';
import { SUNSPEC_RECORDINGS, type SunSpecRecording } from './recordings.js';

export interface RegisterServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registers: RegisterMap;
  /** Answer only this unit (others get no answer, as on a bus without it); default: every unit. */
  unitId?: number;
  /** Called before each answer: live values. */
  refresh?: (registers: RegisterMap) => void;
  log?: Logger;
  name?: string;
}

export interface RegisterServer extends RegisterMapServer {
  readonly registers: RegisterMap;
  set(address: number, ...words: number[]): void;
}

export async function startRegisterServer(opts: RegisterServerOptions): Promise<RegisterServer> {
  const log = opts.log ?? createLogger('sim-sunspec');
  const regs = opts.registers;
  const server = await startRegisterMapServer({
    host: opts.host,
    port: opts.port,
    registers: (unit) => (opts.unitId === undefined || unit === opts.unitId ? regs : undefined),
    ...(opts.refresh ? { refresh: opts.refresh } : {}),
  });
  log.info(
    { host: opts.host, port: server.port, registers: regs.size },
    `${opts.name ?? 'sunspec'} simulator listening`,
  );
  return Object.assign(server, {
    registers: regs,
    set(address: number, ...words: number[]) {
      setWords(regs, address, words);
    },
  });
}

/** A replay of a raw register dump (.json / .csv: wire address → word), the sunspec and outback types'. */
export async function startDumpReplay(o: ReplayOptions): Promise<RunningReplay> {
  const registers = parseRegisterDump(o.fixture.bytes.toString('utf8'), o.fixture.name);
  return running(await startRegisterServer({ host: o.host, port: o.port, registers, log: o.log }));
}

/** The sunspec type's replay: an `evcc sunspec` print (.txt, encoded with the layouts), or a raw dump. */
export async function startSunSpecReplay(o: ReplayOptions): Promise<RunningReplay> {
  if (!o.fixture.name.endsWith('.txt')) return startDumpReplay(o);
  const text = o.fixture.bytes.toString('utf8');
  const registers = encodeDecodedDump(parseDecodedDump(text), SUNSPEC_LAYOUTS, 40000, o.fixture.name);
  return running(await startRegisterServer({ host: o.host, port: o.port, registers, log: o.log }));
}

/** A decoded recording's register map (SunS at 40000, models with their published L, no end model). */
export function sunspecRecording(name: SunSpecRecording): RegisterMap {
  return encodeDecodedDump(parseDecodedDump(SUNSPEC_RECORDINGS[name]), SUNSPEC_LAYOUTS, 40000, name);
}

/** The address after the last model of a map whose chain starts at 40002 (walked by the L's). */
function chainEnd(regs: RegisterMap): number {
  let a = 40002;
  for (;;) {
    const id = regs.get(a);
    const length = regs.get(a + 1);
    if (id === undefined || length === undefined || id === 0xffff) return a;
    a += 2 + length;
  }
}

/** Writes a model's ID, L and every point as "not implemented" (its type's marker). */
function emptyModel(regs: RegisterMap, at: number, id: number, layout: ModelLayout): void {
  regs.set(at, id);
  regs.set(at + 1, layout.length);
  for (let i = 2; i < 2 + layout.length; i++) regs.set(at + i, 0);
  for (const [, offset, type, size] of layout.points) {
    if (offset < 2) continue;
    notImplemented(type, type === 'str' ? Number(size) : 1).forEach((w, i) => {
      regs.set(at + offset + i, w);
    });
  }
}

function point(layout: ModelLayout, name: string): number {
  const p = layout.points.find((x) => x[0] === name);
  if (!p) throw new Error(`${layout.name}: no point ${name}`);
  return p[1];
}

export interface SunSpecSimulatorOptions {
  host: string;
  port: number;
  model?: HomeModel;
  /** What a positive meter W means on this simulated device (default import). */
  meterSign?: MeterSign;
  /** What a positive battery W means (default discharge, as the driver's default). */
  batterySign?: BatterySign;
  log?: Logger;
}

/** The default simulated SunSpec device (see the header). */
export async function startSunSpecSimulator(o: SunSpecSimulatorOptions): Promise<RegisterServer> {
  const home = await defaultHomeModel(o.model);
  const regs = sunspecRecording('kostal-plenticore-plus8');
  const meterAt = chainEnd(regs);
  emptyModel(regs, meterAt, 203, MODEL_201);
  const batteryAt = meterAt + 2 + MODEL_201.length;
  emptyModel(regs, batteryAt, 802, MODEL_802);
  const endAt = batteryAt + 2 + MODEL_802.length;
  regs.set(endAt, 0xffff);
  regs.set(endAt + 1, 0);
  const m = (name: string) => meterAt + point(MODEL_201, name);
  const b = (name: string) => batteryAt + point(MODEL_802, name);
  const put = (at: number, words: number[]) => setWords(regs, at, words);
  // Constant scale factors: A −2, V −1, Hz −2, W 0, Wh 0; SoC −1, V −1, A −2, W 0, Wh 0.
  put(m('A_SF'), [-2]);
  put(m('V_SF'), [-1]);
  put(m('Hz_SF'), [-2]);
  put(m('W_SF'), [0]);
  put(m('TotWh_SF'), [0]);
  put(m('Hz'), [5000]);
  for (const [name, sf] of [
    ['WHRtg_SF', 0],
    ['SoC_SF', -1],
    ['SoH_SF', 0],
    ['V_SF', -1],
    ['A_SF', -2],
    ['W_SF', 0],
  ] as const) {
    put(b(name), [sf]);
  }
  put(b('WHRtg'), [Math.round(home.options.batteryCapacityKwh * 1000)]);
  put(b('SoH'), [100]);
  const meterSign = (o.meterSign ?? 'import') === 'import' ? 1 : -1;
  const batterySign = (o.batterySign ?? 'discharge') === 'charge' ? 1 : -1;
  const refresh = () => {
    const s = home.advanceTo(Date.now());
    put(m('W'), intWords(meterSign * s.grid_w, 1));
    const phases = ['A', 'B', 'C'];
    s.phase_grid_w.forEach((w, i) => {
      const p = phases[i] as string;
      put(m(`Wph${p}`), intWords(meterSign * w, 1));
      put(m(`PhVph${p}`), [Math.round((s.phase_voltage_v[i] ?? 0) * 10)]);
      put(m(`Aph${p}`), intWords(Math.sign(meterSign * w) * (s.phase_current_a[i] ?? 0) * 100, 1));
    });
    put(m('TotWhImp'), intWords((s.import_t1_kwh + s.import_t2_kwh) * 1000, 2));
    put(m('TotWhExp'), intWords((s.export_t1_kwh + s.export_t2_kwh) * 1000, 2));
    const volts = 400;
    put(b('SoC'), [Math.round(s.battery_soc_pct * 10)]);
    put(b('V'), [volts * 10]);
    put(b('A'), intWords(((batterySign * s.battery_w) / volts) * 100, 1));
    put(b('W'), intWords(batterySign * s.battery_w, 1));
    put(b('ChaSt'), [s.battery_w > 0 ? 4 : s.battery_w < 0 ? 3 : 6]);
  };
  refresh();
  return startRegisterServer({
    host: o.host,
    port: o.port,
    registers: regs,
    refresh,
    ...(o.log ? { log: o.log } : {}),
  });
}
