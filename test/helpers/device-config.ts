/** A device config for a loopback test: the type's example config aimed at 127.0.0.1:port, made fast. */
export function fastConfig(example: unknown, port: number): Record<string, unknown> {
  const c = { ...(example as Record<string, unknown>) };
  if ('tcp' in c) c.tcp = `127.0.0.1:${port}`;
  // A server the device connects to (OCPP's central system) listens on that port instead.
  if ('listen' in c) c.listen = `127.0.0.1:${port}`;
  if ('host' in c) {
    c.host = '127.0.0.1';
    c.port = port;
  }
  // A short poll and no waits after connecting or between requests, where the type has them.
  if ('poll_interval_s' in c) c.poll_interval_s = 1;
  if ('connect_delay_ms' in c) c.connect_delay_ms = 0;
  if ('inter_register_delay_ms' in c) c.inter_register_delay_ms = 0;
  return c;
}
