/**
 * The edge's side of the server's settings (edge/control-remote.ts) with the real control and the
 * config's own checks: what it applies, what it refuses and why (naming the key, keeping what it
 * applied), a cleared message, and the control_state it publishes. The channel is the uplink's
 * interface as a recorder; the MQTT path is test/e2e/control-remote.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseWithSchema, validationErrors } from '../../src/core/validate.js';
import { type ControlStateMessage, ControlStateMessageSchema } from '../../src/core/wire.js';
import { EdgeBus } from '../../src/edge/bus.js';
import { controlSettings, type EdgeConfig, EdgeConfigSchema, siteDevices } from '../../src/edge/config.js';
import { EdgeControl } from '../../src/edge/control.js';
import { ControlRemote } from '../../src/edge/control-remote.js';
import type { UplinkChannel } from '../../src/edge/uplink/index.js';
import { silentLogger } from '../../src/lib/log.js';
import { captureLogger } from '../helpers/log.js';

const config = parseWithSchema(
  EdgeConfigSchema,
  {
    device_id: 'home',
    devices: [
      { name: 'p1', type: 'dsmr', tcp: '127.0.0.1:2001' },
      { name: 'car', type: 'nrgkick', host: '127.0.0.1', control: true },
    ],
    control: {
      capacity_target_w: 2500,
      chargers: { car: { mode: 'deadline', energy_kwh: 20, deadline: '06:30', max_current_a: 20 } },
    },
  },
  'test',
) as EdgeConfig;

/** The outbox's `meta` as the edge keeps state in it (Outbox.keptState/keepState). */
type Kept = Map<string, string>;

function setup(kept: Kept = new Map(), cfg: EdgeConfig = config) {
  const { log, lines } = captureLogger();
  const settings = controlSettings(cfg);
  if (!settings) throw new Error('no control');
  const control = new EdgeControl({
    settings,
    timezone: 'Europe/Brussels',
    devices: siteDevices(cfg),
    sources: [],
    gridDevice: 'p1',
    log: silentLogger(),
  });
  const sent: ControlStateMessage[] = [];
  let channel: UplinkChannel | null = null;
  const remote = new ControlRemote({
    deviceId: 'home',
    control,
    baseSection: cfg.control,
    check: (section) => controlSettings({ ...cfg, control: section }) as NonNullable<typeof settings>,
    keep: {
      keptState: (k) => kept.get(k) ?? null,
      keepState: (k, v) => void (v === null ? kept.delete(k) : kept.set(k, v)),
    },
    channel: {
      attach: (c) => {
        channel = c;
      },
      publishOwn: async (_leaf, payload) => {
        sent.push(JSON.parse(payload) as ControlStateMessage);
        return true;
      },
    },
    log,
    now: () => Date.parse('2026-03-09T10:00:00Z'),
  });
  remote.start(new EdgeBus({ log: silentLogger() }));
  const deliver = (m: unknown) => channel?.read.control?.(Buffer.from(typeof m === 'string' ? m : JSON.stringify(m)));
  return { control, remote, sent, deliver, channel: () => channel, lines };
}

const msg = (revision: number, settings: unknown) => ({ revision, issued_at: '2026-03-09T09:59:59.000Z', settings });

describe('the edge takes control settings from the server', () => {
  it('sends its own settings at each connection, with no revision', async () => {
    const { sent, channel } = setup();
    channel()?.connected?.();
    await Promise.resolve();
    expect(sent).toHaveLength(1);
    expect(validationErrors(ControlStateMessageSchema, sent[0])).toEqual([]);
    expect(sent[0]).toMatchObject({
      device_id: 'home',
      revision: null,
      rejected: null,
      settings: {
        capacity_target_w: 2500,
        dry_run: false,
        chargers: { car: { mode: 'deadline', energy_kwh: 20, deadline: '06:30', max_current_a: 20, min_current_a: 6 } },
        batteries: {},
      },
      decisions: [],
    });
  });

  it('lays the settings over its config, applies them and acknowledges the revision', async () => {
    const { control, sent, deliver } = setup();
    deliver(msg(4, { capacity_target_w: 'follow_peak', dry_run: true, chargers: { car: { mode: 'solar' } } }));
    await Promise.resolve();
    expect(control.settings).toMatchObject({ targetW: null, dryRun: true });
    // What the server did not name stays the config's (the car's maximum, its deadline's energy).
    expect(control.settings.chargers[0]).toMatchObject({ name: 'car', mode: 'solar', maxCurrentA: 20, energyKwh: 20 });
    expect(sent.at(-1)).toMatchObject({
      revision: 4,
      rejected: null,
      settings: { capacity_target_w: 'follow_peak', dry_run: true, chargers: { car: { mode: 'solar' } } },
    });
  });

  it('refuses what its config cannot take, naming the key, and keeps what it applied', async () => {
    const { control, sent, deliver } = setup();
    deliver(msg(1, { chargers: { car: { mode: 'off' } } }));
    deliver(msg(2, { chargers: { garage: { mode: 'off' } } }));
    await Promise.resolve();
    expect(sent.at(-1)).toMatchObject({
      revision: 1,
      rejected: {
        revision: 2,
        reason: "chargers.garage: no charger named garage in the edge's control: section (car)",
      },
    });
    expect(control.settings.chargers[0]?.mode).toBe('off');
    deliver(msg(3, { capacity_target_w: -1 }));
    await Promise.resolve();
    expect(sent.at(-1)?.rejected).toEqual({
      revision: 3,
      reason: expect.stringMatching(/^settings\.capacity_target_w: /),
    });
    // Not a message of the contract: dropped (no revision to refuse).
    const count = sent.length;
    deliver('not json');
    deliver({ hello: 1 });
    await Promise.resolve();
    expect(sent.length).toBe(count);
    // A later good one clears the refusal.
    deliver(msg(4, { dry_run: true }));
    await Promise.resolve();
    expect(sent.at(-1)).toMatchObject({ revision: 4, rejected: null, settings: { dry_run: true } });
    expect(control.settings.chargers[0]?.mode).toBe('deadline');
  });

  it('an empty (cleared) message puts the config’s own settings back', async () => {
    const { control, sent, deliver, channel } = setup();
    deliver(msg(7, { chargers: { car: { mode: 'off' } } }));
    channel()?.read.control?.(Buffer.alloc(0));
    await Promise.resolve();
    expect(control.settings.chargers[0]?.mode).toBe('deadline');
    expect(sent.at(-1)).toMatchObject({ revision: null, settings: { chargers: { car: { mode: 'deadline' } } } });
  });
});

