/**
 * The controls of an OCPP 1.6J charger (data only, listed by the definition without loading the
 * driver). Both become one SetChargingProfile with a single period: the current as its limit, a
 * pause as limit 0.
 */
import type { ControlSpec } from '../control.js';

export const OCPP_CONTROLS: readonly ControlSpec[] = [
  {
    name: 'current_set_a',
    kind: 'number',
    unit: 'A',
    min: 0,
    max: 80,
    description:
      "Charging current: a SetChargingProfile (TxProfile on the running transaction, else TxDefaultProfile), unit A, 0.1 A steps, between the device config's min_current_a and max_current_a",
  },
  {
    name: 'charge_pause',
    kind: 'boolean',
    description: 'Pause charging (the same profile with limit 0) or resume at the last current set',
  },
];
