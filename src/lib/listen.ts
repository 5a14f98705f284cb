/**
 * Listening on a TCP port, as the drivers' servers (the OCPP central system) and the simulators do:
 * `listen` resolves once the server listens (with the port it got: 0 picks a free one) and rejects
 * with the error when it cannot; `freePort` finds a port for a server that cannot be given 0.
 */
import { createServer, type Server } from 'node:net';

/** Starts `server` (net, http or https) listening on host:port; gives the port it listens on. */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}

/** A port that was free on `host` a moment ago (the OS picks it; it is free again when this returns). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}
