/**
 * The edge's control (issue 16, docs/control.md): a bus consumer that runs the pure decision
 * (core/control decide()) on every snapshot, keeps its state, puts the quarter's budget in the
 * snapshot (`control`), and writes the set-points marked `write` through the devices' controls.
 *
 * - It is subscribed before the outbox (app.ts) and adds `control` to the snapshot in place: the
 *   bus calls consumers synchronously in order, so the outbox, the console and the uplink all see
 *   the snapshot with its budget. decide() takes microseconds; the writes run after, off the bus.
 * - Writes go through `ControllableSource.control()` (the DeviceSource gate: the device's config
 *   must say `control: true`; each write is logged with its read-back). A device without it is
 *   decided for but never written (logged once); `dry_run: true` writes nothing and logs each write
 *   it would make. One write sequence in flight per device; a set-point decided while one is in
 *   flight, or one whose write failed, is written again at the next decision that may write (the
 *   decision's memory of it is cleared, as after a start).
 * - A charger is written only what differs from what it reports holding (its `ev_current_set_a`,
 *   `ev_phases`, `ev_charge_pause`): to charge, the current first, then the phases (only with
 *   `phase_switching`), then the pause lifted, so a car never starts at an old, higher current.
 * - Fail safe is the decision's: a stale meter or an unknown quarter puts the chargers at their safe
 *   current (docs/control.md §4). On stop the batteries go back to self-consumption at full power.
 */
import type { BatteryDecision, ChargerDecision, ControlDecision, ControlState } from '../core/control/index.js';
import {
  type ControlSettings,
  decide,
  INITIAL_CONTROL_STATE,
  inputFromSnapshot,
  meterAverageFits,
} from '../core/control/index.js';
import { errorMessage } from '../core/errors.js';
import type { ControlBudget, Snapshot } from '../core/snapshot.js';
import { overlayPriceSeries, type PriceSeries } from '../core/tariff/prices.js';
import { type Tariff, usesDynamic } from '../core/tariff/schema.js';
import type { ControllableSource } from '../drivers/control.js';
import { isControllable } from '../drivers/definition.js';
import type { SiteDevice } from '../drivers/registry.js';
import type { Source } from '../drivers/source.js';
import type { Logger } from '../lib/log.js';
import type { EdgeBus, EdgeConsumer } from './bus.js';

export interface EdgeControlOptions {
  settings: ControlSettings;
  /** The tariff (control.tariff_file) and its price file: deadlines and battery cheap hours use them. */
  tariff?: Tariff | null;
  /** The price file's prices (the tariff's `price_file`); the server's fill the quarters it lacks (setServerPrices). */
  prices?: PriceSeries | null;
  timezone: string;
  /** The site's devices (type and config) and their sources, by name. */
  devices: readonly SiteDevice[];
  sources: readonly Source[];
  /** The grid meter's device name (its staleness is the budget's). */
  gridDevice: string | null;
  log: Logger;
  now?: () => number;
}

type Held = Record<string, number | string | null>;

/** How one type of device takes a set-point: the controls it writes, in order, skipping what it holds. */
type ChargerWriter = (
  src: ControllableSource,
  d: ChargerDecision,
  held: Held,
  phaseSwitching: boolean,
) => Promise<void>;
type BatteryWriter = (src: ControllableSource, d: BatteryDecision['setpoint'], config: unknown) => Promise<void>;

const CHARGER_WRITERS: Readonly<Record<string, ChargerWriter>> = {
  // NRGkick Gen2: GET /control?current_set=…, ?phase_count=…, ?charge_pause=… (docs/nrgkick.md).
  async nrgkick(src, d, held, phaseSwitching) {
    const sp = d.setpoint;
    if (!sp.charge) {
      if (held.ev_charge_pause !== 1) await src.control('charge_pause', true);
      return;
    }
    if (held.ev_current_set_a !== sp.current_a) await src.control('current_set_a', sp.current_a);
    if (phaseSwitching && held.ev_phases !== sp.phases) await src.control('phase_count', sp.phases);
    if (held.ev_charge_pause !== 0) await src.control('charge_pause', false);
  },
  // OCPP 1.6J: one SetChargingProfile whose limit is the current, 0 to pause (docs/ocpp.md).
  // No phase switching: OCPP 1.6 has no standard way to switch a charger's phases.
  async ocpp(src, d, held) {
    const sp = d.setpoint;
    if (!sp.charge) {
      if (held.ev_charge_pause !== 1) await src.control('charge_pause', true);
      return;
    }
    if (held.ev_current_set_a !== sp.current_a || held.ev_charge_pause !== 0)
      await src.control('current_set_a', sp.current_a);
  },
};

