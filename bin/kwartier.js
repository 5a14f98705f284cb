#!/usr/bin/env node
// The `kwartier` command. Runs the compiled CLI from dist/ (built by `npm ci` through the `prepare` script).
// `kwartier edge` runs the edge's own bundle, dist/edge-bundle/edge.mjs (scripts/bundle-edge.mjs: ~4 MB less RSS
// on the long-running edge), when the build made one.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const edgeBundle = new URL('../dist/edge-bundle/edge.mjs', import.meta.url);
const cli = new URL('../dist/cli/run.js', import.meta.url);
const entry = process.argv[2] === 'edge' && existsSync(fileURLToPath(edgeBundle)) ? edgeBundle : cli;
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('kwartier: dist/ is missing; run `npm ci` (or `npm run build`) in the repository first\n');
  process.exit(2);
}
await import(entry.href);
