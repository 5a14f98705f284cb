/**
 * A Fronius inverter (GEN24, Symo, Primo, a Datamanager) as an edge source, over its Solar API v1.
 *
 * - One HTTP poller (http/json-poller.ts) on one keep-alive connection: the power flow
 *   (`GetPowerFlowRealtimeData.fcgi`) every poll_interval_s, the meter and inverter endpoints every
 *   detail_interval_s each, one request in flight and at least 1 s between the starts of any two
 *   (Fronius: "Maximum is 1 request per second").
 * - Each power-flow answer is a reading: its fields (fields.ts), plus the latest meter and inverter
 *   values while they are younger than 3 × detail_interval_s (older ones are left out, never
 *   carried on).
 * - GEN24 reports no daily yield (`E_Day` null): it is derived from the total (`E_Total`) as the
 *   rise since the first reading of the local day, and only when that first reading came while the
 *   inverter was not producing (the edge saw the day begin); else it stays null. GEN24 updates
 *   `E_Total` every 5 minutes, so the derived figure moves in steps.
 * - A 404 means the Solar API is switched off (GEN24 ships with it off since firmware 1.14.1): the
 *   error, logged on the change of state, says where to switch it on; it is retried slowly.
 */
import { KwartierError } from '../../core/errors.js';
import { wallClock } from '../../core/time/zone.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { type JsonData, JsonPoller } from '../http/json-poller.js';
import { HttpJsonError } from '../http/request.js';
import { PolledSource, type SourceReading, type SourceState } from '../source.js';
import type { FroniusConfig } from './config.js';
import {
  decodeInverter,
  decodeMeters,
  decodePowerFlow,
  type FroniusFields,
  inverterPath,
  METER_PATH,
  type MeterInfo,
  type Num,
  POWER_FLOW_PATH,
  solarApiData,
} from './fields.js';

/** Below this PV power the inverter counts as not producing (a day's baseline may be taken). */
const IDLE_PV_W = 10;
/** Details (meter, inverter) older than this many detail intervals are left out of a reading. */
const DETAIL_MAX_AGE = 3;

export interface FroniusSourceOptions {
  log?: Logger;
  /** The site's time zone: where a local day begins (default Europe/Brussels). */
  timezone?: string;
  /** The source's name (default 'fronius'; a device in a `devices:` list has its own). */
  name?: string;
}

/** The reading of a Fronius: snapshot fields and the device's own values (fields.ts). */
export interface FroniusReading extends SourceReading {
  fields: FroniusFields;
}

/** The error of a device whose Solar API is switched off (HTTP 404). */
export function solarApiOff(err: HttpJsonError): KwartierError {
  return new KwartierError(
    'fronius_solar_api_off',
    `${err.message.split(': 404')[0]}: 404: the inverter's Solar API is switched off (a Fronius GEN24 ships ` +
      "with it off since firmware 1.14.1). Switch it on in the inverter's web interface: Communication → " +
      'Solar API, and save',
    { retriable: false, cause: err },
  );
}

/**
 * Daily PV energy from a total counter that the device does not split by day (GEN24): the rise
 * since the local day's first reading, known only when that reading came before production began.
 */
export class DailyFromTotal {
  private day = '';
  private base: number | null = null;
  private known = false;
  private last: number | null = null;

  constructor(private readonly zone: string) {}

  update(at: number, totalKwh: Num, pvW: Num): Num {
    const p = wallClock(at, this.zone);
    const day = `${p.year}-${p.month}-${p.day}`;
    if (day !== this.day) {
      this.day = day;
      this.base = null;
      this.known = false;
    }
    if (totalKwh === null) return null;
    if (this.last !== null && totalKwh < this.last) this.known = false; // a counter that went back
    this.last = totalKwh;
    if (this.base === null) {
      this.base = totalKwh;
      this.known = pvW === null || pvW < IDLE_PV_W;
    }
    return this.known ? Math.round((totalKwh - this.base) * 1000) / 1000 : null;
  }
}

interface Detail {
  at: number;
  fields: FroniusFields;
}

export class FroniusSource extends PolledSource {
  readonly name: string;
  readonly intervalMs: number;

  private readonly log: Logger;
  protected readonly poller: JsonPoller;
  private readonly detailMaxAgeMs: number;
  private readonly meterPath = METER_PATH;
  private readonly inverterPath: string;
  private readonly daily: DailyFromTotal;
  private meter: Detail | null = null;
  private inverter: Detail | null = null;
  private metersSeen = '';
  private inverterState: string | null = null;
  private readonly pathErrors = new Map<string, string>();