const BATTERY_WRITERS: Readonly<Record<string, BatteryWriter>> = {
  // Sungrow SH: EMS mode, command and limits (holding registers; the driver writes on change only).
  async sungrow(src, sp, config) {
    if (sp.mode === 'self_consumption') {
      await src.control('ems_mode', 'self_consumption');
      await src.control('battery_command', 'stop');
      // 10 W is the smallest limit: the "hold" (guide control.md §2.2).
      await src.control('battery_max_discharge_power_w', Math.max(10, sp.max_discharge_w));
      await src.control('battery_max_charge_power_w', sp.max_charge_w);
      return;
    }
    if ((config as { forced_power_unit?: string }).forced_power_unit !== 'w') {
      throw new Error('forced charge needs forced_power_unit: w in the device config (register 13052 in W)');
    }
    await src.control('battery_forced_power', sp.power_w);
    await src.control('ems_mode', 'forced');
    await src.control('battery_command', 'charge');
  },
};

/** The snapshot's `control` field from a decision. */
export function budgetField(d: ControlDecision): ControlBudget {
  const b = d.budget;
  return {
    status: b.status,
    target_w: b.target_w,
    target_source: b.target_source,
    quarter_start: new Date(b.quarter_start).toISOString(),
    remaining_s: Math.round(b.remaining_s * 10) / 10,
    budget_kwh: b.budget_kwh,
    used_kwh: b.used_kwh,
    allowed_w: b.allowed_w,
    projected_w: b.projected_w,
    dry_run: d.dry_run,
    chargers: Object.fromEntries(
      d.chargers.map((c) => [
        c.device,
        {
          charge: c.setpoint.charge,
          current_a: c.setpoint.current_a,
          phases: c.setpoint.phases,
          setpoint_w: c.setpoint_w,
        },
      ]),
    ),
  };
}

export class EdgeControl implements EdgeConsumer {
  readonly name = 'control';
  private state: ControlState = INITIAL_CONTROL_STATE;
  private readonly now: () => number;
  private readonly inFlight = new Set<string>();
  private readonly warned = new Set<string>();
  private lastLogged = new Map<string, string>();
  private last: ControlDecision | null = null;
  private stopping = false;
  /** The last quarter whose 1-0:1.4.0 was checked against the counters. */
  private averageCheckedQuarter: number | null = null;
  /** The prices decide() plans with: the price file's, and the server's where the file has none. */
  private prices: PriceSeries | null;

  constructor(private readonly opts: EdgeControlOptions) {
    this.now = opts.now ?? Date.now;
    this.prices = opts.prices ?? null;
  }

  // ---- day-ahead prices from the server (prices-remote.ts) ----

  /** Whether the tariff prices energy with day-ahead prices (a dynamic contract): the server's prices matter. */
  get usesDayAheadPrices(): boolean {
    const t = this.opts.tariff;
    return !!t && usesDynamic(t);
  }

  /** The prices planned with now (tests). */
  get plannedPrices(): PriceSeries | null {
    return this.prices;
  }

  /**
   * The server's day-ahead prices (null: none). The price file's prices come first: the server's
   * fill the quarters the file has no price for (docs/control.md "Where the prices come from"). The
   * deadline plans are made again at the next decision, with the prices now known.
   */
  setServerPrices(server: PriceSeries | null): void {
    this.prices = overlayPriceSeries(this.opts.prices ?? null, server);
    const chargers = Object.fromEntries(
      Object.entries(this.state.chargers).map(([name, m]) => [
        name,
        m.plan ? { ...m, plan: { ...m.plan, quarter: -1 } } : m,
      ]),
    );
    this.state = { ...this.state, chargers };
  }

