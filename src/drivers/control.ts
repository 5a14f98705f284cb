/**
 * Controls a device may offer (the issue-14 contract, docs in docs/drivers.md): typed settings a
 * controller can write. A device writes nothing unless its config says `control: true`; then
 * `control()` writes, reads back, and reports what the device holds.
 *
 * These are the contract's shapes; the driver definitions (drivers/definition.ts) list a device's
 * ControlSpecs beside its factory.
 */
import { KwartierError } from '../core/errors.js';
import type { Source } from './source.js';

export interface ControlSpec {
  name: string;
  kind: 'number' | 'boolean' | 'enum';
  unit?: string;
  min?: number;
  max?: number;
  values?: readonly string[];
  description: string;
}

export interface ControlResult {
  control: string;
  requested: unknown;
  /** The value the device holds after the write, read back from it (null: it did not say). */
  readBack: unknown;
  /** Edge clock (ms) of the read-back. */
  at: number;
}

export interface ControllableSource extends Source {
  control(name: string, value: unknown): Promise<ControlResult>;
}

/** The error `control()` throws when the device's config does not say `control: true`. */
export function controlDisabled(device: string, control: string): KwartierError {
  return new KwartierError(
    'control_disabled',
    `${device}.control is false (the default): control ${JSON.stringify(control)} refused, nothing written; set control: true in the device's config to allow writes`,
    { key: `${device}.control` },
  );
}

/**
 * The gate of a driver's `control()`: the control named must be one the driver offers (else
 * `control_unknown`, naming those it offers) and its config must say `control: true` (else
 * `control_disabled`). Gives the control's spec, or its entry of the driver's control table.
 */
export function offeredControl(
  device: string,
  name: string,
  offered: readonly ControlSpec[],
  enabled: boolean,
): ControlSpec;
export function offeredControl<T extends { spec: ControlSpec }>(
  device: string,
  name: string,
  offered: readonly T[],
  enabled: boolean,
): T;
export function offeredControl(
  device: string,
  name: string,
  offered: readonly (ControlSpec | { spec: ControlSpec })[],
  enabled: boolean,
): ControlSpec | { spec: ControlSpec } {
  const specOf = (x: ControlSpec | { spec: ControlSpec }): ControlSpec => ('spec' in x ? x.spec : x);
  const c = offered.find((x) => specOf(x).name === name);
  if (!c) {
    throw new KwartierError(
      'control_unknown',
      `${device}: no control ${JSON.stringify(name)}; the controls are ${offered.map((x) => specOf(x).name).join(', ')}`,
    );
  }
  if (!enabled) throw controlDisabled(device, name);
  return c;
}
