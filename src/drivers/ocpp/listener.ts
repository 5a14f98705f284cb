/**
 * The HTTP(S) server the OCPP central system listens on: plain (ws://, security profile 1 at most)
 * or, with `tls`, HTTPS (wss://): profile 2 with the charger's password, profile 3 when `tls.ca`
 * asks every charger for a client certificate that CA signed (others fail the TLS handshake).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { TLSSocket } from 'node:tls';
import { loadTlsFiles, type TlsFileSet } from '../../lib/tls-files.js';
import type { OcppConfig } from './config.js';

/** The TLS files of `cfg.tls`, each named by its config key under `key` (e.g. `devices[1]`). */
export function ocppTlsFiles(tls: NonNullable<OcppConfig['tls']>, key: string): TlsFileSet {
  return {
    cert: { key: `${key}.tls.cert`, path: tls.cert },
    privateKey: { key: `${key}.tls.key`, path: tls.key },
    ...(tls.ca ? { ca: { key: `${key}.tls.ca`, path: tls.ca } } : {}),
  };
}

/** A server answering plain requests with 404 (chargers only upgrade); HTTPS when the config has `tls`. */
export function createOcppServer(cfg: OcppConfig, key: string): Server {
  const notFound: RequestListener = (_req, res) => {
    res.statusCode = 404;
    res.end();
  };
  if (!cfg.tls) return createServer(notFound);
  const files = loadTlsFiles(ocppTlsFiles(cfg.tls, key));
  const clientCerts = files.ca !== undefined;
  return createHttpsServer(
    { ...files, requestCert: clientCerts, rejectUnauthorized: clientCerts, minVersion: 'TLSv1.2' },
    notFound,
  );
}

/**
 * Profile 3: why a charger's client certificate is not this charge point's (null: it is). The
 * handshake already proved the configured CA signed it; the OCPP security whitepaper puts the
 * charger's serial number in its CN, which must be `tls.client_cn`, else the charge point id.
 * A certificate with no CN, or several, is refused.
 */
export function clientCertMismatch(cfg: OcppConfig, request: IncomingMessage | undefined): string | null {
  if (cfg.tls?.ca === undefined) return null;
  const want = cfg.tls.client_cn ?? cfg.charge_point_id;
  const socket = request?.socket;
  const cn = socket instanceof TLSSocket ? socket.getPeerCertificate()?.subject?.CN : undefined;
  if (cn === want) return null;
  const got = typeof cn === 'string' ? `CN ${JSON.stringify(cn.slice(0, 64))}` : 'no single CN';
  return `client certificate has ${got}, not ${JSON.stringify(want)} (tls.client_cn)`;
}
