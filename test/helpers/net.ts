import { freePort as freePortOn } from '../../src/lib/listen.js';

/** A free TCP port on 127.0.0.1 (for processes that must be told a port, e.g. mosquitto -c). */
export function freePort(): Promise<number> {
  return freePortOn('127.0.0.1');
}
