/**
 * A bare Modbus TCP server on 127.0.0.1 holding hand-set register words (modbus-serial ServerTCP),
 * independent of the driver's register table: tests write the words a real inverter would hold and
 * check what the driver decodes. It logs every request (function, address, count, times) and can
 * answer exception 2 for chosen addresses, so tests count and inspect requests on the server side.
 */
import { ServerTCP } from 'modbus-serial';
import { freePort } from '../../helpers/net.js';

export type Fn = 'input' | 'holding';

export interface LoggedRequest {
  fn: Fn;
  address: number;
  count: number;
  /** Server clock (ms) when the request arrived and when it was answered. */
  at: number;
  answeredAt: number;
  /** Answered with exception 2. */
  refused: boolean;
}

export interface RegisterServer {
  port: number;
  input: Map<number, number>;
  holding: Map<number, number>;
  /** Wire addresses of input registers that answer exception 2. */
  refuse: Set<number>;
  log: LoggedRequest[];
  /** Highest number of requests being answered at the same time. */
  maxInFlight: number;
  stop(): Promise<void>;
}

/** Sets the words of documented register `doc` (wire = doc − 1, Sungrow numbering). */
export function setDoc(map: Map<number, number>, doc: number, ...words: number[]): void {
  words.forEach((w, i) => {
    map.set(doc - 1 + i, w & 0xffff);
  });
}

/** Low word first, as Sungrow sends 32-bit values. */
export function lsw32(v: number): [number, number] {
  const u = v >>> 0;
  return [u & 0xffff, u >>> 16];
}

export async function startRegisterServer(
  opts: {
    port?: number;
    answerDelayMs?: number;
    unitId?: number;
    state?: Pick<RegisterServer, 'input' | 'holding' | 'refuse' | 'log'>;
  } = {},
): Promise<RegisterServer> {
  const port = opts.port ?? (await freePort());
  const srv: RegisterServer = {
    port,
    input: opts.state?.input ?? new Map(),
    holding: opts.state?.holding ?? new Map(),
    refuse: opts.state?.refuse ?? new Set(),
    log: opts.state?.log ?? [],
    maxInFlight: 0,
    stop: async () => undefined,
  };
  let inFlight = 0;
  const answer = (fn: Fn, addr: number, length: number, cb: (err: Error | null, v: number[]) => void) => {
    const entry: LoggedRequest = { fn, address: addr, count: length, at: Date.now(), answeredAt: 0, refused: false };
    srv.log.push(entry);
    inFlight++;
    srv.maxInFlight = Math.max(srv.maxInFlight, inFlight);
    const done = () => {
      inFlight--;
      entry.answeredAt = Date.now();
      const regs = fn === 'input' ? srv.input : srv.holding;
      const bad = fn === 'input' && Array.from({ length }, (_, i) => addr + i).some((a) => srv.refuse.has(a));
      if (bad) {
        entry.refused = true;
        cb(Object.assign(new Error('illegal data address'), { modbusErrorCode: 2 }), []);
        return;
      }
      cb(
        null,
        Array.from({ length }, (_, i) => regs.get(addr + i) ?? 0),
      );
    };
    if (opts.answerDelayMs) setTimeout(done, opts.answerDelayMs);
    else done();
  };
  const vector = {
    getInputRegister: (addr: number, _unit: number, cb: (err: Error | null, v: number) => void) =>
      answer('input', addr, 1, (err, v) => cb(err, v[0] ?? 0)),
    getMultipleInputRegisters: (
      addr: number,
      length: number,
      _unit: number,
      cb: (err: Error | null, v: number[]) => void,
    ) => answer('input', addr, length, cb),
    getHoldingRegister: (addr: number, _unit: number, cb: (err: Error | null, v: number) => void) =>
      answer('holding', addr, 1, (err, v) => cb(err, v[0] ?? 0)),
    getMultipleHoldingRegisters: (
      addr: number,
      length: number,
      _unit: number,
      cb: (err: Error | null, v: number[]) => void,
    ) => answer('holding', addr, length, cb),
  };
  const server = new ServerTCP(vector, { host: '127.0.0.1', port, unitID: opts.unitId ?? 1 });
  await new Promise<void>((resolve, reject) => {
    server.once('initialized', () => resolve());
    server.once('serverError', (err) => reject(err ?? new Error('listen failed')));
  });
  server.on('socketError', () => undefined);
  srv.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return srv;
}
