import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { checkEdgeConfig, type EdgeConfig } from '../../src/edge/config.js';

const base = { device_id: 'h', sungrow: { ip: '127.0.0.1' } } as unknown as EdgeConfig;

describe('edge config: the time zone', () => {
  it('accepts canonical IANA names and their aliases (UTC, US/Eastern, Europe/Amsterdam)', () => {
    for (const timezone of ['Europe/Brussels', 'Europe/Amsterdam', 'UTC', 'Etc/UTC', 'US/Eastern', 'Asia/Calcutta']) {
      expect(checkEdgeConfig({ ...base, timezone }, 'edge.yaml').timezone).toBe(timezone);
    }
  });

  it('rejects a name ICU does not know, naming the key', () => {
    for (const timezone of ['Mars/Olympus', 'Europe/brussel', 'CET+1']) {
      expect(() => checkEdgeConfig({ ...base, timezone }, 'edge.yaml')).toThrow(ConfigError);
      expect(() => checkEdgeConfig({ ...base, timezone }, 'edge.yaml')).toThrow(
        `edge.yaml: timezone: unknown time zone "${timezone}"`,
      );
    }
  });
});
