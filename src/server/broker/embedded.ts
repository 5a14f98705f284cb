/**
 * An in-process MQTT broker (aedes) for a single home: the same MQTT path as with Mosquitto, with
 * nothing installed. Same rules as deploy/mosquitto/acl (./acl.ts), by client identity:
 * - TLS (recommended as soon as the edge is another machine): a client without a certificate
 *   signed by the device CA is refused in the TLS handshake, before it can send a byte of MQTT; the
 *   identity is the certificate's CN, as with Mosquitto's `use_identity_as_username`;
 * - plain TCP (loopback): the identity is the MQTT username. Devices need no password; the ingester
 *   identity needs `ingesterPassword` (random per start unless given), so another local process
 *   cannot pose as the ingester;
 * - the server's own clients (the ingester) connect in process (`connectInProcess`), never through
 *   the listener, and identify with the ingester password.
 * The client id is the identity (as Mosquitto's `use_username_as_clientid`): whatever id a client
 * asks for, it can only ever take over its own identity's session.
 * Limits before authentication: a connection may send at most `maxConnectBytes` in its first packet
 * (CONNECT) and `maxPayloadBytes` in any later one, checked on the fixed header before anything is
 * buffered (./connection-guard.ts); at most `maxConnectionsPerAddress` connections per remote
 * address and `maxConnections` in all; a TLS handshake and the CONNECT must come within
 * `handshakeTimeoutMs`. Retained messages are kept only on `status` and `control_state` (devices)
 * and `ack`, `control` and `prices` (the ingester): the retain flag of any other publish is cleared, so no
 * stale data or alert is replayed.
 * Shared subscriptions (`$share/group/filter`) are served as plain subscriptions (one ingester).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes';
import { errorMessage, KwartierError } from '../../core/errors.js';
import { TOPICS } from '../../core/wire.js';
import { listen } from '../../lib/listen.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { canPublish, canReceive, canSubscribe, INGESTER, unshare, validIdentity } from './acl.js';
import { AddressLimiter, GuardedConnection, inProcessPair } from './connection-guard.js';

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
  /** Largest packet after CONNECT (default 1 MiB, as Mosquitto's max_packet_size in deploy/). */
  maxPayloadBytes?: number;
  /** Largest CONNECT packet, before the client is authenticated (default 64 KiB). */
  maxConnectBytes?: number;
  /** Open connections from one remote address (default 32). */
  maxConnectionsPerAddress?: number;
  /** Open connections in all (default 1000). */
  maxConnections?: number;
  /** TLS handshake, and then the CONNECT packet, must each come within this (default 10 s). */
  handshakeTimeoutMs?: number;
  log?: Logger;
}

export interface EmbeddedBroker {
  readonly port: number;
  readonly url: string;
  /** For the in-process ingester (with TLS too: it connects in process, without a certificate). */
  readonly ingesterCredentials: { username: string; password: string };
  /** A new in-memory connection to the broker, for the server's own MQTT clients. */
  connectInProcess(): Duplex;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Topic leaves whose messages may be retained: a device's status and control state, the server's
 * ack, control settings and day-ahead prices.
 */
const RETAINED_LEAVES: ReadonlySet<string> = new Set([
  TOPICS.status,
  TOPICS.ack,
  TOPICS.control,
  TOPICS.control_state,
  TOPICS.prices,
]);

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
  const limits = { maxConnectBytes: opts.maxConnectBytes ?? 64 * 1024, maxPacketBytes: maxPayload };
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 10_000;
  const perAddress = new AddressLimiter(opts.maxConnectionsPerAddress ?? 32);
  const ingesterPassword = opts.ingesterPassword ?? randomBytes(24).toString('base64url');
  const identities = new WeakMap<Client, string>();
  /** The CN of each TLS connection's verified certificate, by the stream aedes reads. */
  const certIdentity = new WeakMap<Duplex, string>();
  const inProcess = new WeakSet<Duplex>();
  let aedes: Aedes | null = null;
  let server: Server | null = null;
  let port = opts.port ?? (tls ? 8883 : 1883);

  const identify = (client: Client, username: string | undefined, password: Buffer | undefined): string | null =>
    identityOf({ inProcess, certIdentity, tls: tls !== null, ingesterPassword }, client, username, password);

