/**
 * An in-process MQTT broker (aedes) for a single home: the same MQTT path as with Mosquitto, with
 * nothing installed. Same rules as deploy/mosquitto/acl (./acl.ts), by client identity:
 * - TLS (recommended as soon as the edge is another machine): client certificates signed by the
 *   device CA are required; the identity is the certificate's CN, as with Mosquitto's
 *   `use_identity_as_username`;
 * - plain TCP (loopback): the identity is the MQTT username. Devices need no password; the ingester
 *   identity needs `ingesterPassword` (random per start unless given), so another local process
 *   cannot pose as the ingester.
 * Shared subscriptions (`$share/group/filter`) are accepted and served as plain subscriptions
 * (one ingester per embedded broker). Packets over `maxPayloadBytes` are refused (the client is
 * disconnected), like Mosquitto's max_packet_size.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { errorMessage, KwartierError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { canPublish, canReceive, canSubscribe, INGESTER, unshare, validIdentity } from './acl.js';

export interface EmbeddedBrokerOptions {
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Port (default 1883 plain, 8883 TLS; 0 = any free port). */
  port?: number;
  /** PEM contents; null = plain TCP. */
  tls?: { ca: string | Buffer; cert: string | Buffer; key: string | Buffer } | null;
  /** Topic prefix of the ACL (default 'energy'). */
  prefix?: string;
  /** The in-process ingester's password (default: random, see `ingesterCredentials`). */
  ingesterPassword?: string;
  maxPayloadBytes?: number;
  log?: Logger;
}

export interface EmbeddedBroker {
  readonly port: number;
  readonly url: string;
  /** For the in-process ingester (with TLS too: it connects without a client certificate). */
  readonly ingesterCredentials: { username: string; password: string };
  start(): Promise<void>;
  stop(): Promise<void>;
}

function authError(message: string): AuthenticateError {
  const e = new Error(message) as AuthenticateError;
  e.returnCode = 5; // not authorized
  return e;
}

export function createEmbeddedBroker(opts: EmbeddedBrokerOptions = {}): EmbeddedBroker {
  const log = opts.log ?? createLogger('broker');
  const prefix = opts.prefix ?? 'energy';
  const host = opts.host ?? '127.0.0.1';
  const tls = opts.tls ?? null;
  const maxPayload = opts.maxPayloadBytes ?? 1024 * 1024;
  const ingesterPassword = opts.ingesterPassword ?? randomBytes(24).toString('base64url');
  const identities = new WeakMap<Client, string>();
  let aedes: Aedes | null = null;
  let server: Server | null = null;
  let port = opts.port ?? (tls ? 8883 : 1883);

  const passwordOk = (given: Buffer | undefined): boolean => {
    const want = Buffer.from(ingesterPassword);
    return given !== undefined && given.length === want.length && timingSafeEqual(given, want);
  };

  async function start(): Promise<void> {
    if (aedes) return;
    const broker = await Aedes.createBroker({
      id: 'kwartier-embedded',
      authenticate(client, username, password, done) {
        let identity: string | null = null;
        if (tls) {
          // A device (or a separate ingester) is its certificate's CN. Only the server's own
          // ingester, in this process, may come without a certificate: with the secret password
          // (it holds no client certificate, and the password never leaves the process).
          const sock = client.conn as TLSSocket;
          const cn = sock.authorized ? sock.getPeerCertificate()?.subject?.CN : undefined;
          if (typeof cn === 'string') identity = cn;
          else if (username === INGESTER && passwordOk(password)) identity = INGESTER;
        } else {
          identity = username ?? null;
          if (identity === INGESTER && !passwordOk(password)) identity = null;
        }
        if (!validIdentity(identity)) {
          log.warn({ client_id: client.id }, 'refused a client without a valid identity');
          done(authError('not authorized'), false);
          return;
        }
        identities.set(client, identity);
        done(null, true);
      },
      authorizePublish(client, packet, done) {
        const identity = client ? identities.get(client) : undefined;
        if (!client) return done(null); // the broker's own (a last will of a client gone)
        if (!identity || !canPublish(identity, packet.topic, prefix)) {
          log.warn({ identity, topic: packet.topic }, 'publish refused');
          return done(new Error(`${identity ?? '?'} may not publish to ${packet.topic}`));
        }
        if (packet.payload.length > maxPayload) {
          log.warn({ identity, topic: packet.topic, bytes: packet.payload.length }, 'publish refused: too large');
          return done(new Error(`payload over ${maxPayload} bytes`));
        }
        done(null);
      },
      authorizeSubscribe(client, sub, done) {
        const identity = identities.get(client);
        if (!identity || !canSubscribe(identity, sub.topic, prefix)) {
          log.warn({ identity, filter: sub.topic }, 'subscription refused');
          return done(null, null);
        }
        // One ingester per embedded broker: a shared subscription is a plain one.
        sub.topic = unshare(sub.topic).filter;
        done(null, sub);
      },
      authorizeForward(client, packet) {
        const identity = identities.get(client);
        if (!identity || !canReceive(identity, packet.topic, prefix)) return null;
        return packet;
      },
    });
    broker.on('clientError', (client, err) =>
      log.debug({ client_id: client.id, err: errorMessage(err) }, 'client error'),
    );
    const handle = (socket: Parameters<Aedes['handle']>[0]) => broker.handle(socket);
    const srv = tls
      ? createTlsServer(
          {
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            requestCert: true,
            // Checked in authenticate(): a client without a valid certificate is refused there,
            // except the server's own ingester with its password.
            rejectUnauthorized: false,
            minVersion: 'TLSv1.2',
          },
          handle,
        )
      : createServer(handle);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host, () => {
        srv.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      broker.close();
      throw new KwartierError(
        'broker_listen',
        `embedded broker: cannot listen on ${host}:${port}: ${errorMessage(err)}`,
        { cause: err },
      );
    });
    const addr = srv.address();
    if (addr && typeof addr === 'object') port = addr.port;
    aedes = broker;
    server = srv;
    log.info({ host, port, tls: tls !== null }, 'embedded MQTT broker listening');
  }

  async function stop(): Promise<void> {
    const b = aedes;
    const s = server;
    aedes = null;
    server = null;
    if (b) await new Promise<void>((r) => b.close(() => r()));
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  return {
    get port() {
      return port;
    },
    get url() {
      // Where to connect: a wildcard bind address is reached on loopback (which the broker's
      // certificate names, `kwartier certs init`).
      const to = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
      const h = to.includes(':') ? `[${to}]` : to;
      return `${tls ? 'mqtts' : 'mqtt'}://${h}:${port}`;
    },
    ingesterCredentials: { username: INGESTER, password: ingesterPassword },
    start,
    stop,
  };
}
