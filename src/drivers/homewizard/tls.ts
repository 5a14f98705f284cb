/**
 * TLS for the HomeWizard local API v2: the chain is verified against HomeWizard's "Appliance Access CA"
 * (bundled) or a configured CA, and the device is identified by its certificate's common name
 * `appliance/<type>/<serial>` (e.g. `appliance/p1dongle/5c2fafaabbcc`), not by the IP address
 * (docs/v2/authorization.mdx). Node's default checkServerIdentity ignores the CN as soon as the
 * certificate has SANs, and `appliance/…` is no DNS name anyway, so we check it ourselves.
 *
 * Identity: taken from config (`homewizard.identity`) when set; otherwise learnt on the first connection:
 * after the chain verifies, the CN must have the form `appliance/<type>/<serial>`; once GET /api has told
 * the serial (and the product type), `confirm` checks the CN carries that serial (and the product's
 * certificate type), and from then on every connection must present exactly that CN.
 * Verification is never switched off (no `rejectUnauthorized: false`).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import { ConfigError, KwartierError } from '../../core/errors.js';
import { CERT_TYPE_BY_PRODUCT, type DeviceInfo } from './device-info.js';
import { HOMEWIZARD_CA_PEM } from './homewizard-ca.js';

/** `appliance/<type>/<serial>`: type lower-case letters/digits, serial 12 hex digits (the MAC). */
export const APPLIANCE_CN = /^appliance\/([a-z0-9]+)\/([0-9A-Fa-f]{12})$/;

export class HomeWizardTlsError extends KwartierError {
  constructor(message: string) {
    super('homewizard_tls', message, { retriable: false });
    this.name = 'HomeWizardTlsError';
  }
}

/** The common name of a peer certificate, or null (none, or more than one). */
export function commonName(cert: PeerCertificate | undefined | null): string | null {
  const cn: unknown = cert?.subject?.CN;
  return typeof cn === 'string' ? cn : null;
}

/**
 * The CA to trust: the bundled HomeWizard CA when `caCert` is null/undefined; inline PEM when it starts
 * with `-----BEGIN`; otherwise a path to a PEM file. `what` names the config key or flag in errors.
 */
export function loadCaPem(caCert: string | null | undefined, what = 'homewizard.ca_cert'): string {
  if (caCert === null || caCert === undefined) return HOMEWIZARD_CA_PEM;
  let pem = caCert;
  if (!caCert.trimStart().startsWith('-----BEGIN')) {
    try {
      pem = readFileSync(caCert, 'utf8');
    } catch (err) {
      throw new ConfigError(`${what}: cannot read ${caCert}: ${(err as Error).message}`);
    }
  }
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw new ConfigError(`${what}: not a PEM certificate: ${(err as Error).message}`);
  }
  return pem;
}

/** The identity of one device, learnt or configured, shared by all its connections (HTTPS and WebSocket). */
export class DeviceIdentity {
  private pinned: string | null;

  constructor(configured?: string | null) {
    if (configured !== undefined && configured !== null && !APPLIANCE_CN.test(configured)) {
      throw new ConfigError(
        `homewizard.identity: expected appliance/<type>/<12 hex digit serial>, got ${JSON.stringify(configured)}`,
      );
    }
    this.pinned = configured ?? null;
  }

  /** The pinned CN, once known. */
  get value(): string | null {
    return this.pinned;
  }

  /** For tls.connect: runs after the chain verified; returning an Error aborts the handshake. */
  readonly checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined => {
    const cn = commonName(cert);
    if (this.pinned !== null) {
      if (cn !== null && cn.toLowerCase() === this.pinned.toLowerCase()) return undefined;
      return new HomeWizardTlsError(
        `TLS: the device certificate's CN is ${JSON.stringify(cn)}, expected ${JSON.stringify(this.pinned)}: not the device we paired with (or homewizard.identity is wrong)`,
      );
    }
    if (cn === null || !APPLIANCE_CN.test(cn)) {
      return new HomeWizardTlsError(
        `TLS: the device certificate's CN is ${JSON.stringify(cn)}, not of the form appliance/<type>/<serial>: not a HomeWizard device`,
      );
    }
    return undefined;
  };

  /**
   * After GET /api over a connection whose certificate had CN `cn`: checks that the CN names this
   * device (its serial, and its certificate type when the product is known), and pins it.
   */
  confirm(cn: string | null, info: DeviceInfo): string {
    const m = cn === null ? null : APPLIANCE_CN.exec(cn);
    if (cn === null || !m)
      throw new HomeWizardTlsError(
        `TLS: no appliance/<type>/<serial> CN on the device certificate (${JSON.stringify(cn)})`,
      );
    const [, type, serial] = m;
    if (serial?.toLowerCase() !== info.serial.toLowerCase()) {
      throw new HomeWizardTlsError(
        `TLS: the device certificate is for serial ${serial} (${cn}) but the device reports serial ${info.serial}`,
      );
    }
    const expectedType = CERT_TYPE_BY_PRODUCT[info.product_type];
    if (expectedType !== undefined && type !== expectedType) {
      throw new HomeWizardTlsError(
        `TLS: the device certificate is for a ${type} (${cn}) but the device reports product type ${info.product_type} (certificate type ${expectedType})`,
      );
    }
    if (this.pinned !== null && this.pinned.toLowerCase() !== cn.toLowerCase()) {
      throw new HomeWizardTlsError(`TLS: the device certificate's CN is ${cn}, expected ${this.pinned}`);
    }
    this.pinned = cn;
    return cn;
  }
}

/** TLS options for https.request and ws: the CA (replacing Node's default roots) and the identity check. */
export function tlsOptions(
  caPem: string,
  identity: DeviceIdentity,
): {
  ca: string;
  rejectUnauthorized: true;
  checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
} {
  return { ca: caPem, rejectUnauthorized: true, checkServerIdentity: identity.checkServerIdentity };
}

/** OpenSSL verification codes that mean "not signed by the CA we trust". */
const CHAIN_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);
const DATE_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** Turns a TLS verification failure into a HomeWizardTlsError naming the problem; other errors pass through. */
export function describeTlsError(err: unknown, caPem: string): unknown {
  if (err instanceof HomeWizardTlsError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return err;
  if (CHAIN_CODES.has(code)) {
    let ca = 'the configured CA';
    try {
      ca = new X509Certificate(caPem).subject.replace(/\n/g, ', ');
    } catch {
      // keep the generic name
    }
    return new HomeWizardTlsError(
      `TLS: the device certificate is not signed by the trusted CA (${ca}) [${code}]: not a HomeWizard device, or set homewizard.ca_cert`,
    );
  }
  if (DATE_CODES.has(code)) {
    return new HomeWizardTlsError(
      `TLS: the device certificate is outside its validity period [${code}]: check the clock of this machine`,
    );
  }
  return err;
}
