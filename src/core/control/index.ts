/** Control on one capacity-tariff budget: the EV chargers and the home battery (docs/control.md). */
export * from './battery.js';
export * from './budget.js';
export * from './charger.js';
export type { ChargerContext, ChargerOutcome } from './charger-outcome.js';
export * from './config.js';
export * from './decide.js';
export * from './input.js';
export * from './plan.js';
export * from './remote.js';
export * from './types.js';
