/**
 * A small Modbus TCP server on node:net for simulators: the MBAP framing and the PDUs of reads
 * (FC03, FC04) and writes (FC06, FC16), with every decision left to the simulator's `handle`:
 * which unit answers, exception codes per request (2 illegal address, 6 busy…), no answer at all
 * (a unit that is not on the bus). modbus-serial's ServerTCP cannot refuse a second client, tell
 * connections apart or answer "busy" from the timing of a request, which a gateway such as a
 * Huawei SDongle does; hence this one.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { listen } from '../../lib/listen.js';

/** A request as the simulator sees it. */
export interface ModbusRequest {
  /** The connection it came on (1, 2, … in order of acceptance). */
  connection: number;
  unit: number;
  fc: number;
  address: number;
  count: number;
  /** FC06 / FC16: the words written. */
  words?: number[];
  /** Server clock (ms) when it arrived. */
  at: number;
}

/** Registers (reads), `ok` (writes), an exception code, or null for no answer. */
export type ModbusAnswer = { words: number[] } | { ok: true } | { exception: number } | null;

export interface ModbusTcpServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  handle(req: ModbusRequest): ModbusAnswer;
  /** A new connection; return false to close it at once. */
  onConnection?(connection: number, socket: Socket): boolean;
  onClose?(connection: number): void;
}

export interface ModbusTcpServer {
  port: number;
  /** Closes one connection (a gateway pushing a client off). */
  drop(connection: number): void;
  stop(): Promise<void>;
}

export const MODBUS_ILLEGAL_FUNCTION = 1;
export const MODBUS_ILLEGAL_ADDRESS = 2;
export const MODBUS_BUSY = 6;

export async function startModbusTcpServer(opts: ModbusTcpServerOptions): Promise<ModbusTcpServer> {
  const sockets = new Map<number, Socket>();
  let connections = 0;
  const server: Server = createServer((sock) => {
    const connection = ++connections;
    sock.on('error', () => undefined);
    if (opts.onConnection && !opts.onConnection(connection, sock)) {
      sock.destroy();
      return;
    }
    sockets.set(connection, sock);
    sock.on('close', () => {
      sockets.delete(connection);
      opts.onClose?.(connection);
    });
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 8) {
        const len = buf.readUInt16BE(4);
        if (len < 2 || len > 260) {
          sock.destroy(); // not Modbus TCP
          return;
        }
        if (buf.length < 6 + len) break;
        const frame = buf.subarray(0, 6 + len);
        buf = buf.subarray(6 + len);
        let answer: Buffer | null;
        try {
          answer = respond(frame, connection, opts.handle);
        } catch {
          answer = null; // a malformed request (a frame shorter than its count says): no answer
        }
        if (answer && !sock.destroyed) sock.write(answer);
      }
    });
  });
  const port = await listen(server, opts.port, opts.host);
  return {
    port,
    drop(connection) {
      sockets.get(connection)?.destroy();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets.values()) s.destroy();
        sockets.clear();
        server.close(() => resolve());
      }),
  };
}

/** The answer frame to one request frame (MBAP + PDU), or null. */
function respond(frame: Buffer, connection: number, handle: ModbusTcpServerOptions['handle']): Buffer | null {
  const tid = frame.readUInt16BE(0);
  const unit = frame.readUInt8(6);
  const fc = frame.readUInt8(7);
  const reply = (pdu: Buffer): Buffer => {
    const head = Buffer.alloc(7);
    head.writeUInt16BE(tid, 0);
    head.writeUInt16BE(0, 2);
    head.writeUInt16BE(pdu.length + 1, 4);
    head.writeUInt8(unit, 6);
    return Buffer.concat([head, pdu]);
  };
  const exception = (code: number) => reply(Buffer.from([fc | 0x80, code]));
  if (frame.length < 12 || ![3, 4, 6, 16].includes(fc)) {
    return frame.length < 8 ? null : exception(MODBUS_ILLEGAL_FUNCTION);
  }
  const address = frame.readUInt16BE(8);
  const count = fc === 6 ? 1 : frame.readUInt16BE(10);
  const req: ModbusRequest = { connection, unit, fc, address, count, at: Date.now() };
  if (fc === 6) req.words = [frame.readUInt16BE(10)];
  if (fc === 16) req.words = Array.from({ length: count }, (_, i) => frame.readUInt16BE(13 + i * 2));
  const answer = handle(req);
  if (answer === null) return null;
  if ('exception' in answer) return exception(answer.exception);
  if ('ok' in answer) return reply(frame.subarray(7, 12));
  const pdu = Buffer.alloc(2 + answer.words.length * 2);
  pdu.writeUInt8(fc, 0);
  pdu.writeUInt8(answer.words.length * 2, 1);
  answer.words.forEach((w, i) => {
    pdu.writeUInt16BE(w & 0xffff, 2 + i * 2);
  });
  return reply(pdu);
}