  /** The latest decision (tests, and the control_state the server reads: control-remote.ts). */
  get decision(): ControlDecision | null {
    return this.last;
  }

  // ---- hook for settings from the server (control-remote.ts) ----

  /** The settings decide() runs with now. */
  get settings(): ControlSettings {
    return this.opts.settings;
  }

  /**
   * Runs the next decisions with these settings (checked by the caller as the config's are). The
   * state carries over: the quarter's energy, the timers and what each device was last written.
   */
  applySettings(settings: ControlSettings): void {
    this.opts.settings = settings;
  }

  start(bus: EdgeBus): void {
    bus.subscribe(this.name, 'snapshot', (s) => this.onSnapshot(s));
  }

  /** Unsubscribes, waits for the writes in flight, and puts the batteries back to self-consumption. */
  async stop(bus: EdgeBus): Promise<void> {
    bus.unsubscribe(this.name);
    this.stopping = true;
    for (let i = 0; i < 50 && this.inFlight.size > 0; i++) await new Promise((r) => setTimeout(r, 100));
    if (this.opts.settings.dryRun) return;
    for (const b of this.opts.settings.batteries) {
      const src = this.controllable(b.name);
      const writer = BATTERY_WRITERS[this.typeOf(b.name)];
      if (!src || !writer) continue;
      const full = { mode: 'self_consumption' as const, max_discharge_w: b.maxDischargeW, max_charge_w: b.maxChargeW };
      await writer(src, full, this.configOf(b.name)).catch((err: unknown) =>
        this.opts.log.warn(
          { device: b.name, err: errorMessage(err) },
          'control: battery not put back to self-consumption',
        ),
      );
    }
  }

  private onSnapshot(snap: Snapshot): void {
    const { settings, timezone, gridDevice } = this.opts;
    const input = inputFromSnapshot(snap, settings, { now: this.now(), gridDevice });
    const { tariff = null } = this.opts;
    const { decision, state } = decide(input, this.state, { settings, timezone, tariff, prices: this.prices });
    const before = this.state;
    this.state = state;
    this.last = decision;
    this.watchMeterAverage(before.quarterBaseFrom, decision, snap.grid_avg_15m_w);
    (snap as Snapshot & { control?: ControlBudget | null }).control = budgetField(decision);
    for (const c of decision.chargers) {
      this.logChange(
        c.device,
        `${c.setpoint.charge ? `${c.setpoint.current_a} A × ${c.setpoint.phases}` : 'paused'} ${decision.budget.status}`,
        c.reason,
      );
      if (c.write) this.writeCharger(c, (snap.devices?.[c.device]?.fields ?? {}) as Held);
    }
    for (const b of decision.batteries) {
      this.logChange(b.device, `${JSON.stringify(b.setpoint)} ${decision.budget.status}`, b.reason);
      if (b.write) this.writeBattery(b);
    }
  }

