/**
 * A device type as data: what it is called, the roles it can fill in a site, its config schema, its
 * factory, its simulator and the controls it offers. One definition per driver folder
 * (`src/drivers/<type>/definition.ts`), listed once in `src/drivers/registry.ts`; the edge config's
 * `devices:` entries, `kwartier devices`, `kwartier simulate --device` and the device table of
 * docs/configuration.md are all derived from that list. docs/drivers.md walks through adding one.
 */
import type { TObject } from '@sinclair/typebox';
import { KwartierError } from '../core/errors.js';
import type { Role } from '../core/merger.js';
import type { Logger } from '../lib/log.js';
import { type ControllableSource, type ControlResult, type ControlSpec, controlDisabled } from './control.js';
import type { HomeModel } from './sim/home-model.js';
import type { Source, SourceReading, SourceState } from './source.js';

/**
 * What a device can be in a site (declared beside the merger, which merges by it). The first role
 * of a definition is its main one: a device whose main role is `grid_meter` is the site's meter (at
 * most one), ticks the edge and wins the grid fields; a device that lists `grid_meter` later (an
 * inverter with its own meter) gives the grid fields only when the site has no (fresh) meter.
 */
export type { ControllableSource, ControlResult, ControlSpec, Role };

export const ROLES: readonly Role[] = ['grid_meter', 'pv', 'battery', 'ev_charger', 'charge_controller'];

export interface DeviceContext {
  /** The device's name in the site (`devices[].name`, or the legacy section's name). */
  name: string;
  timezone: string;
  log: Logger;
}

export interface SimulatorOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  log: Logger;
  /** The simulated home the device reports on (default: a fresh one starting now). */
  model?: HomeModel;
  /**
   * A simulator that is the client (an OCPP charge point): the path of the URL it connects to at
   * host:port (`/ocpp/CP1`), from `kwartier simulate --device TYPE ws://HOST:PORT/PATH`.
   */
  path?: string;
}

export interface RunningDeviceSimulator {
  port: number;
  stop(): Promise<void>;
}

/** What a definition's `replay.serve` gets: one recorded device answer to serve on loopback. */
export interface ReplayOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  log: Logger;
  /** The recorded answer: a file of the type's fixture folder (test/fixtures/<replay.fixtures>/). */
  fixture: { name: string; bytes: Buffer };
  /** Reads another file of the same folder (e.g. the device's identity answer served beside it). */
  read(name: string): Buffer;
  /** The case's `serve` object (its `.expected.json`): type-specific choices such as an API version. */
  options: Readonly<Record<string, unknown>>;
}

export interface RunningReplay extends RunningDeviceSimulator {
  /** Config keys the driver needs to read this replay (a token, a CA), set over the example config. */
  config?: Record<string, unknown>;
}

export function isControllable(s: Source): s is ControllableSource {
  return typeof (s as Partial<ControllableSource>).control === 'function';
}

