/**
 * A simulated Sungrow SH inverter: a Modbus TCP server (modbus-serial ServerTCP) on loopback that
 * serves the one simulated home (sim/home-model.ts), ENCODED WITH THE DRIVER'S OWN REGISTER TABLE
 * (registers.ts): the simulator is the driver's inverse, so what the driver decodes is the model.
 * Signs as on a real SH: 5214 battery power + = discharging, 5601 meter power + = import,
 * 13010 export power + = export.
 *
 * Registers that are not in the table answer 0 (or exception 2 with `unknownRegisters:
 * 'exception'`); `unsupported` lists documented registers that answer exception 2, so the driver's
 * "firmware does not support this" path can be exercised. Writes: the control holding registers
 * (EMS mode 13050 and sungrowControlRows) take any word and hold it; other writes answer exception 1.
 * The written settings steer the simulated battery as the inverter would (HomeModel.
 * setBatteryPolicy): EMS mode 0 is self-consumption within the max charge/discharge powers (33047/
 * 33048) down to the min SoC (13059); mode 2 with command 0xAA/0xBB charges/discharges at the
 * forced power (13052, in W here), 0xCC stops (the held settings: sim-settings.ts). So a
 * controller's writes show in the meter.
 * `startSungrowReplay` serves a real inverter's register dump instead (the fixture replay test).
 */
import { ServerTCP } from 'modbus-serial';
import { parse as parseYaml } from 'yaml';
import { freePort } from '../../lib/listen.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { encodeRow, encodeString } from '../modbus/register-codec.js';
import { type RegisterFn, rowLength } from '../modbus/register-table.js';
import type { HomeModel, HomeState } from '../sim/home-model.js';
import { POWER_FLOW_BITS, SUNGROW_REGISTERS, type SungrowControlField, type SungrowField } from './registers.js';
import { EMS_SELF_CONSUMPTION, HeldSettings } from './sim-settings.js';

export interface SungrowSimulatorOptions {
  host: string;
  /** 0 picks a free port (see the returned `port`). */
  port: number;
  model: HomeModel;
  /** Unit id the server answers (default 1); requests to other ids get no answer, as on a real bus. */
  unitId?: number;
  log?: Logger;
  /** Documented (doc) input register numbers that answer Modbus exception 2 (illegal data address). */
  unsupported?: number[];
  /** Registers not in the table: answer 0 (default) or exception 2. */
  unknownRegisters?: 'zero' | 'exception';
  /** Device type code served at doc 5000 (default 0x0D0F, SH5.0RS). */
  deviceTypeCode?: number;
  /** Serial number served at doc 4990–4999 (default 'A2300000001'). */
  serial?: string;
  /** The clock the model is advanced to before answering (default Date.now). */
  now?: () => number;
  /** Called for every read request the server answers or refuses (tests, benchmarks). */
  onRequest?: (req: { fn: RegisterFn; address: number; count: number }) => void;
}

export interface SungrowSimulator {
  port: number;
  /** Read requests served so far, and how many of them were answered with exception 2. */
  readonly requests: number;
  readonly refused: number;
  stop(): Promise<void>;
}

/** Running state "run" (doc 13000). */
const RUNNING = 0x0040;

class ModbusError extends Error {
  constructor(readonly modbusErrorCode: number) {
    super(`Modbus exception ${modbusErrorCode}`);
  }
}

/** What the inverter would report for the model's state, per table field (the driver's units and signs). */
export function sungrowValues(
  s: HomeState,
  extra: { directDailyKwh: number; deviceTypeCode: number; serial: string },
): Record<Exclude<SungrowField, SungrowControlField>, number | string | null> {
  let flow = 0;
  if (s.pv_w > 0) flow |= POWER_FLOW_BITS.pv_generating;
  if (s.battery_w > 0) flow |= POWER_FLOW_BITS.battery_charging;
  if (s.battery_w < 0) flow |= POWER_FLOW_BITS.battery_discharging;
  if (s.load_w > 0) flow |= POWER_FLOW_BITS.load_positive;
  if (s.grid_w < 0) flow |= POWER_FLOW_BITS.feeding_in;
  if (s.grid_w > 0) flow |= POWER_FLOW_BITS.importing;
  return {
    serial: extra.serial,
    device_type_code: extra.deviceTypeCode,
    inverter_temp_c: s.inverter_temp_c,
    mppt1_voltage_v: s.mppt1_voltage_v,
    mppt1_current_a: s.mppt1_current_a,
    mppt2_voltage_v: s.mppt2_voltage_v,
    mppt2_current_a: s.mppt2_current_a,
    pv_power_w: s.pv_w,
    pv_daily_kwh: s.pv_daily_kwh,
    pv_total_kwh: s.pv_total_kwh,
    // + charging here; the table row negates it onto the wire (5214: + = discharging).
    battery_power_w: s.battery_w,
    battery_soc_pct: s.battery_soc_pct,
    battery_temp_c: s.battery_temp_c,
    battery_daily_charge_kwh: s.battery_daily_charge_kwh,
    battery_daily_discharge_kwh: s.battery_daily_discharge_kwh,
    battery_total_charge_kwh: s.battery_total_charge_kwh,
    battery_total_discharge_kwh: s.battery_total_discharge_kwh,
    running_state: RUNNING,
    power_flow_bits: flow,
    load_power_w: s.load_w,
    inverter_grid_power_w: s.grid_w,
    inverter_export_power_w: -s.grid_w,
    daily_direct_consumption_kwh: extra.directDailyKwh,
    ems_mode: EMS_SELF_CONSUMPTION,
  };
}

