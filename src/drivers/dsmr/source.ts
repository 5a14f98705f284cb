/**
 * The P1 source: reads the telegram stream of a smart meter over TCP (ser2net, a P1-to-network
 * bridge) or a serial port, and gives the edge one reading per valid telegram.
 *
 * One loop per source: connect (with a timeout) → pump bytes through the framer → on close, error or
 * read-idle (no valid telegram for `idleTimeoutMs`) → back off with jitter → reconnect. Bad input
 * never throws: rejected telegrams are counted and logged at most once per `errorLogIntervalMs`.
 * States are logged once per change: connected, lost (with the reason), back.
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Backoff, type BackoffOptions } from '../../core/backoff.js';
import { ConfigError, errorMessage } from '../../core/errors.js';
import { parseHostPort } from '../../core/host-port.js';
import type { Logger } from '../../lib/log.js';
import { sleep } from '../../lib/sleep.js';
import type { Source, SourceReading, SourceState } from '../source.js';
import type { DsmrConfig } from './config.js';
import { telegramToFields } from './fields.js';
import { type FrameEvent, TelegramFramer } from './framer.js';
import { parseFramed } from './parser.js';
import type { Country, P1Telegram } from './telegram.js';

export interface DsmrSourceOptions {
  log: Logger;
  /** Overrides the country detected from the telegram (also settable as dsmr.country). */
  country?: Country;
  /** Reconnect when no valid telegram arrived for this long (default: dsmr.idle_timeout_s or 30 s). */
  idleTimeoutMs?: number;
  /** Connect / open timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** Reconnect backoff (default 1 s doubling to 60 s, full jitter). */
  backoff?: BackoffOptions;
  /** At most one log line about rejected telegrams per this interval (default 60 s). */
  errorLogIntervalMs?: number;
}

export interface DsmrSourceStats {
  telegrams: number;
  crcErrors: number;
  frameErrors: number;
  connects: number;
  state: SourceState;
}

/** Opens the byte stream; `describe` names it in logs. */
interface Transport {
  describe: string;
  open(timeoutMs: number, signal: AbortSignal): Promise<Duplex>;
}

export class DsmrSource implements Source {
  readonly name = 'dsmr';
  readonly kind = 'p1' as const;
  readonly intervalMs = 1000;

