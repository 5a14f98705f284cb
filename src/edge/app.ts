/**
 * The edge application: the configured sources → the edge (merger) → stdout (`--console`) and/or
 * the outbox → the uplink, and Home Assistant's broker when configured. Composition only; each part
 * owns its timers and sockets.
 */

import type { PriceSeries } from '../core/tariff/prices.js';
import type { Tariff } from '../core/tariff/schema.js';
import { DeviceSource } from '../drivers/definition.js';
import { createSources, type SiteDevice } from '../drivers/registry.js';
import type { Source } from '../drivers/source.js';
import { describeDbError, prepareDbPath } from '../lib/db-path.js';
import type { Logger } from '../lib/log.js';
import { sdNotify, startWatchdog } from '../lib/systemd.js';
import { loadTlsFiles } from '../lib/tls-files.js';
import { EdgeBus } from './bus.js';
import { CapacityWatch } from './capacity-watch.js';
import { controlSettings, type EdgeConfig, siteDevices } from './config.js';
import type { EdgeControl } from './control.js';
import { ControlRemote } from './control-remote.js';
import { Edge } from './edge.js';
import { type HomeAssistantOptions, HomeAssistantPublisher, tlsFileSet } from './home-assistant/publisher.js';
import { createOutbox, type Outbox } from './outbox.js';
import type { PricesRemote } from './prices-remote.js';
import { createUplink, type Uplink, type UplinkTuning } from './uplink/index.js';

export interface EdgeAppOptions {
  config: EdgeConfig;
  log: Logger;
  /** Print each snapshot as one JSON line here (`--console`). */
  console?: NodeJS.WritableStream;
  /** Sources to use instead of building them from the config (tests, the demo). */
  sources?: Source[];
  /** Options passed to the uplink (the demo and tests shorten its timers). */
  uplinkOptions?: UplinkTuning;
  /** Options passed to the Home Assistant publisher (tests shorten its timers). */
  homeAssistantOptions?: Partial<Pick<HomeAssistantOptions, 'rediscoverMaxDelayMs' | 'backoff' | 'clientId'>>;
}

export class EdgeApp {
  /** Each snapshot and source state, for the consumers registered in `start` (bus.ts). */
  readonly bus: EdgeBus;
  readonly edge: Edge;
  readonly outbox: Outbox | null;
  readonly uplink: Uplink | null;
  readonly capacity: CapacityWatch;
  /** The control of chargers and batteries (a `control:` section), else null. */
  readonly control: EdgeControl | null;
  /** Settings from the server on the `control` topic, acknowledged on `control_state` (control and uplink), or null. */
  readonly controlRemote: ControlRemote | null;
  /** Day-ahead prices from the server on the `prices` topic (a control with a dynamic contract, and an uplink), or null. */
  readonly pricesRemote: PricesRemote | null;
  /** Discovery and state on the user's Home Assistant broker (`home_assistant:`), or null. */
  readonly homeAssistant: HomeAssistantPublisher | null;
  private stopWatchdog: () => void = () => {};
  private lastSnapshotAt = 0;
  private snapshots = 0;