  constructor(
    private readonly cfg: FroniusConfig,
    opts: FroniusSourceOptions = {},
  ) {
    super();
    this.name = opts.name ?? 'fronius';
    this.intervalMs = Math.round(cfg.poll_interval_s * 1000);
    this.detailMaxAgeMs = DETAIL_MAX_AGE * cfg.detail_interval_s * 1000;
    this.log = opts.log ?? createLogger('fronius', { endpoint: `${cfg.host}:${cfg.port}` });
    this.daily = new DailyFromTotal(opts.timezone ?? 'Europe/Brussels');
    this.inverterPath = inverterPath(cfg.inverter_id);
    const detailMs = Math.round(cfg.detail_interval_s * 1000);
    this.poller = new JsonPoller({
      name: this.name,
      host: cfg.host,
      port: cfg.port,
      path: POWER_FLOW_PATH,
      intervalMs: this.intervalMs,
      timeoutMs: cfg.timeout_ms,
      extraPaths: [
        { path: this.meterPath, intervalMs: detailMs },
        { path: this.inverterPath, intervalMs: detailMs },
      ],
      minGapMs: 1000,
      describeError: (err) => (err instanceof HttpJsonError && err.status === 404 ? solarApiOff(err) : err),
      // A Solar API answer with a status other than 0 (or not the API's shape) is that path's failure.
      validate: (body, path) => {
        solarApiData(body, this.describePath(path));
      },
      log: this.log,
    });
    this.poller.onData((d) => this.onData(d));
    this.poller.onPathError((path, err) => this.onPathError(path, err));
  }

  get state(): SourceState | null {
    return this.poller.state;
  }

  /** Requests sent, and the most ever in flight at once (tests, benchmarks). */
  stats(): { requests: number; maxInFlight: number } {
    return { requests: this.poller.requests, maxInFlight: this.poller.maxInFlight };
  }

  private describePath(path: string): string {
    return path === POWER_FLOW_PATH ? 'power flow' : path === this.meterPath ? 'meter' : 'inverter';
  }

  private onData(d: JsonData): void {
    const data = solarApiData(d.body, this.describePath(d.path));
    this.pathErrors.delete(d.path);
    if (d.path === this.meterPath) {
      const { fields, meters } = decodeMeters(data);
      this.logMeters(meters, fields !== null);
      this.meter = fields ? { at: d.at, fields } : null;
    } else if (d.path === this.inverterPath) {
      const fields = decodeInverter(data);
      this.inverter = { at: d.at, fields };
      if (fields.inverter_state !== this.inverterState) {
        this.log.info({ state: fields.inverter_state, was: this.inverterState }, 'inverter state');
        this.inverterState = fields.inverter_state ?? null;
      }
    } else {
      this.emit(d.at, decodePowerFlow(data, this.cfg.inverter_id));
    }
  }

  private emit(at: number, flow: FroniusFields): void {
    const fields: FroniusFields = { ...this.fresh(this.inverter, at), ...this.fresh(this.meter, at), ...flow };
    if (fields.pv_daily_kwh === null || fields.pv_daily_kwh === undefined) {
      fields.pv_daily_kwh = this.daily.update(at, fields.pv_total_kwh ?? null, fields.pv_power_w ?? null);
    }
    const reading: FroniusReading = { source: this.name, at, fields };
    this.publish(reading);
  }

  private fresh(detail: Detail | null, now: number): FroniusFields {
    return detail !== null && now - detail.at <= this.detailMaxAgeMs ? detail.fields : {};
  }

  private logMeters(meters: MeterInfo[], gridMeter: boolean): void {
    const key = JSON.stringify(meters);
    if (key === this.metersSeen) return;
    this.metersSeen = key;
    const list = meters.map((m) => ({ id: m.id, model: m.model, location: m.location }));
    if (gridMeter) this.log.info({ meters: list }, 'meter at the grid connection point found');
    else
      this.log.info(
        { meters: list },
        'no meter at the grid connection point (location 0): grid phases and counters stay null',
      );
  }

  private onPathError(path: string, err: unknown): void {
    const what = this.describePath(path);
    const message = err instanceof Error ? err.message : String(err);
    if (this.pathErrors.get(path) === message) return;
    this.pathErrors.set(path, message);
    this.log.warn({ endpoint: what, reason: message }, `the ${what} endpoint failed; its values stay null`);
    if (path === this.meterPath) this.meter = null;
    else this.inverter = null;
  }
}

export function createFroniusSource(cfg: FroniusConfig, opts: FroniusSourceOptions = {}): FroniusSource {
  return new FroniusSource(cfg, opts);
}
