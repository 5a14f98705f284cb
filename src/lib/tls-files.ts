/**
 * TLS files named in a config file, read and checked at start-up: every certificate parses
 * (X509Certificate), every key parses (createPrivateKey), a key belongs to its certificate, and Node
 * accepts the set (createSecureContext). A problem is a ConfigError naming the key, the file and the
 * cause: `broker.tls.cert: /etc/kwartier/x.crt: not a PEM certificate`. The CLI puts the config file's
 * name in front. Relative paths resolve against the working directory, as the readers always did.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigError, describeCause, errorMessage } from '../core/errors.js';

/** One file: the config key that names it, and its path as written there. */
export interface TlsFile {
  key: string;
  path: string;
}

export interface TlsFileSet {
  /** The CA to verify the peer with (one or more PEM certificates). */
  ca?: TlsFile;
  /** Our own certificate (PEM), presented to the peer; `privateKey` must be its key. */
  cert?: TlsFile;
  privateKey?: TlsFile;
}

export interface TlsContents {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** A path as shown in errors: absolute (what the process opened), or a description such as `(inline PEM)`. */
function shown(path: string): string {
  return path.startsWith('(') ? path : resolve(path);
}

function fail(f: TlsFile, cause: string): ConfigError {
  return new ConfigError(`${f.key}: ${shown(f.path)}: ${cause}`, { key: f.key });
}

function read(f: TlsFile): Buffer {
  try {
    return readFileSync(f.path);
  } catch (err) {
    throw fail(f, `cannot read: ${describeCause(err)}`);
  }
}

/** The certificates of a PEM file (at least one), each parsed; a ConfigError naming `f` otherwise. */
export function parseCertificates(f: TlsFile, data: Buffer): X509Certificate[] {
  const blocks = data.toString('latin1').match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) throw fail(f, 'not a PEM certificate');
  return blocks.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch (err) {
      const which = blocks.length > 1 ? ` (certificate ${i + 1} of ${blocks.length})` : '';
      throw fail(f, `not a valid PEM certificate${which}: ${describeCause(err)}`);
    }
  });
}

function parseKey(f: TlsFile, data: Buffer): KeyObject {
  const text = data.toString('latin1');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw fail(f, 'not a PEM private key');
  try {
    return createPrivateKey(data);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MISSING_PASSPHRASE') throw fail(f, 'an encrypted key (a passphrase is not supported)');
    throw fail(f, `not a valid PEM private key: ${describeCause(err)}`);
  }
}

/** Reads and checks the files of `set`; returns their contents for tls/mqtt options. */
export function loadTlsFiles(set: TlsFileSet): TlsContents {
  const out: TlsContents = {};
  if (set.ca) {
    out.ca = read(set.ca);
    parseCertificates(set.ca, out.ca);
  }
  let leaf: X509Certificate | undefined;
  if (set.cert) {
    out.cert = read(set.cert);
    leaf = parseCertificates(set.cert, out.cert)[0];
  }
  if (set.privateKey) {
    out.key = read(set.privateKey);
    const key = parseKey(set.privateKey, out.key);
    if (set.cert && leaf && !leaf.checkPrivateKey(key)) {
      throw fail(set.privateKey, `does not match the certificate of ${set.cert.key} (${shown(set.cert.path)})`);
    }
  }
  try {
    createSecureContext({ ...out });
  } catch (err) {
    const f = set.privateKey ?? set.cert ?? set.ca;
    if (f) throw fail(f, `refused by TLS: ${errorMessage(err).split('\n')[0]}`);
  }
  return out;
}

/** A CA, a certificate and its key, all three required (a TLS server's files). */
export function loadTlsIdentity(ca: TlsFile, cert: TlsFile, privateKey: TlsFile): Required<TlsContents> {
  const f = loadTlsFiles({ ca, cert, privateKey });
  if (!f.ca || !f.cert || !f.key) throw new ConfigError(`${cert.key}: the TLS files were not read`);
  return { ca: f.ca, cert: f.cert, key: f.key };
}
