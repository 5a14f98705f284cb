/**
 * A simulated Huawei SDongle (or an inverter's access point): a Modbus TCP server on loopback
 * (../modbus/register-server.ts) that answers FC03 reads of each unit from recorded register
 * answers of real installations (recorded.ts; the fixtures of test/fixtures/huawei-sun2000). It
 * serves those values, not the simulated home: the recorded words are the facts being tested (word
 * order, signs, markers).
 *
 * As the real gateway: the register number is the wire address; a read that touches a register the
 * unit's recording lacks answers exception 2 (illegal data address), as a register the firmware
 * does not have; a unit that is not there gets no answer; FC04 and writes answer exception 1. It
 * takes ONE client: a new connection pushes the older one off (huawei_solar README: "Modbus
 * devices only support one connection at a time"). For tests, it can answer exception 6 (busy) to
 * requests that come too soon after connecting (`busyAfterConnectMs`) or after the previous answer
 * (`busyGapMs`), or to the next N requests (`busyNext`).
 */
import { createLogger } from '../../lib/log.js';
import type { ReplayOptions, RunningReplay } from '../definition.js';
import { replayRecordedUnit } from '../modbus/recorded-reads.js';
import {
  type RegisterMapServer,
  setWords,
  startRegisterMapServer,
  type UnitsSimulatorOptions,
  unitMaps,
} from '../modbus/register-server.js';
import { MODBUS_BUSY, type ModbusAnswer, type ModbusRequest } from '../modbus/tcp-server.js';
import { dongleUnits, parseRecorded } from './recorded.js';

/** The simulated gateway; without `units`, dongleUnits() (unit 1 hybrid, unit 2 at night). */
export interface HuaweiSimulatorOptions extends UnitsSimulatorOptions {
  /** Push an older client off when a new one connects (default true); false: serve every client. */
  oneClient?: boolean;
  /** Answer exception 6 to requests this soon after the connection opened (ms, default 0: never). */
  busyAfterConnectMs?: number;
  /** Answer exception 6 to requests this soon after the previous answer on the connection (ms, default 0). */
  busyGapMs?: number;
}

export interface HuaweiSimulator extends RegisterMapServer {
  /** The next `n` requests answer exception 6 (busy). */
  busyNext(n: number): void;
  /** Sets words of a unit from `register` on (a value changing, a meter going offline). */
  set(unit: number, register: number, ...words: number[]): void;
}

export async function startHuaweiSimulator(opts: HuaweiSimulatorOptions): Promise<HuaweiSimulator> {
  const log = opts.log ?? createLogger('sim-huawei');
  const units = unitMaps(opts.units ?? dongleUnits());
  const oneClient = opts.oneClient ?? true;
  const openedAt = new Map<number, number>();
  const lastAnswer = new Map<number, number>();
  let busy = 0;

  /** "Busy" (exception 6): asked to, or too soon after the connect or the previous answer. */
  function busyAnswer(req: ModbusRequest): ModbusAnswer | undefined {
    if (busy > 0) {
      busy--;
      return { exception: MODBUS_BUSY };
    }
    const since = req.at - (openedAt.get(req.connection) ?? req.at);
    if (since < (opts.busyAfterConnectMs ?? 0)) return { exception: MODBUS_BUSY };
    const prev = lastAnswer.get(req.connection);
    if (prev !== undefined && req.at - prev < (opts.busyGapMs ?? 0)) return { exception: MODBUS_BUSY };
    return undefined;
  }

  const server = await startRegisterMapServer({
    host: opts.host,
    port: opts.port,
    registers: (unit) => units.get(unit),
    refuse: busyAnswer,
    onConnection(connection) {
      if (oneClient) {
        for (const c of openedAt.keys()) {
          log.info({ connection: c, by: connection }, 'a new client connected: the older one is pushed off');
          server.drop(c);
        }
      }
      openedAt.set(connection, Date.now());
    },
    onClose(connection) {
      openedAt.delete(connection);
      lastAnswer.delete(connection);
    },
    onAnswer(req) {
      lastAnswer.set(req.connection, Date.now());
    },
  });
  log.info({ host: opts.host, port: server.port, units: [...units.keys()] }, 'huawei simulator listening');
  return Object.assign(server, {
    busyNext(n: number) {
      busy = n;
    },
    set(unit: number, register: number, ...words: number[]) {
      const regs = units.get(unit);
      if (!regs) throw new Error(`huawei simulator: no unit ${unit}`);
      setWords(regs, register, words);
    },
  });
}

/** The definition's replay: one recorded file's unit (recorded.ts format), which the driver reads. */
export function startHuaweiReplay(o: ReplayOptions): Promise<RunningReplay> {
  return replayRecordedUnit(o, parseRecorded, startHuaweiSimulator);
}
