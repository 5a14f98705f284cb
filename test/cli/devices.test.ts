/**
 * `kwartier devices` and `kwartier simulate --device` are derived from the registry, and the device
 * table of docs/configuration.md is the registry's (`kwartier devices --markdown`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deviceTableMarkdown } from '../../src/cli/commands/devices.js';
import { DRIVERS } from '../../src/drivers/registry.js';
import { runCli } from '../helpers/cli.js';

describe('kwartier devices', () => {
  it('lists every registry type with its roles and keys (--json)', async () => {
    const r = await runCli(['devices', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      types: Array<{
        type: string;
        roles: string[];
        keys: Array<{ key: string; default?: unknown; required: boolean }>;
      }>;
    };
    expect(doc.types.map((t) => t.type)).toEqual(DRIVERS.map((d) => d.type));
    const sungrow = doc.types.find((t) => t.type === 'sungrow');
    expect(sungrow?.roles).toEqual(['pv', 'battery', 'grid_meter']);
    expect(sungrow?.keys.find((k) => k.key === 'host')).toMatchObject({ required: true });
    expect(sungrow?.keys.find((k) => k.key === 'unit_id')).toMatchObject({ default: 1, required: false });
    expect(sungrow?.keys.find((k) => k.key === 'poll_interval_s')).toMatchObject({ default: 5 });
  });

  it('prints a readable list by default', async () => {
    const r = await runCli(['devices']);
    expect(r.code).toBe(0);
    for (const d of DRIVERS) expect(r.stdout).toContain(`${d.type}  —  ${d.description}`);
  });

  it('is the device table of docs/configuration.md', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const m = /<!-- device-table:start[^>]*-->\n([\s\S]*?)\n<!-- device-table:end -->/.exec(doc);
    expect(m, 'docs/configuration.md: no device-table markers').not.toBeNull();
    expect(m?.[1]).toBe(deviceTableMarkdown());
  });
});

describe('kwartier simulate --device', () => {
  it('refuses a type without a simulator, listing those with one', async () => {
    const r = await runCli(['simulate', '--device', 'acme-x', '127.0.0.1:1502']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '--device: no simulator for device type "acme-x"; one of dsmr, homewizard, sungrow, fronius',
    );
  });

  it('wants a type and an address', async () => {
    const r = await runCli(['simulate', '--device', 'sungrow']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('expected --device TYPE HOST:PORT');
  });
});