  async function start(): Promise<void> {
    if (aedes) return;
    const broker = await Aedes.createBroker({
      id: 'kwartier-embedded',
      connectTimeout: handshakeTimeoutMs,
      ...aclHooks({ log, prefix, maxPayload, identify, identities }),
    });
    broker.on('clientError', (client, err) =>
      log.debug({ client_id: client.id, err: errorMessage(err) }, 'client error'),
    );
    const refuse = (address: string | undefined, reason: string): void =>
      log.warn({ address, reason }, 'connection refused');
    const handle = (socket: Socket | TLSSocket): void => {
      const guarded = new GuardedConnection(socket, limits, (reason) => refuse(socket.remoteAddress, reason));
      if (tls) {
        const cn = (socket as TLSSocket).getPeerCertificate()?.subject?.CN;
        if (typeof cn === 'string') certIdentity.set(guarded, cn);
      }
      broker.handle(guarded);
    };
    const srv = createListener(tls, handshakeTimeoutMs, handle, {
      maxConnections: opts.maxConnections ?? 1000,
      perAddress,
      refuse,
      log,
    });
    port = await listen(srv, port, host).catch((err: unknown) => {
      broker.close();
      throw new KwartierError(
        'broker_listen',
        `embedded broker: cannot listen on ${host}:${port}: ${errorMessage(err)}`,
        { cause: err },
      );
    });
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

  function connectInProcess(): Duplex {
    const b = aedes;
    const [clientSide, brokerSide] = inProcessPair();
    if (!b) {
      queueMicrotask(() => clientSide.destroy(new Error('the embedded broker is not running')));
      return clientSide;
    }
    inProcess.add(brokerSide);
    b.handle(brokerSide);
    return clientSide;
  }

  return {
    get port() {
      return port;
    },
    get url() {
      return urlOf(host, port, tls !== null);
    },
    ingesterCredentials: { username: INGESTER, password: ingesterPassword },
    connectInProcess,
    start,
    stop,
  };
}

/**
 * Where to connect: a wildcard bind address is reached on loopback (which the broker's certificate
 * names, `kwartier certs init`).
 */
function urlOf(host: string, port: number, tls: boolean): string {
  const to = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const h = to.includes(':') ? `[${to}]` : to;
  return `${tls ? 'mqtts' : 'mqtt'}://${h}:${port}`;
}

/**
 * Who a connecting client is, or null: an in-process client is the ingester with its password; over
 * TLS, the CN of the certificate the handshake verified; over plain TCP, the username (the ingester's
 * with its password).
 */
function identityOf(
  c: { inProcess: WeakSet<Duplex>; certIdentity: WeakMap<Duplex, string>; tls: boolean; ingesterPassword: string },
  client: Client,
  username: string | undefined,
  password: Buffer | undefined,
): string | null {
  const passwordOk = (given: Buffer | undefined): boolean => {
    const want = Buffer.from(c.ingesterPassword);
    return given !== undefined && given.length === want.length && timingSafeEqual(given, want);
  };
  const conn = client.conn as Duplex;
  if (c.inProcess.has(conn)) return username === INGESTER && passwordOk(password) ? INGESTER : null;
  // TLS: the handshake already refused clients without a valid certificate; the CN is the identity.
  if (c.tls) return c.certIdentity.get(conn) ?? null;
  if (username === INGESTER && !passwordOk(password)) return null;
  return username ?? null;
}

interface HookContext {
  log: Logger;
  prefix: string;
  maxPayload: number;
  /** The identity of a connecting client, or null (refused). */
  identify: (client: Client, username: string | undefined, password: Buffer | undefined) => string | null;
  /** Each authenticated client's identity (filled in by `authenticate`). */
  identities: WeakMap<Client, string>;
}

/**
 * The ACL (./acl.ts) as aedes hooks: a client connects only with a valid identity, which becomes its
 * client id; publishes, subscriptions and deliveries are the identity's; oversized publishes are
 * refused; the retain flag is kept only on RETAINED_LEAVES.
 */
function aclHooks(
  c: HookContext,
): Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'> {
  const { log, prefix, maxPayload, identities } = c;
  return {
    authenticate(client, username, password, done) {
      const identity = c.identify(client, username, password);
      if (!validIdentity(identity)) {
        log.warn({ client_id: client.id }, 'refused a client without a valid identity');
        done(authError('not authorized'), false);
        return;
      }
      identities.set(client, identity);
      // The session is the identity's, whatever client id was asked for (no takeover of another's).
      if (client.id !== identity) log.debug({ asked: client.id, identity }, 'client id bound to the identity');
      client.id = identity;
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      const identity = client ? identities.get(client) : undefined;
      if (!client) return done(null); // the broker's own (a last will of a client gone)
      if (!identity || !canPublish(identity, packet.topic, prefix, packet.payload.length)) {
        log.warn({ identity, topic: packet.topic }, 'publish refused');
        return done(new Error(`${identity ?? '?'} may not publish to ${packet.topic}`));
      }
      if (packet.payload.length > maxPayload) {
        log.warn({ identity, topic: packet.topic, bytes: packet.payload.length }, 'publish refused: too large');
        return done(new Error(`payload over ${maxPayload} bytes`));
      }
      if (packet.retain && !RETAINED_LEAVES.has(packet.topic.slice(packet.topic.lastIndexOf('/') + 1))) {
        // Delivered now, never replayed to a later subscriber.
        log.debug({ identity, topic: packet.topic }, 'retain flag cleared');
        packet.retain = false;
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
  };
}

/**
 * The listener: TLS with a client certificate required (a client without one signed by the device
 * CA never gets past the handshake), or plain TCP; connections counted per address on the raw TCP
 * connection, before a TLS handshake costs anything.
 */
function createListener(
  tls: NonNullable<EmbeddedBrokerOptions['tls']> | null,
  handshakeTimeoutMs: number,
  handle: (socket: Socket | TLSSocket) => void,
  o: {
    maxConnections: number;
    perAddress: AddressLimiter;
    refuse: (address: string, reason: string) => void;
    log: Logger;
  },
): Server {
  const srv = tls
    ? createTlsServer(
        {
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          // A client without a certificate signed by the device CA never gets past the handshake.
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2',
          handshakeTimeout: handshakeTimeoutMs,
        },
        handle,
      )
    : createServer(handle);
  srv.maxConnections = o.maxConnections;
  // Counted on the raw TCP connection, before a TLS handshake costs anything.
  srv.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '?';
    if (!o.perAddress.take(address)) {
      o.refuse(address, 'too many connections from this address');
      socket.destroy();
      return;
    }
    socket.once('close', () => o.perAddress.release(address));
  });
  srv.on('tlsClientError', (err, socket) =>
    o.log.debug({ address: socket.remoteAddress, err: errorMessage(err) }, 'TLS handshake refused'),
  );
  return srv;
}
