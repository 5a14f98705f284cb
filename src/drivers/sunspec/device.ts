/**
 * A SunSpec device over Modbus TCP: discovery, then the shared poller on the walked chain.
 *
 * 1. Discovery on a connection of its own: the `SunS` marker and the model chain (chain.ts). A
 *    device that does not answer, or is no SunSpec device, is retried with exponential backoff and
 *    full jitter; the state is `lost` with the reason (logged once per reason).
 * 2. The chain becomes a register table (table.ts) and a ModbusPoller reads it every interval, with
 *    everything the shared poller does: grouped reads within the model lengths, the pause between
 *    requests, busy back-off, exception 2 on a point = that point null (not a device failure),
 *    reconnects with backoff.
 * 3. After every (re)connect the poller reads each model's ID and L again: when they are not what the
 *    walk found (new firmware, a device added to an OutBack hub), the chain is walked again and a
 *    new table is built. A device that goes away and comes back with the same chain just goes on.
 *
 * What the values mean is the caller's (`onValues` gives them per model instance): the generic
 * SunSpec driver (source.ts) and the OutBack driver (../outback/source.ts) share this.
 */
import { Backoff } from '../../core/backoff.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../lib/log.js';
import { sleep } from '../../lib/sleep.js';
import { ModbusPoller, type PollValues } from '../modbus/poller.js';
import { ModbusTcpClient } from '../modbus/tcp-client.js';
import type { SourceState } from '../source.js';
import { type Chain, describeChain, discover, SUNSPEC_BASES, sameChain } from './chain.js';
import type { ModelLayout } from './models.js';
import {
  buildTable,
  type FieldValue,
  type ModelInstance,
  type ModelValues,
  type PointSelector,
  pointKey,
  valuesByInstance,
} from './table.js';

export interface SunSpecDeviceOptions {
  name: string;
  host: string;
  port: number;
  unitId: number;
  intervalMs: number;
  timeoutMs: number;
  connectDelayMs: number;
  interRequestDelayMs: number;
  maxCount: number;
  retryUnsupportedMs: number;
  busyRetries: number;
  /** The layouts this driver understands (models without one are walked over, not read). */
  layouts: readonly ModelLayout[];
  /** The points read of each layout (their scale factors are added). */
  points: PointSelector;
  /** Base addresses tried for `SunS` (default 40000, 0, 50000). */
  bases?: readonly number[];
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  log: Logger;
}

/** The device's identity from its common model (null: not reported). */
export interface SunSpecIdentity {
  manufacturer: string | null;
  model: string | null;
  version: string | null;
  serial: string | null;
}

export interface SunSpecCycle {
  /** Edge clock (ms) when the cycle's reads finished. */
  at: number;
  models: ModelValues[];
}

const MAX_PAUSE_MS = 2000;

export class SunSpecDevice {
  private readonly opts: SunSpecDeviceOptions;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly valueListeners: Array<(c: SunSpecCycle) => void> = [];
  private readonly stateListeners: Array<(s: SourceState, detail?: string) => void> = [];
  private readonly chainListeners: Array<(c: Chain, instances: ModelInstance[]) => void> = [];
  private currentState: SourceState | null = null;
  private abort: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private poller: ModbusPoller<string> | null = null;
  private rewalk: (() => void) | null = null;
  private chainNow: Chain | null = null;
  private instancesNow: ModelInstance[] = [];
  private identityNow: SunSpecIdentity | null = null;
  private lastFailure: string | null = null;
  private walks = 0;

  constructor(opts: SunSpecDeviceOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.backoff = new Backoff({ baseMs: opts.reconnectBaseMs ?? 1000, maxMs: opts.reconnectMaxMs ?? 60_000 });
  }

  get state(): SourceState | null {
    return this.currentState;
  }

  /** The chain walked last (null before the first walk). */
  get chain(): Chain | null {
    return this.chainNow;
  }

  get identity(): SunSpecIdentity | null {
    return this.identityNow;
  }

  /** How many times the chain was walked (tests, logs). */
  get walkCount(): number {
    return this.walks;
  }

  onValues(listener: (c: SunSpecCycle) => void): void {
    this.valueListeners.push(listener);
  }

  onState(listener: (s: SourceState, detail?: string) => void): void {
    this.stateListeners.push(listener);
  }

  /** A chain was walked (the first time, or again after it changed). */
  onChain(listener: (c: Chain, instances: ModelInstance[]) => void): void {
    this.chainListeners.push(listener);
  }