  /**
   * Says when a quarter's energy came from the meter's 1-0:1.4.0 (a start mid-quarter), and, once a
   * quarter whose energy the counters know is 10 minutes old, whether the meter's figure fits the
   * configured reading of it (meter_quarter_average); a misfit is logged once per edge run.
   */
  private watchMeterAverage(fromBefore: string | null, d: ControlDecision, avgW: number | null): void {
    const { settings, log } = this.opts;
    const b = d.budget;
    if (this.state.quarterBaseFrom === 'meter_average' && fromBefore !== 'meter_average') {
      log.info(
        { used_kwh: b.used_kwh, meter_quarter_average: settings.meterQuarterAverage },
        "control: this quarter's energy so far taken from the meter's running average (1-0:1.4.0)",
      );
    }
    if (
      this.state.quarterBaseFrom !== 'counters' ||
      avgW === null ||
      b.used_kwh === null ||
      b.elapsed_s < 600 ||
      this.averageCheckedQuarter === b.quarter_start
    )
      return;
    this.averageCheckedQuarter = b.quarter_start;
    const fits = meterAverageFits(b.used_kwh, b.elapsed_s, avgW);
    if (fits === 'unclear' || fits === settings.meterQuarterAverage) return;
    const key = `meter_average:${fits}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    const hint =
      fits === 'neither'
        ? 'it fits neither reading; meter_quarter_average: off makes a start mid-quarter wait for the next quarter'
        : `it reads as '${fits}' here; set control.meter_quarter_average: ${fits}`;
    log.warn(
      {
        meter_avg_w: avgW,
        used_kwh: b.used_kwh,
        elapsed_s: Math.round(b.elapsed_s),
        setting: settings.meterQuarterAverage,
      },
      `control: the meter's 1-0:1.4.0 does not fit meter_quarter_average: ${settings.meterQuarterAverage}; ${hint}`,
    );
  }

  /** Logs a device's decision when its set-point or the budget's status changes (not every second). */
  private logChange(device: string, key: string, reason: string): void {
    if (this.lastLogged.get(device) === key) return;
    this.lastLogged.set(device, key);
    this.opts.log.info({ device, dry_run: this.opts.settings.dryRun, reason }, 'control decision');
  }

  private typeOf(name: string): string {
    return this.opts.devices.find((d) => d.name === name)?.definition.type ?? '';
  }

  private configOf(name: string): unknown {
    return this.opts.devices.find((d) => d.name === name)?.config ?? {};
  }

  /** The device's source when its config allows writes, else null (logged once). */
  private controllable(name: string): ControllableSource | null {
    const src = this.opts.sources.find((s) => s.name === name);
    const enabled = (this.configOf(name) as { control?: unknown }).control === true;
    if (src && enabled && isControllable(src)) return src;
    if (!this.warned.has(name)) {
      this.warned.add(name);
      this.opts.log.warn(
        { device: name },
        `control: ${name} is decided for but not written: its device config does not say control: true`,
      );
    }
    return null;
  }

  /** Runs one device's write sequence unless one is in flight; a failed or skipped one is retried. */
  private run(name: string, kind: 'chargers' | 'batteries', what: unknown, write: () => Promise<void>): void {
    if (this.opts.settings.dryRun) {
      this.opts.log.info({ device: name, setpoint: what }, 'control (dry run): would write');
      return;
    }
    const forget = () => {
      const mem = this.state[kind][name];
      if (mem) this.state = { ...this.state, [kind]: { ...this.state[kind], [name]: { ...mem, written: null } } };
    };
    if (this.stopping) return;
    if (this.inFlight.has(name)) {
      forget();
      return;
    }
    this.inFlight.add(name);
    write()
      .catch((err: unknown) => {
        forget();
        this.opts.log.warn({ device: name, setpoint: what, err: errorMessage(err) }, 'control: write failed; retried');
      })
      .finally(() => this.inFlight.delete(name));
  }

  /** Whether the device's type can take set-points (logged once when it cannot). */
  private writerOf(name: string, writer: unknown): writer is NonNullable<unknown> {
    if (writer) return true;
    if (!this.warned.has(`${name}:type`)) {
      this.warned.add(`${name}:type`);
      this.opts.log.warn(
        { device: name, type: this.typeOf(name) },
        'control: no set-point writer for this device type',
      );
    }
    return false;
  }

  private writeCharger(c: ChargerDecision, held: Held): void {
    const src = this.controllable(c.device);
    const writer = CHARGER_WRITERS[this.typeOf(c.device)];
    if (!src || !this.writerOf(c.device, writer)) return;
    const s = this.opts.settings.chargers.find((x) => x.name === c.device);
    this.run(c.device, 'chargers', c.setpoint, () => writer(src, c, held, s?.phaseSwitching ?? false));
  }

  private writeBattery(b: BatteryDecision): void {
    const src = this.controllable(b.device);
    const writer = BATTERY_WRITERS[this.typeOf(b.device)];
    if (!src || !this.writerOf(b.device, writer)) return;
    this.run(b.device, 'batteries', b.setpoint, () => writer(src, b.setpoint, this.configOf(b.device)));
  }
}
