import { UsageError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Parses `HOST:PORT` (IPv6 as `[::1]:PORT`). `what` names the flag or key in the error. */
export function parseHostPort(value: string, what: string, defaultPort?: number): HostPort {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value);
  if (!m?.[1]) throw new UsageError(`${what}: expected HOST:PORT, got ${JSON.stringify(value)}`);
  const portText = m[2];
  if (portText === undefined) {
    if (defaultPort === undefined)
      throw new UsageError(`${what}: missing port in ${JSON.stringify(value)} (HOST:PORT)`);
    return { host: m[1], port: defaultPort };
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`${what}: port must be 1..65535, got ${portText}`);
  }
  return { host: m[1], port };
}

/** 127.0.0.0/8, ::1 (bare or in brackets, as in a URL) and localhost: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}
