/**
 * `kwartier demo --site multi`: the demo runs a devices: site of a P1 meter and two Sungrow
 * inverters, and its edge's snapshots carry each device's reading.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../src/cli/commands/demo.js';
import type { SiteSnapshot } from '../../src/core/merger.js';
import { silentLogger } from '../../src/lib/log.js';

describe('kwartier demo --site multi', () => {
  it('runs P1 + two inverters as a devices: site', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kw-demo-site-'));
    let demo: RunningDemo | null = null;
    try {
      demo = await startDemo({
        dataDir,
        deviceId: 'demo-site',
        port: 0,
        token: 'demo-site-token-0123456789',
        state: { device_id: 'demo-site', seed: 1, model_start: Date.now() - 60_000, token: 'x' },
        backfillDays: 0,
        site: 'multi',
        log: silentLogger(),
        print: () => {},
      });
      expect(demo.simulators.map((s) => s.name)).toEqual(['dsmr', 'sungrow', 'sungrow']);
      const edge = demo.edge.edge;
      const snap = await new Promise<SiteSnapshot>((resolve) => {
        const on = (s: SiteSnapshot) => {
          const d = s.devices;
          if (d?.p1 && d.roof && d.garage && !d.roof.stale && !d.garage.stale && 'pv_power_w' in d.garage.fields) {
            edge.off('snapshot', on);
            resolve(s);
          }
        };
        edge.on('snapshot', on);
      });
      expect(Object.keys(snap.devices ?? {})).toEqual(['p1', 'roof', 'garage']);
      expect(snap.devices?.garage?.type).toBe('sungrow');
      const roof = snap.devices?.roof?.fields.pv_power_w;
      const garage = snap.devices?.garage?.fields.pv_power_w;
      if (typeof roof === 'number' && typeof garage === 'number') expect(snap.pv_power_w).toBeCloseTo(roof + garage, 3);
    } finally {
      await demo?.stop();
    }
  }, 60_000);
});
