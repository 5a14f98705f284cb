/**
 * One Modbus TCP connection (modbus-serial underneath) with what the house style asks of I/O:
 * a timeout on the connect and on every request, requests strictly one at a time and spaced by a
 * minimum pause (slow gateways such as Sungrow's WiNet-S drop requests that come too fast), and
 * errors split into two kinds:
 * - ModbusException: the device answered with an exception code (2 = illegal data address).
 *   The connection is fine.
 * - ModbusTransportError: timeout, refused, closed… The connection is not to be trusted any more.
 */
import modbusSerial from 'modbus-serial';
import { errorMessage, KwartierError } from '../../core/errors.js';
import { sleep } from '../../lib/sleep.js';
import type { RegisterFn } from './register-table.js';

// modbus-serial is CommonJS; its typings declare the client class as the `default` member.
const ModbusRTU = modbusSerial.default;
type ModbusClient = InstanceType<typeof ModbusRTU>;

export const EXCEPTION_ILLEGAL_DATA_ADDRESS = 2;
/** "Server device busy": the device cannot take the request now; ask again later, slower. */
export const EXCEPTION_SERVER_BUSY = 6;

export class ModbusException extends KwartierError {
  readonly exceptionCode: number;
  constructor(exceptionCode: number, what: string) {
    super('modbus_exception', `${what}: Modbus exception ${exceptionCode}`, { retriable: exceptionCode !== 2 });
    this.name = 'ModbusException';
    this.exceptionCode = exceptionCode;
  }
}

export class ModbusTransportError extends KwartierError {
  constructor(message: string, cause?: unknown) {
    super('modbus_transport', message, { retriable: true, cause });
    this.name = 'ModbusTransportError';
  }
}

export interface ModbusTcpOptions {
  host: string;
  port: number;
  unitId: number;
  /** Timeout of the TCP connect and of each request. */
  timeoutMs: number;
  /** Minimum pause between the end of one request and the start of the next. */
  interRequestDelayMs: number;
  /**
   * The pause grows up to this when the device answers "busy" (exception 6) and shrinks back to
   * interRequestDelayMs as requests succeed again (default: the pause never changes).
   */
  maxInterRequestDelayMs?: number;
  /** Aborts a pending pause (stop()). */
  signal?: AbortSignal;
}

/** What a register table reader needs from a transport. */
export interface RegisterTransport {
  readRegisters(fn: RegisterFn, address: number, count: number): Promise<number[]>;
}

/** A transport that can also write holding registers (FC06 for one word, FC16 for more). */
export interface WritableRegisterTransport extends RegisterTransport {
  writeRegisters(address: number, words: readonly number[]): Promise<void>;
}

/** Successful requests in a row after which a pause raised by "busy" is halved again. */
const EASE_AFTER_OK = 10;

/** modbus-serial rejects with plain objects ({name, message, errno}) as well as Errors. */
function describe(err: unknown): string {
  if (err && typeof err === 'object' && !(err instanceof Error)) {
    const o = err as { message?: unknown; errno?: unknown };
    if (typeof o.message === 'string' && o.message !== '') {
      return typeof o.errno === 'string' ? `${o.message} (${o.errno})` : o.message;
    }
  }
  return errorMessage(err);
}

/** Settles with `p`, or rejects after `ms` (calling onTimeout) or when `signal` aborts. */
function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  what: string,
  onTimeout: () => void,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      onTimeout();
      reject(new ModbusTransportError(`${what}: aborted`));
    };
    const t = setTimeout(() => {
      done();
      onTimeout();
      reject(new ModbusTransportError(`${what}: timed out after ${ms} ms`));
    }, ms);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        done();
        resolve(v);
      },
      (err: unknown) => {
        done();
        reject(err);
      },
    );
  });
}

export class ModbusTcpClient implements WritableRegisterTransport {
  private client: ModbusClient | null = null;
  private closed = false;
  private lastEnd = 0;
  private busy: Promise<unknown> = Promise.resolve();
  private gapMs: number;
  private okInRow = 0;
  /** Requests sent on this connection (for logs and benchmarks). */
  requests = 0;

  constructor(private readonly opts: ModbusTcpOptions) {
    this.gapMs = opts.interRequestDelayMs;
  }

  /** The pause between requests now (raised by "busy" answers, see maxInterRequestDelayMs). */
  get interRequestDelayMs(): number {
    return this.gapMs;
  }