  private readonly readingListeners: ((r: SourceReading) => void)[] = [];
  private readonly stateListeners: ((s: SourceState, detail?: string) => void)[] = [];
  private readonly telegramListeners: ((t: P1Telegram) => void)[] = [];
  private readonly framer = new TelegramFramer();
  private readonly log: Logger;
  private readonly idleTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly errorLogIntervalMs: number;
  private readonly country: Country | undefined;
  private state: SourceState = 'connecting';
  private everConnected = false;
  private lostAt = 0;
  private connects = 0;
  private lastTelegramAt = 0;
  private lastErrorLogAt = Number.NEGATIVE_INFINITY;
  private errorsSinceLog = 0;
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly opts: DsmrSourceOptions,
  ) {
    this.log = opts.log;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.errorLogIntervalMs = opts.errorLogIntervalMs ?? 60_000;
    this.country = opts.country;
  }

  onReading(listener: (reading: SourceReading) => void): void {
    this.readingListeners.push(listener);
  }

  onState(listener: (state: SourceState, detail?: string) => void): void {
    this.stateListeners.push(listener);
  }

  /** Every valid telegram, parsed (for tools that want more than the snapshot fields). */
  onTelegram(listener: (telegram: P1Telegram) => void): void {
    this.telegramListeners.push(listener);
  }

  stats(): DsmrSourceStats {
    const f = this.framer.stats;
    return {
      telegrams: f.telegrams,
      crcErrors: f.crcErrors,
      frameErrors: f.otherErrors,
      connects: this.connects,
      state: this.state,
    };
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.abort = new AbortController();
    this.log.info({ target: this.transport.describe }, 'P1 source starting');
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    if (!this.loop) return;
    this.abort?.abort();
    await this.loop;
    this.loop = null;
    this.abort = null;
    this.log.info({ target: this.transport.describe, ...this.stats() }, 'P1 source stopped');
  }

  private async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 60_000, ...this.opts.backoff });
    while (!signal.aborted) {
      let stream: Duplex;
      try {
        stream = await this.transport.open(this.connectTimeoutMs, signal);
      } catch (err) {
        if (signal.aborted) break;
        this.setState('lost', `cannot connect to ${this.transport.describe}: ${errorMessage(err)}`);
        await sleep(backoff.next(), signal);
        continue;
      }
      this.connects++;
      this.setState('connected');
      const reason = await this.pump(stream, signal, backoff);
      stream.destroy();
      if (signal.aborted) break;
      this.setState('lost', reason);
      await sleep(backoff.next(), signal);
    }
  }

  /** Feeds the stream to the framer until it closes, fails, goes idle or the source stops; returns why. */
  private pump(stream: Duplex, signal: AbortSignal, backoff: Backoff): Promise<string> {
    this.framer.clear();
    this.lastTelegramAt = Date.now();
    return new Promise((resolve) => {
      let done = false;
      let idleTimer: NodeJS.Timeout | undefined;
      const finish = (reason: string) => {
        if (done) return;
        done = true;
        clearTimeout(idleTimer);
        signal.removeEventListener('abort', onAbort);
        stream.off('data', onData);
        resolve(reason);
      };
      const onAbort = () => finish('stopped');
      const onData = (chunk: Buffer) => {
        let events: FrameEvent[];
        try {
          events = this.framer.push(chunk);
        } catch (err) {
          // The framer does not throw; if it ever did, drop what it holds rather than crash the edge.
          this.log.error({ err: errorMessage(err) }, 'P1 framer failed; buffer dropped');
          this.framer.clear();
          return;
        }
        for (const ev of events) this.handle(ev, backoff);
      };
      const checkIdle = () => {
        const quiet = Date.now() - this.lastTelegramAt;
        if (quiet >= this.idleTimeoutMs) {
          finish(`no valid telegram for ${Math.round(quiet / 1000)} s`);
          return;
        }
        idleTimer = setTimeout(checkIdle, this.idleTimeoutMs - quiet);
      };
      idleTimer = setTimeout(checkIdle, this.idleTimeoutMs);
      stream.on('data', onData);
      stream.on('error', (err: Error) => finish(`read error: ${err.message}`));
      stream.once('end', () => finish('connection closed by the other end'));
      stream.once('close', () => finish('connection closed'));
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private handle(ev: FrameEvent, backoff: Backoff): void {
    if (ev.type === 'error') {
      this.errorsSinceLog++;
      const now = Date.now();
      if (now - this.lastErrorLogAt >= this.errorLogIntervalMs) {
        this.log.warn(
          { rejected: this.errorsSinceLog, crc_errors_total: this.framer.stats.crcErrors, code: ev.error.code },
          `P1 telegram rejected: ${ev.error.message}`,
        );
        this.lastErrorLogAt = now;
        this.errorsSinceLog = 0;
      }
      return;
    }
    const at = Date.now();
    this.lastTelegramAt = at;
    backoff.reset();
    let telegram: P1Telegram;
    try {
      telegram = parseFramed(ev, this.country === undefined ? {} : { country: this.country });
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'P1 telegram could not be parsed');
      return;
    }
    const reading: SourceReading = { source: this.name, at, fields: telegramToFields(telegram) };
    for (const l of this.telegramListeners) this.safely(() => l(telegram));
    for (const l of this.readingListeners) this.safely(() => l(reading));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'P1 reading listener failed');
    }
  }

  private setState(state: SourceState, detail?: string): void {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    if (state === 'connected') {
      if (!this.everConnected) this.log.info({ target: this.transport.describe }, 'P1 source connected');
      else if (previous === 'lost') {
        const downS = Math.round((Date.now() - this.lostAt) / 1000);
        this.log.info({ target: this.transport.describe, down_s: downS }, 'P1 source back');
      }
      this.everConnected = true;
    } else if (state === 'lost') {
      this.lostAt = Date.now();
      this.log.warn({ target: this.transport.describe, reason: detail }, `P1 source lost: ${detail}; reconnecting`);
    }
    for (const l of this.stateListeners) this.safely(() => l(state, detail));
  }
}

