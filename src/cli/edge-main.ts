/**
 * `kwartier edge` on its own: the entry of the edge's bundle (dist/edge-bundle/edge.mjs, scripts/bundle-edge.mjs),
 * which bin/kwartier.js runs for `kwartier edge`. Only the edge command is registered, so the bundle
 * holds the edge's code and nothing of the server, demo or other commands.
 */
import { command } from './commands/edge.js';
import { dispatch, exitWithin } from './dispatch.js';

exitWithin(
  await dispatch({ edge: { summary: command.summary, load: async () => command } }, process.argv.slice(2), process),
);
