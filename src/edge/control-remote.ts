/**
 * Control settings from the server (docs/control.md "From the server"): a consumer of the edge's bus
 * that reads this edge's `control` topic through the uplink's connection, lays the server's settings
 * over the edge config's `control:` section, has them checked as the config is (a charger the
 * section lacks, a deadline without its energy: refused, naming the key), hands them to the control
 * (EdgeControl.applySettings: its state carries over) and acknowledges on `control_state`.
 *
 * - The settings applied last are kept in the outbox's database (`meta`, Outbox.keepState), so an
 *   edge restarted while the broker or the server is away goes on with them (a deadline set from the
 *   dashboard is not lost to a power cut); the retained message, handed over again at each
 *   connection, replaces them. Kept settings the config no longer takes (the file changed) are
 *   dropped with a warning. Without any, the config's own settings apply (`revision: null`).
 * - An empty message (the retained one cleared) puts the config's settings back, and forgets the
 *   kept ones.
 * - `control_state` (retained, QoS 1) carries the settings applied, the revision acknowledged or the
 *   one refused and why, and the last decisions that changed a set-point (and the first after new
 *   settings, whatever it set, so its reason follows them), with their reasons. It is
 *   sent at each connection, at once after a message from the server, and after a decision changed,
 *   at most once every `stateIntervalMs`.
 */
import type { ControlDecision, ControlSettings } from '../core/control/index.js';
import { appliedView, overlayControlConfig } from '../core/control/remote.js';
import { errorMessage } from '../core/errors.js';
import { validationErrors } from '../core/validate.js';
import {
  type ControlDecisionEntry,
  type ControlMessage,
  ControlMessageSchema,
  type ControlStateMessage,
  type ControlWant,
} from '../core/wire-control.js';
import type { Logger } from '../lib/log.js';
import type { EdgeBus, EdgeConsumer } from './bus.js';
import type { EdgeControl } from './control.js';
import type { StateKeep } from './outbox.js';
import type { UplinkChannel } from './uplink/index.js';

/** What this needs of the uplink (uplink/index.ts): reading its own topics and publishing control_state. */
export interface ControlChannel {
  attach(channel: UplinkChannel): void;
  publishOwn(leaf: 'control_state', payload: string): Promise<boolean>;
}

export interface ControlRemoteOptions {
  deviceId: string;
  control: EdgeControl;
  /** The edge config's `control:` section as read from the file (the server's settings go over it). */
  baseSection: unknown;
  /** Checks a `control:` section as the config's is checked (edge/config.ts controlSettings); throws naming the key. */
  check: (section: unknown) => ControlSettings;
  channel: ControlChannel;
  /** Where the settings applied last are kept across restarts (null: nowhere). */
  keep: StateKeep | null;
  log: Logger;
  now?: () => number;
  /** Least time between two control_state messages for decision changes (default 5 s). */
  stateIntervalMs?: number;
}

/** The key the server's message applied last is kept under (as the server sent it). */
export const CONTROL_STATE_KEY = 'server_control';

/** Decisions kept for control_state (the wire allows 32). */
const MAX_DECISIONS = 32;

/** The entries of a decision: one per charger and battery. */
export function decisionEntries(d: ControlDecision): ControlDecisionEntry[] {
  const at = new Date(d.at).toISOString();
  const status = d.budget.status;
  return [
    ...d.chargers.map(
      (c): ControlDecisionEntry => ({
        at,
        device: c.device,
        kind: 'charger',
        reason: c.reason.slice(0, 1024),
        status,
        setpoint: { charge: c.setpoint.charge, current_a: c.setpoint.current_a, phases: c.setpoint.phases },
        setpoint_w: c.setpoint_w,
        following: c.following,
        deadline: c.deadline && {
          energy_kwh: c.deadline.energy_kwh,
          delivered_kwh: c.deadline.delivered_kwh,
          by: new Date(c.deadline.by).toISOString(),
          possible_kwh: c.deadline.possible_kwh,
          feasible: c.deadline.feasible,
          charging_slot: c.deadline.charging_slot,
        },
        soc_pct: null,
      }),
    ),
    ...d.batteries.map(
      (b): ControlDecisionEntry => ({
        at,
        device: b.device,
        kind: 'battery',
        reason: b.reason.slice(0, 1024),
        status,
        setpoint: { ...b.setpoint },
        setpoint_w: null,
        following: null,
        deadline: null,
        soc_pct: b.soc_pct,
      }),
    ),
  ];
}

export class ControlRemote implements EdgeConsumer {
  readonly name = 'control-remote';
  private readonly now: () => number;
  private revision: number | null = null;
  private rejected: ControlStateMessage['rejected'] = null;
  /** The server's settings applied last (JSON), so the same message again is not applied again. */
  private appliedKey = '';
  private decisions: ControlDecisionEntry[] = [];
  /** Per device, what its last recorded decision set (set-point and the budget's status). */
  private readonly lastKey = new Map<string, string>();
  /** New settings were applied: the next decision is recorded whatever it sets (its reason follows them). */
  private recordNext = false;
  private sentAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: ControlRemoteOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(bus: EdgeBus): void {
    this.stopped = false;
    this.loadKept();
    bus.subscribe(this.name, 'snapshot', () => this.onDecision(this.opts.control.decision));
    this.opts.channel.attach({
      read: { control: (payload) => this.onControl(payload) },
      connected: () => void this.send(),
    });
  }

