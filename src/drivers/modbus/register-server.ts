/**
 * A Modbus TCP server that answers reads from register maps (address → word), for the simulators
 * that serve recorded register answers (huawei-sun2000, tristar-mppt, sunspec and outback), on the
 * small server of tcp-server.ts. A unit without a map gets no answer (a unit not on the bus); a read
 * that touches an address the map lacks answers exception 2 (illegal data address), as a register
 * the device does not have; any other function code, writes too, answers exception 1. Every request
 * is kept with what it got (the last 10,000 at most), and the connections are counted.
 *
 * What a simulator's device does besides is given by hooks: answers of its own before the map is
 * read (`refuse`: a gateway saying "busy"), live values (`refresh`), one client at a time
 * (`onConnection` and `drop`), closing after each answer (`onAnswer` and `end`).
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../lib/log.js';
import {
  MODBUS_ILLEGAL_ADDRESS,
  MODBUS_ILLEGAL_FUNCTION,
  type ModbusAnswer,
  type ModbusRequest,
  startModbusTcpServer,
} from './tcp-server.js';

/** A request as served, with what it got. */
export interface ServedRequest extends ModbusRequest {
  answer: 'words' | 'none' | `exception ${number}`;
}

/** How a simulator of recorded units (huawei-sun2000, tristar-mppt) is started. */
export interface UnitsSimulatorOptions {
  host: string;
  /** 0 picks a free port (see the returned `port`). */
  port: number;
  /** Unit id → register (wire address) → word (default: the simulator's own recorded units). */
  units?: ReadonlyMap<number, ReadonlyMap<number, number>>;
  log?: Logger;
}

/** Copies of the units' maps, for a simulator that changes them (a value changing, a register gone). */
export function unitMaps(units: ReadonlyMap<number, ReadonlyMap<number, number>>): Map<number, Map<number, number>> {
  return new Map([...units].map(([unit, regs]) => [unit, new Map(regs)]));
}

export interface RegisterMapServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The map a request's unit answers from (read at every request); undefined: no such unit. */
  registers(unit: number): Map<number, number> | undefined;
  /** The function codes read from the map (default FC03 only). */
  readCodes?: readonly number[];
  /** For a unit that is there, before anything else: an answer of its own, or undefined to go on. */
  refuse?(req: ModbusRequest): ModbusAnswer | undefined;
  /** Called before a read is answered from the map: live values. */
  refresh?(registers: Map<number, number>): void;
  /** A connection was accepted (it counts among `open` already). */
  onConnection?(connection: number): void;
  onClose?(connection: number): void;
  /** A request got an answer (written when this returns). */
  onAnswer?(req: ModbusRequest): void;
}

export interface RegisterMapServer {
  port: number;
  /** Every request so far (the last 10,000 at most), in order. */
  readonly requests: readonly ServedRequest[];
  /** Connections accepted so far, and how many are open now. */
  readonly connections: number;
  readonly open: number;
  /** Closes a connection at once (a gateway pushing a client off). */
  drop(connection: number): void;
  /** Closes a connection after what was written to it is sent. */
  end(connection: number): void;
  stop(): Promise<void>;
}

const MAX_REQUESTS = 10_000;

export async function startRegisterMapServer(opts: RegisterMapServerOptions): Promise<RegisterMapServer> {
  const readCodes = opts.readCodes ?? [3];
  const requests: ServedRequest[] = [];
  const sockets = new Map<number, Socket>();
  let accepted = 0;

  function decide(req: ModbusRequest): ModbusAnswer {
    const regs = opts.registers(req.unit);
    if (!regs) return null;
    const own = opts.refuse?.(req);
    if (own !== undefined) return own;
    if (!readCodes.includes(req.fc)) return { exception: MODBUS_ILLEGAL_FUNCTION };
    opts.refresh?.(regs);
    return readWords(regs, req.address, req.count);
  }

  const server = await startModbusTcpServer({
    host: opts.host,
    port: opts.port,
    onConnection(connection, socket) {
      accepted++;
      sockets.set(connection, socket);
      opts.onConnection?.(connection);
      return true;
    },
    onClose(connection) {
      sockets.delete(connection);
      opts.onClose?.(connection);
    },
    handle(req) {
      const answer = decide(req);
      // Bounded: a long-running simulator keeps the last requests only.
      if (requests.length >= MAX_REQUESTS) requests.splice(0, MAX_REQUESTS / 2);
      requests.push({
        ...req,
        answer: answer === null ? 'none' : 'exception' in answer ? `exception ${answer.exception}` : 'words',
      });
      if (answer !== null) opts.onAnswer?.(req);
      return answer;
    },
  });
  return {
    port: server.port,
    get requests() {
      return requests;
    },
    get connections() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    drop: (connection) => server.drop(connection),
    end(connection) {
      sockets.get(connection)?.end();
    },
    stop: () => server.stop(),
  };
}

/** The words of `count` registers from `address`, or exception 2 when the map lacks one. */
function readWords(regs: ReadonlyMap<number, number>, address: number, count: number): ModbusAnswer {
  const words: number[] = [];
  for (let a = address; a < address + count; a++) {
    const w = regs.get(a);
    if (w === undefined) return { exception: MODBUS_ILLEGAL_ADDRESS };
    words.push(w);
  }
  return { words };
}

/** Sets words of a map from `address` on (16 bits each). */
export function setWords(regs: Map<number, number>, address: number, words: readonly number[]): void {
  words.forEach((w, i) => {
    regs.set(address + i, w & 0xffff);
  });
}
