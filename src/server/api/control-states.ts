/**
 * The control settings each home's edge says it applies (its retained `control_state`, checked by
 * the ingester), the newest per home, in memory: after a restart the broker replays the retained
 * ones on subscribe. Bounded: a home not heard from for the longest is forgotten first.
 */
import type { ControlStateMessage } from '../../core/wire-control.js';

export class ControlStates {
  private readonly byDevice = new Map<string, ControlStateMessage>();

  constructor(private readonly max = 100_000) {}

  set(deviceId: string, message: ControlStateMessage): void {
    this.byDevice.delete(deviceId);
    this.byDevice.set(deviceId, message);
    if (this.byDevice.size > this.max) {
      const oldest = this.byDevice.keys().next().value;
      if (oldest !== undefined) this.byDevice.delete(oldest);
    }
  }

  get(deviceId: string): ControlStateMessage | null {
    return this.byDevice.get(deviceId) ?? null;
  }
}
