/**
 * `status`, `capacity` and `control_state`: small JSON objects an edge publishes beside its data,
 * checked against their schemas (core/wire.ts). Not data: the ingester passes them on as events and
 * drops anything else with a count (`side_invalid`), never as a dead letter.
 */
import { checker, validationErrors } from '../../core/validate.js';
import {
  type CapacityMessage,
  CapacityMessageSchema,
  type ControlStateMessage,
  ControlStateMessageSchema,
  type StatusMessage,
  StatusMessageSchema,
} from '../../core/wire.js';

export type SideLeaf = 'status' | 'capacity' | 'control_state';

export type CheckedSideMessage =
  | { leaf: 'status'; message: StatusMessage }
  | { leaf: 'capacity'; message: CapacityMessage }
  | { leaf: 'control_state'; message: ControlStateMessage };

/** The largest side message read. */
const MAX_SIDE_BYTES = 64 * 1024;

const statusCheck = checker(StatusMessageSchema);
const capacityCheck = checker(CapacityMessageSchema);
const controlStateCheck = checker(ControlStateMessageSchema);

/** The checked message, or why it is refused. */
export function checkSideMessage(payload: Buffer | string, leaf: SideLeaf): CheckedSideMessage | string {
  if (payload.length > MAX_SIDE_BYTES) return 'larger than 64 KiB';
  let message: unknown;
  try {
    message = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return 'not a JSON object';
  if (leaf === 'status') {
    if (statusCheck.Check(message)) return { leaf, message };
    return validationErrors(StatusMessageSchema, message, leaf)[0] ?? 'invalid';
  }
  if (leaf === 'control_state') {
    if (controlStateCheck.Check(message)) return { leaf, message };
    return validationErrors(ControlStateMessageSchema, message, leaf)[0] ?? 'invalid';
  }
  if (capacityCheck.Check(message)) return { leaf, message };
  return validationErrors(CapacityMessageSchema, message, leaf)[0] ?? 'invalid';
}