export interface DriverDefinition<C = unknown> {
  /** kebab-case, unique: the `type` of a `devices:` entry. */
  readonly type: string;
  readonly description: string;
  /** Roles it can fill, the main one first. */
  readonly roles: readonly Role[];
  /**
   * The keys of a `devices:` entry besides `name` and `type` (TypeBox, additionalProperties: false,
   * defaults filled in). Network devices use `host`, `port`, `unit_id` (Modbus) and `poll_interval_s`.
   */
  readonly configSchema: TObject;
  /** A config that builds (tests, docs and `kwartier devices`). */
  readonly exampleConfig: C;
  /** Checks what the schema cannot (a choice between keys); throws a ConfigError naming `key`. */
  check?(config: C, key: string): void;
  /** Checks the files the config names before anything starts; throws a ConfigError naming `key`. */
  checkFiles?(config: C, key: string): void;
  /**
   * Loads the driver's code (a dynamic import), so a site pays in memory only for the types it
   * uses. Called once before the first `create`.
   */
  load?(): Promise<void>;
  create(config: C, ctx: DeviceContext): Source;
  /**
   * The device config of a top-level section of an edge config of the releases before `devices:`
   * (`dsmr:`, `homewizard:`, `sungrow:`): those sections keep working as one device named as the
   * section. New types have no section.
   */
  fromLegacySection?(section: never): C;
  simulator?: {
    /** What `kwartier simulate --device` prints: "a Sungrow SH inverter (Modbus TCP, unit 1)". */
    readonly describe: string;
    /** It connects to HOST:PORT rather than listening there (it also takes a ws:// URL). */
    readonly client?: boolean;
    create(opts: SimulatorOptions): Promise<RunningDeviceSimulator>;
  };
  /** Typed controls the device offers; used only when its config says `control: true`. */
  readonly controls?: readonly ControlSpec[];
  /**
   * Serves recorded device answers (fixtures) on loopback, usually through a mode of the type's
   * simulator, so that test/drivers/fixture-replay.test.ts reads them with the real driver and
   * checks each against its `<name>.expected.json` (docs/drivers.md, "Fixtures"). Every type of
   * the registry needs it: a type without replayed fixtures fails that test.
   */
  readonly replay?: {
    /** The folder under test/fixtures holding the recordings (default: the type). */
    readonly fixtures?: string;
    serve(opts: ReplayOptions): Promise<RunningReplay>;
  };
}

/** Typed helper: `defineDriver({...})` checks a definition against its own config type. */
export function defineDriver<C>(def: DriverDefinition<C>): DriverDefinition<C> {
  return def;
}

/**
 * Imports a module by URL (`new URL('./simulator.js', import.meta.url)`): the bundler of the edge
 * (scripts/bundle-edge.mjs) does not follow it, so the simulators and the simulated home stay out of
 * `dist/edge-bundle/edge.mjs`, whose every byte costs the edge memory. Only for code the edge never runs.
 */
export async function importUnbundled<M>(url: URL): Promise<M> {
  const href: string = url.href;
  return (await import(href)) as M;
}

/**
 * A module of the driver's folder that the edge never runs (its simulator, its recordings), for a
 * definition's `simulator` and `replay`: `const simulator = unbundled<typeof import('./simulator.js')>(
 * new URL('./simulator.js', import.meta.url))`, then `await simulator()` (see importUnbundled).
 */
export function unbundled<M>(url: URL): () => Promise<M> {
  return () => importUnbundled<M>(url);
}

/** What a definition's simulator or replay gives back of the simulator it started. */
export function running(sim: RunningDeviceSimulator): RunningDeviceSimulator {
  return { port: sim.port, stop: () => sim.stop() };
}

/** The simulated home for a simulator that was given none: a fresh one starting now. */
export async function defaultHomeModel(model: HomeModel | undefined): Promise<HomeModel> {
  if (model) return model;
  const m = await importUnbundled<typeof import('./sim/home-model.js')>(
    new URL('./sim/home-model.js', import.meta.url),
  );
  return new m.HomeModel({ start: Date.now() });
}

/** A driver's source module, loaded on first use (`lazySource`). */
export interface LazySource<M> {
  /** The definition's `load`: imports the module once. */
  load(): Promise<void>;
  /** The module, for the definition's `create`; throws when `create` comes before `load`. */
  get(): M;
}

/**
 * The module a definition loads lazily (see `load`): `const source = lazySource('acme', () =>
 * import('./source.js'))`, then `load: source.load` and `source.get().createAcmeSource(…)` in
 * `create`. The import stays in the definition's own file, so the edge bundle puts each driver's
 * source in a chunk of its own, loaded only by a site that uses the type.
 */
export function lazySource<M>(type: string, importer: () => Promise<M>): LazySource<M> {
  let mod: M | undefined;
  return {
    async load() {
      mod ??= await importer();
    },
    get() {
      if (mod === undefined) throw new Error(`driver ${type}: create() before load()`);
      return mod;
    },
  };
}

