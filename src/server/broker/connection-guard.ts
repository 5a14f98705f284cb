/**
 * What the embedded broker does to a connection before aedes sees a byte of it:
 * - `MqttSizeGuard`: reads the MQTT fixed header of every packet (type byte, then the remaining
 *   length as a variable-length integer) and closes the connection as soon as a packet declares more
 *   than it may carry: `maxConnectBytes` for the first packet (CONNECT, before the client is
 *   authenticated), `maxPacketBytes` after. aedes itself buffers a whole packet before parsing it,
 *   so without this a client could make the server hold hundreds of MB before saying who it is.
 * - `AddressLimiter`: at most `perAddress` open connections from one remote address.
 * - `inProcessPair`: two connected in-memory streams, for the server's own MQTT clients (the
 *   ingester): they reach the broker without a network listener or a client certificate.
 */
import { Duplex } from 'node:stream';

export interface SizeLimits {
  /** Largest remaining length of the first packet (CONNECT). */
  maxConnectBytes: number;
  /** Largest remaining length of any later packet. */
  maxPacketBytes: number;
}

/** Scans MQTT fixed headers across chunks; `feed` returns an error text when a packet is too large. */
export class MqttSizeGuard {
  private packets = 0;
  /** 0: expecting a type byte; 1: in the remaining length; 2: in a body. */
  private state: 0 | 1 | 2 = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;

  constructor(private readonly limits: SizeLimits) {}

  feed(chunk: Uint8Array): string | null {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === 2) {
        const take = Math.min(this.bodyLeft, n - i);
        i += take;
        this.bodyLeft -= take;
        if (this.bodyLeft === 0) this.state = 0;
        continue;
      }
      const byte = chunk[i++] as number;
      if (this.state === 0) {
        this.state = 1;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes >= 4) return 'malformed remaining length';
        continue;
      }
      const max = this.packets === 0 ? this.limits.maxConnectBytes : this.limits.maxPacketBytes;
      if (this.length > max)
        return `${this.packets === 0 ? 'first packet' : 'packet'} of ${this.length} bytes is over the ${max}-byte limit`;
      this.packets++;
      this.bodyLeft = this.length;
      this.state = this.length > 0 ? 2 : 0;
    }
    return null;
  }
}

/**
 * Wraps a socket: bytes from the peer pass through `MqttSizeGuard` first; a packet over the limit
 * destroys the socket (and this stream) before it is buffered anywhere.
 */
export class GuardedConnection extends Duplex {
  private readonly guard: MqttSizeGuard;

  constructor(
    private readonly socket: Duplex,
    limits: SizeLimits,
    onRefused: (reason: string) => void,
  ) {
    super({ allowHalfOpen: false });
    this.guard = new MqttSizeGuard(limits);
    socket.on('data', (chunk: Buffer) => {
      const refused = this.guard.feed(chunk);
      if (refused !== null) {
        onRefused(refused);
        socket.destroy();
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (err) => this.destroy(err));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket.destroyed) {
      cb();
      return;
    }
    this.socket.write(chunk, enc, (err) => cb(err ?? null));
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}

/** Counts open connections per remote address. */
export class AddressLimiter {
  private readonly open = new Map<string, number>();

  constructor(private readonly perAddress: number) {}

  /** Takes a place for `address`; false when it has `perAddress` already. `release` gives it back. */
  take(address: string): boolean {
    const n = this.open.get(address) ?? 0;
    if (n >= this.perAddress) return false;
    this.open.set(address, n + 1);
    return true;
  }

  release(address: string): void {
    const n = (this.open.get(address) ?? 0) - 1;
    if (n <= 0) this.open.delete(address);
    else this.open.set(address, n);
  }

  count(address: string): number {
    return this.open.get(address) ?? 0;
  }
}

/** Two in-memory streams, each writing into the other. */
export function inProcessPair(): [Duplex, Duplex] {
  let a: Duplex | null = null;
  let b: Duplex | null = null;
  const make = (other: () => Duplex | null): Duplex =>
    new Duplex({
      allowHalfOpen: false,
      read() {},
      write(chunk: Buffer, _enc, cb) {
        const peer = other();
        if (peer && !peer.destroyed) peer.push(chunk);
        cb();
      },
      final(cb) {
        other()?.push(null);
        cb();
      },
      destroy(err, cb) {
        const peer = other();
        if (peer && !peer.destroyed) peer.destroy();
        cb(err);
      },
    });
  a = make(() => b);
  b = make(() => a);
  return [a, b];
}