describe('the server’s settings are kept across a restart (the outbox’s meta)', () => {
  const KEY = 'server_control';

  it('applies the kept settings at start, before any connection, and reports their revision', async () => {
    const kept: Kept = new Map();
    const first = setup(kept);
    first.deliver(msg(5, { chargers: { car: { mode: 'deadline', energy_kwh: 30, deadline: '07:15' } } }));
    expect(JSON.parse(kept.get(KEY) ?? 'null')).toMatchObject({
      revision: 5,
      settings: { chargers: { car: { energy_kwh: 30 } } },
    });

    // The edge restarts with no broker: the kept settings apply at once.
    const again = setup(kept);
    expect(again.control.settings.chargers[0]).toMatchObject({
      mode: 'deadline',
      energyKwh: 30,
      deadlineMinutes: 7 * 60 + 15,
    });
    expect(
      again.lines.find((l) => l.msg === 'control settings from the server applied (kept from before the restart)'),
    ).toMatchObject({ revision: 5 });
    again.channel()?.connected?.();
    await Promise.resolve();
    expect(again.sent.at(-1)).toMatchObject({
      revision: 5,
      settings: { chargers: { car: { energy_kwh: 30, deadline: '07:15' } } },
    });

    // The broker hands the retained message over again: the same one is not applied twice; a newer one replaces it.
    const applied = () => again.lines.filter((l) => l.msg === 'control settings from the server applied').length;
    again.deliver(msg(5, { chargers: { car: { mode: 'deadline', energy_kwh: 30, deadline: '07:15' } } }));
    expect(applied()).toBe(0);
    again.deliver(msg(6, { chargers: { car: { mode: 'off' } } }));
    expect(applied()).toBe(1);
    expect(again.control.settings.chargers[0]?.mode).toBe('off');
    expect(JSON.parse(kept.get(KEY) ?? 'null')).toMatchObject({ revision: 6 });
  });

  it('a refused message is not kept; an empty one forgets what was', () => {
    const kept: Kept = new Map();
    const first = setup(kept);
    first.deliver(msg(2, { chargers: { car: { mode: 'off' } } }));
    first.deliver(msg(3, { chargers: { garage: { mode: 'off' } } }));
    expect(JSON.parse(kept.get(KEY) ?? 'null')).toMatchObject({ revision: 2 });
    first.channel()?.read.control?.(Buffer.alloc(0));
    expect(kept.has(KEY)).toBe(false);
    const again = setup(kept);
    expect(again.control.settings.chargers[0]?.mode).toBe('deadline');
    expect(again.remote.state().revision).toBeNull();
  });

  it('kept settings the config no longer takes, or a damaged copy, are dropped with the reason: the file applies', () => {
    const kept: Kept = new Map();
    setup(kept).deliver(msg(4, { chargers: { car: { mode: 'solar' } } }));
    // The config file changed: the charger is now called `garage`.
    const renamed = parseWithSchema(
      EdgeConfigSchema,
      {
        device_id: 'home',
        devices: [
          { name: 'p1', type: 'dsmr', tcp: '127.0.0.1:2001' },
          { name: 'garage', type: 'nrgkick', host: '127.0.0.1', control: true },
        ],
        control: { capacity_target_w: 2500, chargers: { garage: { mode: 'min_solar' } } },
      },
      'test',
    ) as EdgeConfig;
    const again = setup(kept, renamed);
    expect(again.control.settings.chargers[0]).toMatchObject({ name: 'garage', mode: 'min_solar' });
    expect(again.remote.state().revision).toBeNull();
    const drop = again.lines.find((l) => l.msg.startsWith('the control settings kept before the restart are dropped'));
    expect(drop?.reason).toContain('car');
    expect(kept.has(KEY)).toBe(false);

    kept.set(KEY, '{"revision": 0, "issued_at": "2026-03-09T09:59:59.000Z", "settings": {}}');
    const damaged = setup(kept);
    expect(damaged.remote.state().revision).toBeNull();
    expect(
      damaged.lines.find((l) => l.msg.startsWith('the control settings kept before the restart are dropped'))?.reason,
    ).toContain('revision');
  });
});
