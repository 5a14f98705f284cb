/**
 * Starts `kwartier top`'s screen: the feed, Ink on the terminal's alternate screen (so quitting
 * gives the shell back as it was), and a clean exit on q, Ctrl-C, SIGTERM or a closed SSH session.
 */
import { createElement } from 'react';
import WebSocket from 'ws';
import { type ApiClient, TopFeed } from './feed.js';

export interface RunTopOptions {
  api: ApiClient;
  home: { timezone: string; deviceId: string; devices: string[] };
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

const ALT_SCREEN_ON = '\x1b[?1049h';
const ALT_SCREEN_OFF = '\x1b[?1049l';

/** NO_COLOR (https://no-color.org): present and not empty turns colour off. */
export function colourWanted(env: NodeJS.ProcessEnv): boolean {
  return !(env.NO_COLOR !== undefined && env.NO_COLOR !== '') && env.TERM !== 'dumb';
}

export async function runTop(o: RunTopOptions): Promise<number> {
  // Ink renders only the last frame, at exit, when it believes it runs in CI (its is-in-ci reads
  // CI when first imported). A terminal view on a TTY is interactive whatever CI says.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  const { render } = await import('ink');
  const { App, makeTheme } = await import('./view.js');

  const feed = new TopFeed({ api: o.api, ...o.home, WebSocket });
  o.stdout.write(ALT_SCREEN_ON);
  const instance = render(createElement(App, { feed, theme: makeTheme(colourWanted(process.env)) }), {
    stdin: o.stdin,
    stdout: o.stdout,
    stderr: o.stderr,
    exitOnCtrlC: true,
    patchConsole: true,
    maxFps: 10,
  });
  const onSignal = () => instance.unmount();
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  feed.start();
  try {
    await instance.waitUntilExit();
  } finally {
    feed.stop();
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    o.stdout.write(ALT_SCREEN_OFF);
    // Ink leaves stdin referenced and in raw mode on some paths: let the process end.
    if (o.stdin.isTTY) o.stdin.setRawMode(false);
    o.stdin.unref();
  }
  return 0;
}
