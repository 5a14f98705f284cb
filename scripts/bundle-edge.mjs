#!/usr/bin/env node
/**
 * Bundles `kwartier edge` into dist/edge-bundle/edge.mjs and its chunks, from the compiled dist/cli/edge-main.js
 * (so it runs after tsc, in `npm run build`). bin/kwartier.js runs it for `kwartier edge`.
 *
 * Why: the edge runs for months on a small board, and V8 keeps the source text of every module it
 * loads (functions compile lazily, from that text): ~3 MB for the edge's ~350 modules, comments and
 * all. Tree-shaken files without comments and whitespace take the edge from ~61 to ~57 MB of
 * RSS (npm run bench -- edge). Identifiers are kept, so stack traces in the logs stay readable
 * (mangling them would save only ~0.3 MB more).
 * Native modules stay outside (better-sqlite3, the serial port bindings): they find their .node
 * files relative to their own package.
 */
import { readFile, rm } from 'node:fs/promises';
import { build } from 'esbuild';

/**
 * modbus-serial's index.js requires its serial-line port and server at load time, and with them
 * the serialport package and its native binding, which a Modbus TCP edge never uses (~0.7 MB of
 * the edge's RSS, npm run bench -- edge). In the bundle those two exports become getters that load on first use; the DSMR
 * serial source loads serialport itself when a serial port is configured. The build fails if the
 * lines are not found (a new modbus-serial): look again then.
 */
const lazyModbusSerialPorts = {
  name: 'lazy-modbus-serial-ports',
  setup(b) {
    b.onLoad({ filter: /[\\/]modbus-serial[\\/]index\.js$/ }, async (args) => {
      let src = await readFile(args.path, 'utf8');
      for (const [name, path] of [
        ['RTUBufferedPort', './ports/rtubufferedport'],
        ['ServerSerial', './servers/serverserial'],
      ]) {
        const eager = `module.exports.${name} = require("${path}");`;
        if (!src.includes(eager)) throw new Error(`bundle-edge: modbus-serial/index.js no longer has ${eager}`);
        src = src.replace(
          eager,
          `Object.defineProperty(module.exports, "${name}", { enumerable: true, configurable: true, get: () => require("${path}") });`,
        );
      }
      return { contents: src, loader: 'js' };
    });
  },
};

const root = new URL('..', import.meta.url).pathname;
// Chunk names carry hashes: a build starts from an empty folder (and drops the single file of
// earlier releases).
await rm(`${root}dist/edge-bundle`, { recursive: true, force: true });
await rm(`${root}dist/edge.mjs`, { force: true });

await build({
  absWorkingDir: new URL('..', import.meta.url).pathname,
  entryPoints: { edge: 'dist/cli/edge-main.js' },
  outdir: 'dist/edge-bundle',
  outExtension: { '.js': '.mjs' },
  // Code behind a dynamic import (each driver's source, the control, the tariff reader) goes into
  // its own chunk, loaded only by an edge that uses it: an edge reading a P1 meter does not keep the
  // source text of the OCPP server, the Modbus drivers or the control (~1 MB of RSS each way).
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
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
  plugins: [lazyModbusSerialPorts],
  logLevel: 'warning',
});
