/**
 * Certificates for the simulated HomeWizard device (simulator.ts): HomeWizard's CA key is not
 * available, so the simulator makes a throwaway CA and a device certificate signed by it.
 */
// @peculiar/x509 (through tsyringe) needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const crypto = webcrypto;
x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface SimulatedCertificates {
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
}

/**
 * A throwaway CA and a server certificate with CN `cn` signed by it (ECDSA P-256, valid a year), with
 * 127.0.0.1 and localhost as SANs when `loopbackSans`.
 */
export async function createSimulatedCertificates(cn: string, loopbackSans = false): Promise<SimulatedCertificates> {
  const alg: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
  const sign: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
  const now = Date.now();
  const notBefore = new Date(now - 3_600_000);
  const notAfter = new Date(now + 365 * 86_400_000);
  const caKeys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: 'C=NL, O=Kwartier simulator, CN=Simulated Appliance Access CA',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: sign,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
  ];
  if (loopbackSans) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${cn.replace(/([,+="\\<>;])/g, '\\$1')}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: sign,
    extensions,
  });
  const keyDer = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    caCertPem: ca.toString('pem'),
    certPem: cert.toString('pem'),
    keyPem: x509.PemConverter.encode(keyDer, 'PRIVATE KEY'),
  };
}