/** Register images (wire address → word) of one model state. */
interface Image {
  at: number;
  input: Map<number, number>;
  holding: Map<number, number>;
}

export async function startSungrowSimulator(opts: SungrowSimulatorOptions): Promise<SungrowSimulator> {
  const log = opts.log ?? createLogger('sim-sungrow');
  const now = opts.now ?? Date.now;
  const unsupported = new Set((opts.unsupported ?? []).map((doc) => doc - 1));
  const unknownAnswer = opts.unknownRegisters ?? 'zero';
  const deviceTypeCode = opts.deviceTypeCode ?? 0x0d0f;
  const serial = opts.serial ?? 'A2300000001';
  let image: Image | null = null;
  const settings = new HeldSettings();
  const directDaily = directConsumption(opts.model);
  const counts: Counts = { requests: 0, refused: 0 };

  function render(): Image {
    const s = opts.model.advanceTo(now());
    if (image && image.at === s.at) return image;
    image = renderImage(s, sungrowValues(s, { directDailyKwh: directDaily(s), deviceTypeCode, serial }), settings);
    return image;
  }

  function read(fn: RegisterFn, address: number, count: number): number[] {
    counts.requests++;
    opts.onRequest?.({ fn, address, count });
    const img = render();
    const regs = fn === 'input' ? img.input : img.holding;
    const out: number[] = [];
    for (let a = address; a < address + count; a++) {
      const w = regs.get(a);
      if ((fn === 'input' && unsupported.has(a)) || (w === undefined && unknownAnswer === 'exception')) {
        counts.refused++;
        throw new ModbusError(2);
      }
      out.push(w ?? 0);
    }
    return out;
  }

  function write(address: number, words: number[]): void {
    if (!settings.canWrite(address, words.length)) throw new ModbusError(1);
    opts.model.advanceTo(now()); // what was before the write, under the settings before it
    settings.write(address, words);
    settings.steer(opts.model);
    image = null;
    log.info({ register: address + 1, words }, 'setting written');
  }

  return listen({ read, write }, counts, opts, log);
}

/**
 * Daily direct consumption = PV today − battery charge today − export today (exact for this model,
 * which charges only from surplus PV). Export today is counted from the first answer or from local
 * midnight, whichever is later; it is clamped to the load served today.
 */
function directConsumption(model: HomeModel): (s: HomeState) => number {
  let exportBase: { day: number; kwh: number } | null = null;
  return (s) => {
    const day = model.localTime(s.at).day;
    const exported = s.export_t1_kwh + s.export_t2_kwh;
    if (!exportBase || exportBase.day !== day) exportBase = { day, kwh: exported };
    const v = s.pv_daily_kwh - s.battery_daily_charge_kwh - (exported - exportBase.kwh);
    return Math.min(s.load_daily_kwh, Math.max(0, v));
  };
}

/** The register images of a state's values, with the held settings over the holding registers. */
function renderImage(s: HomeState, values: ReturnType<typeof sungrowValues>, settings: HeldSettings): Image {
  const next: Image = { at: s.at, input: new Map(), holding: new Map() };
  for (const row of SUNGROW_REGISTERS) {
    const v = values[row.field as Exclude<SungrowField, SungrowControlField>];
    const words =
      row.type === 'utf8'
        ? encodeString(row, typeof v === 'string' ? v : null)
        : encodeRow(row, typeof v === 'number' ? v : null);
    const target = row.fn === 'input' ? next.input : next.holding;
    for (let i = 0; i < rowLength(row); i++) target.set(row.wire + i, words[i] ?? 0);
  }
  for (const [a, w] of settings.words) next.holding.set(a, w);
  return next;
}

/** A register dump of a real inverter: documented register number → raw 16-bit word. */
export interface SungrowRegisterDump {
  input: ReadonlyMap<number, number>;
  holding: ReadonlyMap<number, number>;
}