  stop(bus: EdgeBus): void {
    this.stopped = true;
    bus.unsubscribe(this.name);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The server's settings: applied and acknowledged, or refused with the reason. */
  onControl(payload: Buffer): void {
    if (payload.length === 0) {
      this.apply(null, {});
      this.keep(null);
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(payload.toString('utf8'));
    } catch {
      this.opts.log.warn('control settings from the server are not JSON; ignored');
      return;
    }
    const errors = validationErrors(ControlMessageSchema, msg);
    if (errors.length > 0) {
      const revision = (msg as { revision?: unknown } | null)?.revision;
      this.opts.log.warn({ reason: errors[0] }, 'control settings from the server refused');
      if (Number.isInteger(revision) && (revision as number) >= 1)
        this.refuse(revision as number, errors.join('; ').slice(0, 1024));
      return;
    }
    const m = msg as ControlMessage;
    if (this.apply(m.revision, m.settings)) this.keep(JSON.stringify(m));
  }

  /** Applies the settings (true), or refuses them and says why (false). */
  private apply(revision: number | null, want: ControlWant): boolean {
    const key = JSON.stringify([revision, want]);
    if (key === this.appliedKey) {
      void this.send();
      return true;
    }
    let settings: ControlSettings;
    try {
      settings = this.opts.check(overlayControlConfig(this.opts.baseSection, want));
    } catch (err) {
      const reason = errorMessage(err).replace(/^control: /, '');
      this.opts.log.warn({ revision, reason }, 'control settings from the server refused');
      if (revision !== null) this.refuse(revision, reason.slice(0, 1024));
      return false;
    }
    this.use(revision, settings, key);
    this.opts.log.info({ revision, settings: want }, 'control settings from the server applied');
    void this.send();
    return true;
  }

  private use(revision: number | null, settings: ControlSettings, key: string): void {
    this.opts.control.applySettings(settings);
    this.recordNext = true;
    this.appliedKey = key;
    this.revision = revision;
    if (this.rejected && revision !== null && this.rejected.revision <= revision) this.rejected = null;
  }

  /** The settings kept before a restart, applied as they were (before any connection). */
  private loadKept(): void {
    let text: string | null;
    try {
      text = this.opts.keep?.keptState(CONTROL_STATE_KEY) ?? null;
    } catch (err) {
      this.opts.log.warn({ err: errorMessage(err) }, 'the control settings kept before the restart cannot be read');
      return;
    }
    if (text === null) return;
    let kept: ControlMessage;
    let settings: ControlSettings;
    try {
      kept = JSON.parse(text) as ControlMessage;
      const errors = validationErrors(ControlMessageSchema, kept);
      if (errors.length > 0) throw new Error(errors[0]);
      settings = this.opts.check(overlayControlConfig(this.opts.baseSection, kept.settings));
    } catch (err) {
      const reason = errorMessage(err).replace(/^control: /, '');
      this.opts.log.warn({ reason }, "the control settings kept before the restart are dropped: the config's apply");
      this.keep(null);
      return;
    }
    const { revision, settings: want } = kept;
    this.use(revision, settings, JSON.stringify([revision, want]));
    this.opts.log.info(
      { revision, settings: want },
      'control settings from the server applied (kept from before the restart)',
    );
  }

  private keep(text: string | null): void {
    try {
      this.opts.keep?.keepState(CONTROL_STATE_KEY, text);
    } catch (err) {
      // A full disk: the retained message comes again at the next connection anyway.
      this.opts.log.warn({ err: errorMessage(err) }, 'the control settings could not be kept for a restart');
    }
  }

  private refuse(revision: number, reason: string): void {
    this.rejected = { revision, reason };
    void this.send();
  }

  /** Records the decisions that changed a set-point (or the budget's status, or were held); sends them, paced. */
  private onDecision(d: ControlDecision | null): void {
    if (!d) return;
    let changed = false;
    const all = this.recordNext;
    this.recordNext = false;
    for (const e of decisionEntries(d)) {
      // A set-point held by the write pacing, then written: two entries, so the last one says it went out.
      const held = e.reason.includes('write held');
      const key = `${JSON.stringify(e.setpoint)} ${e.status} ${held}`;
      if (!all && this.lastKey.get(e.device) === key) continue;
      this.lastKey.set(e.device, key);
      this.decisions.push(e);
      changed = true;
    }
    if (!changed) return;
    if (this.decisions.length > MAX_DECISIONS) this.decisions = this.decisions.slice(-MAX_DECISIONS);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    const wait = Math.max(0, this.sentAt + (this.opts.stateIntervalMs ?? 5000) - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.send();
    }, wait);
    this.timer.unref();
  }

  /** The state now. */
  state(): ControlStateMessage {
    return {
      device_id: this.opts.deviceId,
      timestamp: new Date(this.now()).toISOString(),
      revision: this.revision,
      rejected: this.rejected,
      settings: appliedView(this.opts.control.settings),
      decisions: this.decisions,
    };
  }

  private async send(): Promise<void> {
    if (this.stopped) return;
    this.sentAt = this.now();
    const ok = await this.opts.channel.publishOwn('control_state', JSON.stringify(this.state()));
    if (!ok) this.opts.log.debug('control_state not sent: not connected (sent at the next connection)');
  }
}
