/**
 * The ocpp device's config in an edge config: the errors name the key (a missing charge point id,
 * a listener beyond loopback without `insecure: true`, min above max), and loopback is the default.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import { OcppConfigSchema } from '../../../src/drivers/ocpp/config.js';
import { checkEdgeConfig, type EdgeConfig, EdgeConfigSchema } from '../../../src/edge/config.js';
import { createCa, issueServerCert } from '../../../src/lib/certs.js';

const edge = (car: Record<string, unknown>) => () =>
  checkEdgeConfig(
    parseWithSchema(
      EdgeConfigSchema,
      {
        device_id: 'h',
        devices: [
          { name: 'p1', type: 'dsmr', tcp: '127.0.0.1:1' },
          { name: 'car', type: 'ocpp', ...car },
        ],
      },
      'edge.yaml',
    ) as EdgeConfig,
    'edge.yaml',
  );

describe('ocpp config', () => {
  it('needs the charge point id, and listens on loopback by default', () => {
    expect(edge({})).toThrow(/devices\[1\]\.charge_point_id: is required/);
    expect(edge({ charge_point_id: 'CP1' })).not.toThrow();
    expect(parseWithSchema(OcppConfigSchema, { charge_point_id: 'CP1' }, 'ocpp')).toMatchObject({
      listen: '127.0.0.1:8887',
      connector: 1,
      min_current_a: 6,
      control: false,
    });
  });

  it('refuses a listener beyond loopback unless insecure: true says so', () => {
    expect(edge({ charge_point_id: 'CP1', listen: '0.0.0.0:8887' })).toThrow(
      /devices\[1\]\.listen: "0\.0\.0\.0:8887" is not a loopback address.*insecure: true/,
    );
    expect(edge({ charge_point_id: 'CP1', listen: '192.168.1.10:8887', insecure: true })).not.toThrow();
    expect(edge({ charge_point_id: 'CP1', listen: 'localhost:9000' })).not.toThrow();
    expect(edge({ charge_point_id: 'CP1', listen: '127.0.0.1:99999' })).toThrow(
      /devices\[1\]\.listen: port must be 1\.\.65535/,
    );
  });

  it('refuses min_current_a above max_current_a, and an id with a slash', () => {
    expect(edge({ charge_point_id: 'CP1', min_current_a: 10, max_current_a: 8 })).toThrow(
      /devices\[1\]\.max_current_a: must be >= min_current_a \(10\)/,
    );
    expect(edge({ charge_point_id: 'a/b' })).toThrow(/devices\[1\]\.charge_point_id/);
  });

  it('a remote start tag needs control: true, and fits OCPP’s 20 characters', () => {
    expect(edge({ charge_point_id: 'CP1', remote_start_id_tag: 'KWARTIER' })).toThrow(
      /devices\[1\]\.remote_start_id_tag: starting a session is a write; it needs devices\[1\]\.control: true/,
    );
    expect(edge({ charge_point_id: 'CP1', remote_start_id_tag: 'KWARTIER', control: true })).not.toThrow();
    expect(edge({ charge_point_id: 'CP1', remote_start_id_tag: 'X'.repeat(21), control: true })).toThrow(
      /devices\[1\]\.remote_start_id_tag/,
    );
  });

  it('wss beyond loopback still needs the charger to authenticate; a bad certificate file is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-ocpp-conf-'));
    try {
      const { ca, pem } = await createCa();
      const server = await issueServerCert(ca);
      writeFileSync(join(dir, 's.crt'), server.cert);
      writeFileSync(join(dir, 's.key'), server.key);
      writeFileSync(join(dir, 'ca.crt'), pem.cert);
      const tls = { cert: join(dir, 's.crt'), key: join(dir, 's.key') };
      const lan = { charge_point_id: 'CP1', listen: '0.0.0.0:8887' };
      expect(edge({ ...lan, tls })).toThrow(
        /devices\[1\]\.password: over wss beyond loopback the charger must still prove who it is.*devices\[1\]\.tls\.ca/,
      );
      expect(edge({ ...lan, tls, password: 'a-long-random-key' })).not.toThrow();
      expect(edge({ ...lan, tls: { ...tls, ca: join(dir, 'ca.crt') } })).not.toThrow();
      expect(edge({ ...lan, tls: { ...tls, ca: join(dir, 'ca.crt'), client_cn: 'SN-4711' } })).not.toThrow();
      expect(edge({ ...lan, tls: { ...tls, client_cn: 'SN-4711' }, password: 'x' })).toThrow(
        /devices\[1\]\.tls\.client_cn: a client certificate is only asked for with devices\[1\]\.tls\.ca/,
      );
      expect(edge({ ...lan, tls: { cert: tls.cert, key: join(dir, 'missing.key') }, password: 'x' })).toThrow(
        /devices\[1\]\.tls\.key: .*missing\.key: cannot read/,
      );
      expect(edge({ ...lan, tls: { cert: tls.key, key: tls.key }, password: 'x' })).toThrow(
        /devices\[1\]\.tls\.cert: .*not a PEM certificate/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
