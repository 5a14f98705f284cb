/**
 * The topic rules of deploy/mosquitto/acl, as code for the embedded broker. Identities: the
 * ingester (`kwartier-ingester`) and devices (identity = device id = certificate CN).
 * - the ingester reads everything under the prefix and writes `{prefix}/+/ack`, `{prefix}/+/control`
 *   (the control settings) and `{prefix}/+/prices` (the day-ahead prices): no one else may; and empty
 *   messages on the data topics, to clear a retained message;
 * - a device writes only its own data topics `{prefix}/{id}/{realtime|batch|grid|solar|battery|
 *   capacity|status|control_state}` and reads only `{prefix}/{id}/ack`, `{prefix}/{id}/control` and
 *   `{prefix}/{id}/prices`.
 */
import { TOPICS } from '../../core/wire.js';

export const INGESTER = 'kwartier-ingester';
export const DEVICE_WRITE_LEAVES: ReadonlySet<string> = new Set([
  TOPICS.realtime,
  TOPICS.batch,
  TOPICS.grid,
  TOPICS.solar,
  TOPICS.battery,
  TOPICS.capacity,
  TOPICS.status,
  TOPICS.control_state,
]);
/** What the server alone writes: acknowledgements, control settings, day-ahead prices. */
const INGESTER_WRITE_LEAVES: ReadonlySet<string> = new Set([TOPICS.ack, TOPICS.control, TOPICS.prices]);
/** What a device reads: the server's acknowledgements, control settings and prices, its own only. */
const DEVICE_READ_LEAVES: ReadonlySet<string> = INGESTER_WRITE_LEAVES;
const IDENTITY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function validIdentity(id: string | null | undefined): id is string {
  return typeof id === 'string' && IDENTITY.test(id);
}

/**
 * `payloadBytes`: the ingester may also publish an empty message on a device's data topics, which
 * clears a retained message there (with Mosquitto, which cannot refuse retain per topic, the ingester
 * clears what a device retained where nothing is meant to be).
 */
export function canPublish(identity: string, topic: string, prefix: string, payloadBytes = 1): boolean {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== prefix) return false;
  const [, id, leaf] = parts as [string, string, string];
  if (identity === INGESTER)
    return (
      validIdentity(id) && (INGESTER_WRITE_LEAVES.has(leaf) || (payloadBytes === 0 && DEVICE_WRITE_LEAVES.has(leaf)))
    );
  return id === identity && DEVICE_WRITE_LEAVES.has(leaf);
}

/** Strips a shared-subscription prefix: `$share/group/a/b` → `a/b`. */
export function unshare(filter: string): { group: string | null; filter: string } {
  const m = /^\$share\/([^/#+]+)\/(.+)$/.exec(filter);
  return m ? { group: m[1] ?? null, filter: m[2] ?? '' } : { group: null, filter };
}

export function canSubscribe(identity: string, filter: string, prefix: string): boolean {
  const f = unshare(filter).filter;
  if (identity === INGESTER) return f === `${prefix}/#` || f.startsWith(`${prefix}/`);
  return ownReadTopic(identity, f, prefix);
}

/** May a message on `topic` be delivered to `identity` (defence in depth behind canSubscribe)? */
export function canReceive(identity: string, topic: string, prefix: string): boolean {
  if (identity === INGESTER) return topic.startsWith(`${prefix}/`);
  return ownReadTopic(identity, topic, prefix);
}

/** `{prefix}/{identity}/{ack|control|prices}` exactly (no wildcard: a filter must name the topic). */
function ownReadTopic(identity: string, topicOrFilter: string, prefix: string): boolean {
  const parts = topicOrFilter.split('/');
  return parts.length === 3 && parts[0] === prefix && parts[1] === identity && DEVICE_READ_LEAVES.has(parts[2] ?? '');
}
