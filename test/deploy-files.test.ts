/**
 * The deploy files run the server with SERVER_NODE_FLAGS, the flags its benchmark measures.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../src/server/node-flags.js';

const read = (p: string): string => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8');

describe('server deploy files', () => {
  it('the Dockerfile sets SERVER_NODE_FLAGS in NODE_OPTIONS', () => {
    const m = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(read('deploy/Dockerfile'));
    expect(m?.[1]?.split(' ')).toEqual([...SERVER_NODE_FLAGS]);
  });

  it('the systemd unit starts node with SERVER_NODE_FLAGS before the server command', () => {
    const m = /^ExecStart=\/usr\/bin\/node (.*) \/opt\/kwartier\/bin\/kwartier\.js server /m.exec(
      read('deploy/systemd/kwartier-server.service'),
    );
    expect(m?.[1]?.split(' ')).toEqual([...SERVER_NODE_FLAGS]);
  });
});
