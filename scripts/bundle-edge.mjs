#!/usr/bin/env node
/**
 * Bundles `kwartier edge` into one file, dist/edge.mjs, from the compiled dist/cli/edge-main.js
 * (so it runs after tsc, in `npm run build`). bin/kwartier.js runs it for `kwartier edge`.
 *
 * Why: the edge runs for months on a small board, and V8 keeps the source text of every module it
 * loads (functions compile lazily, from that text): ~3 MB for the edge's ~350 modules, comments and
 * all. One tree-shaken file without comments and whitespace takes the edge from ~61 to ~57 MB of
 * RSS (npm run bench -- edge). Identifiers are kept, so stack traces in the logs stay readable
 * (mangling them would save only ~0.3 MB more).
 * Native modules stay outside (better-sqlite3, the serial port bindings): they find their .node
 * files relative to their own package.
 */
import { build } from 'esbuild';

await build({
  absWorkingDir: new URL('..', import.meta.url).pathname,
  entryPoints: ['dist/cli/edge-main.js'],
  outfile: 'dist/edge.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  external: ['better-sqlite3', '@serialport/bindings-cpp'],
  // The CommonJS packages in the bundle (mqtt, modbus-serial, pino…) require() Node's own modules.
  banner: {
    js: "import { createRequire as __kwCreateRequire } from 'node:module'; const require = __kwCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