  private constructor(
    private readonly opts: EdgeAppOptions,
    sources: Source[],
    control: EdgeControl | null,
    /** Loaded only for a control with a dynamic contract (create()). */
    pricesRemote: typeof PricesRemote | null,
  ) {
    const { config, log } = opts;
    this.control = control;
    this.bus = new EdgeBus({ log: log.child({ component: 'bus' }) });
    this.edge = new Edge({
      deviceId: config.device_id,
      sources,
      bus: this.bus,
      log: log.child({ component: 'edge' }),
      staleAfterPolls: config.merger?.stale_after_polls ?? 3,
      // A `devices:` site sends each device's reading; a config of the sections of the releases
      // before it sends the snapshot as they did (a server of that release accepts it unchanged).
      perDevice: config.devices !== undefined,
    });
    const cap = config.capacity;
    this.capacity = new CapacityWatch({
      timezone: config.timezone,
      targetW: cap?.target_w ?? null,
      ...(cap ? { alert: { lead_time_s: cap.lead_time_s, on_cross: cap.on_cross, floor_w: cap.floor_w } } : {}),
    });
    this.outbox = config.buffer
      ? createOutbox({
          path: config.buffer.db_path,
          maxAgeDays: config.buffer.max_age_days,
          cleanupIntervalH: config.buffer.cleanup_interval_h,
          log: log.child({ component: 'outbox' }),
        })
      : null;
    this.uplink =
      this.outbox && config.mqtt
        ? createUplink({
            deviceId: config.device_id,
            outbox: this.outbox,
            mqtt: config.mqtt,
            log: log.child({ component: 'uplink' }),
            sources: () => this.edge.sourceHealth(),
            ...(opts.uplinkOptions ?? {}),
          })
        : null;
    this.controlRemote =
      this.control && this.uplink
        ? new ControlRemote({
            deviceId: config.device_id,
            control: this.control,
            baseSection: config.control,
            check: (section) =>
              controlSettings({ ...config, control: section }) as NonNullable<ReturnType<typeof controlSettings>>,
            channel: this.uplink,
            keep: this.outbox,
            log: log.child({ component: 'control-remote' }),
          })
        : null;
    this.pricesRemote =
      this.control && pricesRemote && this.uplink
        ? new pricesRemote({
            control: this.control,
            channel: this.uplink,
            keep: this.outbox,
            log: log.child({ component: 'prices' }),
          })
        : null;
    this.homeAssistant = config.home_assistant
      ? new HomeAssistantPublisher({
          deviceId: config.device_id,
          config: config.home_assistant,
          // The chargers as the merger knows them: by role, whatever their type.
          chargers: sources
            .filter((s) => s instanceof DeviceSource && s.roles.includes('ev_charger'))
            .map((s) => s.name),
          log: log.child({ component: 'home-assistant' }),
          ...(opts.homeAssistantOptions ?? {}),
        })
      : null;
  }

  static async create(opts: EdgeAppOptions): Promise<EdgeApp> {
    // Given sources (tests) may come with a config that names no device: then the site has none.
    const devices =
      opts.sources &&
      opts.config.devices === undefined &&
      !opts.config.dsmr &&
      !opts.config.homewizard &&
      !opts.config.sungrow
        ? []
        : siteDevices(opts.config);
    checkFiles(opts.config, opts.sources ? [] : devices);
    const sources = opts.sources ?? (await createSources(devices, opts.config.timezone, opts.log));
    // Loaded only by a site with a control: section: the decision's modules (and the tariff code
    // they use) are not evaluated in an edge that only measures (npm run bench -- edge: ~0.7 MB).
    const settings = controlSettings(opts.config);
    const control = settings
      ? new (await import('./control.js')).EdgeControl({
          settings,
          ...(settings.tariffFile ? await controlTariff(settings.tariffFile, opts.config, devices) : {}),
          timezone: opts.config.timezone,
          devices,
          sources,
          gridDevice: devices.find((d) => d.definition.roles[0] === 'grid_meter')?.name ?? null,
          log: opts.log.child({ component: 'control' }),
        })
      : null;
    // The server's day-ahead prices matter only to a tariff with a dynamic contract.
    const pricesRemote = control?.usesDayAheadPrices ? (await import('./prices-remote.js')).PricesRemote : null;
    return new EdgeApp(opts, sources, control, pricesRemote);
  }

  get snapshotCount(): number {
    return this.snapshots;
  }

  async start(): Promise<void> {
    try {
      this.outbox?.start();
    } catch (err) {
      throw describeDbError('buffer.db_path', this.opts.config.buffer?.db_path ?? '', err);
    }
    this.registerConsumers();
    await this.edge.start();
    await this.uplink?.start();
    sdNotify('READY=1');
    // Healthy while snapshots flow (the P1 tick or the edge's own clock).
    this.stopWatchdog = startWatchdog(() => Date.now() - this.lastSnapshotAt < 30_000);
    this.opts.log.info(
      {
        device_id: this.opts.config.device_id,
        sources: Object.keys(this.edge.sourceHealth()),
        outbox: this.outbox ? this.opts.config.buffer?.db_path : null,
        mqtt: this.uplink ? `${this.opts.config.mqtt?.host}:${this.opts.config.mqtt?.port}` : null,
        home_assistant: this.opts.config.home_assistant?.mqtt.host ?? null,
      },
      'edge started',
    );
  }

