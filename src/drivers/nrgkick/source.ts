/**
 * An NRGkick Gen2 (mobile EV charger, SmartModule ≥ 4.0.0.0) as an edge source, over its local
 * JSON API (plain HTTP, optional Basic auth).
 *
 * - One HTTP poller (http/json-poller.ts), one request in flight: `GET /values` every
 *   poll_interval_s (the reading), `GET /control` every control_interval_s (the set current,
 *   pause and phases), `GET /info` once an hour (model, serial, rated current: logged on change).
 * - A reading carries the latest control state while it is younger than 3 × control_interval_s.
 *   The first reading waits for the first `/control` answer (it comes right after the first
 *   `/values`), so it says what the charger is set to; a `/control` that fails does not hold it.
 * - With `control: true`, `control()` writes one value (`GET /control?current_set=10`), waits
 *   settle_ms and reads `/control` back; the read-back becomes the control state at once. Without
 *   it `control()` refuses and nothing is ever written. A value the charger refuses answers 406
 *   with `{"Response": …}`: the error quotes it.
 */
import { KwartierError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { sleep } from '../../lib/sleep.js';
import { type ControllableSource, type ControlResult, offeredControl } from '../control.js';
import { type JsonData, JsonPoller } from '../http/json-poller.js';
import { HttpJsonError, type JsonResponse, statusError } from '../http/request.js';
import { PolledSource, type SourceReading } from '../source.js';
import type { NrgkickConfig } from './config.js';
import { NRGKICK_CONTROL_TABLE } from './controls.js';
import {
  CONTROL_PATH,
  type ControlState,
  checkAnswer,
  controlFields,
  controlQuery,
  decodeControl,
  decodeValues,
  INFO_PATH,
  type NrgkickFields,
  VALUES_PATH,
} from './fields.js';

/** Control state older than this many control intervals is left out of a reading. */
const CONTROL_MAX_AGE = 3;
const INFO_INTERVAL_MS = 3_600_000;

export interface NrgkickSourceOptions {
  log?: Logger;
  /** The source's name (default 'nrgkick'; a device in a `devices:` list has its own). */
  name?: string;
}

export interface NrgkickReading extends SourceReading {
  fields: NrgkickFields;
}

/** The error of a write the charger refused (HTTP 406 with its `Response` text). */
function refusedError(what: string, res: JsonResponse, device: string): Error {
  const text =
    typeof res.body === 'object' &&
    res.body !== null &&
    typeof (res.body as { Response?: unknown }).Response === 'string'
      ? (res.body as { Response: string }).Response.slice(0, 200)
      : null;
  if (res.status === 406) {
    return new HttpJsonError(
      'nrgkick_refused',
      `${what}: 406: ${device} refused it: ${text ?? 'no reason given'}`,
      406,
      false,
    );
  }
  return statusError(what, res.status, device);
}

export class NrgkickSource extends PolledSource implements ControllableSource {
  readonly name: string;
  readonly intervalMs: number;

  private readonly log: Logger;
  protected readonly poller: JsonPoller;
  private readonly controlMaxAgeMs: number;
  private controlState: { at: number; state: ControlState } | null = null;
  /** A `/values` answer waiting for the first `/control` one. */
  private pending: { at: number; fields: NrgkickFields } | null = null;
  private controlFailed = false;
  private identity = '';

  constructor(
    private readonly cfg: NrgkickConfig,
    opts: NrgkickSourceOptions = {},
  ) {
    super();
    this.name = opts.name ?? 'nrgkick';
    this.intervalMs = Math.round(cfg.poll_interval_s * 1000);
    const controlMs = Math.round(cfg.control_interval_s * 1000);
    this.controlMaxAgeMs = CONTROL_MAX_AGE * controlMs;
    this.log = opts.log ?? createLogger('nrgkick', { endpoint: `${cfg.host}:${cfg.port}` });
    const auth =
      cfg.username !== undefined && cfg.password !== undefined
        ? { Authorization: `Basic ${Buffer.from(`${cfg.username}:${cfg.password}`).toString('base64')}` }
        : undefined;
    this.poller = new JsonPoller({
      name: this.name,
      host: cfg.host,
      port: cfg.port,
      path: VALUES_PATH,
      intervalMs: this.intervalMs,
      timeoutMs: cfg.timeout_ms,
      ...(auth ? { headers: auth } : {}),
      extraPaths: [
        { path: CONTROL_PATH, intervalMs: controlMs },
        { path: INFO_PATH, intervalMs: INFO_INTERVAL_MS },
      ],
      statusError: (what, res) => refusedError(what, res, this.name),
      validate: (body, path) => {
        checkAnswer(body, `GET ${path}`);
      },
      log: this.log,
    });
    this.poller.onData((d) => this.onData(d));
    this.poller.onPathError((path, err) => this.onPathError(path, err));
  }

  /**
   * Writes one of NRGKICK_CONTROLS (`GET /control?param=value`), refused unless the config says
   * `control: true`; reads `/control` back after settle_ms. `readBack` is what the charger holds.
   */
  async control(name: string, value: unknown): Promise<ControlResult> {
    const c = offeredControl(this.name, name, NRGKICK_CONTROL_TABLE, this.cfg.control === true);
    let raw: number;
    if (c.param === 'charge_pause') {
      if (typeof value !== 'boolean')
        throw new KwartierError('control_value', `${this.name}.${name}: ${JSON.stringify(value)} is not true or false`);
      raw = value ? 1 : 0;
    } else {
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new KwartierError('control_value', `${this.name}.${name}: ${JSON.stringify(value)} is not a number`);
      // current_set takes 0.1 A steps; phase_count whole phases.
      raw = c.param === 'current_set' ? Math.round(value * 10) / 10 : Math.round(value);
    }
    await this.poller.get(controlQuery(c.param, raw));
    if (this.cfg.settle_ms > 0) await sleep(this.cfg.settle_ms);
    const state = decodeControl(await this.poller.get(CONTROL_PATH));
    const at = Date.now();
    this.controlState = { at, state };
    const held = state[c.param];
    const readBack = c.param === 'charge_pause' ? (held === null ? null : held === 1) : held;
    return { control: name, requested: value, readBack, at };
  }

  private onData(d: JsonData): void {
    if (d.path === CONTROL_PATH) {
      this.controlState = { at: d.at, state: decodeControl(d.body) };
      this.controlFailed = false;
      const p = this.pending;
      this.pending = null;
      if (p) this.emit(p.at, p.fields);
    } else if (d.path === INFO_PATH) {
      this.logIdentity(d.body);
    } else {
      const fields = decodeValues(d.body);
      if (this.controlState === null && !this.controlFailed) this.pending = { at: d.at, fields };
      else this.emit(d.at, fields);
    }
  }

  private emit(at: number, values: NrgkickFields): void {
    const c = this.controlState;
    const fields: NrgkickFields =
      c !== null && at - c.at <= this.controlMaxAgeMs ? { ...values, ...controlFields(c.state) } : values;
    const reading: NrgkickReading = { source: this.name, at, fields };
    this.publish(reading);
  }

  private logIdentity(body: unknown): void {
    const general = (body as { general?: Record<string, unknown> }).general ?? {};
    const info = {
      model: general.model_type ?? null,
      serial: general.serial_number ?? null,
      rated_current_a: general.rated_current ?? null,
    };
    const key = JSON.stringify(info);
    if (key === this.identity) return;
    this.identity = key;
    this.log.info(info, 'NRGkick identified');
  }

  private onPathError(path: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (path === CONTROL_PATH) {
      if (!this.controlFailed) this.log.warn({ reason: message }, 'GET /control failed; the set current stays null');
      this.controlFailed = true;
      this.controlState = null;
      const p = this.pending;
      this.pending = null;
      if (p) this.emit(p.at, p.fields);
    } else {
      this.log.debug({ path, reason: message }, 'GET /info failed');
    }
  }
}

export function createNrgkickSource(cfg: NrgkickConfig, opts: NrgkickSourceOptions = {}): NrgkickSource {
  return new NrgkickSource(cfg, opts);
}
