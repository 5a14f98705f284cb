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
    `${device}.control: false (the default): ${control} not written; set control: true in the device's config to allow writes`,
    { key: `${device}.control` },
  );
}
