/**
 * Every device type of the registry: its definition is complete, its example config builds, and
 * its simulator answers its own driver over loopback (a real reading through the real protocol).
 */
import { describe, expect, it } from 'vitest';
import { parseWithSchema } from '../../src/core/validate.js';
import { DeviceSource, ROLES } from '../../src/drivers/definition.js';
import { DRIVERS } from '../../src/drivers/registry.js';
import type { SourceReading } from '../../src/drivers/source.js';
import { silentLogger } from '../../src/lib/log.js';
import { fastConfig } from '../helpers/device-config.js';

const log = silentLogger();

describe('the driver registry', () => {
  it('lists each type once, kebab-case, with a description, known roles and a closed schema', () => {
    const types = DRIVERS.map((d) => d.type);
    expect(new Set(types).size).toBe(types.length);
    for (const d of DRIVERS) {
      expect(d.type).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(d.description.length).toBeGreaterThan(10);
      expect(d.roles.length).toBeGreaterThan(0);
      for (const r of d.roles) expect(ROLES).toContain(r);
      expect(d.configSchema.additionalProperties).toBe(false);
      expect(d.configSchema.properties).not.toHaveProperty('name');
      expect(d.configSchema.properties).not.toHaveProperty('type');
    }
  });

  for (const d of DRIVERS) {
    describe(d.type, () => {
      it('builds a source from its example config', async () => {
        const config = parseWithSchema(d.configSchema, d.exampleConfig, d.type);
        d.check?.(config as never, 'devices[0]');
        await d.load?.();
        const source = d.create(config as never, { name: 'dev', timezone: 'Europe/Brussels', log });
        expect(source.intervalMs).toBeGreaterThan(0);
      });

      it('refuses an unknown key, naming it', () => {
        expect(() =>
          parseWithSchema(d.configSchema, { ...(d.exampleConfig as object), prot: 1 }, 'x', 'devices[1]'),
        ).toThrow('devices[1].prot: unknown key');
      });

      it.runIf(d.simulator !== undefined)(
        'its simulator answers its driver',
        async () => {
          const sim = await d.simulator!.create({ host: '127.0.0.1', port: 0, log });
          try {
            await d.load?.();
            const config = parseWithSchema(d.configSchema, fastConfig(d.exampleConfig, sim.port), d.type);
            const source = new DeviceSource(
              'dev',
              d.type,
              d.roles,
              d.create(config as never, { name: 'dev', timezone: 'Europe/Brussels', log }),
            );
            const reading = new Promise<SourceReading>((resolve) => source.onReading(resolve));
            await source.start();
            try {
              const r = await reading;
              expect(r.source).toBe('dev');
              expect(Object.keys(r.fields).length).toBeGreaterThan(0);
              // A device that can be the site's grid meter (or stand in for it) reports the grid power.
              if (d.roles.includes('grid_meter')) expect(typeof r.fields.grid_power_w).toBe('number');
            } finally {
              await source.stop();
            }
          } finally {
            await sim.stop();
          }
        },
        30_000,
      );
    });
  }
});
