/**
 * A simulated Morningstar TriStar MPPT: a Modbus TCP server on loopback answering reads of the RAM
 * from recorded words of real controllers (recorded.ts; the fixtures of test/fixtures/tristar-mppt).
 * It serves those words, not the simulated home: the recording is the fact being tested (scaling,
 * encoding, signs).
 *
 * As the real controller: FC03 and FC04 read the same registers; the socket is closed after each
 * answer ("the TCP socket is closed by the TS-MPPT after each MODBUS response", MODBUS document
 * v10 p.2), so a client connects, reads and closes. Unlike it: a read that touches a register the
 * recording lacks answers exception 2 (illegal data address), as the other simulators do for what
 * their recordings lack; a unit id it does not serve gets no answer; writes answer exception 1.
 * `kwartier simulate --device tristar-mppt` serves two controllers on one port, unit 1 in the
 * V_PU/I_PU encoding and unit 2 the same night in half-floats (recorded.ts, simulatorUnits).
 */
import type { Socket } from 'node:net';
import { createLogger, type Logger } from '../../lib/log.js';
import {
  MODBUS_ILLEGAL_ADDRESS,
  MODBUS_ILLEGAL_FUNCTION,
  type ModbusAnswer,
  type ModbusRequest,
  startModbusTcpServer,
} from '../modbus/tcp-server.js';
import { simulatorUnits } from './recorded.js';

export interface TristarSimulatorOptions {
  host: string;
  /** 0 picks a free port (see the returned `port`). */
  port: number;
  /** Unit id → wire address → word (default: simulatorUnits()). */
  units?: ReadonlyMap<number, ReadonlyMap<number, number>>;
  /** Close the socket after each answer, as the controller does (default true). */
  closeAfterAnswer?: boolean;
  log?: Logger;
}

export interface ServedRequest extends ModbusRequest {
  answer: 'words' | 'none' | `exception ${number}`;
}

export interface TristarSimulator {
  port: number;
  /** Every request so far, in order. */
  readonly requests: readonly ServedRequest[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** Sets words of a unit from `wire` on (a value changing). */
  set(unit: number, wire: number, ...words: number[]): void;
  /** Removes a register from a unit's map: reads touching it answer exception 2. */
  remove(unit: number, wire: number): void;
  stop(): Promise<void>;
}

export async function startTristarSimulator(opts: TristarSimulatorOptions): Promise<TristarSimulator> {
  const log = opts.log ?? createLogger('sim-tristar');
  const units = new Map<number, Map<number, number>>();
  for (const [unit, regs] of opts.units ?? simulatorUnits()) units.set(unit, new Map(regs));
  const closeAfter = opts.closeAfterAnswer ?? true;
  const sockets = new Map<number, Socket>();
  const requests: ServedRequest[] = [];
  let accepted = 0;

  function decide(req: ModbusRequest): ModbusAnswer {
    const regs = units.get(req.unit);
    if (!regs) return null;
    if (req.fc !== 3 && req.fc !== 4) return { exception: MODBUS_ILLEGAL_FUNCTION };
    const words: number[] = [];
    for (let a = req.address; a < req.address + req.count; a++) {
      const w = regs.get(a);
      if (w === undefined) return { exception: MODBUS_ILLEGAL_ADDRESS };
      words.push(w);
    }
    return { words };
  }

  const server = await startModbusTcpServer({
    host: opts.host,
    port: opts.port,
    onConnection(connection, socket) {
      accepted++;
      sockets.set(connection, socket);
      return true;
    },
    onClose(connection) {
      sockets.delete(connection);
    },
    handle(req) {
      const answer = decide(req);
      requests.push({
        ...req,
        answer: answer === null ? 'none' : 'exception' in answer ? `exception ${answer.exception}` : 'words',
      });
      // The server writes the answer when this returns; end() after it sends it, then closes.
      if (answer !== null && closeAfter) setImmediate(() => sockets.get(req.connection)?.end());
      return answer;
    },
  });
  log.info({ host: opts.host, port: server.port, units: [...units.keys()] }, 'tristar-mppt simulator listening');
  return {
    port: server.port,
    get requests() {
      return requests;
    },
    get connections() {
      return accepted;
    },
    set(unit, wire, ...words) {
      const regs = units.get(unit);
      if (!regs) throw new Error(`tristar simulator: no unit ${unit}`);
      words.forEach((w, i) => {
        regs.set(wire + i, w & 0xffff);
      });
    },
    remove(unit, wire) {
      units.get(unit)?.delete(wire);
    },
    stop: () => server.stop(),
  };
}
