/**
 * What the dashboard's bundle is made of: the web imports the API's answer types from src/core/api
 * as types only, and of core's code only small pure modules (core/backoff.ts), so neither TypeBox
 * (the schemas' runtime) nor any layer with I/O may end up in the browser.
 */
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the dashboard bundle', () => {
  it('holds no schema runtime and nothing of src/ but small pure core modules', async () => {
    const { build } = await import('vite');
    const result = await build({
      configFile: join(ROOT, 'web', 'vite.config.ts'),
      logLevel: 'silent',
      build: { write: false },
    });
    const outputs = Array.isArray(result) ? result : [result];
    const ids: string[] = [];
    for (const o of outputs) {
      if (!('output' in o)) throw new Error('expected a build result, got a watcher');
      for (const chunk of o.output) if (chunk.type === 'chunk') ids.push(...chunk.moduleIds);
    }
    const files = ids.map((id) => relative(ROOT, id).split('\\').join('/'));
    // The dashboard's own code is there (so the list is real).
    expect(files).toContain('web/src/realtime.ts');
    expect(files.filter((f) => f.includes('@sinclair/typebox'))).toEqual([]);
    const fromSrc = files.filter((f) => f.startsWith('src/'));
    expect(fromSrc.filter((f) => !f.startsWith('src/core/') || f.startsWith('src/core/api/'))).toEqual([]);
    expect(fromSrc).toContain('src/core/backoff.ts');
  });
});