/**
 * Reads a dump in the YAML format of AlexanderLanin/homeassistant-sungrow's dump script:
 * `registers.read` (input registers) and `registers.hold` (holding), each `doc register: word`
 * (that script reads the wire address doc − 1). Anything else is an error naming the key.
 */
export function parseRegisterDump(text: string, name: string): SungrowRegisterDump {
  const doc = parseYaml(text) as { registers?: Record<string, unknown> } | null;
  const section = (key: 'read' | 'hold'): Map<number, number> => {
    const raw = doc?.registers?.[key];
    if (raw === undefined) return new Map();
    if (typeof raw !== 'object' || raw === null) throw new Error(`${name}: registers.${key} must be a mapping`);
    const out = new Map<number, number>();
    for (const [reg, word] of Object.entries(raw)) {
      const r = Number(reg);
      if (!Number.isInteger(r) || r < 1 || r > 65_536 || !Number.isInteger(word) || word < 0 || word > 0xffff) {
        throw new Error(`${name}: registers.${key}.${reg}: expected a register number and a 16-bit word`);
      }
      out.set(r, word);
    }
    return out;
  };
  const dump = { input: section('read'), holding: section('hold') };
  if (dump.input.size + dump.holding.size === 0) throw new Error(`${name}: no registers.read or registers.hold`);
  return dump;
}

export interface SungrowReplayOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registers: SungrowRegisterDump;
  unitId?: number;
  log?: Logger;
}

/**
 * Serves a recorded register dump (fixture) as a Modbus TCP server: each read answers the dump's
 * words (wire address + 1 = the documented register); a register the dump lacks answers
 * exception 2, as a register the device does not have; writes answer exception 1 (read-only).
 */
export async function startSungrowReplay(opts: SungrowReplayOptions): Promise<SungrowSimulator> {
  const log = opts.log ?? createLogger('sim-sungrow');
  const counts: Counts = { requests: 0, refused: 0 };
  const read = (fn: RegisterFn, address: number, count: number): number[] => {
    counts.requests++;
    const dump = fn === 'input' ? opts.registers.input : opts.registers.holding;
    const out: number[] = [];
    for (let a = address; a < address + count; a++) {
      const w = dump.get(a + 1);
      if (w === undefined) {
        counts.refused++;
        throw new ModbusError(2);
      }
      out.push(w);
    }
    return out;
  };
  const refuseWrite = (): never => {
    throw new ModbusError(1);
  };
  return listen({ read, write: refuseWrite }, counts, opts, log);
}

/** The reads served and refused with exception 2 so far (a simulator's `requests` and `refused`). */
interface Counts {
  requests: number;
  refused: number;
}

/**
 * A modbus-serial ServerTCP on host:port (0: a free one), answering unit `unitId` (default 1):
 * its reads of input and holding registers are `registers.read`, its writes `registers.write`.
 */
async function listen(
  registers: {
    read(fn: RegisterFn, address: number, count: number): number[];
    write(address: number, words: number[]): void;
  },
  counts: Counts,
  opts: { host: string; port: number; unitId?: number },
  log: Logger,
): Promise<SungrowSimulator> {
  const { read, write } = registers;
  const vector = {
    getInputRegister: (addr: number, _unitID: number) => read('input', addr, 1)[0] ?? 0,
    getMultipleInputRegisters: (addr: number, length: number, _unitID: number) => read('input', addr, length),
    getHoldingRegister: (addr: number, _unitID: number) => read('holding', addr, 1)[0] ?? 0,
    getMultipleHoldingRegisters: (addr: number, length: number, _unitID: number) => read('holding', addr, length),
    setRegister: (addr: number, value: number, _unitID: number) => write(addr, [value]),
    setRegisterArray: (addr: number, value: number[], _unitID: number) => write(addr, value),
  };
  // ServerTCP treats port 0 as "unset" and falls back to 502: pick a free port ourselves.
  const port = opts.port === 0 ? await freePort(opts.host) : opts.port;
  return new Promise((resolve, reject) => {
    const server = new ServerTCP(vector, { host: opts.host, port, unitID: opts.unitId ?? 1 });
    const onListenError = (err: Error | null) => reject(err ?? new Error('sungrow simulator: listen failed'));
    server.once('serverError', onListenError);
    server.on('socketError', (err: Error | null) => log.debug({ err: err?.message }, 'client socket error'));
    server.on('error', (err: Error | null) => log.warn({ err: err?.message }, 'server error'));
    server.once('initialized', () => {
      server.off('serverError', onListenError);
      server.on('serverError', (err: Error | null) => log.warn({ err: err?.message }, 'server error'));
      log.info({ host: opts.host, port, unit_id: opts.unitId ?? 1 }, 'sungrow simulator listening');
      resolve({
        port,
        get requests() {
          return counts.requests;
        },
        get refused() {
          return counts.refused;
        },
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
          }),
      });
    });
  });
}