  /**
   * The bus's consumers, all here and in this order (each isolated: one that throws is logged and the
   * others go on). The control before the outbox: it adds the quarter's budget (`control`) to the
   * snapshot, and it runs in microseconds (its writes run after, off the bus). Then the outbox: a
   * snapshot exists once it is in the outbox, whatever happens next.
   */
  private static readonly CONSUMERS = ['watchdog', 'outbox', 'console', 'capacity-log', 'uplink'] as const;

  private registerConsumers(): void {
    const { bus, outbox } = this;
    const out = this.opts.console;
    bus.subscribe('watchdog', 'snapshot', () => {
      this.snapshots++;
      this.lastSnapshotAt = Date.now();
    });
    this.control?.start(bus);
    // Right after the control: it reads the decision just made (and its uplink topics are attached
    // before the uplink connects).
    this.controlRemote?.start(bus);
    // Not a consumer of the bus: it reads the uplink's `prices` topic (attached before it connects),
    // after the prices kept in the outbox (open by now) from before a restart.
    this.pricesRemote?.start();
    if (outbox) bus.subscribe('outbox', 'snapshot', (s) => void outbox.append(s));
    if (out) bus.subscribe('console', 'snapshot', (s) => void out.write(`${JSON.stringify(s)}\n`));
    this.capacity.start(bus);
    bus.subscribe('capacity-log', 'capacity_alert', (alert) => {
      this.opts.log.warn(alert, 'capacity tariff: a new monthly peak is in the making');
    });
    this.uplink?.consume(bus);
    // Last: it only reads the newest snapshot and the capacity watch's status of it.
    this.homeAssistant?.start(bus);
  }

  async stop(): Promise<void> {
    sdNotify('STOPPING=1');
    this.stopWatchdog();
    // Before the sources stop: the batteries go back to self-consumption through them.
    this.controlRemote?.stop(this.bus);
    await this.control?.stop(this.bus);
    await this.edge.stop();
    for (const c of EdgeApp.CONSUMERS) this.bus.unsubscribe(c);
    this.capacity.stop(this.bus);
    await this.homeAssistant?.stop(this.bus);
    await this.uplink?.stop();
    this.outbox?.stop();
  }
}

/**
 * The files the config names, checked before anything starts: a missing or bad TLS file, or an outbox
 * whose directory cannot be made, is a ConfigError naming its key (exit 2) instead of an uplink that
 * logs ENOENT on every reconnect for ever. The uplink reads the TLS files again on each connect
 * (renewed certificates are picked up).
 */
function checkFiles(config: EdgeConfig, devices: readonly SiteDevice[]): void {
  const tls = config.mqtt?.tls;
  if (config.buffer && tls) {
    loadTlsFiles({
      ca: { key: 'mqtt.tls.ca_cert', path: tls.ca_cert },
      cert: { key: 'mqtt.tls.client_cert', path: tls.client_cert },
      privateKey: { key: 'mqtt.tls.client_key', path: tls.client_key },
    });
  }
  // Each device's files (a HomeWizard v2 CA), named by its key: `homewizard.ca_cert` for the
  // section of the releases before `devices:`, `devices[1].ca_cert` in the list.
  devices.forEach((d, i) => {
    const key = config.devices ? `devices[${i}]` : d.name;
    d.definition.checkFiles?.(d.config as never, key);
  });
  const haTls = config.home_assistant?.mqtt.tls;
  if (typeof haTls === 'object') loadTlsFiles(tlsFileSet(haTls));
  if (config.buffer) prepareDbPath('buffer.db_path', config.buffer.db_path);
}

/**
 * The tariff (and price file) the control plans with, from `control.tariff_file` (the server's
 * tariff format); defaults as the server's: the edge's time zone, the P1 meter's country (be).
 */
async function controlTariff(
  path: string,
  config: EdgeConfig,
  devices: readonly SiteDevice[],
): Promise<{ tariff: Tariff; prices: PriceSeries | null }> {
  const { loadTariff } = await import('../lib/tariff-file.js');
  const meter = devices.find((d) => d.definition.roles[0] === 'grid_meter')?.config as
    | { country?: unknown }
    | undefined;
  const country = meter?.country === 'nl' ? 'nl' : 'be';
  return loadTariff(path, { timezone: config.timezone, country }, 'control.tariff_file');
}
