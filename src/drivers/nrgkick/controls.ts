/**
 * The controls an NRGkick Gen2 offers over its local JSON API (`GET /control?…`): data only, so the
 * definition lists them without loading the driver. Each maps to one query parameter.
 */
import type { ControlSpec } from '../control.js';

export interface NrgkickControl {
  spec: ControlSpec;
  param: 'current_set' | 'charge_pause' | 'phase_count';
}

export const NRGKICK_CONTROL_TABLE: readonly NrgkickControl[] = [
  {
    spec: {
      name: 'current_set_a',
      kind: 'number',
      unit: 'A',
      min: 6,
      max: 32,
      description: 'Charging current (current_set; 0.1 A steps, 6.0 A up to the rated current, 16 or 32 A)',
    },
    param: 'current_set',
  },
  {
    spec: { name: 'charge_pause', kind: 'boolean', description: 'Pause charging (charge_pause 1) or allow it (0)' },
    param: 'charge_pause',
  },
  {
    spec: {
      name: 'phase_count',
      kind: 'number',
      min: 1,
      max: 3,
      description: 'Phases to charge on (phase_count 1–3); only when phase switching is enabled in the NRGkick app',
    },
    param: 'phase_count',
  },
];

export const NRGKICK_CONTROLS: readonly ControlSpec[] = NRGKICK_CONTROL_TABLE.map((c) => c.spec);
