/**
 * A small Modbus TCP server on 127.0.0.1 written on node:net (FC03, FC04, FC06, FC16), so tests
 * control what modbus-serial's ServerTCP cannot: closing the socket after every answer (as a
 * Morningstar TS-MPPT does), exception codes per address and function, which holding registers
 * accept writes. Every request is logged with the server's clock.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../../helpers/net.js';

export type Fn = 'input' | 'holding';

export interface ServerRequest {
  fc: number;
  address: number;
  count: number;
  /** Written words (FC06/FC16). */
  words?: number[];
  /** Server clock (ms) when the request arrived. */
  at: number;
  /** Exception code answered, if any. */
  exception?: number;
  /** Which TCP connection (1, 2, …) carried it. */
  connection: number;
}

export interface RawServerOptions {
  port?: number;
  unitId?: number;
  /** Close the socket after each answer. */
  closeAfterAnswer?: boolean;
  answerDelayMs?: number;
}

export class RawModbusServer {
  readonly input = new Map<number, number>();
  readonly holding = new Map<number, number>();
  /** Wire addresses answering exception 2, per function. */
  readonly refuse = { input: new Set<number>(), holding: new Set<number>() };
  /** Holding addresses that accept writes (others answer exception 2). */
  readonly writable = new Set<number>();
  /** What a write stores (default: the written word). A device that clamps can be modelled here. */
  onWrite: (address: number, word: number) => number = (_a, w) => w;
  readonly log: ServerRequest[] = [];
  connections = 0;
  /** Server clock (ms) when each connection was accepted. */
  readonly acceptedAt: number[] = [];
  port = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: RawServerOptions = {}) {}

  /** Sets consecutive words from wire address `address`. */
  set(fn: Fn, address: number, ...words: number[]): void {
    const m = fn === 'input' ? this.input : this.holding;
    words.forEach((w, i) => {
      m.set(address + i, w & 0xffff);
    });
  }

  async start(port?: number): Promise<number> {
    this.port = port ?? this.opts.port ?? (await freePort());
    const server = createServer((sock) => this.onConnection(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const srv = this.server;
    this.server = null;
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  }

  private onConnection(sock: Socket): void {
    this.sockets.add(sock);
    const connection = ++this.connections;
    this.acceptedAt.push(Date.now());
    let buf = Buffer.alloc(0);
    sock.on('error', () => undefined);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 7) {
        const len = buf.readUInt16BE(4);
        if (buf.length < 6 + len) break;
        const frame = buf.subarray(0, 6 + len);
        buf = buf.subarray(6 + len);
        const answer = this.handle(frame, connection);
        if (!answer) continue;
        const send = () => {
          if (sock.destroyed) return;
          if (this.opts.closeAfterAnswer) sock.end(answer);
          else sock.write(answer);
        };
        if (this.opts.answerDelayMs) setTimeout(send, this.opts.answerDelayMs);
        else send();
      }
    });
  }

  private handle(frame: Buffer, connection: number): Buffer | null {
    const tid = frame.readUInt16BE(0);
    const unit = frame.readUInt8(6);
    if (unit !== (this.opts.unitId ?? 1)) return null;
    const fc = frame.readUInt8(7);
    const address = frame.readUInt16BE(8);
    const count = fc === 6 ? 1 : frame.readUInt16BE(10);
    const entry: ServerRequest = { fc, address, count, at: Date.now(), connection };
    this.log.push(entry);
    const reply = (pdu: Buffer) => {
      const head = Buffer.alloc(7);
      head.writeUInt16BE(tid, 0);
      head.writeUInt16BE(0, 2);
      head.writeUInt16BE(pdu.length + 1, 4);
      head.writeUInt8(unit, 6);
      return Buffer.concat([head, pdu]);
    };
    const exception = (code: number) => {
      entry.exception = code;
      return reply(Buffer.from([fc | 0x80, code]));
    };
    if (fc === 3 || fc === 4) {
      const fn: Fn = fc === 4 ? 'input' : 'holding';
      const regs = fn === 'input' ? this.input : this.holding;
      for (let a = address; a < address + count; a++) if (this.refuse[fn].has(a)) return exception(2);
      const pdu = Buffer.alloc(2 + count * 2);
      pdu.writeUInt8(fc, 0);
      pdu.writeUInt8(count * 2, 1);
      for (let i = 0; i < count; i++) pdu.writeUInt16BE(regs.get(address + i) ?? 0, 2 + i * 2);
      return reply(pdu);
    }
    if (fc === 6 || fc === 16) {
      const words =
        fc === 6 ? [frame.readUInt16BE(10)] : Array.from({ length: count }, (_, i) => frame.readUInt16BE(13 + i * 2));
      entry.words = words;
      for (let a = address; a < address + count; a++) if (!this.writable.has(a)) return exception(2);
      words.forEach((w, i) => {
        this.holding.set(address + i, this.onWrite(address + i, w) & 0xffff);
      });
      return reply(fc === 6 ? frame.subarray(7, 12) : frame.subarray(7, 12));
    }
    return exception(1);
  }
}