  get endpoint(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  /** Opens the TCP connection. Throws ModbusTransportError. */
  async connect(): Promise<void> {
    const c = new ModbusRTU();
    // modbus-serial emits 'error' on socket errors; without a listener that would crash the process.
    c.on('error', () => undefined);
    c.on('close', () => {
      this.closed = true;
    });
    this.client = c;
    this.closed = false;
    try {
      await withTimeout(
        c.connectTCP(this.opts.host, { port: this.opts.port }),
        this.opts.timeoutMs,
        `connect ${this.endpoint}`,
        () => c.destroy(() => undefined),
        this.opts.signal,
      );
    } catch (err) {
      this.client = null;
      if (err instanceof ModbusTransportError) throw err;
      throw new ModbusTransportError(`connect ${this.endpoint}: ${describe(err)}`, err);
    }
    c.setID(this.opts.unitId);
    c.setTimeout(this.opts.timeoutMs);
    this.lastEnd = Date.now();
  }

  get isOpen(): boolean {
    return this.client !== null && !this.closed && this.client.isOpen;
  }

  /**
   * Reads `count` registers from wire address `address`, after the minimum pause since the
   * previous request. Requests are serialised even if callers overlap. `unitId` addresses another
   * unit behind the same connection (several inverters on one gateway); default the client's.
   */
  readRegisters(fn: RegisterFn, address: number, count: number, unitId?: number): Promise<number[]> {
    const unit = unitId ?? this.opts.unitId;
    const what = `${fn === 'input' ? 'FC04' : 'FC03'} ${address}+${count} at ${this.endpoint} unit ${unit}`;
    return this.serialised(what, unit, async (c) => {
      const p = fn === 'input' ? c.readInputRegisters(address, count) : c.readHoldingRegisters(address, count);
      const res = await this.bounded(p, what);
      if (res.data.length !== count) throw new ModbusTransportError(`${what}: got ${res.data.length} registers`);
      return res.data;
    });
  }

  /**
   * Writes holding registers from wire address `address`: FC06 for one word, FC16 for several.
   * Serialised and paced like reads.
   */
  writeRegisters(address: number, words: readonly number[], unitId?: number): Promise<void> {
    const unit = unitId ?? this.opts.unitId;
    const what = `${words.length === 1 ? 'FC06' : 'FC16'} ${address}+${words.length} at ${this.endpoint} unit ${unit}`;
    return this.serialised(what, unit, async (c) => {
      const w0 = words[0] ?? 0;
      const p: Promise<unknown> =
        words.length === 1
          ? c.writeRegister(address, w0 & 0xffff)
          : c.writeRegisters(
              address,
              words.map((w) => w & 0xffff),
            );
      await this.bounded(p, what);
    });
  }

  /**
   * One request at a time even if callers overlap, after the minimum pause since the previous one;
   * a Modbus exception becomes ModbusException, anything else ModbusTransportError naming `what`.
   */
  private serialised<T>(what: string, unitId: number, request: (c: ModbusClient) => Promise<T>): Promise<T> {
    const run = this.busy.then(async () => {
      const wait = this.lastEnd + this.gapMs - Date.now();
      if (wait > 0) await sleep(wait, this.opts.signal);
      const c = this.client;
      if (!c || !this.isOpen) throw new ModbusTransportError(`${what}: not connected`);
      this.requests++;
      c.setID(unitId);
      try {
        const out = await request(c);
        this.adapt(false);
        return out;
      } catch (err) {
        const code = (err as { modbusCode?: unknown }).modbusCode;
        if (typeof code === 'number') {
          this.adapt(code === EXCEPTION_SERVER_BUSY);
          throw new ModbusException(code, what);
        }
        if (err instanceof ModbusTransportError) throw err;
        throw new ModbusTransportError(`${what}: ${describe(err)}`, err);
      } finally {
        this.lastEnd = Date.now();
      }
    });
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** A busy answer doubles the pause (up to the maximum); a run of answers halves it again. */
  private adapt(busy: boolean): void {
    const max = this.opts.maxInterRequestDelayMs;
    if (max === undefined || max <= this.opts.interRequestDelayMs) return;
    if (busy) {
      this.okInRow = 0;
      this.gapMs = Math.min(max, Math.max(2 * this.gapMs, 50));
    } else if (++this.okInRow >= EASE_AFTER_OK && this.gapMs > this.opts.interRequestDelayMs) {
      this.okInRow = 0;
      this.gapMs = Math.max(this.opts.interRequestDelayMs, Math.floor(this.gapMs / 2));
    }
  }

  /** modbus-serial has its own request timeout; ours is a backstop for a socket closed mid-request. */
  private bounded<T>(p: Promise<T>, what: string): Promise<T> {
    return withTimeout(p, this.opts.timeoutMs + 500, what, () => undefined, this.opts.signal);
  }

  /** Closes the connection (idempotent, never throws). */
  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (!c) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      try {
        c.destroy(() => {
          clearTimeout(t);
          resolve();
        });
      } catch {
        clearTimeout(t);
        resolve();
      }
    });
  }
}
