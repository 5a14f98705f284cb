/** Shared by the HomeWizard tests: run a source and wait for its readings and states. */
import {
  createHomeWizardSource,
  type HomeWizardConfigInput,
  type HomeWizardSource,
} from '../../../src/drivers/homewizard/source.js';
import type { SourceReading, SourceState } from '../../../src/drivers/source.js';
import { silentLogger } from '../../../src/lib/log.js';

export interface Running {
  source: HomeWizardSource;
  readings: SourceReading[];
  states: Array<[SourceState, string | undefined]>;
  /** The next reading (optionally the next one that satisfies `pred`). */
  next(pred?: (r: SourceReading) => boolean): Promise<SourceReading>;
  /** The next time the source enters `state`; resolves with its detail. */
  state(state: SourceState): Promise<string | undefined>;
  /** Registers an extra listener that runs synchronously with each reading. */
  onReading(fn: (r: SourceReading) => void): void;
}

export function runSource(cfg: HomeWizardConfigInput, cleanups: Array<() => Promise<void>>): Running {
  const source = createHomeWizardSource(cfg, { log: silentLogger() });
  const readings: SourceReading[] = [];
  const states: Running['states'] = [];
  const waiters: Array<{ pred: (r: SourceReading) => boolean; fn: (r: SourceReading) => void }> = [];
  const stateWaiters: Array<{ want: SourceState; fn: (d: string | undefined) => void }> = [];
  source.onReading((r) => {
    readings.push(r);
    const i = waiters.findIndex((w) => w.pred(r));
    if (i >= 0) waiters.splice(i, 1)[0]?.fn(r);
  });
  source.onState((s, d) => {
    states.push([s, d]);
    const i = stateWaiters.findIndex((w) => w.want === s);
    if (i >= 0) stateWaiters.splice(i, 1)[0]?.fn(d);
  });
  void source.start();
  cleanups.push(() => source.stop());
  return {
    source,
    readings,
    states,
    next: (pred = () => true) => new Promise((resolve) => waiters.push({ pred, fn: resolve })),
    state: (want) => new Promise((resolve) => stateWaiters.push({ want, fn: resolve })),
    onReading: (fn) => source.onReading(fn),
  };
}
