/**
 * One Modbus device's connection for the poller (poller.ts): opening it (its own socket, or a
 * gateway's shared one: shared-link.ts), the wait after connecting, one request at a time under one
 * I/O lock, a "busy" answer asked again after a growing wait, and in `connectPerCycle` mode a
 * socket the device closed reopened once.
 */
import type { Logger } from '../../lib/log.js';
import { sleep } from '../../lib/sleep.js';
import { SharedLink } from './shared-link.js';
import {
  EXCEPTION_SERVER_BUSY,
  ModbusException,
  ModbusTcpClient,
  ModbusTransportError,
  type WritableRegisterTransport,
} from './tcp-client.js';

export interface DeviceConnectionOptions {
  /** Device name, in errors. */
  name: string;
  host: string;
  port: number;
  unitId: number;
  timeoutMs: number;
  interRequestDelayMs: number;
  maxInterRequestDelayMs?: number;
  connectDelayMs: number;
  connectPerCycle: boolean;
  shareConnection: boolean;
  /** Times a "busy" answer is asked again, and the first wait before it (doubling, full jitter). */
  busyRetries: number;
  busyBackoffMs: number;
  /** The poller's signal while it runs (aborted by stop). */
  signal: () => AbortSignal | undefined;
  /** Called before each (re)connect (the block schedule starts over). */
  onConnecting: () => void;
  log: Logger;
}

export class DeviceConnection {
  private client: ModbusTcpClient | null = null;
  private readonly link: SharedLink | null;
  private lock: Promise<unknown> = Promise.resolve();
  private requestsClosed = 0;
  private requestsShared = 0;
  private connectCount = 0;
  private busyCount = 0;
  /** Reads and writes of registers, each a request on this connection. */
  readonly transport: WritableRegisterTransport;

  constructor(private readonly options: DeviceConnectionOptions) {
    if (options.shareConnection && options.connectPerCycle)
      throw new Error(`${options.name}: a shared connection stays open`);
    this.link = options.shareConnection
      ? new SharedLink({
          host: options.host,
          port: options.port,
          timeoutMs: options.timeoutMs,
          interRequestDelayMs: options.interRequestDelayMs,
          ...(options.maxInterRequestDelayMs === undefined
            ? {}
            : { maxInterRequestDelayMs: options.maxInterRequestDelayMs }),
          connectDelayMs: options.connectDelayMs,
        })
      : null;
    const { unitId } = options;
    this.transport = {
      readRegisters: (fn, address, count) => this.request((c) => c.readRegisters(fn, address, count, unitId)),
      writeRegisters: (address, words) => this.request((c) => c.writeRegisters(address, words, unitId)),
    };
  }

  get endpoint(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  get isOpen(): boolean {
    return this.client?.isOpen ?? false;
  }

  /** Requests sent, connections opened and "busy" answers, since this was made. */
  get counts(): { requests: number; connects: number; busy: number } {
    return {
      requests: this.link ? this.requestsShared : this.requestsClosed + (this.client?.requests ?? 0),
      connects: this.connectCount,
      busy: this.busyCount,
    };
  }

  /** Opens a connection (and waits connectDelayMs); the previous one is closed. */
  async connect(signal?: AbortSignal): Promise<ModbusTcpClient> {
    this.options.onConnecting();
    if (this.link) {
      const { client, fresh } = await this.link.open();
      this.client = client;
      this.connectCount++;
      this.options.log.debug(
        { endpoint: this.endpoint, shared_by: this.link.users, fresh },
        'using the shared connection',
      );
      return client;
    }
    await this.close();
    const client = this.newClient(signal);
    this.client = client;
    await client.connect();
    this.connectCount++;
    this.options.log.debug({ endpoint: this.endpoint }, 'tcp connected');
    if (this.options.connectDelayMs > 0) await sleep(this.options.connectDelayMs, signal);
    return client;
  }

  /** Closes this device's connection (a shared one only when it failed: stop releases it). */
  async close(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = null;
    if (this.link) {
      // Stopping: stop() releases it. Failing: the connection is not to be trusted, for anyone.
      if (!this.options.signal()?.aborted) await this.link.drop(client);
      return;
    }
    this.requestsClosed += client.requests;
    await client.close();
  }

  /**
   * Ends this device's use of the connection. A shared connection is not this device's to close
   * while others use it (their requests end within their timeout); its last user closes it at once.
   */
  async closeForStop(): Promise<void> {
    if (!this.link || this.link.users <= 1) await this.client?.close();
  }

  /** Lets go of a shared connection, after the loop ended. */
  async release(): Promise<void> {
    await this.link?.release();
  }

  /** Runs `fn` with no other poll or write in between. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private newClient(signal?: AbortSignal): ModbusTcpClient {
    const max = this.options.maxInterRequestDelayMs;
    return new ModbusTcpClient({
      host: this.options.host,
      port: this.options.port,
      unitId: this.options.unitId,
      timeoutMs: this.options.timeoutMs,
      interRequestDelayMs: this.options.interRequestDelayMs,
      ...(max === undefined ? {} : { maxInterRequestDelayMs: max }),
      ...(signal ? { signal } : {}),
    });
  }

  /**
   * One request on the current connection. In connectPerCycle mode a connection the device closed
   * after its previous answer is reopened, and a request that fails on the transport is sent once
   * more on a new connection.
   */
  private async request<T>(fn: (c: ModbusTcpClient) => Promise<T>): Promise<T> {
    const tries = this.options.busyRetries;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.requestOnce(fn);
      } catch (err) {
        if (!(err instanceof ModbusException) || err.exceptionCode !== EXCEPTION_SERVER_BUSY) throw err;
        this.busyCount++;
        const signal = this.options.signal();
        if (attempt >= tries || signal?.aborted) throw err;
        // Exponential with full jitter, as the reconnects: several clients do not retry in step.
        const wait = Math.round(Math.random() * this.options.busyBackoffMs * 2 ** attempt);
        this.options.log[attempt === 0 && this.busyCount === 1 ? 'warn' : 'debug'](
          { retry_in_ms: wait, attempt: attempt + 1, pause_ms: this.client?.interRequestDelayMs },
          'device busy (Modbus exception 6): asking again later, slower',
        );
        await sleep(wait, signal);
      }
    }
  }

  private async requestOnce<T>(fn: (c: ModbusTcpClient) => Promise<T>): Promise<T> {
    const signal = this.options.signal();
    let client = this.client;
    if (!this.options.connectPerCycle) {
      if (!client?.isOpen) throw new ModbusTransportError(`${this.options.name}: not connected to ${this.endpoint}`);
      if (this.link) this.requestsShared++;
      return fn(client);
    }
    // Let the socket report a close that came with the previous answer before using it again
    // (a request sent on it would only time out; the retry below covers a later close).
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
    if (!client?.isOpen) client = await this.connect(signal);
    try {
      return await fn(client);
    } catch (err) {
      if (!(err instanceof ModbusTransportError) || signal?.aborted) throw err;
      this.options.log.debug({ err: err.message }, 'request failed on a per-cycle connection: reconnecting once');
      client = await this.connect(signal);
      return fn(client);
    }
  }
}
