import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('kwartier CLI', () => {
  it('lists every command on --help and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const name of [
      'demo',
      'edge',
      'server',
      'simulate',
      'dsmr parse',
      'homewizard pair',
      'certs init',
      'certs device',
    ]) {
      expect(r.stdout).toContain(name);
    }
  });

  it('exits 2 on an unknown command, naming it', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});