/** A TCP client to a raw telegram stream. */
export function tcpTransport(host: string, port: number): Transport {
  return {
    describe: `tcp ${host}:${port}`,
    open(timeoutMs, signal) {
      return new Promise<Duplex>((resolve, reject) => {
        const socket: Socket = connect({ host, port });
        const fail = (err: Error) => {
          cleanup();
          socket.destroy();
          reject(err);
        };
        const onError = (err: Error) => fail(err);
        const onAbort = () => fail(new Error('stopped'));
        const timer = setTimeout(() => fail(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          socket.off('error', onError);
          signal.removeEventListener('abort', onAbort);
        };
        socket.once('connect', () => {
          cleanup();
          socket.on('error', () => {}); // errors are handled by the reader; never unhandled
          socket.setKeepAlive(true, 10_000);
          socket.setNoDelay(true);
          resolve(socket);
        });
        socket.once('error', onError);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}

export interface SerialSettings {
  path: string;
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
}

/** A serial port (the P1 cable) through the `serialport` package (loaded only when used). */
export function serialTransport(settings: SerialSettings): Transport {
  const frame = `${settings.dataBits}${settings.parity[0]?.toUpperCase() ?? 'N'}${settings.stopBits}`;
  return {
    describe: `serial ${settings.path} ${settings.baudRate} ${frame}`,
    async open(timeoutMs, signal) {
      const { SerialPort } = await import('serialport');
      return new Promise<Duplex>((resolve, reject) => {
        const port = new SerialPort({
          path: settings.path,
          baudRate: settings.baudRate,
          dataBits: settings.dataBits,
          parity: settings.parity,
          stopBits: settings.stopBits,
          autoOpen: false,
        });
        let settled = false;
        const settle = (err: Error | null) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          if (err) {
            port.destroy();
            reject(err);
          } else {
            port.on('error', () => {}); // errors are handled by the reader; never unhandled
            resolve(port);
          }
        };
        const onAbort = () => settle(new Error('stopped'));
        const timer = setTimeout(
          () => settle(new Error(`${settings.path} did not open within ${timeoutMs} ms`)),
          timeoutMs,
        );
        signal.addEventListener('abort', onAbort, { once: true });
        port.open((err) => settle(err ?? null));
      });
    },
  };
}

/** The P1 source for the `dsmr:` config section (exactly one of tcp / serial, checked by the edge config). */
export function createDsmrSource(cfg: DsmrConfig, opts: DsmrSourceOptions): DsmrSource {
  const country = opts.country ?? cfg.country;
  const idle = opts.idleTimeoutMs ?? (cfg.idle_timeout_s === undefined ? undefined : cfg.idle_timeout_s * 1000);
  const options: DsmrSourceOptions = { ...opts };
  if (country !== undefined) options.country = country;
  if (idle !== undefined) options.idleTimeoutMs = idle;
  if (cfg.tcp !== undefined) {
    const { host, port } = parseHostPort(cfg.tcp, 'dsmr.tcp');
    return new DsmrSource(tcpTransport(host, port), options);
  }
  if (cfg.serial !== undefined) {
    const settings: SerialSettings = {
      path: cfg.serial,
      baudRate: cfg.baudrate ?? 115_200,
      dataBits: cfg.data_bits ?? 8,
      parity: cfg.parity ?? 'none',
      stopBits: cfg.stop_bits ?? 1,
    };
    return new DsmrSource(serialTransport(settings), options);
  }
  throw new ConfigError('dsmr: set exactly one of dsmr.tcp or dsmr.serial');
}
