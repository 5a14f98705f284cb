/**
 * The ocpp device's config in an edge config: the errors name the key (a missing charge point id,
 * a listener beyond loopback without `insecure: true`, min above max), and loopback is the default.
 */
import { describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../../src/core/validate.js';
import { OcppConfigSchema } from '../../../src/drivers/ocpp/config.js';
import { checkEdgeConfig, type EdgeConfig, EdgeConfigSchema } from '../../../src/edge/config.js';

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
});