/**
 * A source whose readings pass through `map` first: a definition adapts what its driver reports
 * (an extra value that is a snapshot field in a site) without touching the driver.
 */
export function mapReadings(inner: Source, map: (r: SourceReading) => SourceReading): Source {
  const mapped: Source = {
    name: inner.name,
    kind: inner.kind,
    get intervalMs() {
      return inner.intervalMs;
    },
    onReading: (listener) => inner.onReading((r) => listener(map(r))),
    ...(inner.onState ? { onState: (listener) => inner.onState?.(listener) } : {}),
    start: () => inner.start(),
    stop: () => inner.stop(),
  };
  // The readings are mapped; writes go to the driver as they are.
  if (isControllable(inner)) (mapped as ControllableSource).control = (name, value) => inner.control(name, value);
  return mapped;
}

/** Why a control value is refused (null when it fits the spec). */
export function checkControlValue(spec: ControlSpec, value: unknown): string | null {
  switch (spec.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'enum':
      return typeof value === 'string' && (spec.values ?? []).includes(value)
        ? null
        : `must be one of ${(spec.values ?? []).join(', ')}`;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
      if (spec.min !== undefined && value < spec.min) return `must be >= ${spec.min}`;
      if (spec.max !== undefined && value > spec.max) return `must be <= ${spec.max}`;
      return null;
  }
}

export interface DeviceSourceOptions {
  /** The controls its definition offers (default none). */
  controls?: readonly ControlSpec[];
  /** Its config says `control: true` (default false: read-only). */
  controlEnabled?: boolean;
  log?: Logger;
}

/**
 * A driver's source under its device name: readings carry `source = name`, and the edge ticks on
 * it when its main role is `grid_meter`. The driver's own object is untouched (its name, if fixed,
 * is only what it logs). It is also the one gate of every control write: the control must be one
 * its definition offers, the device's config must say `control: true`, the value must fit the
 * spec; each write is logged with the value read back.
 */
export class DeviceSource implements ControllableSource {
  readonly kind: 'p1' | 'inverter';
  private readonly controls: readonly ControlSpec[];
  private readonly controlEnabled: boolean;

  constructor(
    readonly name: string,
    readonly type: string,
    readonly roles: readonly Role[],
    readonly inner: Source,
    private readonly options: DeviceSourceOptions = {},
  ) {
    this.kind = roles[0] === 'grid_meter' ? 'p1' : 'inverter';
    this.controls = options.controls ?? [];
    this.controlEnabled = options.controlEnabled ?? false;
  }

  get intervalMs(): number {
    return this.inner.intervalMs;
  }

  onReading(listener: (reading: SourceReading) => void): void {
    this.inner.onReading((r) => listener(r.source === this.name ? r : { ...r, source: this.name }));
  }

  onState(listener: (state: SourceState, detail?: string) => void): void {
    this.inner.onState?.(listener);
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  async control(name: string, value: unknown): Promise<ControlResult> {
    const spec = this.controls.find((c) => c.name === name);
    if (!spec) {
      const offered = this.controls.map((c) => c.name).join(', ') || 'none';
      throw new KwartierError(
        'unknown_control',
        `${this.name}: no control ${JSON.stringify(name)} (it offers ${offered})`,
      );
    }
    if (!this.controlEnabled) throw controlDisabled(this.name, name);
    const why = checkControlValue(spec, value);
    if (why !== null) throw new KwartierError('bad_control_value', `${this.name}: control ${name}: ${why}`);
    if (!isControllable(this.inner))
      throw new KwartierError('not_controllable', `${this.name}: the ${this.type} driver cannot write ${name}`);
    const result = await this.inner.control(name, value);
    this.options.log?.info(
      { device: this.name, control: name, requested: value, read_back: result.readBack },
      'control written',
    );
    return result;
  }
}