  stats(): ReturnType<ModbusPoller<string>['stats']> | null {
    return this.poller?.stats() ?? null;
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.abort = new AbortController();
    this.setState('connecting');
    const signal = this.abort.signal;
    this.loop = this.run(signal).catch((err: unknown) => {
      this.log.error({ err: errorMessage(err) }, 'sunspec device stopped on an unexpected error');
    });
  }

  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.abort?.abort();
    this.rewalk?.();
    await loop;
    this.loop = null;
    this.abort = null;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let previous: Chain | null = null;
    while (!signal.aborted) {
      let chain: Chain;
      try {
        chain = await this.walk(signal);
      } catch (err) {
        if (signal.aborted) break;
        const why = errorMessage(err);
        if (why !== this.lastFailure) this.log.warn({ err: why }, 'sunspec discovery failed: retrying');
        this.lastFailure = why;
        this.setState('lost', why);
        await sleep(this.backoff.next(), signal);
        continue;
      }
      this.lastFailure = null;
      if (previous && sameChain(previous, chain)) {
        // Walked the same chain again that the identity read then disowned: a device whose answers
        // differ between connections. Back off instead of walking it in a loop.
        this.setState('lost', 'the model chain reads differently on every connection');
        await sleep(this.backoff.next(), signal);
        if (signal.aborted) break;
      } else {
        this.backoff.reset();
      }
      await this.poll(chain, signal);
      previous = chain;
    }
  }

  /** Connects, finds the marker, walks the chain, closes. */
  private async walk(signal: AbortSignal): Promise<Chain> {
    const o = this.opts;
    const client = new ModbusTcpClient({
      host: o.host,
      port: o.port,
      unitId: o.unitId,
      timeoutMs: o.timeoutMs,
      interRequestDelayMs: o.interRequestDelayMs,
      signal,
    });
    try {
      await client.connect();
      if (o.connectDelayMs > 0) await sleep(o.connectDelayMs, signal);
      const chain = await discover(client, o.bases ?? SUNSPEC_BASES);
      this.walks++;
      return chain;
    } finally {
      await client.close();
    }
  }

  /** Polls the chain until it changes or the device stops. */
  private async poll(chain: Chain, signal: AbortSignal): Promise<void> {
    const o = this.opts;
    const table = buildTable(chain, o.layouts, o.points);
    this.chainNow = chain;
    this.instancesNow = table.instances;
    const known = new Set(table.instances.map((i) => i.index));
    this.log.info(
      {
        base: chain.base,
        chain: describeChain(chain),
        read: table.instances.map((i) => i.id),
        skipped: chain.models.filter((_, i) => !known.has(i)).map((m) => m.id),
      },
      chain.end === 'zeros'
        ? 'sunspec model chain walked (it ends with zeros, not an end model)'
        : 'sunspec model chain walked',
    );
    for (const l of this.chainListeners) l(chain, table.instances);
    const poller = new ModbusPoller<string>({
      name: o.name,
      host: o.host,
      port: o.port,
      unitId: o.unitId,
      table: { rows: table.rows, markers: table.markers },
      intervalMs: o.intervalMs,
      interRequestDelayMs: o.interRequestDelayMs,
      maxInterRequestDelayMs: Math.max(MAX_PAUSE_MS, o.interRequestDelayMs),
      connectDelayMs: o.connectDelayMs,
      timeoutMs: o.timeoutMs,
      maxCount: o.maxCount,
      maxGap: 16,
      retryUnsupportedMs: o.retryUnsupportedMs,
      busyRetries: o.busyRetries,
      ...(o.reconnectBaseMs === undefined ? {} : { reconnectBaseMs: o.reconnectBaseMs }),
      ...(o.reconnectMaxMs === undefined ? {} : { reconnectMaxMs: o.reconnectMaxMs }),
      log: this.log,
    });
    const changed = new Promise<void>((resolve) => {
      this.rewalk = resolve;
    });
    // After a mismatch the poller may finish a cycle on the old addresses before it stops: dropped.
    let current = true;
    poller.onIdentity((v) => {
      if (this.checkIdentity(chain, table.instances, v)) return;
      current = false;
      this.rewalk?.();
    });
    poller.onState((s, detail) => this.setState(s, detail));
    poller.onValues((v) => {
      if (current) this.emit(v);
    });
    this.poller = poller;
    await poller.start();
    if (!signal.aborted) await changed;
    this.rewalk = null;
    await poller.stop();
    this.poller = null;
  }

  /** The identity read after a (re)connect: true when the chain is still the one walked. */
  private checkIdentity(
    chain: Chain,
    instances: readonly ModelInstance[],
    v: ReadonlyMap<string, FieldValue>,
  ): boolean {
    for (const inst of instances) {
      const id = v.get(pointKey(inst.index, 'ID'));
      const length = v.get(pointKey(inst.index, 'L'));
      if (id !== inst.id || length !== inst.length) {
        this.log.info(
          { at: inst.address, was: `${inst.id}(${inst.length})`, now: `${String(id)}(${String(length)})` },
          'sunspec model chain changed: walking it again',
        );
        return false;
      }
    }
    const common = instances.find((i) => i.id === 1);
    const str = (name: string): string | null => {
      if (!common) return null;
      const x = v.get(pointKey(common.index, name));
      return typeof x === 'string' ? x : null;
    };
    const identity: SunSpecIdentity = {
      manufacturer: str('Mn'),
      model: str('Md'),
      version: str('Vr'),
      serial: str('SN'),
    };
    if (JSON.stringify(identity) !== JSON.stringify(this.identityNow)) {
      this.log.info({ ...identity, chain: describeChain(chain) }, 'sunspec device identified');
    }
    this.identityNow = identity;
    return true;
  }

  private emit(v: PollValues<string>): void {
    const cycle: SunSpecCycle = { at: v.at, models: valuesByInstance(this.instancesNow, v.values) };
    for (const l of this.valueListeners) l(cycle);
  }

  private setState(state: SourceState, detail?: string): void {
    if (state === this.currentState) return;
    // While lost, attempts stay 'lost' until one works: no connecting/lost flapping.
    if (state === 'connecting' && this.currentState === 'lost') return;
    this.currentState = state;
    for (const l of this.stateListeners) l(state, detail);
  }
}
